"""Chain verification over one job or the whole log (used by the API and the CLI)."""

from uuid import UUID

from jobledger.eventlog.chain import Verifier
from jobledger.eventlog.protocols import Stores

PAGE = 5000


async def verify_job(stores: Stores, job_id: UUID) -> Verifier:
    """Check one job's chain and versions, in position order, against the read model too."""
    verifier = Verifier()
    row = await stores.status.get_status(job_id)  # first: the log read after it can only be longer
    for event in await stores.log.raw_stream(job_id):
        verifier.add(event)
    if row is not None:
        verifier.check_head(job_id, row.version)
    return verifier


async def verify_log(stores: Stores, progress=None) -> Verifier:
    """Check every job's chain, reading the whole log once in position order."""
    verifier, after = Verifier(), 0
    seen_by_read_model = await stores.status.status_versions()  # first: the log read after it can only be longer
    while page := await stores.log.raw_all(after=after, limit=PAGE):
        for event in page:
            verifier.add(event)
        after = page[-1].position
        if progress is not None:
            progress(verifier.checked)
    for job_id, version in seen_by_read_model.items():
        verifier.check_head(job_id, version)
    return verifier

"""Chain verification over one job or the whole log (used by the API and the CLI)."""

from uuid import UUID

from eventlog.chain import Verifier
from eventlog.store import EventStore

PAGE = 5000


async def verify_job(store: EventStore, job_id: UUID) -> Verifier:
    """Check one job's chain and versions, in position order, against the read model too."""
    verifier = Verifier()
    row = await store.get_status(job_id)  # first: the log read after it can only be longer
    for event in await store.raw_stream(job_id):
        verifier.add(event)
    if row is not None:
        verifier.check_head(job_id, row.version)
    return verifier


async def verify_log(store: EventStore, progress=None) -> Verifier:
    """Check every job's chain, reading the whole log once in position order."""
    verifier, after = Verifier(), 0
    seen_by_read_model = await store.status_versions()  # first: the log read after it can only be longer
    while page := await store.raw_all(after=after, limit=PAGE):
        for event in page:
            verifier.add(event)
        after = page[-1].position
        if progress is not None:
            progress(verifier.checked)
    for job_id, version in seen_by_read_model.items():
        verifier.check_head(job_id, version)
    return verifier

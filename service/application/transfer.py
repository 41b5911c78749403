"""Export the log as JSON lines, and import such a file into an empty store."""

from collections.abc import Iterable, Iterator
from datetime import datetime
from uuid import UUID

import orjson

from jobledger.eventlog import codec
from jobledger.eventlog.chain import RawEvent
from jobledger.eventlog.protocols import Stores
from jobledger.projections import job_status
from jobledger.application import audit

PAGE = 5000


async def export_lines(stores: Stores, after: int = 0) -> Iterator[bytes]:
    """One JSON line per event, in position order, hashes included."""
    while page := await stores.log.raw_all(after=after, limit=PAGE):
        for e in page:
            yield orjson.dumps(
                {
                    "position": e.position,
                    "job_id": str(e.stream_id),
                    "version": e.version,
                    "type": e.type,
                    "schema_version": e.schema_version,
                    "data": orjson.Fragment(e.data),  # the stored text itself: the hash covers it
                    "metadata": orjson.Fragment(e.metadata),
                    "recorded_at": e.recorded_at.isoformat(timespec="microseconds"),
                    "hash": e.hash,
                }
            ) + b"\n"
        after = page[-1].position


def _raw(line: bytes) -> RawEvent:
    d = orjson.loads(line)
    return RawEvent(
        d["position"], UUID(d["job_id"]), d["version"], d["type"], d["schema_version"],
        codec.dumps(d["data"]), codec.dumps(d["metadata"]), datetime.fromisoformat(d["recorded_at"]), d["hash"],
    )


async def import_lines(stores: Stores, lines: Iterable[bytes]):
    """Load an export into an empty store, rebuild the read model, and verify every chain."""
    if await stores.log.head() != 0:
        raise ValueError("the target store is not empty: import only into a new database")
    batch = []
    for line in lines:
        if line.strip():
            batch.append(_raw(line))
        if len(batch) >= PAGE:
            await stores.log.import_events(batch)
            batch = []
    if batch:
        await stores.log.import_events(batch)
    await stores.status.rebuild_status(job_status.Rebuild())
    return await audit.verify_log(stores)

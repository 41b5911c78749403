"""Job estimates as documents are served: each tenant's job types' recent durations, read from
the stats projection's group documents and kept for `cache_seconds`, so a page of jobs costs at
most one read (of the types not kept), and a job's own document none.

The arithmetic is projections/estimates.py's; this module only finds its inputs.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import orjson

from jobledger.domain.job import Job
from jobledger.domain.status import Status
from jobledger.eventlog.protocols import Stores
from jobledger.projections import estimates, stats
from jobledger.application import projection_runner

log = logging.getLogger("jobledger.estimates")

TypeKey = tuple[str, str]  # (tenant, job type)
_MAX_KEPT = 10_000  # types kept at once; past it the oldest go


def times_of_job(job: Job) -> estimates.Times:
    percent = job.progress.percent if job.progress is not None else None
    if job.status is Status.QUEUED:
        return estimates.Times("queued", estimates.waiting_since(job.created_at, job.run_at, job.updated_at, job.attempts))
    return estimates.Times(job.status.value, job.started_at, percent)


class Estimates:
    def __init__(self, stores: Stores, cache_seconds: float = 2.0, monotonic: Callable[[], float] = time.monotonic):
        self.stores = stores
        self.cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._kept: dict[TypeKey, tuple[float, estimates.History | None]] = {}  # -> (read at, history)
        self._reading: set[TypeKey] = set()
        self._tasks: set[asyncio.Task] = set()

    def kept(self, tenant: str, job_type: str) -> estimates.History | None:
        """The history last read of a type, however old, for live messages, which never wait on a
        read: one that is missing or stale is read again meanwhile, for the next message."""
        key = (tenant, job_type)
        found = self._kept.get(key)
        if (found is None or self._monotonic() - found[0] >= self.cache_seconds) and key not in self._reading:
            self._reading.add(key)
            task = asyncio.get_running_loop().create_task(self._read_later(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return found[1] if found is not None else None

    async def close(self) -> None:
        """Stop the reads `kept` started (before the stores close)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _read_later(self, key: TypeKey) -> None:
        try:
            await self.histories([key])
        except Exception:  # a store out of reach: the next message tries again
            log.warning("job estimates: the durations of %s were not read", key, exc_info=True)
        finally:
            self._reading.discard(key)

    async def histories(self, wanted: Iterable[TypeKey]) -> dict[TypeKey, estimates.History | None]:
        """The histories of `wanted` types: those read within cache_seconds as kept, the rest in one read."""
        now = self._monotonic()
        wanted = set(wanted)
        fresh = {k: v for k in wanted if (v := self._kept.get(k)) is not None and now - v[0] < self.cache_seconds}
        if missing := [k for k in wanted if k not in fresh]:
            groups = await self._read([stats.type_key(*k) for k in missing])
            for k in missing:
                fresh[k] = self._kept[k] = (now, stats.history(groups.get(stats.type_key(*k))))
            while len(self._kept) > _MAX_KEPT:
                del self._kept[next(iter(self._kept))]
        return {k: v[1] for k, v in fresh.items()}

    async def _read(self, keys: list[str]) -> dict[str, Any]:
        current = await projection_runner.active(self.stores, stats.NAME)
        if current is None:
            return {}
        return await self.stores.projections.load_projection_rows(stats.NAME, current[0], keys)

    async def of_jobs(self, jobs: list[Job], now: datetime) -> list[dict[str, Any] | None]:
        histories = await self.histories({(j.tenant, j.type) for j in jobs if not j.status.terminal})
        return [
            None if j.status.terminal else estimates.estimate(times_of_job(j), histories[(j.tenant, j.type)], now)
            for j in jobs
        ]

    async def of_documents(self, texts: list[str], now: datetime) -> list[dict[str, Any] | None]:
        """The estimates of stored job documents (their JSON text): finished jobs' are not parsed."""
        docs = [None if _finished(text) else orjson.loads(text) for text in texts]
        histories = await self.histories({(d["tenant"], d["type"]) for d in docs if d is not None})
        return [
            None if d is None else estimates.estimate(estimates.times_of(d), histories[(d["tenant"], d["type"])], now)
            for d in docs
        ]


def _finished(text: str) -> bool:
    """Whether a stored document is a finished job's, without parsing it: its first `"status":"` is
    the job's own (an earlier string's quotes would be escaped), and only `queued` and `running` are not."""
    at = text.find('"status":"') + 10
    return not (text.startswith("queued", at) or text.startswith("running", at))


def spliced(text: str, estimate: dict[str, Any] | None) -> str:
    """A job document's JSON text with its `estimate` added (at the end, as `position` is)."""
    return f'{text[:-1]},"estimate":{orjson.dumps(estimate).decode()}}}'

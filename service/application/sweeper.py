"""The sweeper: expired leases become LeaseExpired (then a retry), late jobs become expired,
and finished jobs past the retention time leave the status table (never the log)."""

import asyncio
import logging
from datetime import datetime, timedelta

from jobledger.domain import commands, errors
from jobledger.application.jobs import Jobs

log = logging.getLogger("jobledger.sweeper")

SWEEP_BATCH = 500


async def expire_due(jobs: Jobs) -> int:
    """Expire every job past its deadline; returns how many were expired now."""
    expired = 0
    for job_id in await jobs.stores.status.due_for_expiry(jobs.clock(), SWEEP_BATCH):
        try:
            await jobs.execute(job_id, commands.ExpireJob(), {"actor": "sweeper"})
            expired += 1
        except (errors.IllegalTransition, errors.VersionConflict):
            pass  # it finished meanwhile, or another instance expired it first
    return expired


async def expire_leases(jobs: Jobs) -> int:
    """Take back every job whose worker's lease ran out; returns how many."""
    taken = 0
    for job_id in await jobs.stores.queue.due_for_lease_expiry(jobs.clock(), SWEEP_BATCH):
        try:
            await jobs.execute(job_id, commands.ExpireLease(jitter=jobs.jitter()), {"actor": "sweeper"})
            taken += 1
        except (errors.IllegalTransition, errors.VersionConflict):
            pass  # the worker answered, or finished, meanwhile
    return taken


def retention_cutoff(now: datetime, retention_seconds: float) -> datetime | None:
    return now - timedelta(seconds=retention_seconds) if retention_seconds > 0 else None


async def sweep(jobs: Jobs, retention_seconds: float = 0) -> None:
    while await expire_leases(jobs) == SWEEP_BATCH:
        pass
    while await expire_due(jobs) == SWEEP_BATCH:
        pass
    cutoff = retention_cutoff(jobs.clock(), retention_seconds)
    if cutoff is not None:
        await jobs.stores.status.prune_status(cutoff)


async def run(jobs: Jobs, interval: float, retention_seconds: float = 0) -> None:
    """Sweep forever, every `interval` seconds; errors are logged, never fatal."""
    while True:
        try:
            await sweep(jobs, retention_seconds)
        except errors.StoreUnavailable as exc:
            log.warning("sweep skipped: %s", exc)
        except Exception:
            log.exception("sweep failed")
        await asyncio.sleep(interval)

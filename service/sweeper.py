"""The expiry sweeper: a job not finished by its expires_at becomes expired."""

import asyncio
import logging

from domain import commands, errors
from service.jobs import Jobs

log = logging.getLogger("jobledger.sweeper")

SWEEP_BATCH = 500


async def expire_due(jobs: Jobs) -> int:
    """Expire every job past its deadline; returns how many were expired now."""
    expired = 0
    for job_id in await jobs.store.due_for_expiry(jobs.clock(), SWEEP_BATCH):
        try:
            await jobs.execute(job_id, commands.ExpireJob(), {"actor": "sweeper"})
            expired += 1
        except (errors.IllegalTransition, errors.VersionConflict):
            pass  # it finished meanwhile, or another instance expired it first
    return expired


async def run(jobs: Jobs, interval: float) -> None:
    """Sweep forever, every `interval` seconds; errors are logged, never fatal."""
    while True:
        try:
            while await expire_due(jobs) == SWEEP_BATCH:
                pass
        except errors.StoreUnavailable as exc:
            log.warning("expiry sweep skipped: %s", exc)
        except Exception:
            log.exception("expiry sweep failed")
        await asyncio.sleep(interval)

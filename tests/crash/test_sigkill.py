"""Issue 6, point 5: the service is killed with SIGKILL in the middle of a load of creates,
claims and reports, and restarted on the same database. Every acknowledged event is in the
log, chains and versions verify, the jobs that were running get their leases expired and are
retried to completion, and every read model equals its rebuild. On both backends."""

import asyncio
import os

import aiohttp

from tests.crash.checks import assert_nothing_lost, assert_read_models_equal_rebuild, drain, get_json
from tests.crash.load import RUNNING_EVENTS, Load
from tests.live.helpers import wait_until
from tests.live.processes import Service

CREATORS, WORKERS = 3, 3
ACKS_BEFORE_KILL = 200
SERVICE_ENV = {"JOBLEDGER_SWEEP_INTERVAL": "0.2"}


def _mid_load(load: Load) -> bool:
    """Enough acknowledged, some jobs finished, and one held by a worker that is still at it
    (between two heartbeats: what it holds is known)."""
    finished = any(a.event == "JobCompleted" for a in load.acks)
    return len(load.acks) >= ACKS_BEFORE_KILL and finished and bool(load.holding) and not load.holding & load.unanswered()


async def test_a_service_killed_mid_load_loses_nothing_it_acknowledged(db_url, tmp_path):
    service = Service(db_url, tmp_path, env={**os.environ, **SERVICE_ENV})
    await service.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            load = Load(session, service.url)
            clients = [load.creator() for _ in range(CREATORS)] + [load.worker(f"w{i}") for i in range(WORKERS)]
            tasks = [asyncio.create_task(load.until_gone(c)) for c in [*clients, load.holder("holder")]]
            await wait_until(lambda: _mid_load(load), timeout=120)
            at_kill, unanswered = load.last_acks(), load.unanswered()  # no await in between: what the kill cuts
            await service.kill()
            await asyncio.gather(*tasks)
            assert load.gone == len(tasks)
            running = {j for j, ack in at_kill.items() if ack.event in RUNNING_EVENTS} - unanswered
            assert load.holding <= running

            await service.start()
            for key in [k for k, job_id in load.keys.items() if job_id is None]:
                await load.create(key)  # the client's retry of an unanswered create: same key, one job
            await drain(load, service.url)
            streams = await assert_nothing_lost(session, service.url, load)
            for job_id in running:
                after = [e["type"] for e in streams[job_id][at_kill[job_id].version :]]
                assert after[:2] == ["LeaseExpired", "RetryScheduled"] and after[-1] == "JobCompleted", after
                assert (await get_json(session, f"{service.url}/jobs/{job_id}"))["attempts"] >= 2
            await assert_read_models_equal_rebuild(session, service, set(streams))
    finally:
        await service.stop()

"""Three service instances on one PostgreSQL (two `jobledger serve` processes and one in this
test's process), each running its scheduler: every fire time of every schedule makes exactly one
job, whichever instance fires it."""

import asyncio
import contextlib
from datetime import datetime, timedelta

import aiohttp
import pytest

from jobledger.web.config import Settings
from tests.live.processes import Service
from tests.service.helpers import wait_until

SCHEDULES = 20  # each firing every second: the instances meet on the same schedules all the time
FIRES = 3  # each schedule's fires awaited


async def _get(session: aiohttp.ClientSession, url: str, **params) -> dict:
    async with session.get(url, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


@contextlib.asynccontextmanager
async def _three(db: str, log_dir, serve):
    running = [Service(db, log_dir) for _ in range(2)]
    try:
        in_test = asyncio.ensure_future(serve(Settings(db=db)))
        await asyncio.gather(*(s.start() for s in running))  # started side by side: each takes seconds here
        yield [*(s.url for s in running), str((await in_test).make_url("")).rstrip("/")]
    finally:
        await asyncio.gather(*(s.stop() for s in running))


@pytest.mark.parametrize("backend", ["postgres"])  # several instances share PostgreSQL only
async def test_three_instances_make_exactly_one_job_per_fire(pg_url, tmp_path, serve):
    async with _three(pg_url, tmp_path, serve) as instances, aiohttp.ClientSession() as session:
        for i in range(SCHEDULES):
            body = {"name": f"s{i}", "cron": "* * * * * *", "job": {"type": "tick", "payload": {"i": i}}}
            async with session.post(f"{instances[i % 3]}/schedules", json=body) as resp:
                assert resp.status == 201, await resp.text()

        async def each_fired_enough():
            listed = (await _get(session, f"{instances[1]}/schedules", limit=100))["schedules"]
            return all(len(s["last_fires"]) >= FIRES for s in listed)

        await wait_until(each_fired_enough, timeout=20)
        url = instances[0]
        fired = {}  # job id -> (schedule, fire time): read first, so every job of these fires exists
        for i in range(SCHEDULES):
            history = (await _get(session, f"{url}/schedules/s{i}/events"))["events"]
            fires = [e["data"] for e in history if e["type"] == "ScheduleFired"]
            times = [datetime.fromisoformat(f["fire_at"]) for f in fires]
            assert len(times) >= FIRES and times == sorted(set(times)), f"s{i}: a fire time twice"
            assert all(later - earlier == timedelta(seconds=1) for earlier, later in zip(times, times[1:])), f"s{i}"
            assert not [e for e in history if e["type"] in ("ScheduleFireSkipped", "ScheduleFiresMissed")]
            fired.update({f["job_id"]: (f"s{i}", f["fire_at"]) for f in fires})
        jobs, cursor = [], None
        while True:
            page = await _get(session, f"{url}/jobs", limit=500, **({"cursor": cursor} if cursor else {}))
            jobs += page["jobs"]
            if not (cursor := page["next_cursor"]):
                break

    by_id = {j["id"]: j for j in jobs}
    assert len(by_id) == len(jobs) and len({j["idempotency_key"] for j in jobs}) == len(jobs)
    for job_id, (name, at) in fired.items():  # each fire's job, made from the template
        assert (by_id[job_id]["idempotency_key"], by_id[job_id]["payload"]) == (f"schedule:{name}:1:{at}", {"i": int(name[1:])})
    last = {}  # each schedule's last fire read
    for name, at in fired.values():
        last[name] = max(at, last.get(name, at))
    keys = [j["idempotency_key"].split(":", 3) for j in jobs]
    made_by_then = [(name, at) for _, name, _, at in keys if at <= last[name]]
    assert sorted(made_by_then) == sorted(fired.values())  # and no job without its fire

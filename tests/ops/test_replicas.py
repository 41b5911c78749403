"""Point 5 without Docker: two `jobledger serve` processes on one PostgreSQL, and a `jobledger
worker` process (the example worker docker compose runs) claiming through each of them. Jobs
created through both instances are each run exactly once, and both instances answer the
same documents."""

import asyncio
import contextlib
import os
import time
from pathlib import Path

import aiohttp
import orjson

from tests.live.processes import services
from tests.ops.helpers import Scrape
from tests.test_cli import CLI

ROOT = Path(__file__).resolve().parents[2]
JOBS_PER_INSTANCE = 15


@contextlib.asynccontextmanager
async def worker_process(url: str, log_path: Path):
    """`jobledger worker examples.worker:worker --url URL`, yielded once it runs (its start-up line,
    logged after its signal handlers are in place), stopped with SIGTERM at the end."""
    with open(log_path, "wb") as log:
        process = await asyncio.create_subprocess_exec(
            *CLI, "worker", "examples.worker:worker", "--url", url, "--log-format", "json",
            cwd=ROOT, stdout=log, stderr=log, env={**os.environ, "JOBLEDGER_LOG_LEVEL": "INFO"},
        )
        try:
            deadline = time.monotonic() + 60  # a loaded machine: a CI run's worker had not started when the test ended
            while f"via {url}" not in log_path.read_text():
                assert process.returncode is None and time.monotonic() < deadline, log_path.read_text()
                await asyncio.sleep(0.05)
            yield process
        finally:
            if process.returncode is None:
                process.terminate()
                assert await asyncio.wait_for(process.wait(), 60) == 0, log_path.read_text()


async def _create(session, url: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        sleep = {"type": "sleep", "payload": {"seconds": 0.05}}
        body = {"type": "echo", "payload": {"from": url, "i": i}} if i % 3 else sleep
        async with session.post(f"{url}/jobs", json=body) as resp:
            assert resp.status == 201, await resp.text()
            ids.append((await resp.json())["id"])
    return ids


async def _all_finished(session, url: str, ids: list[str]) -> list[dict]:
    for _ in range(1200):
        docs = [await _get(session, url, job_id) for job_id in ids]
        if all(d["status"] in ("completed", "failed", "cancelled", "expired") for d in docs):
            return docs
        await asyncio.sleep(0.1)
    raise AssertionError(f"not finished: {[(d['id'], d['status']) for d in docs if d['status'] != 'completed']}")


async def _get(session, url: str, path_or_id: str):
    path = path_or_id if path_or_id.startswith("/") else f"/jobs/{path_or_id}"
    async with session.get(f"{url}{path}") as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def _metrics(session, url: str) -> Scrape:
    async with session.get(f"{url}/metrics") as resp:
        return Scrape(await resp.text())


async def test_two_instances_and_their_workers_run_every_job_exactly_once(pg_url, tmp_path):
    async with services(pg_url, tmp_path, 2) as (a, b), aiohttp.ClientSession() as session:
        async with worker_process(a.url, tmp_path / "worker-a.log"), worker_process(b.url, tmp_path / "worker-b.log"):
            created = await asyncio.gather(*(_create(session, s.url, JOBS_PER_INSTANCE) for s in (a, b)))
            ids = created[0] + created[1]
            docs_a = await _all_finished(session, a.url, ids)
            docs_b = [await _get(session, b.url, job_id) for job_id in ids]
        assert docs_a == docs_b
        assert {(d["status"], d["attempts"]) for d in docs_a} == {("completed", 1)}
        for doc in docs_a:
            expected = {"echo": doc["payload"]} if doc["type"] == "echo" else {"slept": 0.05}
            assert doc["result"] == expected, doc
        for job_id in ids:
            types = [e["type"] for e in (await _get(session, b.url, f"/jobs/{job_id}/events"))["events"]]
            assert types.count("JobStarted") == 1 and types.count("JobCompleted") == 1, types
            assert (await _get(session, a.url, f"/jobs/{job_id}/verify"))["ok"]

        metrics = [await _metrics(session, s.url) for s in (a, b)]
        created_by = [m.value("jobledger_events_appended_total", type="JobCreated") for m in metrics]
        assert created_by == [JOBS_PER_INSTANCE, JOBS_PER_INSTANCE]  # each counts its own: the sum is the whole
        completed_by = [m.value("jobledger_events_appended_total", type="JobCompleted") for m in metrics]
        assert sum(completed_by) == len(ids)
        echoes = sum(1 for d in docs_a if d["type"] == "echo")
        assert [m.value("jobledger_jobs", type="echo", status="completed") for m in metrics] == [echoes, echoes]

    for name in ("worker-a.log", "worker-b.log"):
        lines = [orjson.loads(line) for line in (tmp_path / name).read_text().splitlines()]
        assert any(line["logger"] == "jobledger.worker" for line in lines), lines

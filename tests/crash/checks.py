"""What must hold after a crash or an outage, checked through the HTTP API and the CLI."""

import asyncio
import time

import aiohttp
import orjson

from jobledger.application import storage
from tests.crash.load import Load
from tests.live.processes import Service
from tests.projections.test_job_status_rebuild import dump_status
from tests.test_cli import CLI

DRAIN_WORKERS = 3


async def get_json(session: aiohttp.ClientSession, url: str) -> dict:
    async with session.get(url) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def global_log(session: aiohttp.ClientSession, base: str) -> list[dict]:
    events, after = [], 0
    while page := (await get_json(session, f"{base}/events?after={after}&limit=5000"))["events"]:
        events += page
        after = page[-1]["position"]
    return events


async def assert_nothing_lost(
    session: aiohttp.ClientSession, base: str, load: Load, others: tuple[str, ...] = ()
) -> dict[str, list[dict]]:
    """Every acknowledged event is in its job's log at its version, versions run 1..n, chains
    verify, and the global log holds exactly these jobs' events (the load's and `others`) in
    rising positions. Returns each job's events."""
    assert None not in load.keys.values(), "a create was never acknowledged"
    job_ids = {*load.keys.values(), *others}
    streams = {}
    for job_id in job_ids:
        streams[job_id] = stream = (await get_json(session, f"{base}/jobs/{job_id}/events"))["events"]
        assert [e["version"] for e in stream] == list(range(1, len(stream) + 1))
        verified = await get_json(session, f"{base}/jobs/{job_id}/verify")
        assert verified["ok"] and verified["events"] == len(stream), verified
    for ack in load.acks:
        stream = streams[ack.job_id]
        assert len(stream) >= ack.version and stream[ack.version - 1]["type"] == ack.event, (ack, stream)
    log = await global_log(session, base)
    positions = [e["position"] for e in log]
    assert positions == sorted(set(positions))
    assert {e["job_id"] for e in log} == job_ids
    in_streams = [(e["position"], e["job_id"], e["version"], e["hash"]) for s in streams.values() for e in s]
    assert sorted(in_streams) == [(e["position"], e["job_id"], e["version"], e["hash"]) for e in log]
    return streams


async def drain(load: Load, base: str, timeout: float = 90) -> None:
    """Work every job to an end; fails if any is still queued or running after `timeout`."""
    load.stop.clear()
    workers = [asyncio.create_task(load.worker(f"drain-{i}")) for i in range(DRAIN_WORKERS)]
    deadline = time.monotonic() + timeout
    try:
        while set(counts := (await get_json(load.session, f"{base}/health"))["jobs"]) != {"completed"}:
            assert time.monotonic() < deadline, f"jobs still stuck: {counts}"
            await asyncio.sleep(0.2)
    finally:
        load.stop.set()
        await asyncio.gather(*workers)


async def read_models(db_url: str) -> tuple[list[tuple], list[bytes]]:
    """Every row of job_status, and every document of the stats projection (in a stable order)."""
    store = await storage.open_stores(db_url, migrate=False)
    try:
        docs = await store.projections.projection_docs("stats")
        stats = sorted(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS) for doc in docs)
    finally:
        await store.close()
    return await dump_status(db_url), stats


async def cli(*args: str) -> str:
    """Run `jobledger ARGS`; its output, after checking it succeeded."""
    process = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()


async def assert_read_models_equal_rebuild(session: aiohttp.ClientSession, service: Service, job_ids: set[str]) -> None:
    """The live job documents, /stats and both read models equal what rebuilding them from the
    log gives; the chains verify from the command line too."""
    deadline = time.monotonic() + 30
    while (await get_json(session, f"{service.url}/health"))["projections"]["stats"]["lag"]:
        assert time.monotonic() < deadline, "the stats projection never caught up"
        await asyncio.sleep(0.1)
    documents = {j: await get_json(session, f"{service.url}/jobs/{j}") for j in job_ids}
    stats = (await get_json(session, f"{service.url}/stats"))["types"]
    await service.stop()
    assert "ok:" in await cli("audit", "verify", "--db", service.db)
    live = await read_models(service.db)
    jobs_docs = [doc for doc in live[1] if b'"group":' not in doc]  # besides each type's group document (estimates)
    assert all(live) and len(jobs_docs) == len(job_ids)
    await cli("projections", "rebuild", "--db", service.db)
    await cli("projections", "rebuild", "stats", "--db", service.db)
    assert await read_models(service.db) == live
    await service.start()
    assert {j: await get_json(session, f"{service.url}/jobs/{j}") for j in job_ids} == documents
    assert (await get_json(session, f"{service.url}/stats"))["types"] == stats

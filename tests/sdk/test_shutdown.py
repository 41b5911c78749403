"""Graceful shutdown of a `jobledger worker` process: SIGTERM stops claiming, lets the job
in flight finish within the grace period, else gives it back (JobReleased) without using an attempt."""

import asyncio
import contextlib
import signal
import sys
import textwrap

import pytest

from tests.sdk.helpers import create, get, history, types, wait_for

CLI = [sys.executable, "-c", "from jobledger.cli.commands import main; main()"]

WORKER_MODULE = textwrap.dedent(
    """
    import asyncio

    from jobledger.sdk.worker import Worker

    worker = Worker(lease_seconds=2, wait_seconds=0.5)


    @worker.handler("report")
    async def handle(job, ctx):
        await ctx.progress(10, "started")
        await asyncio.sleep(job["payload"]["seconds"])
        return {"slept": job["payload"]["seconds"]}
    """
)


@pytest.fixture(params=["--url", "--db"])
async def start_worker(request, tmp_path, service_url, settings):
    """Start `jobledger worker` as a process, over HTTP or in-process on the service's database."""
    (tmp_path / "sdk_worker.py").write_text(WORKER_MODULE)
    where = service_url if request.param == "--url" else settings.db
    processes = []

    async def start(*options: str) -> asyncio.subprocess.Process:
        log = open(tmp_path / f"worker-{len(processes)}.log", "wb")  # noqa: SIM115, ASYNC230 - closed at teardown
        process = await asyncio.create_subprocess_exec(
            *CLI,
            "worker",
            "sdk_worker:worker",
            request.param,
            where,
            *options,
            cwd=tmp_path,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        processes.append((process, log))
        return process

    yield start
    for process, log in processes:
        if process.returncode is None:
            process.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(process.wait(), 10)
        log.close()


async def _started(client, job_id: str) -> None:
    """Wait until the worker's handler has reported it started."""
    job = await wait_for(client, job_id, "running")
    while job["progress"] is None:
        await asyncio.sleep(0.02)
        job = await get(client, job_id)


async def test_sigterm_lets_the_job_in_flight_finish(client, start_worker):
    job = await create(client, payload={"seconds": 2.0})
    process = await start_worker("--grace", "20")
    await _started(client, job["id"])

    process.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.8)  # a claim already waiting (wait_seconds=0.5) may still take a job; then none does
    later = await create(client, payload={"seconds": 0})

    assert await asyncio.wait_for(process.wait(), 20) == 0
    done = await get(client, job["id"])
    assert (done["status"], done["result"]) == ("completed", {"slept": 2.0})
    assert (await get(client, later["id"]))["status"] == "queued"


async def test_a_job_still_running_when_the_grace_runs_out_is_released_without_using_an_attempt(
    client, start_worker
):
    job = await create(client, payload={"seconds": 60}, max_attempts=1)
    process = await start_worker("--grace", "0.5")
    await _started(client, job["id"])

    process.send_signal(signal.SIGTERM)

    assert await asyncio.wait_for(process.wait(), 20) == 0
    released = await get(client, job["id"])
    assert (released["status"], released["attempts"], released["run_at"]) == ("queued", 0, None)
    last = (await history(client, job["id"]))[-1]
    assert (last["type"], last["data"]["attempt"]) == ("JobReleased", 1)
    assert "shut down before the job finished" in last["data"]["reason"]


async def test_a_second_signal_stops_without_waiting_for_the_grace(client, start_worker):
    job = await create(client, payload={"seconds": 60}, max_attempts=2, retry_base_seconds=600)
    process = await start_worker("--grace", "60")
    await _started(client, job["id"])

    process.send_signal(signal.SIGINT)
    await asyncio.sleep(0.3)
    process.send_signal(signal.SIGINT)

    assert await asyncio.wait_for(process.wait(), 20) == 0
    assert types(await history(client, job["id"]))[-1] == "JobReleased"


async def test_a_stop_asked_while_the_worker_starts_is_a_clean_stop(client, service_url):
    """`jobledger worker` takes SIGTERM over before its start-up (imports, GC tuning, opening
    the transport); a signal meanwhile stops it cleanly, with nothing claimed, not by a kill."""
    from jobledger.sdk.worker import Worker

    worker = Worker(url=service_url, wait_seconds=0.5)

    @worker.handler("report")
    async def handle(job, ctx):
        return None

    job = await create(client, payload={"seconds": 0})
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    stray = []
    signal.signal(signal.SIGTERM, lambda sig, _frame: stray.append(sig))  # were it not taken over: no kill here
    try:
        worker.stop_on_signals()
        signal.raise_signal(signal.SIGTERM)  # handled here, in the main thread, before the worker runs
        await asyncio.wait_for(worker.run(), 10)  # returns at once: it was stopped before it started
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    assert stray == []
    assert (await get(client, job["id"]))["status"] == "queued"  # nothing was claimed

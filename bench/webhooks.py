"""Webhook delivery on PostgreSQL: commit-to-delivery latency at a steady rate, nothing missed or
sent twice, and every delivery arriving after the receiver was down.

    python bench/webhooks.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--rate 500]
                             [--seconds 10] [--down 10] [--jobs 500] [--others 0] [--keep]

Processes: the receiver (a bare aiohttp server on 127.0.0.1, its own process), a
`jobledger serve` on a scratch database (loopback allowed as a target, the default retry
schedule), and this one, which appends.

1. the machine's limit: bare HTTP POSTs of a delivery-sized body from this process to the
   receiver, `--rate` a second for `--seconds`: their round trip is the floor under any delivery.
2. steady: one endpoint; `--rate` progress events/s for `--seconds` over `--jobs` running jobs
   through the HTTP API. Each receipt is timed against the event's `timestamp` (its recorded_at,
   taken by the service before the append's transaction, so it includes the commit). Target:
   p99 <= 100 ms; nothing missed, duplicated, or out of order within a job.
3. outage: the receiver is stopped for `--down` seconds while the appends go on, then started
   again on the same port; every delivery of the whole run must arrive (retried on the
   schedule), none twice, each job's in order.

The check compares the receipts with the log (every job event after the endpoint's creation).
Exit status 1 if anything was missed, duplicated or out of order; a missed latency target is
reported, not an error. The scratch database is dropped at the end.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import asyncpg
import orjson
from aiohttp import web

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_P99_MS = 100.0
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def ms(values: list[float]) -> str:
    return (f"p50 {percentile(values, 50) * 1000:7.2f} ms   p99 {percentile(values, 99) * 1000:7.2f} ms   "
            f"max {max(values, default=0) * 1000:7.1f} ms   n {len(values)}")


# ---------------------------------------------------------------- role: the receiver


def receiver_role(port: int, out: str) -> None:
    """Records (webhook-id, position, job id, type, timestamp, arrival) of each POST; writes them to `out` on SIGTERM."""
    received: list[tuple] = []

    async def dump_now(request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(received), content_type="application/json")

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        arrived = time.time()
        if request.path == "/bare":
            return web.Response(text="ok")
        event = orjson.loads(body)
        received.append((request.headers["webhook-id"], event["position"], event["job_id"], event["type"],
                         event["timestamp"], arrived))
        return web.Response(text="ok")

    def dump(*_) -> None:
        Path(out).write_bytes(orjson.dumps(received))
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    app = web.Application()
    app.router.add_post("/{name}", hook)
    app.router.add_get("/received", dump_now)
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=False, access_log=None)


class Receiver:
    def __init__(self, port: int, folder: Path):
        self.port, self.folder, self.runs = port, folder, 0
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.runs += 1
        out = str(self.folder / f"received-{self.runs}.json")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--role", "receiver", "--port", str(self.port), "--out", out,
        )
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with session.post(f"http://127.0.0.1:{self.port}/bare", data=b"{}") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.05)
        raise RuntimeError("the receiver never answered")

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        await self.process.wait()

    async def received(self) -> list[tuple]:
        """What every run received: the stopped ones' files, then the running one's answer."""
        found = [r for run in range(1, self.runs) for r in orjson.loads((self.folder / f"received-{run}.json").read_bytes())]
        if self.process is not None and self.process.returncode is None:
            async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{self.port}/received") as resp:
                found += await resp.json()
        else:
            found += orjson.loads((self.folder / f"received-{self.runs}.json").read_bytes())
        return found


# ---------------------------------------------------------------- the run


async def paced(rate: float, seconds: float, send) -> int:
    """Call `send(i)` (a coroutine, not awaited in turn) `rate` times a second for `seconds`."""
    loop = asyncio.get_running_loop()
    start, total, tasks = loop.time(), int(rate * seconds), set()
    for i in range(total):
        if (wait := start + i / rate - loop.time()) > 0:
            await asyncio.sleep(wait)
        task = asyncio.create_task(send(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return total


async def bare_round_trips(port: int, rate: float, seconds: float) -> list[float]:
    body = orjson.dumps({"type": "ProgressReported", "data": {"percent": 50, "message": "x" * 200}})
    times: list[float] = []
    async with aiohttp.ClientSession() as session:
        async def one(_: int) -> None:
            started = time.perf_counter()
            async with session.post(f"http://127.0.0.1:{port}/bare", data=body) as resp:
                await resp.read()
            times.append(time.perf_counter() - started)

        await paced(rate, seconds, one)
    return times


async def start_service(db: str, port: int) -> asyncio.subprocess.Process:
    env = {**os.environ, "JOBLEDGER_LOG_LEVEL": "WARNING", "JOBLEDGER_WEBHOOK_ALLOW_PRIVATE": "loopback"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from jobledger.cli.commands import main; main()", "serve", "--db", db, "--port", str(port), env=env,
        stdout=asyncio.subprocess.DEVNULL, cwd=str(ROOT),
    )
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.get(f"http://127.0.0.1:{port}/health") as resp:
                    if resp.status == 200:
                        return process
            await asyncio.sleep(0.05)
    raise RuntimeError("the service never answered")


async def append(session: aiohttp.ClientSession, url: str, jobs: list[str], rate: float, seconds: float) -> int:
    async def one(i: int) -> None:
        async with session.post(f"{url}/jobs/{jobs[i % len(jobs)]}/progress", json={"percent": i % 100}) as resp:
            assert resp.status == 200, await resp.text()

    return await paced(rate, seconds, one)


async def expected(db: str) -> list[tuple[int, str]]:
    """(position, job) of every job event after the endpoint was made: what it must receive."""
    from jobledger.domain.events import EVENT_TYPES

    conn = await asyncpg.connect(db)
    try:
        rows = await conn.fetch(
            "SELECT position, stream_id::text AS job FROM events WHERE type = ANY($1::text[]) "
            "AND position > (SELECT created_position FROM webhooks WHERE tenant = 'default') ORDER BY position", list(EVENT_TYPES),
        )
        return [(r["position"], r["job"]) for r in rows]
    finally:
        await conn.close()


def check(received: list[tuple], wanted: list[tuple[int, str]]) -> dict:
    ids = [r[0] for r in received]
    got = {r[1] for r in received}
    order_errors = 0
    last: dict[str, int] = {}
    for _, position, job, *_ in received:
        if last.get(job, 0) > position:
            order_errors += 1
        last[job] = max(last.get(job, 0), position)
    return {
        "expected": len(wanted), "received": len(received), "missed": len({p for p, _ in wanted} - got),
        "duplicated": len(ids) - len(set(ids)), "out_of_order": order_errors,
    }


def latencies(received: list[tuple], since: float = 0.0) -> list[float]:
    from datetime import datetime

    return [r[5] - datetime.fromisoformat(r[4]).timestamp() for r in received if r[5] >= since]


async def other_tenants_endpoints(db: str, count: int) -> None:
    """`count` active endpoints of other tenants (100 each, the default cap), asking for every event:
    none gets this run's events, which are the tenant default's."""
    from jobledger.application import storage
    from jobledger.application.jobs import utcnow
    from jobledger.application.webhook_bodies import CreateWebhookBody
    from jobledger.application.webhooks import WebhookSettings, Webhooks

    stores = await storage.open_stores(db)
    try:
        webhooks = Webhooks(stores, WebhookSettings(allowed=frozenset({"loopback"})))
        for n in range(count):
            body = CreateWebhookBody(url=f"http://127.0.0.1:9/other-{n}")
            await webhooks.create(f"other-{n // 100}", body, utcnow(), {"actor": "bench"})
    finally:
        await stores.close()
    print(f"   {count:,} endpoints of {-(-count // 100)} other tenants made", flush=True)


async def run(args) -> int:
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"jobledger-bench-webhooks-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    name = f"jobledger_bench_webhooks_{os.getpid()}"
    db = args.pg.rsplit("/", 1)[0] + "/" + name
    admin = await asyncpg.connect(args.pg)
    await admin.execute(f"CREATE DATABASE {name}")
    receiver = Receiver(free_port(), folder)
    service = None
    try:
        from jobledger.application import storage

        await storage.migrate(db)
        if args.others:
            await other_tenants_endpoints(db, args.others)
        await receiver.start()
        await receiver.received()
        print(f"1. the machine's limit: bare POSTs to the receiver, {args.rate:g}/s for {args.seconds:g} s", flush=True)
        bare = await bare_round_trips(receiver.port, args.rate, args.seconds)
        print(f"   round trip        {ms(bare)}", flush=True)

        port = free_port()
        service = await start_service(db, port)
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            jobs = []
            for i in range(args.jobs):
                async with session.post(f"{url}/jobs", json={"type": "bench", "payload": {"i": i}}) as resp:
                    jobs.append((await resp.json())["id"])
                async with session.post(f"{url}/jobs/{jobs[-1]}/start", json={}) as resp:
                    assert resp.status == 200
            began = time.perf_counter()
            alone = await append(session, url, jobs, args.rate, args.seconds) / (time.perf_counter() - began)
            print(f"   the service alone (no endpoint): {alone:.0f} of {args.rate:g} progress events/s appended", flush=True)
            async with session.post(f"{url}/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/hook"}) as resp:
                assert resp.status == 201, await resp.text()
            print(f"2. steady: {args.rate:g} progress events/s for {args.seconds:g} s over {args.jobs} jobs", flush=True)
            steady_from = time.time()
            sent = await append(session, url, jobs, args.rate, args.seconds)
            rate = sent / (time.time() - steady_from)
            wanted = await expected(db)
            deadline = time.monotonic() + 10
            while len(steady := await receiver.received()) < len(wanted) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await receiver.stop()
            steady_check = check(steady, wanted)
            lat = latencies(steady, steady_from)
            p99 = percentile(lat, 99) * 1000
            print(f"   appended {sent} ({rate:.0f}/s); commit -> delivery  {ms(lat)}", flush=True)
            print(f"   {steady_check}", flush=True)
            print(f"3. outage: the receiver down {args.down:g} s while {args.rate:g} events/s go on", flush=True)
            outage = asyncio.create_task(append(session, url, jobs, args.rate, args.down))
            await outage
            await receiver.start()
            back = time.monotonic()
            wanted = await expected(db)
            deadline = time.monotonic() + args.recover
            while True:
                await asyncio.sleep(0.5)
                final = check(await receiver.received(), wanted)
                if final["missed"] == 0 or time.monotonic() > deadline:
                    break
            await asyncio.sleep(2)  # anything sent twice would come now
            final = check(await receiver.received(), wanted)
            print(f"   all in {time.monotonic() - back:.1f} s after the receiver came back: {final}", flush=True)
    finally:
        if service is not None:
            service.send_signal(signal.SIGINT)
            await service.wait()
        with contextlib.suppress(ProcessLookupError, AttributeError):
            if receiver.process.returncode is None:
                await receiver.stop()
        if args.keep:
            print(f"kept the database {name}: its webhook_deliveries and webhook_attempts time each step")
        else:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
    floor = percentile(bare, 99) * 1000
    verdict = "PASS" if p99 <= TARGET_P99_MS else "FAIL"
    print(f"\ncommit -> delivery p99 {p99:.1f} ms (target <= {TARGET_P99_MS:g} ms): {verdict}; "
          f"{p99 / floor:.1f} x the bare POST round trip's p99 ({floor:.2f} ms)")
    clean = all(c["missed"] == 0 and c["duplicated"] == 0 and c["out_of_order"] == 0 for c in (steady_check, final))
    print(f"nothing missed, duplicated or out of order (steady and after the outage): {'PASS' if clean else 'FAIL'}")
    return 0 if clean else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", default="bench")
    parser.add_argument("--port", type=int)
    parser.add_argument("--out")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--down", type=float, default=10)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database, to look into")
    parser.add_argument("--others", type=int, default=0, help="endpoints of other tenants, made first (none get the events)")
    parser.add_argument("--recover", type=float, default=120, help="seconds to wait for every delivery after the outage")
    args = parser.parse_args()
    if args.role == "receiver":
        receiver_role(args.port, args.out)
        return
    if urlsplit(args.pg).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("--pg must point at a local server (127.0.0.1)")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()

"""The signed log's costs on PostgreSQL, each beside the machine's own limit from the same run.

    python bench/audit.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--seconds 10] [--events 1000000]

Creates a scratch database, migrates it, and measures:

(a) appends with the tree builder running vs not (bench/append.py's appenders: 8 appenders,
    single events and batches of 100, status rows written as the service does), the builder
    following the log in the same process as the service runs it; phases alternate (off, on,
    off, on) and the ratio is of the means. Target: with / without >= 0.90. Beside it:
    pgbench's 8-client single-row insert TPS.
(b) a log of --events events (appended in batches of 100), its tree built, then full
    verification as `jobledger audit verify` does it (jobledger.application.audit.verify_log:
    every hash chain, against the status rows) and the tree's root recomputed from the log.
    Target: >= 100,000 events/s. Beside it: SHA-256 of the events' canonical bytes in one
    thread of this process.
(c) inclusion proofs over HTTP at that size, once the service's projections have caught up with
    the log: GET /proofs/inclusion of random leaves, one request at a time, p50 and p99, as the open mode's admin and as an auditor key (whose
    tenant is checked). Target: p99 <= 5 ms. Beside it: a bare aiohttp handler's round trip.

The scratch database is dropped at the end.
"""

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
import asyncpg
from aiohttp import web

import append  # bench/append.py: its appenders, pgbench and scratch database
from jobledger.application import audit, signing, storage
from jobledger.application.checkpoints import Checkpoints
from jobledger.eventlog import merkle
from jobledger.web import auth
from jobledger.web.app import create_app
from jobledger.web.config import Settings
from jobledger.application.jobs import utcnow

ORIGIN = "bench.jobledger/log"
PROOFS = 2000


async def append_phase(stores, conn, batch: int, seconds: float, builder: bool) -> float:
    """Events/s of 8 appenders (status rows written) for `seconds`, the tree builder running or not."""
    await conn.execute("TRUNCATE events, job_status, merkle_leaves, merkle_nodes, merkle_checkpoints")
    task = None
    if builder:
        checkpoints = Checkpoints(stores, signing.Signer.generate(ORIGIN), ORIGIN, interval=1.0)
        task = asyncio.create_task(checkpoints.run())
    run = append.Run(8, batch, True)
    start = time.perf_counter()
    await asyncio.gather(*(append.appender(stores, run, start + seconds) for _ in range(8)))
    run.elapsed = time.perf_counter() - start
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    if run.errors:
        raise RuntimeError(run.errors[0])
    return run.rate


async def bench_appends(url: str, stores, conn, seconds: int) -> None:
    await conn.execute("CREATE TABLE bench_insert (id bigserial PRIMARY KEY, stream uuid, version int, data jsonb)")
    tps = await append.pgbench(url, append.SINGLE_SQL, 8, seconds)
    await conn.execute("DROP TABLE bench_insert")
    print(f"(a) machine: pgbench single-row insert, 8 clients: {tps:,.0f} tps", flush=True)
    for batch in (1, append.BATCH):
        rates = {False: [], True: []}
        for builder in (False, True, False, True):
            rates[builder].append(await append_phase(stores, conn, batch, seconds, builder))
        off, on = statistics.mean(rates[False]), statistics.mean(rates[True])
        kind = "single" if batch == 1 else f"batch-{batch}"
        verdict = "PASS" if on / off >= 0.90 else "FAIL"
        print(
            f"(a) 8 appenders, {kind:<9}: without tree {off:>9,.0f} events/s, with tree {on:>9,.0f} events/s,"
            f" ratio {on / off:.3f} (target >= 0.90) {verdict}; {on / tps:.2f} x pgbench", flush=True,
        )


async def fill(stores, conn, events: int) -> None:
    """`events` events by 8 appenders in batches of 100, status rows written."""
    await conn.execute("TRUNCATE events, job_status, merkle_leaves, merkle_nodes, merkle_checkpoints")
    run = append.Run(8, append.BATCH, True)
    started = time.perf_counter()

    async def one() -> None:
        while run.events < events:
            await append.appender(stores, run, time.perf_counter() + 1.0)

    await asyncio.gather(*(one() for _ in range(8)))
    if run.errors:
        raise RuntimeError(run.errors[0])
    print(f"(b) log of {run.events:,} events appended in {time.perf_counter() - started:,.1f} s", flush=True)


async def sha256_rate(stores) -> float:
    """SHA-256 of the first 200,000 events' canonical bytes, per second, one thread."""
    sample = [merkle.canonical(e) for e in await stores.log.raw_all(after=0, limit=200_000)]
    started = time.perf_counter()
    for data in sample:
        hashlib.sha256(data).digest()
    return len(sample) / (time.perf_counter() - started)


async def root_from_log(stores) -> tuple[int, bytes]:
    """The tree's root recomputed from the log itself: every event read and hashed."""
    peaks: list[bytes] = []
    size, after = 0, 0
    while page := await stores.log.raw_all(after=after, limit=20_000):
        made = merkle.extend(size, peaks, [merkle.leaf_hash(merkle.canonical(e)) for e in page])
        known = {(level, index): h for level, index, h in made}
        known.update(zip(merkle.peaks(size), peaks, strict=True))
        size += len(page)
        peaks = [known[key] for key in merkle.peaks(size)]
        after = page[-1].position
    return size, merkle.fold(peaks)


async def bench_verification(stores, events: int) -> tuple[int, Checkpoints]:
    started = time.perf_counter()
    checkpoints = Checkpoints(stores, signing.Signer.generate(ORIGIN), ORIGIN)
    added = await checkpoints.build()
    checkpoint = await checkpoints.issue()
    print(f"(b) tree built: {added:,} leaves in {time.perf_counter() - started:,.1f} s; checkpoint of {checkpoint.tree_size:,}")
    limit = await sha256_rate(stores)
    print(f"(b) machine: SHA-256 of canonical event bytes, one thread: {limit:,.0f} events/s", flush=True)
    started = time.perf_counter()
    verifier = await audit.verify_log(stores)
    elapsed = time.perf_counter() - started
    rate = verifier.checked / elapsed
    broken = getattr(verifier, "first_break", None)
    print(
        f"(b) audit verify (audit.verify_log) of {verifier.checked:,} events: {elapsed:,.1f} s = {rate:,.0f} events/s"
        f" (target >= 100,000) {'PASS' if rate >= 100_000 else 'FAIL'}; {rate / limit:.2f} x SHA-256;"
        f" {'ok' if broken is None else f'BROKEN: {broken}'}", flush=True,
    )
    started = time.perf_counter()
    size, root = await root_from_log(stores)
    elapsed = time.perf_counter() - started
    print(
        f"(b) tree root recomputed from the log: {size / elapsed:,.0f} events/s;"
        f" {'equals' if root == checkpoint.root_hash and size == checkpoint.tree_size else 'DIFFERS FROM'}"
        " the signed checkpoint", flush=True,
    )
    return checkpoint.tree_size, checkpoints


async def latencies(session: aiohttp.ClientSession, url: str, params, headers: dict) -> list[float]:
    out = []
    for p in params:
        started = time.perf_counter()
        async with session.get(url, params=p, headers=headers) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{url} answered {resp.status}")
        out.append(time.perf_counter() - started)
    return out


def quantiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:.2f} ms, p99 {cuts[98] * 1000:.2f} ms"


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}"


async def caught_up(session: aiohttp.ClientSession, base: str) -> None:
    """Wait until the service's projections have folded the whole log: a service started on a log of
    a million events first catches up in its own event loop, which is not the steady state timed here."""
    started = time.perf_counter()
    while True:
        async with session.get(base + "/health") as resp:
            lags = [p["lag"] for p in (await resp.json())["projections"].values()]
        if not any(lags):
            print(f"(c) the service's projections caught up with the log in {time.perf_counter() - started:,.1f} s")
            return
        await asyncio.sleep(0.5)


async def bench_proofs(url: str, stores, size: int) -> None:
    floor_app = web.Application()
    floor_app.router.add_get("/", lambda _: web.Response(text="ok"))
    floor, floor_url = await serve(floor_app)
    service, base = await serve(create_app(Settings(db=url, checkpoint_interval=3600)))
    key, record = auth.new_key("auditor", "acme", None, None, utcnow())
    await stores.registry.put_key(record)
    rng = random.Random(1)
    params = [{"leaf_index": rng.randrange(size), "tree_size": size} for _ in range(PROOFS)]
    try:
        async with aiohttp.ClientSession() as session:
            await caught_up(session, base)
            await latencies(session, floor_url + "/", [{}] * 200, {})  # warm up
            await latencies(session, base + "/proofs/inclusion", params[:200], {})
            print(f"(c) machine: bare aiohttp round trip: {quantiles(await latencies(session, floor_url + '/', [{}] * PROOFS, {}))}")
            for who, headers in (("admin (open mode)", {}), ("auditor key", {"Authorization": f"Bearer {key}"})):
                samples = await latencies(session, base + "/proofs/inclusion", params, headers)
                p99 = statistics.quantiles(samples, n=100)[98]
                print(
                    f"(c) inclusion proofs at {size:,} leaves, {who}: {quantiles(samples)}"
                    f" (target p99 <= 5 ms) {'PASS' if p99 <= 0.005 else 'FAIL'}", flush=True,
                )
    finally:
        await service.cleanup()
        await floor.cleanup()


async def main(pg: str, seconds: int, events: int) -> None:
    async with append.scratch_database(pg, "jobledger_bench_audit") as (name, url):
        stores = conn = None
        try:
            conn = await asyncpg.connect(url)
            print(f"PostgreSQL {await conn.fetchval('SHOW server_version')}, {os.cpu_count()} CPUs, database {name}")
            stores = await storage.open_stores(url, migrate=False)
            await bench_appends(url, stores, conn, seconds)
            await fill(stores, conn, events)
            size, _ = await bench_verification(stores, events)
            await bench_proofs(url, stores, size)
        finally:
            if stores is not None:
                await stores.close()
            if conn is not None:
                await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=append.DEFAULT_PG, help=f"admin URL of a local PostgreSQL (default {append.DEFAULT_PG})")
    parser.add_argument("--seconds", type=int, default=10, help="length of each append phase (default 10)")
    parser.add_argument("--events", type=int, default=1_000_000, help="size of the log for (b) and (c)")
    options = parser.parse_args()
    asyncio.run(main(options.pg, options.seconds, options.events))

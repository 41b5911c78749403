"""Rebuild of the job status projection on PostgreSQL, beside the machine's raw read rate
of the events table from the same run.

    python bench/rebuild.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--jobs 100000]
                            [--events-per-job 10] [--per-append N] [--requests 2000] [--rebuilds 3]
                            [--max-minutes 30]

Creates a scratch database, migrates it, and:

1. fills the first 1,000 jobs the way the service writes them: one command at a time
   (CreateJob, StartJob, ReportProgress x (events-per-job - 3), CompleteJob), each
   decided by domain.decide on the folded job, appended through the real store
   (jobledger.application.storage.open_stores, Stores.log.append) with the job status row, from
   many concurrent tasks (the group commit batches them): one event per append;
2. runs `jobledger serve` on the database and measures GET /jobs/{id} (p50/p99) for
   random jobs: the 1,000-job figure;
3. fills the other jobs the same way but appends each job's whole history at once
   (--per-append events per append, default all of them, each event with its own
   recorded time): the same events, versions, hash chains and status rows, written
   faster, since one event per append would take far too long for 1,000,000 events;
4. checks the log (counts, versions 1..n gapless in position order, status rows match
   their streams) and verifies every hash chain (jobledger.application.audit.verify_log, timed);
5. measures the raw read rate: `SELECT * FROM events` through an asyncpg cursor
   (prefetch 5000), rows/s, before each rebuild and after the last; the best pass is the
   machine's limit;
6. times --rebuilds rebuilds (default 3) of
   `store.status.rebuild_status(projections.job_status.Rebuild(...))` (what `jobledger
   projections rebuild` runs), prints their median and best, each as a ratio to the raw
   read rate, and checks that every rebuilt table equals the one the appends wrote, row
   for row;
7. times `jobledger.application.projection_runner.rebuild(store, "stats")` (`jobledger projections
   rebuild stats`);
8. measures GET /jobs/{id} again, now at --jobs jobs.

Targets (from the issue): rebuild >= 50,000 events/s and >= 0.25 x the raw read rate;
GET /jobs/{id} latency flat from 1,000 to 100,000 jobs (this bench reads "flat" as a
p50 at most 1.5 x the 1,000-job p50). Exit status: 1 if a check failed, else 0; a
missed target is reported, not an error.
"""

import argparse
import asyncio
import contextlib
import gc
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import aiohttp
import append  # beside this file: the scratch database helpers
import asyncpg

from jobledger.domain import commands, decide
from jobledger.domain.job import Job, fold
from jobledger.eventlog import codec
from jobledger.projections import job_status
from jobledger.application import audit, projection_runner, storage, sweeper
from jobledger.web.config import Settings
from jobledger.application.jobs import DEFAULT_TENANT

DEFAULT_PG = append.DEFAULT_PG
SMALL = 1_000  # jobs at the first latency point
SERVICE_TASKS = 100  # concurrent writers, one event per append
BULK_TASKS = 400  # concurrent writers, whole histories (the group commit takes up to 2000 events a batch)
STEP = timedelta(seconds=1.5)  # between the recorded times of one job's events, in a bulk append
REBUILD_TARGET = 50_000.0
RATIO_TARGET = 0.25
FLAT_TARGET = 1.5
CLI = [sys.executable, "-c", "from jobledger.cli.commands import main; main()"]

TYPES = ("report.generate", "invoice.render", "document.index")
TENANTS = (DEFAULT_TENANT, "globex", "initech", "umbrella")  # the open mode's GET sees the first


# ---------------------------------------------------------------- filling


def create_command(k: int) -> commands.CreateJob:
    return commands.CreateJob(
        type=TYPES[k % len(TYPES)],
        tenant=TENANTS[k % len(TENANTS)],
        payload={"document": f"s3://bucket/rfp-{k:07d}.pdf", "pages": 100, "language": "en"},
        metadata={"customer": TENANTS[k % len(TENANTS)], "source": "bench"},
        phases=("research", "audit"),
        priority=k % 10,
        max_attempts=3,
    )


def job_commands(k: int, n: int) -> list[commands.Command]:
    """A job's life in n events: created, started, n - 3 progress reports, completed."""
    progress = [
        commands.ReportProgress(
            percent=round(100 * (i + 1) / (n - 2), 1),
            message=f"processed page {i + 1} of {n - 3}",
            details={"page": i + 1, "stage": "extract"},
        )
        for i in range(n - 3)
    ]
    done = commands.CompleteJob(result={"pages": 100, "url": f"s3://bucket/out/{k:07d}.pdf", "score": 0.93})
    return [create_command(k), commands.StartJob(), *progress, done]


def meta(tenant: str) -> dict[str, str]:
    """Request metadata as the service writes it: every event names its job's tenant."""
    request_id = uuid4().hex
    return {"actor": "api", "request_id": request_id, "correlation_id": request_id, "tenant": tenant}


async def write_job(stores, k: int, n: int, per_append: int) -> int:
    """Decide, fold and append job k's life, `per_append` events per append; returns appends made.

    One event per append uses the wall clock, as the service does; larger appends give
    each event its own recorded time, STEP apart, ending now."""
    job_id = uuid4()
    job: Job | None = None
    version, pending, appends = 0, [], 0
    bulk = per_append > 1
    start = datetime.now(UTC) - STEP * (n - 1) if bulk else None
    for i, command in enumerate(job_commands(k, n)):
        now = start + STEP * i if bulk else datetime.now(UTC)
        new = decide.create(job_id, command, now) if job is None else decide.decide(job, command, now)
        job = fold(job, new, now, job_id)
        pending.extend(codec.new_event(e, now, meta(job.tenant)) for e in new)
        if len(pending) >= per_append or i == n - 1:
            recorded = await stores.log.append(job_id, version, pending, job_status.row(job))
            version += len(recorded)
            pending = []
            appends += 1
    return appends


@dataclass
class Fill:
    jobs: int = 0
    events: int = 0
    appends: int = 0
    elapsed: float = 0.0
    per_append: int = 1

    @property
    def rate(self) -> float:
        return self.events / self.elapsed if self.elapsed else 0.0


async def fill(stores, first: int, last: int, n: int, per_append: int, tasks: int) -> Fill:
    """Write jobs first..last-1 from `tasks` concurrent writers; prints progress every ~10%."""
    result = Fill(per_append=per_append)
    cursor = iter(range(first, last))
    total = last - first
    step = max(1, total // 10)
    started = time.perf_counter()

    async def writer() -> None:
        for k in cursor:
            made = await write_job(stores, k, n, per_append)  # not `+=` across the await: lost updates
            result.appends += made
            result.jobs += 1
            result.events += n
            if result.jobs % step == 0:
                elapsed = time.perf_counter() - started
                print(f"  {first + result.jobs:>9,} jobs  {result.events / elapsed:>9,.0f} events/s", flush=True)

    await asyncio.gather(*(writer() for _ in range(tasks)))
    result.elapsed = time.perf_counter() - started
    return result


# ---------------------------------------------------------------- checks


async def check_log(conn: asyncpg.Connection, jobs: int, n: int) -> list[str]:
    """Counts, gapless versions in position order, status rows matching their streams."""
    problems = []
    events, streams = await conn.fetchrow("SELECT count(*), count(DISTINCT stream_id) FROM events")
    if (events, streams) != (jobs * n, jobs):
        problems.append(f"log holds {events} events in {streams} streams, expected {jobs * n} in {jobs}")
    bad = await conn.fetchval(
        "SELECT count(*) FROM (SELECT count(*) c, min(version) lo, max(version) hi FROM events GROUP BY stream_id) s"
        " WHERE c <> $1 OR lo <> 1 OR hi <> $1",
        n,
    )
    if bad:
        problems.append(f"{bad} stream(s) whose versions are not exactly 1..{n}")
    out_of_order = await conn.fetchval(
        "SELECT count(*) FROM (SELECT version - lag(version) OVER (PARTITION BY stream_id ORDER BY position) AS step"
        " FROM events) s WHERE step <> 1"
    )
    if out_of_order:
        problems.append(f"{out_of_order} event(s) whose version does not follow its predecessor in position order")
    rows, matching = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM job_status), count(*) FROM job_status s JOIN (SELECT stream_id, max(version) v,"
        " min(position) lo, max(position) hi FROM events GROUP BY stream_id) e ON e.stream_id = s.job_id"
        " WHERE s.version = e.v AND s.created_position = e.lo AND s.last_position = e.hi AND s.status = 'completed'"
        " AND (s.doc::json ->> 'version')::int = e.v"
    )
    if not rows == matching == jobs:
        problems.append(f"status rows: {rows}, matching their stream: {matching}, jobs: {jobs}")
    return problems


async def rebuilt_differences(conn: asyncpg.Connection) -> int:
    """Rows of job_status that differ from the copy taken before the rebuild (or exist in one only)."""
    return await conn.fetchval(
        "SELECT count(*) FROM bench_before b FULL JOIN job_status s USING (job_id)"
        " WHERE (b.tenant, b.type, b.status, b.priority, b.run_at, b.expires_at, b.lease_expires_at, b.created_at,"
        " b.updated_at, b.version, b.created_position, b.last_position, b.doc::text)"
        " IS DISTINCT FROM (s.tenant, s.type, s.status, s.priority, s.run_at, s.expires_at, s.lease_expires_at,"
        " s.created_at, s.updated_at, s.version, s.created_position, s.last_position, s.doc::text)"
    )


# ---------------------------------------------------------------- reads


async def raw_read(url: str) -> tuple[int, float]:
    """(rows, seconds) of `SELECT * FROM events` through an asyncpg cursor, prefetch 5000."""
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        rows = 0
        async with conn.transaction():
            async for _ in conn.cursor("SELECT * FROM events", prefetch=5000):
                rows += 1
        return rows, time.perf_counter() - started
    finally:
        await conn.close()


async def prepare_tables(url: str) -> None:
    """Vacuum (sets hint bits and the visibility map) and checkpoint, so that no timed
    phase pays for the writes before it; and collect this process's garbage first.

    Nothing big may stay alive in this process across a timed phase: 100,000 live
    objects (the audit's verifier, say) make every full collection of Python's cyclic
    GC longer, which halved the raw read rate here and slowed the rebuild too."""
    gc.collect()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM (ANALYZE) events, job_status")
        with contextlib.suppress(asyncpg.PostgresError):  # needs superuser or pg_checkpoint
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


# ---------------------------------------------------------------- rebuilds


async def rebuild_rounds(
    stores, conn: asyncpg.Connection, url: str, jobs: int, n: int, rounds: int, problems: list[str]
) -> tuple[list[float], list[float]]:
    """Raw read, rebuild, raw read, rebuild, ..., raw read: rows/s of each raw read and events/s
    of each rebuild, so that both see the same machine. Every rebuilt table must equal the
    one the appends wrote (copied aside first)."""
    await conn.execute("DROP TABLE IF EXISTS bench_before")
    await conn.execute("CREATE TABLE bench_before AS SELECT * FROM job_status")
    cutoff = sweeper.retention_cutoff(datetime.now(UTC), Settings.model_fields["retention_seconds"].default)
    raws, rebuilds = [], []
    for k in range(rounds + 1):
        await prepare_tables(url)
        rows, elapsed = await raw_read(url)
        raws.append(rows / elapsed)
        print(f"raw read {k + 1}: {rows:,} rows in {elapsed:.2f} s = {raws[-1]:,.0f} rows/s", flush=True)
        if k == rounds:
            break
        started = time.perf_counter()
        # what `jobledger projections rebuild` runs
        count = await stores.status.rebuild_status(job_status.Rebuild(cutoff))
        elapsed = time.perf_counter() - started
        rebuilds.append(jobs * n / elapsed)
        differ = await rebuilt_differences(conn)
        if count != jobs or differ:
            problems.append(f"rebuild {k + 1}: {count} rows written, {differ} differ from the rows the appends wrote")
        print(
            f"rebuild job_status {k + 1}: {jobs * n:,} events -> {count:,} rows in {elapsed:.2f} s"
            f" = {rebuilds[-1]:,.0f} events/s ({rebuilds[-1] / raws[-1]:.3f}x the raw read just before);"
            f" rows differing from the appended ones: {differ}",
            flush=True,
        )
    await conn.execute("DROP TABLE bench_before")
    return raws, rebuilds


# ---------------------------------------------------------------- the service and GET latency


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Latency:
    jobs: int
    samples: list[float] = field(default_factory=list)

    def pick(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        return self.pick(0.99)


@contextlib.asynccontextmanager
async def service(url: str):
    """`jobledger serve` on the scratch database, on a free loopback port; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBLEDGER_") and k != "DATABASE_URL"}
    env["JOBLEDGER_LOG_LEVEL"] = "WARNING"
    with tempfile.TemporaryFile("w+") as log:
        proc = await asyncio.create_subprocess_exec(
            *CLI,
            "serve",
            "--db",
            url,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def failed(why: str) -> RuntimeError:
            log.seek(0)
            return RuntimeError(f"jobledger serve {why}; its output:\n{log.read()[-3000:]}")

        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as session:
                deadline = time.monotonic() + 60
                while True:
                    if proc.returncode is not None:
                        raise failed(f"exited with {proc.returncode}")
                    with contextlib.suppress(aiohttp.ClientError):
                        async with session.get(f"{base}/health") as r:
                            if r.status == 200:
                                health = await r.json()
                                # the stats projection catches up in the background: wait until it has
                                if all(p["lag"] == 0 for p in health["projections"].values()):
                                    break
                    if time.monotonic() > deadline:
                        raise failed("not ready (projections caught up) within 60 s")
                    await asyncio.sleep(0.2)
            yield base
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


async def get_latency(base: str, ids: list[UUID], requests: int) -> list[float]:
    """Sequential GET /jobs/{id} for random ids over one keep-alive connection; seconds each."""
    samples = []
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        for i in range(requests + requests // 10):  # the first tenth warms up and is not counted
            job_id = random.choice(ids)
            started = time.perf_counter()
            async with session.get(f"{base}/jobs/{job_id}") as r:
                body = await r.read()
            elapsed = time.perf_counter() - started
            if r.status != 200 or str(job_id).encode() not in body:
                raise RuntimeError(f"GET /jobs/{job_id}: {r.status} {body[:200]!r}")
            if i >= requests // 10:
                samples.append(elapsed)
    return samples


async def measure_latency(url: str, conn: asyncpg.Connection, jobs: int, requests: int) -> Latency:
    # without a key, the loopback service answers as the admin of the default tenant: it sees its jobs only
    ids = [r[0] for r in await conn.fetch("SELECT job_id FROM job_status WHERE tenant = $1", DEFAULT_TENANT)]
    async with service(url) as base:
        samples = await get_latency(base, ids, requests)
    result = Latency(jobs, samples)
    print(
        f"GET /jobs/{{id}} at {jobs:,} jobs: p50 {result.p50 * 1000:.2f} ms, p99 {result.p99 * 1000:.2f} ms"
        f" ({requests} sequential requests)",
        flush=True,
    )
    return result


# ---------------------------------------------------------------- report


def report(
    f: dict[str, float], fills: list[Fill], small: Latency | None, large: Latency, jobs: int, rounds: int
) -> None:
    raw = f["raw"]
    print()
    print(
        f"rebuild of {jobs:,} jobs / {f['events']:,} events ({os.cpu_count()} CPUs;"
        f" raw read = best of {rounds + 1} passes, one before each rebuild and one after the last)"
    )
    header = f"{'figure':<46} {'value':>16} {'ratio':>15}  {'target':<20} {'result':<6}"
    print(header)
    print("-" * len(header))

    def line(name: str, value: str, ratio_: str = "", target: str = "", result: str = "") -> None:
        print(f"{name:<46} {value:>16} {ratio_:>15}  {target:<20} {result:<6}")

    for fl in fills:
        kind = "one event per append" if fl.per_append == 1 else f"{fl.per_append} events per append"
        line(f"fill ({kind}, {fl.jobs:,} jobs)", f"{fl.rate:,.0f} ev/s")  # a write: no read limit to compare
    line("raw read: SELECT * FROM events (asyncpg)", f"{raw:,.0f} rows/s", "1.000x raw")
    line("audit verify (every hash chain)", f"{f['verify']:,.0f} ev/s", f"{f['verify'] / raw:.3f}x raw")
    for name, rate in (("median", f["rebuild"]), ("best", f["rebuild best"])):
        ratio = rate / raw
        line(
            f"rebuild job_status, {name} of {rounds}",
            f"{rate:,.0f} ev/s",
            f"{ratio:.3f}x raw",
            f">= {RATIO_TARGET:.2f}x raw",
            "PASS" if ratio >= RATIO_TARGET else "FAIL",
        )
        line("", "", "", f">= {REBUILD_TARGET:,.0f} ev/s", "PASS" if rate >= REBUILD_TARGET else "FAIL")
    if "stats" in f:
        line("rebuild stats (projection_runner)", f"{f['stats']:,.0f} ev/s", f"{f['stats'] / raw:.3f}x raw")
    if small is not None:
        line(f"GET /jobs/{{id}} p50 at {small.jobs:,} jobs", f"{small.p50 * 1000:.2f} ms")
        line(f"GET /jobs/{{id}} p99 at {small.jobs:,} jobs", f"{small.p99 * 1000:.2f} ms")
    p50_ratio = large.p50 / small.p50 if small else 0.0
    line(
        f"GET /jobs/{{id}} p50 at {large.jobs:,} jobs",
        f"{large.p50 * 1000:.2f} ms",
        f"{p50_ratio:.2f}x {SMALL:,}" if small else "",
        f"<= {FLAT_TARGET:.1f}x (flat)" if small else "",
        ("PASS" if p50_ratio <= FLAT_TARGET else "FAIL") if small else "",
    )
    line(
        f"GET /jobs/{{id}} p99 at {large.jobs:,} jobs",
        f"{large.p99 * 1000:.2f} ms",
        f"{large.p99 / small.p99:.2f}x {SMALL:,}" if small else "",
    )


# ---------------------------------------------------------------- main


async def run(jobs: int, n: int, per_append: int, requests: int, rounds: int, url: str) -> int:
    stores = conn = None
    problems: list[str] = []
    figures: dict[str, float] = {"events": jobs * n}
    fills: list[Fill] = []
    try:
        stores = await storage.open_stores(url)  # migrates
        conn = await asyncpg.connect(url)
        version = await conn.fetchval("SHOW server_version")
        buffers = await conn.fetchval("SHOW shared_buffers")
        print(
            f"PostgreSQL {version} (shared_buffers={buffers}), {os.cpu_count()} CPUs, database {url.rsplit('/', 1)[1]}"
        )

        small = None
        first = min(SMALL, jobs)
        print(f"fill 1: {first:,} jobs x {n} events, one event per append ({SERVICE_TASKS} writers)", flush=True)
        fills.append(await fill(stores, 0, first, n, 1, SERVICE_TASKS))
        print(f"  {fills[-1].rate:,.0f} events/s in {fills[-1].appends:,} appends", flush=True)
        if jobs > first:
            await prepare_tables(url)
            small = await measure_latency(url, conn, first, requests)
            print(
                f"fill 2: {jobs - first:,} jobs x {n} events, {per_append} per append ({BULK_TASKS} writers)",
                flush=True,
            )
            fills.append(await fill(stores, first, jobs, n, per_append, BULK_TASKS))
            print(f"  {fills[-1].rate:,.0f} events/s in {fills[-1].appends:,} appends", flush=True)

        started = time.perf_counter()
        problems += await check_log(conn, jobs, n)
        verdict = "ok" if not problems else "FAILED: " + "; ".join(problems)
        print(f"log check: {verdict} ({time.perf_counter() - started:.1f} s)")
        started = time.perf_counter()
        verifier = await audit.verify_log(stores)
        elapsed = time.perf_counter() - started
        checked, first_break = verifier.checked, verifier.first_break
        del verifier  # its 100,000 chain heads would slow the GC in the timed phases below
        figures["verify"] = checked / elapsed
        if first_break is not None or checked != jobs * n:
            problems.append(f"hash chains: {checked} checked, first break {first_break}")
        print(f"hash chains: {checked:,} events verified in {elapsed:.1f} s, first break: {first_break}")

        raws, rebuilds = await rebuild_rounds(stores, conn, url, jobs, n, rounds, problems)
        figures["raw"] = max(raws)
        figures["rebuild"] = statistics.median(rebuilds)
        figures["rebuild best"] = max(rebuilds)

        started = time.perf_counter()
        position = await projection_runner.rebuild(stores, "stats")
        elapsed = time.perf_counter() - started
        figures["stats"] = position / elapsed
        print(
            f"rebuild stats: up to position {position:,} in {elapsed:.2f} s = {figures['stats']:,.0f} events/s",
            flush=True,
        )

        await prepare_tables(url)
        large = await measure_latency(url, conn, jobs, requests)
        report(figures, fills, small, large, jobs, rounds)
        if problems:
            print("\nchecks FAILED:\n  " + "\n  ".join(problems))
        return 1 if problems else 0
    finally:
        if stores is not None:
            await stores.close()
        if conn is not None:
            await conn.close()


async def main(pg: str, jobs: int, n: int, per_append: int, requests: int, rounds: int, max_minutes: float) -> int:
    append.check_local(pg)
    name = f"jobledger_bench_rebuild_{os.getpid()}"
    url = append.database_url(pg, name)
    await append.admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await append.admin(pg, f"CREATE DATABASE {name}")
    try:
        async with asyncio.timeout(max_minutes * 60):
            return await run(jobs, n, per_append, requests, rounds, url)
    except TimeoutError:
        print(f"stopped: over --max-minutes {max_minutes:g}", file=sys.stderr)
        return 2
    finally:
        await append.admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"admin URL of a local PostgreSQL (default {DEFAULT_PG})")
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs to fill (default 100000)")
    parser.add_argument("--events-per-job", type=int, default=10, help="events per job, at least 3 (default 10)")
    parser.add_argument(
        "--per-append",
        type=int,
        default=None,
        help="events per append after the first 1,000 jobs (default: all of a job's)",
    )
    parser.add_argument(
        "--requests", type=int, default=2000, help="GET /jobs/{id} requests per latency point (default 2000)"
    )
    parser.add_argument(
        "--rebuilds", type=int, default=3, help="rebuilds to time, each after a raw read; median and best (default 3)"
    )
    parser.add_argument(
        "--max-minutes", type=float, default=30, help="give up (and drop the database) after this long (default 30)"
    )
    options = parser.parse_args()
    if options.events_per_job < 3:
        parser.error("--events-per-job must be at least 3 (created, started, completed)")
    if options.jobs < 1:
        parser.error("--jobs must be at least 1")
    if options.rebuilds < 1:
        parser.error("--rebuilds must be at least 1")
    per_append = min(options.per_append or options.events_per_job, options.events_per_job)
    try:
        sys.exit(
            asyncio.run(
                main(
                    options.pg,
                    options.jobs,
                    options.events_per_job,
                    per_append,
                    options.requests,
                    options.rebuilds,
                    options.max_minutes,
                )
            )
        )
    except KeyboardInterrupt:
        sys.exit("interrupted (the scratch database was dropped)")

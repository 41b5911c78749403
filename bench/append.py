"""Event appends per second on PostgreSQL, beside pgbench's insert rate from the same run.

    python bench/append.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--seconds 10]

Creates a scratch database, migrates it, and measures:

- pgbench (the machine's limit): single-row insert transactions at 1 and 8 clients
  (TPS), and 100-row insert transactions at 1 and 8 clients (rows/s = TPS x 100);
- the Python client's floor: 8 asyncpg connections of this process inserting the same
  events, made the same way, with a bare INSERT (no version check, lock, hash chain or
  group commit), one transaction an append, single and in 100s;
- jobledger: appends through one shared PostgreSQL event log (Stores.log) by 1 and 8 concurrent
  asyncio appenders, one event per append ("single") and 100 events per append
  ("batch"), each both log-only (state=None) and with the job status row written in
  the same transaction (as the service does).

After every jobledger run it checks that the log holds exactly the acknowledged
events, that every stream's versions are 1..n without gap in position order, and
(with state) that each status row matches its stream. It prints one table with each
figure, the matching pgbench figure, the ratio, and PASS/FAIL against the targets:

- 8 appenders, single events: >= 1.0 x pgbench 8-client single-row TPS;
- 8 appenders, batches of 100: >= 0.5 x pgbench 8-client rows/s in 100-row transactions.

Each phase runs --seconds; the scratch database is dropped at the end. Exit status:
0, or 1 if a log check failed (lost, extra or out-of-order events, or append errors).
A missed performance target is reported, not turned into a failing exit status.
"""

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit
from uuid import UUID, uuid4

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from jobledger.domain import commands, decide, events
from jobledger.domain.job import Job, fold
from jobledger.eventlog import codec
from jobledger.eventlog.records import NewEvent
from jobledger.projections import job_status
from jobledger.application import storage

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
PGBENCH = "/usr/bin/pgbench"
BATCH = 100
STREAM_EVENTS = {1: 100, BATCH: 1000}  # events per job stream before an appender moves to a new job
SINGLE_TARGET = 1.0
BATCH_TARGET = 0.5

# A progress event of the size the service records (also the row pgbench inserts).
SAMPLE_DATA = '{"percent": 42.0, "message": "processed page 42 of 100", "details": {"page": 42, "stage": "extract"}}'
META = {"actor": "worker-7", "request_id": "3f1c9a7e2b6d4e0f", "correlation_id": "rfp-2026-0042"}


# ---------------------------------------------------------------- scratch database


def database_url(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def check_local(url: str) -> None:
    host = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1)).hostname
    if host not in LOCAL_HOSTS:
        sys.exit(f"--pg must point at a local server (127.0.0.1), not {host!r}")


@contextlib.asynccontextmanager
async def scratch_database(pg: str, prefix: str):
    """A migrated scratch database `<prefix>_<pid>` on the local server `pg`: yields (name, URL),
    and drops it at the end, also on failure or Ctrl-C."""
    check_local(pg)
    name = f"{prefix}_{os.getpid()}"
    await admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin(pg, f"CREATE DATABASE {name}")
    try:
        url = database_url(pg, name)
        await storage.migrate(url)
        yield name, url
    finally:
        await admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# ---------------------------------------------------------------- pgbench

SINGLE_SQL = f"INSERT INTO bench_insert (stream, version, data) VALUES (gen_random_uuid(), 1, '{SAMPLE_DATA}');\n"
# Each of the 100 rows gets its own document, parsed as a client's rows would be (a
# constant literal would be parsed once per statement, not once per row).
BATCH_SQL = (
    "INSERT INTO bench_insert (stream, version, data) "
    'SELECT s.id, g, (\'{"percent": \' || g || \', "message": "processed page \' || g || \' of 100", '
    '"details": {"page": \' || g || \', "stage": "extract"}}\')::jsonb '
    f"FROM (SELECT gen_random_uuid() AS id) s, generate_series(1, {BATCH}) g;\n"
)


async def pgbench(url: str, script: str, clients: int, seconds: int) -> float:
    """pgbench's TPS for `script` at `clients` clients, on a freshly emptied bench_insert."""
    await admin(url, "TRUNCATE bench_insert")
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    try:
        args = [
            PGBENCH,
            "-n",
            "-T",
            str(seconds),
            "-c",
            str(clients),
            "-j",
            str(min(2, clients)),
            "-f",
            f.name,
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            unquote(parts.username or "postgres"),
            parts.path.lstrip("/"),
        ]
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout=seconds + 60)
        except (TimeoutError, asyncio.CancelledError):
            proc.kill()
            await proc.wait()
            raise
    finally:
        os.unlink(f.name)
    text = out.decode()
    match = re.search(r"^tps = ([0-9.]+)", text, re.MULTILINE)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"pgbench failed ({proc.returncode}):\n{text}\n{err.decode()}")
    return float(match.group(1))


# ---------------------------------------------------------------- jobledger appenders

CREATE = commands.CreateJob(
    type="report.generate",
    tenant="acme",
    payload={"document": "s3://bucket/rfp-0042.pdf", "pages": 100, "language": "en"},
    metadata={"customer": "acme", "source": "bench"},
    phases=("research", "audit"),
    priority=5,
    max_attempts=3,
)


def domain_events(job_id: UUID, first_version: int, count: int, now: datetime) -> list[events.Event]:
    """The events with versions first_version .. first_version + count - 1 of a job's life."""
    out: list[events.Event] = []
    for version in range(first_version, first_version + count):
        if version == 1:
            out.extend(decide.create(job_id, CREATE, now))
        elif version == 2:
            out.append(events.JobStarted(attempt=1, worker_id="worker-7"))
        else:
            page = version - 2
            out.append(
                events.ProgressReported(
                    percent=float(page % 100),
                    message=f"processed page {page} of 1000",
                    details={"page": page, "stage": "extract"},
                )
            )
    return out


@dataclass
class Run:
    appenders: int
    batch: int
    with_state: bool
    events: int = 0
    appends: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    streams: dict[UUID, int] = field(default_factory=dict)  # acknowledged version per stream
    errors: list[str] = field(default_factory=list)
    check: str = ""
    ok: bool = True
    transactions: int = 0

    @property
    def name(self) -> str:
        kind = "single" if self.batch == 1 else f"batch-{self.batch}"
        return f"{self.appenders} appender{'s' if self.appenders > 1 else ''}, {kind}"

    @property
    def rate(self) -> float:
        return self.events / self.elapsed if self.elapsed else 0.0


async def appender(stores, run: Run, deadline: float) -> None:
    per_stream = STREAM_EVENTS[run.batch]
    clock = time.perf_counter
    while clock() < deadline:
        job_id, version, job = uuid4(), 0, None
        while version < per_stream and clock() < deadline:
            now = datetime.now(UTC)
            new = domain_events(job_id, version + 1, run.batch, now)
            state = None
            if run.with_state:
                new_job: Job = fold(job, new, now, job_id)
                state = job_status.row(new_job)
            rows: list[NewEvent] = [codec.new_event(e, now, META) for e in new]
            started = clock()
            try:
                recorded = await stores.log.append(job_id, version, rows, state)
            except Exception as exc:  # noqa: BLE001 - counted and reported; the run's check then fails
                run.errors.append(f"{type(exc).__name__}: {exc}")
                return
            run.latencies.append(clock() - started)
            version += len(recorded)
            run.events += len(recorded)
            run.appends += 1
            run.streams[job_id] = version
            if run.with_state:
                job = new_job


async def measure(stores, conn: asyncpg.Connection, run: Run, seconds: float) -> None:
    await conn.execute("TRUNCATE events, job_status")
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(*(appender(stores, run, deadline) for _ in range(run.appenders)))
    run.elapsed = time.perf_counter() - start
    await verify(conn, run)


async def verify(conn: asyncpg.Connection, run: Run) -> None:
    """The log holds exactly what was acknowledged, gapless and in order per stream."""
    problems = [f"{len(run.errors)} append error(s), first: {run.errors[0]}"] if run.errors else []
    total = await conn.fetchval("SELECT count(*) FROM events")
    if total != run.events:
        problems.append(f"log holds {total} events, {run.events} acknowledged")
    rows = await conn.fetch("SELECT stream_id, count(*), min(version), max(version) FROM events GROUP BY stream_id")
    stored = {r[0]: (r[1], r[2], r[3]) for r in rows}
    if set(stored) != set(run.streams):
        problems.append(f"{len(set(stored) ^ set(run.streams))} stream(s) in only one of log and acknowledgements")
    bad = [s for s, v in run.streams.items() if stored.get(s) != (v, 1, v)]
    if bad:
        problems.append(f"{len(bad)} stream(s) whose versions are not exactly 1..acknowledged")
    out_of_order = await conn.fetchval(
        "SELECT count(*) FROM (SELECT version - lag(version) OVER (PARTITION BY stream_id ORDER BY position) AS step"
        " FROM events) s WHERE step <> 1"
    )
    if out_of_order:
        problems.append(f"{out_of_order} event(s) whose version does not follow its predecessor in position order")
    status_rows = await conn.fetchval("SELECT count(*) FROM job_status")
    if run.with_state:
        matching = await conn.fetchval(
            "SELECT count(*) FROM job_status s JOIN (SELECT stream_id, max(version) AS v, min(position) AS first,"
            " max(position) AS last FROM events GROUP BY stream_id) e ON e.stream_id = s.job_id"
            " WHERE s.version = e.v AND s.created_position = e.first AND s.last_position = e.last"
        )
        if not status_rows == matching == len(run.streams):
            problems.append(
                f"status rows: {status_rows}, matching their stream: {matching}, streams: {len(run.streams)}"
            )
    elif status_rows:
        problems.append(f"{status_rows} status row(s) written without state")
    run.ok = not problems
    if run.ok:
        status = f", {status_rows} status rows match" if run.with_state else ""
        run.check = f"ok: {total} events = acknowledged, {len(stored)} streams gapless{status}"
    else:
        run.check = "FAILED: " + "; ".join(problems)
    # Not a check: how many transactions wrote the events (group commit shows as > 1 append per one).
    run.transactions = await conn.fetchval("SELECT count(DISTINCT xmin::text) FROM events")


# ---------------------------------------------------------------- the Python client's floor

# The same events as a bare INSERT: no version check, lock, hash chain, group commit or result.
FLOOR_SQL = (
    "INSERT INTO events (stream_id, version, type, schema_version, data, metadata, recorded_at, hash)"
    " SELECT $1, v, t, s, d, m, a, '' FROM unnest($2::int[], $3::text[], $4::smallint[], $5::json[], $6::json[],"
    " $7::timestamptz[]) AS r(v, t, s, d, m, a)"
)


async def floor(url: str, batch: int, seconds: float) -> float:
    """Events/s that 8 asyncpg connections of this process insert with FLOOR_SQL, one
    transaction an append, events made as the appenders make them: what a Python client
    can do here at all, beside which the store's own cost shows."""
    conns = [await asyncpg.connect(url) for _ in range(8)]
    try:
        await conns[0].execute("TRUNCATE events")
        total = 0
        deadline = time.perf_counter() + seconds

        async def insert(conn: asyncpg.Connection) -> None:
            nonlocal total
            while time.perf_counter() < deadline:
                job_id, version = uuid4(), 0
                while version < STREAM_EVENTS[batch] and time.perf_counter() < deadline:
                    now = datetime.now(UTC)
                    rows = [codec.new_event(e, now, META) for e in domain_events(job_id, version + 1, batch, now)]
                    await conn.execute(
                        FLOOR_SQL, job_id, list(range(version + 1, version + len(rows) + 1)), [e.type for e in rows],
                        [e.schema_version for e in rows], [codec.dumps(e.data) for e in rows],
                        [codec.dumps(e.metadata) for e in rows], [e.recorded_at for e in rows],
                    )
                    version += len(rows)
                    total += len(rows)

        start = time.perf_counter()
        await asyncio.gather(*(insert(conn) for conn in conns))
        return total / (time.perf_counter() - start)
    finally:
        for conn in conns:
            await conn.close()


# ---------------------------------------------------------------- report


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def report(runs: list[Run], limits: dict[tuple[int, int], float], floors: dict[int, float], seconds: int) -> bool:
    print()
    print(f"jobledger appends vs pgbench inserts, {seconds} s per phase (events/s; pgbench: rows/s)")
    header = (
        f"{'state':<10} {'run':<24} {'events/s':>10} {'pgbench':>10} {'ratio':>6}  {'target':<8} {'result':<6}"
        f" {'p50 ms':>7} {'p99 ms':>7}"
    )
    print(header)
    print("-" * len(header))
    all_ok = True
    for run in runs:
        limit = limits[(run.appenders, run.batch)]
        ratio = run.rate / limit if limit else 0.0
        target = {(8, 1): SINGLE_TARGET, (8, BATCH): BATCH_TARGET}.get((run.appenders, run.batch))
        verdict = "" if target is None else ("PASS" if ratio >= target else "FAIL")
        lat = sorted(run.latencies) or [0.0]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print(
            f"{'status row' if run.with_state else 'log only':<10} {run.name:<24} {run.rate:>10,.0f} {limit:>10,.0f}"
            f" {ratio:>5.2f}x  {'' if target is None else f'>= {target:.1f}x':<8} {verdict:<6}"
            f" {ms(statistics.median(lat)):>7} {ms(p99):>7}"
        )
    print()
    print(
        "pgbench (same run): "
        + ", ".join(
            f"{c} client{'s' if c > 1 else ''} {'single-row' if b == 1 else f'{b}-row'} {v / b:,.0f} tps"
            + (f" = {v:,.0f} rows/s" if b > 1 else "")
            for (c, b), v in limits.items()
        )
    )
    print()
    ours = {run.batch: run.rate for run in runs if run.appenders == 8 and not run.with_state}
    print(
        "Python client floor (same run: 8 asyncpg connections of this process, the same events as a bare INSERT,"
        " one transaction an append): "
        + ", ".join(
            f"{'single' if b == 1 else f'batch-{b}'} {v:,.0f} events/s = {v / limits[(8, b)]:.2f}x pgbench"
            f" (jobledger log only, 8 appenders: {ours[b] / v:.2f}x this floor)"
            for b, v in floors.items()
        )
    )
    print()
    print("log checks (after each run: count = acknowledged, versions 1..n gapless in position order):")
    for run in runs:
        all_ok &= run.ok
        per = (
            f"{run.events / run.transactions:.1f} events in {run.appends / run.transactions:.1f} appends"
            if run.transactions
            else "-"
        )
        print(
            f"  {'status row' if run.with_state else 'log only':<10} {run.name:<24} {run.check}; {per} per transaction"
        )
    return all_ok


# ---------------------------------------------------------------- main


async def main(pg: str, seconds: int) -> int:
    check_local(pg)
    name = f"jobledger_bench_append_{os.getpid()}"
    url = database_url(pg, name)
    await admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin(pg, f"CREATE DATABASE {name}")
    stores = None
    conn = None
    try:
        await storage.migrate(url)
        conn = await asyncpg.connect(url)
        version = await conn.fetchval("SHOW server_version")
        sync = await conn.fetchval("SHOW synchronous_commit")
        print(f"PostgreSQL {version} (synchronous_commit={sync}), {os.cpu_count()} CPUs, database {name}")
        await conn.execute("CREATE TABLE bench_insert (id bigserial PRIMARY KEY, stream uuid, version int, data jsonb)")

        limits: dict[tuple[int, int], float] = {}
        for clients, batch, script in (
            (1, 1, SINGLE_SQL),
            (8, 1, SINGLE_SQL),
            (1, BATCH, BATCH_SQL),
            (8, BATCH, BATCH_SQL),
        ):
            tps = await pgbench(url, script, clients, seconds)
            limits[(clients, batch)] = tps * batch
            what = "single-row" if batch == 1 else f"{batch}-row"
            print(
                f"pgbench {what:>10} insert, {clients} client(s): {tps:,.0f} tps = {tps * batch:,.0f} rows/s",
                flush=True,
            )
        await conn.execute("DROP TABLE bench_insert")
        floors = {}
        for batch in (1, BATCH):
            floors[batch] = await floor(url, batch, seconds)
            what = "single" if batch == 1 else f"batch-{batch}"
            print(f"Python client floor, 8 connections, {what}: {floors[batch]:,.0f} events/s", flush=True)

        stores = await storage.open_stores(url, migrate=False)
        warm = uuid4()  # first append prepares the statement and opens the pool
        await stores.log.append(
            warm, 0, [codec.new_event(e, datetime.now(UTC), META) for e in domain_events(warm, 1, 1, datetime.now(UTC))]
        )

        runs: list[Run] = []
        for with_state in (False, True):
            for appenders, batch in ((1, 1), (8, 1), (1, BATCH), (8, BATCH)):
                run = Run(appenders, batch, with_state)
                await measure(stores, conn, run, seconds)
                runs.append(run)
                print(
                    f"jobledger {'status row' if with_state else 'log only':<10} {run.name:<24}"
                    f" {run.rate:>10,.0f} events/s  ({run.appends:,} appends)  check {'ok' if run.ok else 'FAILED'}",
                    flush=True,
                )
        return 0 if report(runs, limits, floors, seconds) else 1
    finally:
        if stores is not None:
            await stores.close()
        if conn is not None:
            await conn.close()
        await admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=DEFAULT_PG, help=f"admin URL of a local PostgreSQL (default {DEFAULT_PG})")
    parser.add_argument("--seconds", type=int, default=10, help="length of each phase (default 10)")
    options = parser.parse_args()
    if shutil.which(PGBENCH) is None:
        sys.exit(f"{PGBENCH} not found (apt-get install postgresql-client)")
    try:
        sys.exit(asyncio.run(main(options.pg, options.seconds)))
    except KeyboardInterrupt:
        sys.exit("interrupted (the scratch database was dropped)")

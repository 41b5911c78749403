"""Jobs per second through the worker SDK on PostgreSQL, beside pgbench's insert rate from the same run.

    python bench/throughput.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--jobs 20000]
                               [--workers CPUs] [--concurrency 100] [--services 1] [--creators 64]
                               [--create-batch 1] [--modes inprocess,http] [--pgbench-seconds 10]

Runs the whole life of --jobs jobs (create, claim, progress, complete) with --workers
worker processes (`jobledger worker throughput:worker`, each --concurrency jobs in flight,
claiming in batches), once per mode, each on its own scratch database:

- inprocess: the workers open the database themselves (`--db`); this process creates
  the jobs through the same application layer (`jobledger.application.jobs.Jobs.create`, or
  `Jobs.create_many` with --create-batch);
- http: --services `jobledger serve` processes; the workers (`--url`) and this
  process's creates (`POST /jobs`, or `POST /jobs/batch` with --create-batch) all go
  through them, spread evenly.

The clock starts when the first job is created (the workers are already waiting on
their claims) and stops at the last JobCompleted; creating requests (each of
--create-batch jobs, default 1) run --creators at a time beside the workers. It prints jobs/s and events/s, and pgbench's single-row insert TPS
at 8 clients measured before and after the modes. Then it checks the log: every job
has exactly JobCreated, JobStarted, ProgressReported, JobCompleted at versions 1..4 in
position order, with the progress and result its handler sent, and nothing else is
in the log. Targets (issue 3): in-process >= 6,000 jobs/s, over HTTP >= 1,000 jobs/s.

Exit status: 1 if a check failed, else 0; a missed target is reported, not an error.
"""

import argparse
import asyncio
import os
import resource
import shutil
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import aiohttp
import append  # beside this file: pgbench and the scratch database helpers
import asyncpg

from jobledger.domain import commands
from jobledger.sdk.worker import Worker
from jobledger.application import storage
from jobledger.application.jobs import Jobs
from jobledger.application.bodies import MAX_BATCH

JOB_TYPE = "bench.throughput"
TARGETS = {"inprocess": 6000.0, "http": 1000.0}
LIFE = "JobCreated,JobStarted,ProgressReported,JobCompleted"
PGBENCH_CLIENTS = 8
CLI = [sys.executable, "-c", "from jobledger.cli.commands import main; main()"]

# The worker each `jobledger worker throughput:worker` process runs.
worker = Worker(wait_seconds=1.0, shutdown_grace=10.0)


@worker.handler(JOB_TYPE)
async def handle(job, ctx):
    n = job["payload"]["n"]
    await ctx.progress(50, "half way", {"n": n})
    return {"n": n}


@dataclass
class Result:
    mode: str
    jobs: int = 0
    events: int = 0
    elapsed: float = 0.0
    created_in: float = 0.0
    check: str = ""
    ok: bool = False
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per role while the jobs ran

    @property
    def jobs_per_second(self) -> float:
        return self.jobs / self.elapsed if self.elapsed else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed if self.elapsed else 0.0


# ---------------------------------------------------------------- processes


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU time per role (workers, service, PostgreSQL backends of the database, this process)."""

    def __init__(self, url: str, roles: dict[str, list[int]]):
        self.url, self.roles = url, roles
        self.start: dict[str, float] = {}
        self.backends: dict[int, float] = {}

    async def _postgres(self) -> dict[int, float]:
        conn = await asyncpg.connect(self.url)
        try:
            pids = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        finally:
            await conn.close()
        return {r[0]: cpu_seconds(r[0]) for r in pids}

    def _own(self) -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    async def begin(self) -> None:
        self.start = {role: sum(map(cpu_seconds, pids)) for role, pids in self.roles.items()}
        self.start["creating"] = self._own()
        self.backends = await self._postgres()

    async def end(self) -> dict[str, float]:
        used = {role: sum(map(cpu_seconds, pids)) - self.start[role] for role, pids in self.roles.items()}
        used["creating"] = self._own() - self.start["creating"]
        used["postgres"] = sum(cpu - self.backends.get(pid, 0.0) for pid, cpu in (await self._postgres()).items())
        return used


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def spawn(*args: str, ready: str | None, log: Path, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """Start a `jobledger` command; return once its log shows `ready` (None: at once)."""
    out = open(log, "wb")  # noqa: SIM115, ASYNC230 - the child holds it; closed when we return
    try:
        process = await asyncio.create_subprocess_exec(
            *CLI,
            *args,
            cwd=BENCH,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    finally:
        out.close()
    deadline = time.monotonic() + 60
    while ready is not None and ready not in log.read_text(errors="replace"):
        if process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{' '.join(args[:1])} did not start:\n{log.read_text(errors='replace')[-3000:]}")
        await asyncio.sleep(0.05)
    return process


async def wait_healthy(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(f"{base}/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"the service at {base} never answered")


async def stop(processes: list[asyncio.subprocess.Process]) -> list[int]:
    """SIGTERM (a worker's graceful shutdown) and wait; kill what does not exit."""
    for process in processes:
        if process.returncode is None:
            process.terminate()
    codes = []
    for process in processes:
        try:
            codes.append(await asyncio.wait_for(process.wait(), 30))
        except TimeoutError:
            process.kill()
            codes.append(await process.wait())
    return codes


# ---------------------------------------------------------------- creating jobs


async def create_inprocess(url: str, n: int, creators: int, batch: int) -> None:
    """Jobs.create, or Jobs.create_many of `batch` jobs (what POST /jobs/batch calls)."""
    stores = await storage.open_stores(url, migrate=False)
    jobs = Jobs(stores)
    meta = {"actor": "bench"}

    def command(i: int) -> commands.CreateJob:
        return commands.CreateJob(type=JOB_TYPE, payload={"n": i})

    async def some(numbers: range) -> None:
        if batch == 1:
            await jobs.create(command(numbers[0]), meta)
        else:
            await jobs.create_many([command(i) for i in numbers], meta)

    try:
        await _in_parallel(n, creators, batch, some)
    finally:
        await stores.close()


async def create_http(bases: list[str], n: int, creators: int, batch: int) -> None:
    """POST /jobs, or POST /jobs/batch of `batch` jobs, spread over the service instances."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=creators)) as session:

        async def some(numbers: range) -> None:
            bodies = [{"type": JOB_TYPE, "payload": {"n": i}} for i in numbers]
            path, body = ("/jobs", bodies[0]) if batch == 1 else ("/jobs/batch", {"jobs": bodies})
            async with session.post(f"{bases[numbers[0] // batch % len(bases)]}{path}", json=body) as resp:
                if resp.status != 201:
                    raise RuntimeError(f"POST {path}: {resp.status} {await resp.text()}")

        await _in_parallel(n, creators, batch, some)


async def _in_parallel(n: int, width: int, batch: int, make) -> None:
    """make(numbers) for 0..n-1 in runs of `batch`, `width` runs at a time."""
    runs = iter(range(start, min(start + batch, n)) for start in range(0, n, batch))

    async def lane() -> None:
        for numbers in runs:
            await make(numbers)

    await asyncio.gather(*(lane() for _ in range(width)))


# ---------------------------------------------------------------- one mode


async def run_mode(mode: str, url: str, options, logs: Path) -> Result:
    result = Result(mode)
    processes: list[asyncio.subprocess.Process] = []
    try:
        bases = await start_services(url, options.services, logs, processes) if mode == "http" else []
        for i in range(options.workers):
            where = ["--url", bases[i % len(bases)]] if bases else ["--db", url]
            log = logs / f"{mode}-worker-{i}.log"
            concurrency = ["--concurrency", str(options.concurrency)]
            processes.append(await spawn("worker", "throughput:worker", *where, *concurrency, ready="via", log=log))
        services, workers = processes[: len(bases)], processes[len(bases) :]
        meter = CpuMeter(url, {"workers": [p.pid for p in workers], "service": [p.pid for p in services]})
        await meter.begin()
        started = time.time()
        if bases:
            await create_http(bases, options.jobs, options.creators, options.create_batch)
        else:
            await create_inprocess(url, options.jobs, options.creators, options.create_batch)
        result.created_in = time.time() - started
        await wait_completed(url, options.jobs, options.timeout)
        result.elapsed = await last_completed(url) - started
        result.cpu = await meter.end()
    finally:
        codes = await stop(processes)
    if any(codes):
        result.check = f"FAILED: a process exited with {codes} (logs in {logs})"
        return result
    await verify(url, options.jobs, result)
    return result


async def start_services(url: str, count: int, logs: Path, processes: list) -> list[str]:
    """`count` instances of `jobledger serve` on the database; their base URLs."""
    bases = []
    for i in range(count):
        port = free_port()
        quiet = {"JOBLEDGER_LOG_LEVEL": "WARNING"}  # no access log line per request
        serve = ["serve", "--db", url, "--port", str(port)]
        # at WARNING the service logs no start-up line: its /health answering is the sign it is up
        processes.append(await spawn(*serve, ready=None, log=logs / f"serve-{i}.log", env=quiet))
        bases.append(f"http://127.0.0.1:{port}")
        await wait_healthy(bases[-1])
    return bases


async def wait_completed(url: str, n: int, timeout: float) -> None:
    """Wait until the `n` jobs have completed, without the poll weighing on the database it
    measures: it reads the log's last position (one index entry); the completed jobs are
    counted (a scan of a status table full of dead rows) only once that position shows the
    log could hold all 4 * n events, and again only after it moves."""
    conn = await asyncpg.connect(url)
    try:
        deadline, counted_at = time.monotonic() + timeout, None
        while True:
            head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            if head >= len(LIFE.split(",")) * n and head != counted_at:
                if await conn.fetchval("SELECT count(*) FROM job_status WHERE status = 'completed'") >= n:
                    return
                counted_at = head
            if time.monotonic() > deadline:
                raise RuntimeError(f"not all {n} jobs completed within {timeout}s")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def last_completed(url: str) -> float:
    conn = await asyncpg.connect(url)
    try:
        return (await conn.fetchval("SELECT max(recorded_at) FROM events WHERE type = 'JobCompleted'")).timestamp()
    finally:
        await conn.close()


CHECKS = {
    "events": "SELECT count(*) FROM events",
    "jobs": "SELECT count(DISTINCT stream_id) FROM events",
    "whole lives": (
        "SELECT count(*) FROM (SELECT string_agg(type, ',' ORDER BY position) AS types,"
        " array_agg(version ORDER BY position) AS versions FROM events GROUP BY stream_id) s"
        f" WHERE types = '{LIFE}' AND versions = '{{1,2,3,4}}'"
    ),
    "progress as sent": (
        "SELECT count(*) FROM events p JOIN events c ON c.stream_id = p.stream_id AND c.version = 1"
        " WHERE p.type = 'ProgressReported' AND (p.data->'details'->>'n') = (c.data->'payload'->>'n')"
    ),
    "completed with their result": (
        "SELECT count(*) FROM job_status WHERE status = 'completed' AND version = 4"
        " AND (doc::jsonb->'result'->>'n') = (doc::jsonb->'payload'->>'n')"
    ),
    "distinct payloads": "SELECT count(DISTINCT data->'payload'->>'n') FROM events WHERE type = 'JobCreated'",
}


async def verify(url: str, n: int, result: Result) -> None:
    """Every event of every job is in the log, in order, and nothing else is."""
    conn = await asyncpg.connect(url)
    try:
        found = {name: await conn.fetchval(sql) for name, sql in CHECKS.items()}
    finally:
        await conn.close()
    expected = {name: 4 * n if name == "events" else n for name in CHECKS}
    wrong = [f"{name}: {found[name]}, expected {expected[name]}" for name in CHECKS if found[name] != expected[name]]
    result.jobs, result.events = found["jobs"], found["events"]
    result.ok = not wrong
    result.check = "FAILED: " + "; ".join(wrong) if wrong else f"ok: {n} jobs x 4 events, in order, as sent"


# ---------------------------------------------------------------- main


async def scratch(pg: str, name: str) -> str:
    await append.admin(pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await append.admin(pg, f"CREATE DATABASE {name}")
    url = append.database_url(pg, name)
    await storage.migrate(url)
    return url


async def pgbench_tps(url: str, seconds: int) -> float:
    await append.admin(
        url, "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, stream uuid, version int, data jsonb)"
    )
    return await append.pgbench(url, append.SINGLE_SQL, PGBENCH_CLIENTS, seconds)


def created_how(batch: int) -> str:
    return "created one a request" if batch == 1 else f"created {batch} a request (POST /jobs/batch)"


def report(results: list[Result], tps: list[float], options) -> bool:
    limit = sum(tps) / len(tps)
    print()
    print(
        f"{options.jobs:,} jobs, {created_how(options.create_batch)}, {options.workers} worker processes"
        f" x {options.concurrency} in flight;"
        f" pgbench single-row insert, {PGBENCH_CLIENTS} clients: {' / '.join(f'{t:,.0f}' for t in tps)} tps"
        f" (before / after), mean {limit:,.0f}"
    )
    header = f"{'mode':<10} {'jobs/s':>8} {'events/s':>9} {'events/s / pgbench tps':>23}  {'target':<14} {'result':<6} {'created in':>10} {'total':>8}"
    print(header)
    print("-" * len(header))
    for r in results:
        target = TARGETS[r.mode]
        verdict = "PASS" if r.jobs_per_second >= target else "FAIL"
        print(
            f"{r.mode:<10} {r.jobs_per_second:>8,.0f} {r.events_per_second:>9,.0f} {r.events_per_second / limit:>22.2f}x"
            f"  {f'>= {target:,.0f} jobs/s':<14} {verdict:<6} {r.created_in:>9.1f}s {r.elapsed:>7.1f}s"
        )
    print()
    print("CPU per job (µs; all processes on this machine, busy or idle-polling, from the first create to the end):")
    for r in results:
        per_job = {role: 1e6 * seconds / options.jobs for role, seconds in r.cpu.items() if seconds or role != "service"}
        total = sum(per_job.values())
        cores = f"{os.cpu_count()} CPU{'s' if os.cpu_count() > 1 else ''}"
        print(
            f"  {r.mode:<10} "
            + ", ".join(f"{role} {us:,.0f}" for role, us in per_job.items())
            + f"; total {total:,.0f} µs: at most {os.cpu_count() * 1e6 / total:,.0f} jobs/s on {cores}"
            if total
            else f"  {r.mode:<10} -"
        )
    print()
    print("log checks:")
    for r in results:
        print(f"  {r.mode:<10} {r.check}")
    return all(r.ok for r in results)


async def main(options) -> int:
    append.check_local(options.pg)
    prefix = f"jobledger_bench_throughput_{os.getpid()}"
    names = [f"{prefix}_{mode}" for mode in options.modes] + [f"{prefix}_pgbench"]
    logs = Path(f"/tmp/{prefix}")
    logs.mkdir(exist_ok=True)
    try:
        conn = await asyncpg.connect(options.pg)
        version, sync = await conn.fetchval("SHOW server_version"), await conn.fetchval("SHOW synchronous_commit")
        await conn.close()
        print(
            f"PostgreSQL {version} (synchronous_commit={sync}), {os.cpu_count()} CPUs; worker and service logs in {logs}"
        )
        pgbench_url = await scratch(options.pg, names[-1])
        tps = [await pgbench_tps(pgbench_url, options.pgbench_seconds)]
        print(f"pgbench single-row insert, {PGBENCH_CLIENTS} clients: {tps[0]:,.0f} tps", flush=True)
        results = []
        for mode, name in zip(options.modes, names, strict=False):
            result = await run_mode(mode, await scratch(options.pg, name), options, logs)
            results.append(result)
            print(
                f"{mode:<10} {result.jobs_per_second:,.0f} jobs/s, {result.events_per_second:,.0f} events/s; check {'ok' if result.ok else 'FAILED'}",
                flush=True,
            )
        tps.append(await pgbench_tps(pgbench_url, options.pgbench_seconds))
        return 0 if report(results, tps, options) else 1
    finally:
        for name in names:
            await append.admin(options.pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg", default=append.DEFAULT_PG, help=f"admin URL of a local PostgreSQL (default {append.DEFAULT_PG})"
    )
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per mode (default 20000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: one per CPU)")
    parser.add_argument("--concurrency", type=int, default=100, help="jobs in flight per worker (default 100)")
    parser.add_argument("--services", type=int, default=1, help="http mode: service instances (default 1)")
    parser.add_argument("--creators", type=int, default=64, help="creating requests in flight (default 64)")
    parser.add_argument(
        "--create-batch", type=int, default=1,
        help="jobs per creating request: 1 is POST /jobs (Jobs.create), more is POST /jobs/batch (Jobs.create_many)",
    )
    parser.add_argument("--modes", type=lambda s: s.split(","), default=["inprocess", "http"], help="inprocess,http")
    parser.add_argument("--pgbench-seconds", type=int, default=10, help="length of each pgbench run (default 10)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a mode may take (default 900)")
    options = parser.parse_args()
    if not 1 <= options.create_batch <= MAX_BATCH:
        sys.exit(f"--create-batch must be 1 to {MAX_BATCH}")
    if unknown := set(options.modes) - set(TARGETS):
        sys.exit(f"unknown mode(s): {', '.join(sorted(unknown))}")
    if shutil.which(append.PGBENCH) is None:
        sys.exit(f"{append.PGBENCH} not found (apt-get install postgresql-client)")
    try:
        sys.exit(asyncio.run(main(options)))
    except KeyboardInterrupt:
        sys.exit("interrupted (the scratch databases were dropped)")

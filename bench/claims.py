"""Claims per second with many jobs waiting for later at the head of the queue, on both backends.

    python bench/claims.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--waiting 20000]
                           [--priorities 2] [--due 2000] [--limit 10] [--backends sqlite,postgresql]

For each backend, on a scratch database, through the application layer (`Jobs`), one
claimer claims --due due jobs, --limit at a time, twice:

- with nothing else queued: the machine's own limit for these claims;
- with --waiting jobs scheduled for tomorrow logged before the due ones, spread over
  --priorities priorities from the due jobs' (0) up: what a claim costs when it must find
  the due jobs behind them (with as many priorities as jobs, each waiting job has its own).

It prints claims/s of each and their ratio (1.0x: the waiting jobs cost the claims
nothing), and checks that every due job was claimed once, in claim order, and no waiting
job was. Until migration 0010 a claim stepped over every waiting job ahead of the due ones.

Exit status: 1 if a check failed, else 0.
"""

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import append  # beside this file: the scratch database helpers

from jobledger.domain import commands
from jobledger.application import storage
from jobledger.application.jobs import Jobs

BATCH = 100  # jobs created a transaction (Jobs.create_many)


async def fill(jobs: Jobs, waiting: int, priorities: int, due: int) -> None:
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    later = [commands.CreateJob(type="bench.claims", run_at=tomorrow, priority=n % priorities) for n in range(waiting)]
    now = [commands.CreateJob(type="bench.claims", payload=n) for n in range(due)]
    for start in range(0, len(later), BATCH):
        await jobs.create_many(later[start : start + BATCH], {})
    for start in range(0, len(now), BATCH):
        await jobs.create_many(now[start : start + BATCH], {})


async def claims_per_second(url: str, waiting: int, options) -> tuple[float, str]:
    """Claims/s taking the due jobs, and what the check found."""
    due, limit = options.due, options.limit
    stores = await storage.open_stores(url)
    try:
        jobs = Jobs(stores)
        await fill(jobs, waiting, options.priorities, due)
        taken, claims = [], 0
        started = time.perf_counter()
        while claimed := await jobs.claim("bench", ("bench.claims",), limit, 60, {}):
            taken += [c.snapshot.job.payload for c in claimed]
            claims += 1
        elapsed = time.perf_counter() - started
        check = "ok" if taken == list(range(due)) else f"FAILED: claimed {len(taken)} jobs, not 0..{due - 1} in order"
        return claims / elapsed, check
    finally:
        await stores.close()


@contextlib.asynccontextmanager
async def scratch(backend: str, options, scratch_dir: str, name: str):
    """The URL of a migrated scratch database on `backend`, dropped (PostgreSQL) at the end."""
    if backend == "sqlite":
        url = f"sqlite:///{scratch_dir}/{name}.db"
        await storage.migrate(url)
        yield url
        return
    await append.admin(options.pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await append.admin(options.pg, f"CREATE DATABASE {name}")
    try:
        url = append.database_url(options.pg, name)
        await storage.migrate(url)
        yield url
    finally:
        await append.admin(options.pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def run(backend: str, options, scratch_dir: str) -> list[tuple[str, float, str]]:
    results = []
    for waiting in (0, options.waiting):
        async with scratch(backend, options, scratch_dir, f"jobledger_bench_claims_{waiting}") as url:
            results.append((f"{waiting:,} waiting", *await claims_per_second(url, waiting, options)))
    return results


async def main(options) -> int:
    append.check_local(options.pg)
    ok = True
    print(f"{options.due:,} due jobs claimed {options.limit} at a time by one claimer; waiting jobs are "
          f"scheduled for tomorrow, logged first, over {options.priorities:,} priorities from the due jobs' up")
    with tempfile.TemporaryDirectory() as scratch_dir:
        for backend in options.backends.split(","):
            (alone, base, check0), (crowded, rate, check1) = await run(backend, options, scratch_dir)
            ok = ok and check0 == check1 == "ok"
            print(f"{backend:<10}  {alone}: {base:8,.0f} claims/s ({check0});  {crowded}: {rate:8,.0f} claims/s "
                  f"({check1});  ratio {rate / base:.2f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=append.DEFAULT_PG, help="admin URL of a local PostgreSQL")
    parser.add_argument("--waiting", type=int, default=20_000, help="jobs scheduled for tomorrow (default 20,000)")
    parser.add_argument("--priorities", type=int, default=2, help="priorities of the waiting jobs (default 2)")
    parser.add_argument("--due", type=int, default=2_000, help="due jobs to claim (default 2,000)")
    parser.add_argument("--limit", type=int, default=10, help="jobs a claim takes (default 10)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    sys.exit(asyncio.run(main(parser.parse_args())))

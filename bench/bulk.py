"""A bulk cancel of many queued jobs on PostgreSQL, beside bench/append.py's batch rate from the same run.

    python bench/bulk.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--jobs 50000] [--seconds 5]

Creates a scratch database and measures:

1. the machine's and the store's limit: bench/append.py's 8 appenders, 100 events an append,
   status rows written (its "status row, 8 appenders, batch-100" run), for --seconds;
2. --jobs queued jobs created through the application layer (Jobs.create_many, 500 at a time),
   each with metadata {"batch": "b-<n % 10>"};
3. POST /jobs/cancel with `dry_run` over every job, then for real, through a `create_app`
   service over HTTP: jobs cancelled per second, and whether every job got exactly one
   JobCancelled (read from the log).

Target (issue 25): the bulk cancel's rate >= 0.5 x the batch append rate of step 1. The
scratch database is dropped at the end.
"""

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
import asyncpg

import append  # bench/append.py: its appenders and scratch database
from audit import caught_up, serve  # bench/audit.py: an app on a free port, its projections caught up
from jobledger.application import storage
from jobledger.application.jobs import Jobs
from jobledger.domain import commands
from jobledger.web.app import create_app
from jobledger.web.config import Settings

BATCH = 500


async def batch_rate(stores, seconds: int) -> float:
    run = append.Run(8, append.BATCH, True)
    start = time.perf_counter()
    await asyncio.gather(*(append.appender(stores, run, start + seconds) for _ in range(8)))
    run.elapsed = time.perf_counter() - start
    if run.errors:
        raise RuntimeError(run.errors[0])
    return run.rate


async def fill(stores, n: int) -> None:
    jobs, started = Jobs(stores), time.perf_counter()
    for start in range(0, n, BATCH):
        batch = [
            commands.CreateJob(type="report", payload={"n": i}, metadata={"batch": f"b-{i % 10}"})
            for i in range(start, min(n, start + BATCH))
        ]
        await jobs.create_many(batch, {"actor": "bench"})
    print(f"{n:,} queued jobs created in {time.perf_counter() - started:,.1f} s", flush=True)


async def main(pg: str, n: int, seconds: int) -> None:
    async with append.scratch_database(pg, "jobledger_bench_bulk") as (name, url):
        stores = None
        try:
            print(f"{os.cpu_count()} CPUs, database {name}")
            stores = await storage.open_stores(url, migrate=False)
            rate = await batch_rate(stores, seconds)
            print(f"machine: bench/append.py, 8 appenders, batch-100, status rows: {rate:,.0f} events/s", flush=True)
            await append.admin(url, "TRUNCATE events, job_status, job_metadata, merkle_leaves, merkle_nodes, merkle_checkpoints")
            await fill(stores, n)
            await stores.close()
            stores = None
            service, base = await serve(create_app(Settings(db=url, checkpoint_interval=3600)))
            try:
                async with aiohttp.ClientSession() as session:
                    await caught_up(session, base)
                    started = time.perf_counter()
                    async with session.post(base + "/jobs/cancel", json={"dry_run": True}) as resp:
                        counted = await resp.json()
                    print(f"dry run: {counted['selected']:,} selected in {time.perf_counter() - started:,.2f} s", flush=True)
                    started = time.perf_counter()
                    async with session.post(base + "/jobs/cancel", json={"reason": "bench"}) as resp:
                        answer = await resp.json()
                        assert resp.status == 200, answer
                    elapsed = time.perf_counter() - started
            finally:
                await service.cleanup()
            conn = await asyncpg.connect(url)
            try:
                per_job = await conn.fetch("SELECT count(*) AS n FROM events WHERE type = 'JobCancelled' GROUP BY stream_id")
            finally:
                await conn.close()
            once = len(per_job) == n and all(r["n"] == 1 for r in per_job)
            jobs_rate = answer["acted"] / elapsed
            print(
                f"POST /jobs/cancel of {answer['acted']:,} queued jobs: {elapsed:,.1f} s = {jobs_rate:,.0f} jobs/s;"
                f" {jobs_rate / rate:.2f} x the batch append rate (target >= 0.5) {'PASS' if jobs_rate >= 0.5 * rate else 'FAIL'};"
                f" every job cancelled exactly once: {'yes' if once else 'NO'}", flush=True,
            )
        finally:
            if stores is not None:
                await stores.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=append.DEFAULT_PG, help=f"admin URL of a local PostgreSQL (default {append.DEFAULT_PG})")
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--seconds", type=int, default=5, help="length of the batch append run")
    options = parser.parse_args()
    asyncio.run(main(options.pg, options.jobs, options.seconds))

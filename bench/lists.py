"""Lists filtered on metadata against unfiltered lists on PostgreSQL, beside a bare aiohttp round trip.

    python bench/lists.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--jobs 100000] [--requests 2000]

Creates a scratch database and --jobs jobs through the application layer (Jobs.create_many,
as POST /jobs/batch does, 500 at a time), each with metadata {"user_id": <one of 1,000>,
"document": <one of 10 per user>}. Then, through a `create_app` service over HTTP, one
request at a time, each kind --requests times (after a warm-up), p50 and p99 of:

- the unfiltered list: GET /jobs?limit=50;
- one metadata key: GET /jobs?limit=50&metadata.user_id=<random user> (100 jobs a user);
- two keys and a status: GET /jobs?limit=50&metadata.user_id=<u>&metadata.document=<d>&status=queued;
- the second page of a user's jobs, from the first page's cursor.

Target (issue 25): a metadata-filtered list's p99 within 2x the unfiltered list's. Beside it:
a bare aiohttp handler's round trip, the machine's floor for any request. The scratch database
is dropped at the end.
"""

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import aiohttp
from aiohttp import web

import append  # bench/append.py: its scratch database helpers
from audit import caught_up, serve  # bench/audit.py: an app on a free port, its projections caught up
from jobledger.application import storage
from jobledger.application.jobs import Jobs
from jobledger.domain import commands
from jobledger.web.app import create_app
from jobledger.web.config import Settings

USERS = 1000
DOCUMENTS = 10  # per user
BATCH = 500


async def fill(url: str, n: int) -> None:
    stores = await storage.open_stores(url, migrate=False)
    jobs, rng = Jobs(stores), random.Random(1)
    started = time.perf_counter()
    try:
        for start in range(0, n, BATCH):
            batch = []
            for _ in range(min(BATCH, n - start)):
                user = rng.randrange(USERS)
                metadata = {"user_id": str(user), "document": f"d-{user}-{rng.randrange(DOCUMENTS)}"}
                batch.append(commands.CreateJob(type="report", payload={"pages": rng.randrange(100)}, metadata=metadata))
            await jobs.create_many(batch, {"actor": "bench"})
    finally:
        await stores.close()
    print(f"{n:,} jobs created in {time.perf_counter() - started:,.1f} s", flush=True)


async def timed(session: aiohttp.ClientSession, url: str, params: list[dict]) -> list[float]:
    samples = []
    for p in params:
        started = time.perf_counter()
        async with session.get(url, params=p) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{url} {p} answered {resp.status}: {body[:200]!r}")
        samples.append(time.perf_counter() - started)
    return samples


def p(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1] * 1000


async def second_pages(session: aiohttp.ClientSession, base: str, users: list[int]) -> list[dict]:
    """For each user, the query of the second page of its jobs (the first page's cursor)."""
    params = []
    for user in users:
        async with session.get(base + "/jobs", params={"limit": 50, "metadata.user_id": str(user)}) as resp:
            cursor = (await resp.json())["next_cursor"]
        if cursor:
            params.append({"limit": 50, "metadata.user_id": str(user), "cursor": cursor})
    return params


async def settled(session: aiohttp.ClientSession, base: str, n: int) -> None:
    """Wait until the service started on this log has caught up with it (its projections, and its
    Merkle tree, which it builds at start): that start is not the steady state timed here."""
    await caught_up(session, base)
    while True:
        async with session.get(base + "/checkpoint") as resp:
            if int((await resp.text()).split("\n")[1]) >= n:  # a signed note: origin, tree size, root
                return
        await asyncio.sleep(0.5)


async def main(pg: str, n: int, requests: int) -> None:
    async with append.scratch_database(pg, "jobledger_bench_lists") as (name, url):
        print(f"{os.cpu_count()} CPUs, database {name}")
        await fill(url, n)
        await append.admin(url, "ANALYZE")
        floor_app = web.Application()
        floor_app.router.add_get("/", lambda _: web.Response(text="ok"))
        floor, floor_url = await serve(floor_app)
        service, base = await serve(create_app(Settings(db=url)))
        rng = random.Random(2)
        users = [rng.randrange(USERS) for _ in range(requests)]
        kinds = {
            "unfiltered": [{"limit": 50} for _ in users],
            "metadata.user_id": [{"limit": 50, "metadata.user_id": str(u)} for u in users],
            "two keys + status": [
                {"limit": 50, "metadata.user_id": str(u), "metadata.document": f"d-{u}-{rng.randrange(DOCUMENTS)}",
                 "status": "queued"} for u in users
            ],
        }
        try:
            async with aiohttp.ClientSession() as session:
                await settled(session, base, n)
                if pages := await second_pages(session, base, users[:requests]):  # none below 50 jobs a user
                    kinds["a user's second page"] = pages
                await timed(session, floor_url + "/", [{}] * 200)
                for params in kinds.values():
                    await timed(session, base + "/jobs", params[:200])  # warm up
                floor_samples = await timed(session, floor_url + "/", [{}] * requests)
                print(f"machine: bare aiohttp round trip: p50 {p(floor_samples, 50):.2f} ms, p99 {p(floor_samples, 99):.2f} ms")
                results = {kind: await timed(session, base + "/jobs", params) for kind, params in kinds.items()}
        finally:
            await service.cleanup()
            await floor.cleanup()
        base_p99 = p(results["unfiltered"], 99)
        for kind, samples in results.items():
            ratio = p(samples, 99) / base_p99
            verdict = "" if kind == "unfiltered" else f"; {ratio:.2f} x unfiltered p99 (target <= 2) {'PASS' if ratio <= 2 else 'FAIL'}"
            print(
                f"GET /jobs {kind:<22} at {n:,} jobs: p50 {p(samples, 50):.2f} ms, p99 {p(samples, 99):.2f} ms"
                f" ({len(samples):,} requests){verdict}; p50 {p(samples, 50) / p(floor_samples, 50):.1f} x bare round trip",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=append.DEFAULT_PG, help=f"admin URL of a local PostgreSQL (default {append.DEFAULT_PG})")
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000, help="requests of each kind")
    options = parser.parse_args()
    asyncio.run(main(options.pg, options.jobs, options.requests))

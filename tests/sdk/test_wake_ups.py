"""A worker with a free slot waits for jobs in a long poll. Its running jobs' reports must not
make it read the queue again each time: the store tells the service, or the in-process
transport, which status rows each commit wrote (its own at once; on PostgreSQL, other
instances' through NOTIFY), and a report leaves its job running. On both backends."""

import asyncio
import math
import time

from tests.ops.helpers import scrape
from tests.sdk.helpers import create, wait_for

REPORTS = 60


async def test_a_waiting_claim_is_not_woken_by_its_own_jobs_progress(client, make_worker, mode):
    job = await create(client)
    worker = make_worker(concurrency=2, wait_seconds=2.5)  # one slot stays free: its claim waits

    async def claim_reads() -> float:
        if mode == "http":
            return (await scrape(client)).value("jobledger_claim_reads_total")
        return worker.transport.jobs.metrics.registry.get_sample_value("jobledger_claim_reads_total")

    reads = []

    @worker.handler("report")
    async def handle(doc, ctx):
        await asyncio.sleep(0.3)  # the claim for the free slot is waiting by now
        before, started = await claim_reads(), time.monotonic()
        for n in range(REPORTS):
            await ctx.progress(n)
        reads.append((await claim_reads() - before, time.monotonic() - started))
        return "done"

    make_worker.start(worker)
    done = await wait_for(client, job["id"])

    assert (done["status"], done["progress"]["percent"]) == ("completed", REPORTS - 1)
    # while the reports go on (well under a second, unless the machine is loaded): the once-a-second
    # looks for jobs coming due, and each 2.5 s poll's last read and its successor's first; a claim
    # woken by each report reads the queue about once a report
    [(count, seconds)] = reads
    assert 0 <= count <= math.ceil(seconds) + 2 * math.ceil(seconds / 2.5) < REPORTS, reads


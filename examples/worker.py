"""An example worker, run by docker compose and by the multi-process test:

    jobledger worker examples.worker:worker --url http://127.0.0.1:8080

It handles two job types: "echo" returns its payload, "sleep" waits `payload.seconds`
(default 1) while reporting progress.
"""

import asyncio

from jobledger.sdk.worker import Worker

worker = Worker(concurrency=4)


@worker.handler("echo")
async def echo(job, ctx):
    return {"echo": job["payload"]}


@worker.handler("sleep")
async def sleep(job, ctx):
    seconds = float((job["payload"] or {}).get("seconds", 1))
    await ctx.progress(0, f"sleeping {seconds} s")
    await asyncio.sleep(seconds)
    await ctx.progress(100, "awake")
    return {"slept": seconds}

"""The Python SDK carries a key: a worker key runs jobs, and the live client follows them,
on a service that requires keys."""

import asyncio

from jobledger import client as live
from jobledger.sdk.worker import Worker
from jobledger.web.app import create_app
from tests.security.conftest import bearer


async def test_a_worker_and_the_live_client_with_keys(aiohttp_server, aiohttp_client, secure_settings, make_key):
    server = await aiohttp_server(create_app(secure_settings))
    http = await aiohttp_client(server)
    url = str(server.make_url("")).rstrip("/")
    acme = await make_key("client")
    resp = await http.post("/jobs", json={"type": "report"}, headers=bearer(acme))
    job = await resp.json()

    worker = Worker(url=url, wait_seconds=0.2, api_key=await make_key("worker", types=("report",)))

    @worker.handler("report")
    async def handle(job, ctx):
        await ctx.progress(50, "half")
        return {"done": True}

    running = asyncio.create_task(worker.run())
    try:
        final = await live.wait_for(url, job["id"], timeout=20, api_key=acme)
        assert final["status"] == "completed" and final["result"] == {"done": True}
        assert final["worker_id"] == worker.worker_id
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)

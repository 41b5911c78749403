"""A queued job past its deadline is never handed to a worker, even before the sweeper expires it."""

import asyncio

from jobledger.web.app import create_app
from jobledger.web.config import Settings


async def test_a_job_past_its_deadline_is_not_claimed(aiohttp_client, db_url):
    client = await aiohttp_client(create_app(Settings(db=db_url, sweep_interval=3600)))
    late = await (await client.post("/jobs", json={"type": "t", "expires_in": 0.05})).json()
    fresh = await (await client.post("/jobs", json={"type": "t"})).json()
    await asyncio.sleep(0.1)
    claimed = (await (await client.post("/workers/claim", json={"worker_id": "w", "limit": 10})).json())["jobs"]
    assert [j["id"] for j in claimed] == [fresh["id"]]
    assert (await (await client.get(f"/jobs/{late['id']}")).json())["status"] == "queued"

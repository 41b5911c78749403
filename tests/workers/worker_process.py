"""A worker run as its own OS process: claims one job, reports progress, then works forever.

Usage: python worker_process.py BASE_URL JOB_TYPE LEASE_SECONDS
Prints one JSON line {"job_id", "lease_token"} once its progress is recorded.
"""

import asyncio
import json
import sys

import aiohttp


async def main(base_url: str, job_type: str, lease_seconds: float) -> None:
    async with aiohttp.ClientSession(base_url) as session:
        claim = {"worker_id": "doomed", "types": [job_type], "lease_seconds": lease_seconds, "wait_seconds": 10}
        async with session.post("/workers/claim", json=claim) as resp:
            [job] = (await resp.json())["jobs"]
        progress = {"percent": 30, "message": "a third done", "lease_token": job["lease_token"]}
        async with session.post(f"/jobs/{job['id']}/progress", json=progress) as resp:
            resp.raise_for_status()
        print(json.dumps({"job_id": job["id"], "lease_token": job["lease_token"]}), flush=True)
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))

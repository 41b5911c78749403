"""Point 8: `jobledger tail` prints events live; and a shutdown closes every socket with GOING_AWAY."""

import asyncio
import sys

import aiohttp
from aiohttp.test_utils import TestServer

from jobledger.web.app import create_app
from tests.live.helpers import receive, subscribe
from tests.live.processes import Service

TAIL = [sys.executable, "-c", "from jobledger.cli.tail import tail; tail()"]


async def _lines(process: asyncio.subprocess.Process, count: int) -> list[str]:
    lines = []
    while len(lines) < count:
        line = await asyncio.wait_for(process.stdout.readline(), 15)
        assert line, "tail exited"
        lines.append(line.decode().rstrip("\n"))
    return lines


async def _tail(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(*TAIL, *args, stdout=asyncio.subprocess.PIPE)


async def test_tail_prints_the_events_of_a_job_or_a_type_live(db_url, tmp_path):
    service = await Service(db_url, tmp_path).start()
    tails = []
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{service.url}/jobs", json={"type": "ocr"}) as resp:
                job = await resp.json()
            # --after: whatever the tails miss while they start is replayed, so no sleep is needed
            after = str(job["position"])
            tails = [await _tail("--url", service.url, "--job", job["id"], "--after", after),
                     await _tail("--url", service.url, "--type", "ocr", "--json", "--after", after)]
            text, as_json = [], []
            for action, body in [("start", None), ("progress", {"percent": 40, "message": "p. 12"})]:
                async with http.post(f"{service.url}/jobs/{job['id']}/{action}", json=body) as resp:
                    assert resp.status == 200
                async with http.post(f"{service.url}/jobs", json={"type": "llm"}) as resp:
                    assert resp.status == 201
                # the progress is posted only once both tails printed the start: it reaches them live
                text += await _lines(tails[0], 1)
                as_json += await _lines(tails[1], 1)
        assert "JobStarted" in text[0] and job["id"] in text[0] and "[running]" in text[0]
        assert "ProgressReported" in text[1] and "40% p. 12" in text[1]
        assert ['"event":"JobStarted"' in as_json[0], '"event":"ProgressReported"' in as_json[1]] == [True, True]
    finally:
        for process in tails:
            process.terminate()
            await process.wait()
        await service.stop()


async def test_tail_refuses_a_bad_job_id():
    process = await asyncio.create_subprocess_exec(*TAIL, "--job", "nope", stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2 and b"not a valid UUID" in err


async def test_shutdown_closes_every_socket_going_away(settings):
    server = TestServer(create_app(settings))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(server.make_url("/jobs"), json={"type": "ocr"}) as resp:
                job = await resp.json()
            multiplexed = await http.ws_connect(server.make_url("/ws"))
            await subscribe(multiplexed, all=True)
            per_job = await http.ws_connect(server.make_url(f"/jobs/{job['id']}/ws"))
            await receive(per_job)
            await server.close()
            for ws in (multiplexed, per_job):
                msg = await ws.receive(timeout=10)
                assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == aiohttp.WSCloseCode.GOING_AWAY
    finally:
        await server.close()

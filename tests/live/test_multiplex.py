"""Point 2: `/ws` multiplexes subscriptions to jobs, job types or everything; ping/pong; heartbeats."""

import asyncio

import aiohttp
import pytest

from tests.live.helpers import receive, receive_events, subscribe, wait_until


async def test_subscribe_to_jobs_sends_only_their_events(client, api):
    a, b, c = await api.create(), await api.create(), await api.create()
    ws = await client.ws_connect("/ws")
    ack = await subscribe(ws, jobs=[a["id"], b["id"]])
    assert ack == {"type": "subscribed", "jobs": [a["id"], b["id"]], "job_types": [], "all": False,
                   "position": ack["position"], "replayed": []}
    for job in (c, a, b):
        await api.post(job["id"], "start")
    events = await receive_events(ws, 2)
    assert [e["job_id"] for e in events] == [a["id"], b["id"]]
    assert [e["event"] for e in events] == ["JobStarted", "JobStarted"]
    await ws.close()


async def test_subscribe_to_job_types(client, api):
    ws = await client.ws_connect("/ws")
    await subscribe(ws, job_types=["ocr", "llm"])
    await api.create(type="report")
    ocr = await api.create(type="ocr")
    await api.create(type="report")
    llm = await api.create(type="llm")
    await api.post(ocr["id"], "start")
    events = await receive_events(ws, 3)
    assert [(e["job_id"], e["event"]) for e in events] == [
        (ocr["id"], "JobCreated"), (llm["id"], "JobCreated"), (ocr["id"], "JobStarted")
    ]
    assert all(e["job"]["type"] in ("ocr", "llm") for e in events)
    await ws.close()


async def test_subscribe_to_all(client, api):
    ws = await client.ws_connect("/ws")
    await subscribe(ws, all=True)
    jobs = [await api.create(type=t) for t in ("a", "b", "c")]
    await api.post(jobs[1]["id"], "start")
    events = await receive_events(ws, 4)
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
    assert [e["position"] for e in events] == [e["position"] for e in (await api.log())[-4:]]
    await ws.close()


async def test_an_event_matching_several_subscriptions_is_sent_once(client, api):
    job = await api.create(type="ocr")
    ws = await client.ws_connect("/ws")
    await subscribe(ws, jobs=[job["id"]])
    await subscribe(ws, job_types=["ocr"])
    await subscribe(ws, all=True)
    await api.post(job["id"], "start")
    await api.post(job["id"], "progress", {"percent": 5})
    events = await receive_events(ws, 2)
    assert [e["event"] for e in events] == ["JobStarted", "ProgressReported"]
    await ws.send_json({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}  # nothing else was queued before it
    await ws.close()


async def test_unsubscribe_stops_the_events(client, api):
    a, b = await api.create(type="ocr"), await api.create(type="llm")
    ws = await client.ws_connect("/ws")
    await subscribe(ws, jobs=[a["id"]], job_types=["llm"])
    await ws.send_json({"type": "unsubscribe", "jobs": [a["id"]]})
    assert await receive(ws) == {"type": "unsubscribed", "jobs": [a["id"]], "job_types": [], "all": False}
    await api.post(a["id"], "start")
    await api.post(b["id"], "start")
    [event] = await receive_events(ws, 1)
    assert event["job_id"] == b["id"]
    await ws.send_json({"type": "unsubscribe", "job_types": ["llm"]})
    await receive(ws)
    await ws.send_json({"type": "subscribe", "all": True})
    await receive(ws)
    await ws.send_json({"type": "unsubscribe", "all": True})
    await receive(ws)
    await api.post(b["id"], "progress", {"percent": 1})
    await ws.send_json({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}
    await ws.close()


async def test_ping_gets_pong(client):
    ws = await client.ws_connect("/ws")
    for _ in range(3):
        await ws.send_json({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
    await ws.close()


@pytest.mark.parametrize(
    "message",
    [
        "not json",
        '{"type": "subscribe"}',
        '{"type": "subscribe", "jobs": ["not-a-uuid"]}',
        '{"type": "subscribe", "all": true, "after": -1}',
        '{"type": "unsubscribe", "all": true, "after": 3}',
        '{"type": "dance"}',
        '{"type": "subscribe", "all": true, "extra": 1}',
        '[1, 2]',
    ],
)
async def test_a_bad_message_gets_an_error_and_the_socket_stays_open(client, hub, message):
    ws = await client.ws_connect("/ws")
    await ws.send_str(message)
    answer = await receive(ws)
    assert answer["type"] == "error"
    assert answer["error"]["code"] == "invalid_request" and answer["error"]["message"]
    await ws.send_bytes(b"\x00")
    assert (await receive(ws))["type"] == "error"
    await ws.send_json({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}
    assert hub.watched() == 0
    await ws.close()


async def test_the_per_job_socket_answers_ping_and_refuses_subscriptions(client, api):
    job = await api.create()
    ws = await client.ws_connect(f"/jobs/{job['id']}/ws")
    await receive(ws)
    await ws.send_json({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}
    await ws.send_json({"type": "subscribe", "all": True})
    assert (await receive(ws))["type"] == "error"
    await ws.close()


class TestHeartbeat:
    @pytest.fixture
    def live_settings(self) -> dict[str, str]:
        return {"JOBLEDGER_WS_HEARTBEAT": "0.2"}

    async def test_a_dead_peer_is_closed(self, client, api, hub):
        job = await api.create()
        dead = await client.ws_connect("/ws", autoping=False)  # never answers the server's pings
        await dead.send_json({"type": "subscribe", "all": True})
        per_job = await client.ws_connect(f"/jobs/{job['id']}/ws", autoping=False)
        await wait_until(lambda: hub.watched() == 2)
        await wait_until(lambda: hub.watched() == 0, timeout=5)
        for ws in (dead, per_job):
            while (msg := await ws.receive(timeout=5)).type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.TEXT):
                pass
            assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.ERROR)

    async def test_a_live_peer_stays_connected(self, client, api, hub):
        ws = await client.ws_connect("/ws")  # aiohttp answers pings while we wait in receive()
        await subscribe(ws, all=True)
        reader = asyncio.create_task(receive_events(ws, 1, timeout=10))
        await asyncio.sleep(1.0)  # five heartbeats
        assert hub.watched() == 1
        await api.create()
        assert (await reader)[0]["event"] == "JobCreated"
        await ws.close()


async def test_a_batch_of_jobs_reaches_a_subscriber_in_the_order_given(client, api):
    ws = await client.ws_connect("/ws")
    await subscribe(ws, job_types=["ocr"])
    jobs = [{"type": "ocr" if n % 3 else "report", "payload": {"n": n}} for n in range(9)]
    resp = await client.post("/jobs/batch", json={"jobs": jobs})
    created = (await resp.json())["jobs"]
    assert resp.status == 201
    events = await receive_events(ws, 6)
    assert [(e["event"], e["job_id"]) for e in events] == [("JobCreated", j["id"]) for j in created if j["type"] == "ocr"]
    assert [e["job"]["payload"] for e in events] == [{"n": n} for n in range(9) if n % 3]
    await ws.close()

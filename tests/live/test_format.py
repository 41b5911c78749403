"""Point 3: one message format on every socket, built and serialised once per event per instance."""

import aiohttp

from tests.live.helpers import EVENT_KEYS, receive, receive_events, subscribe


async def _raw_events(ws, count: int) -> list[str]:
    texts = []
    while len(texts) < count:
        msg = await ws.receive(timeout=10)
        assert msg.type is aiohttp.WSMsgType.TEXT
        if '"type":"event"' in msg.data:
            texts.append(msg.data)
    return texts


async def test_every_socket_gets_the_same_bytes_for_an_event(client, api, hub):
    job = await api.create(type="ocr", phases=["read"], payload={"doc": "a.pdf"})
    per_job = await client.ws_connect(f"/jobs/{job['id']}/ws")
    await receive(per_job)
    sockets = [per_job]
    for what in ({"jobs": [job["id"]]}, {"job_types": ["ocr"]}, {"all": True}):
        ws = await client.ws_connect("/ws")
        await subscribe(ws, **what)
        sockets.append(ws)
    serialized = hub.serialized

    await api.post(job["id"], "start")
    await api.post(job["id"], "phases/read/start")
    await api.post(job["id"], "progress", {"percent": 12.5, "message": "p. 3", "details": {"page": 3}})
    received = [await _raw_events(ws, 3) for ws in sockets]

    assert all(texts == received[0] for texts in received)  # byte for byte
    assert hub.serialized - serialized == 3  # once per event, not once per socket
    for ws in sockets:
        await ws.close()


async def test_the_message_carries_the_logged_event_and_the_job_after_it(client, api):
    job = await api.create(phases=["read"])
    ws = await client.ws_connect("/ws")
    await subscribe(ws, jobs=[job["id"]])
    await api.post(job["id"], "start")
    after_start = await api.get(job["id"])
    await api.post(job["id"], "progress", {"percent": 50, "message": "half", "details": {"k": [1, 2]}})
    after_progress = await api.get(job["id"])
    events = await receive_events(ws, 2)
    logged = (await api.stream(job["id"]))[1:]
    for message, entry, document in zip(events, logged, (after_start, after_progress), strict=True):
        assert set(message) == EVENT_KEYS
        assert message["type"] == "event"
        assert message["event"] == entry["type"]
        for key in ("position", "job_id", "version", "recorded_at", "data"):
            assert message[key] == entry[key]
        assert message["job"] == document
        assert message["job"]["position"] == message["position"]
    await ws.close()


async def test_replayed_events_have_the_same_format_and_job_documents(client, api):
    job = await api.create(phases=["read"])
    live = await client.ws_connect("/ws")
    await subscribe(live, jobs=[job["id"]])
    for action, body in [("start", None), ("phases/read/start", None), ("progress", {"percent": 1}), ("cancel", None)]:
        await api.post(job["id"], action, body)
    live_texts = await _raw_events(live, 4)

    replay = await client.ws_connect("/ws")
    await replay.send_json({"type": "subscribe", "jobs": [job["id"]], "after": job["position"]})
    assert await _raw_events(replay, 4) == live_texts
    all_replay = await client.ws_connect("/ws")
    await all_replay.send_json({"type": "subscribe", "all": True, "after": job["position"]})
    assert await _raw_events(all_replay, 4) == live_texts
    for ws in (live, replay, all_replay):
        await ws.close()

"""`{"type": "subscribe", "metadata": {...}}` on /ws: every event of every job whose metadata holds
those values, jobs created after the subscription included; resumed with `after` without gap or
duplicate; refused when malformed; never another tenant's jobs."""

import pytest

from tests.live.helpers import receive, receive_events, subscribe
from tests.live.test_resume import _resume_under_appends, _started_jobs
from tests.security.conftest import bearer, make_key, secure, secure_settings  # noqa: F401 - fixtures


async def test_a_metadata_subscription_streams_the_matching_jobs_created_after_it(client, api):
    ws = await client.ws_connect("/ws")
    ack = await subscribe(ws, metadata={"user_id": "42"})
    assert ack["metadata"] == {"user_id": "42"} and ack["replayed"] == []

    mine = await api.create(metadata={"user_id": "42", "document": "d-1"})
    await api.create(metadata={"user_id": "7"})
    number = await api.create(metadata={"user_id": 42})  # matched by its JSON text, as the list filter does
    await api.create(metadata={"user": {"id": "42"}})
    await api.post(mine["id"], "start")
    await api.progress(mine["id"], 50)

    events = await receive_events(ws, 4)
    assert [(e["job_id"], e["event"]) for e in events] == [
        (mine["id"], "JobCreated"), (number["id"], "JobCreated"), (mine["id"], "JobStarted"),
        (mine["id"], "ProgressReported"),
    ]
    await ws.send_json({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}  # nothing else was sent before it
    await ws.close()


async def test_every_pair_of_a_filter_must_hold(client, api):
    ws = await client.ws_connect("/ws")
    await subscribe(ws, metadata={"user_id": "42", "document": "d-7"})
    await api.create(metadata={"user_id": "42", "document": "d-8"})
    await api.create(metadata={"user_id": "41", "document": "d-7"})
    both = await api.create(metadata={"document": "d-7", "user_id": "42", "more": True})
    [event] = await receive_events(ws, 1)
    assert event["job_id"] == both["id"]
    await ws.send_json({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}
    await ws.close()


async def test_two_filters_on_one_socket_send_a_job_matching_both_once_and_unsubscribe_removes_one(client, api):
    ws = await client.ws_connect("/ws")
    await subscribe(ws, metadata={"user_id": "42"})
    await subscribe(ws, metadata={"team": "blue"})
    both = await api.create(metadata={"user_id": "42", "team": "blue"})
    [event] = await receive_events(ws, 1)
    assert event["job_id"] == both["id"]

    await ws.send_json({"type": "unsubscribe", "metadata": {"user_id": "42"}})
    assert (await receive(ws))["type"] == "unsubscribed"
    await api.create(metadata={"user_id": "42"})
    blue = await api.create(metadata={"team": "blue"})
    [event] = await receive_events(ws, 1)
    assert event["job_id"] == blue["id"]
    await ws.close()


async def test_after_replays_the_matching_history_then_goes_live(client, api):
    start = (await api.log())[-1]["position"] if await api.log() else 0
    mine = await api.create(metadata={"user_id": "42"})
    await api.create(metadata={"user_id": "7"})
    await api.post(mine["id"], "start")
    ws = await client.ws_connect("/ws")
    ack = await subscribe(ws, metadata={"user_id": "42"}, after=start)
    assert [(e["job_id"], e["event"]) for e in ack["replayed"]] == [(mine["id"], "JobCreated"), (mine["id"], "JobStarted")]
    later = await api.create(metadata={"user_id": "42"})
    [event] = await receive_events(ws, 1)
    assert event["job_id"] == later["id"]
    await ws.close()


async def test_metadata_resumes_without_gap_or_duplicate_under_appends(client, api):
    jobs = await _started_jobs(api, 4, metadata={"user_id": "42"}) + await _started_jobs(api, 4, metadata={"user_id": "7"})

    async def connect(after: int):
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "subscribe", "metadata": {"user_id": "42"}, "after": after})
        return ws

    ours = {j["id"] for j in jobs[:4]}
    await _resume_under_appends(api, connect, jobs, lambda e: e["job_id"] in ours)


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"": "1"}, "metadata"),
        ({"k" * 129: "1"}, "metadata"),
        ({"user_id": "v" * 257}, "metadata.user_id"),
        ({"user_id": 42}, "metadata.user_id"),
        ({"user_id": "a\x00b"}, "metadata.user_id"),
        ({f"k{n}": "1" for n in range(9)}, "metadata"),
        ([["user_id", "42"]], "metadata"),
    ],
)
async def test_a_malformed_filter_is_refused_naming_the_field(client, api, metadata, field):
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "subscribe", "metadata": metadata})
    answer = await receive(ws)
    assert answer["type"] == "error" and answer["error"]["code"] == "invalid_request", answer
    assert any(f["field"].startswith(field) for f in answer["error"]["details"]["fields"]), answer
    await api.create(metadata={"user_id": "42"})  # the socket follows nothing
    await ws.send_json({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}
    await ws.close()


async def test_a_metadata_subscription_sees_only_the_sockets_tenant(secure, make_key):
    acme, globex = await make_key("admin", "acme"), await make_key("admin", "globex")
    ws = await secure.ws_connect("/ws", headers=bearer(acme))
    await subscribe(ws, metadata={"user_id": "42"}, after=0)
    await secure.post("/jobs", json={"type": "report", "metadata": {"user_id": "42"}}, headers=bearer(globex))
    ours = await (await secure.post("/jobs", json={"type": "report", "metadata": {"user_id": "42"}}, headers=bearer(acme))).json()
    [event] = await receive_events(ws, 1)
    assert event["job_id"] == ours["id"]
    await ws.send_json({"type": "ping"})
    assert await receive(ws) == {"type": "pong"}
    await ws.close()

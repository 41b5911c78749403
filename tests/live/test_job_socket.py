"""Point 1: `/jobs/{id}/ws` sends the job document, then each event as committed, then closes after a terminal event."""

import aiohttp
import pytest

from tests.live.helpers import EVENT_KEYS, closed, receive, receive_events


async def test_first_the_document_then_each_event_with_the_job_after_it(client, api):
    job = await api.create(phases=["research"])
    ws = await client.ws_connect(f"/jobs/{job['id']}/ws")
    first = await receive(ws)
    assert first == {"type": "job", "position": job["position"], "job": await api.get(job["id"])}

    steps = [("start", None), ("phases/research/start", None), ("progress", {"percent": 40, "message": "p. 12"}),
             ("phases/research/complete", {"result": {"pages": 30}})]
    for action, body in steps:
        await api.post(job["id"], action, body)
        [event] = await receive_events(ws, 1)
        assert set(event) == EVENT_KEYS
        assert event["job"] == await api.get(job["id"])  # the document after this event, position included
    history = await api.stream(job["id"])
    assert [e["version"] for e in history] == [1, 2, 3, 4, 5]
    await ws.close()


@pytest.mark.parametrize(
    ("action", "body", "status"),
    [("complete", {"result": 1}, "completed"), ("fail", {"error": "boom"}, "failed"), ("cancel", None, "cancelled")],
)
async def test_socket_closes_normally_after_a_terminal_event(client, api, action, body, status):
    job = await api.create()
    ws = await client.ws_connect(f"/jobs/{job['id']}/ws")
    await receive(ws)
    await api.post(job["id"], "start")
    await api.post(job["id"], action, body)
    messages, close = await closed(ws)
    assert [m["event"] for m in messages] == ["JobStarted", messages[-1]["event"]]
    assert messages[-1]["job"]["status"] == status
    assert close.type is aiohttp.WSMsgType.CLOSE and close.data == aiohttp.WSCloseCode.OK


async def test_socket_closes_normally_after_the_job_expires(client, api):
    job = await api.create(expires_in=0.2)  # the test settings sweep every 50 ms
    ws = await client.ws_connect(f"/jobs/{job['id']}/ws")
    await receive(ws)
    messages, close = await closed(ws)
    assert [m["event"] for m in messages if m["type"] == "event"][-1] == "JobExpired"
    assert messages[-1]["job"]["status"] == "expired"
    assert close.data == aiohttp.WSCloseCode.OK


async def test_a_finished_job_gets_its_document_and_a_normal_close(client, api):
    job = await api.create()
    await api.post(job["id"], "cancel")
    ws = await client.ws_connect(f"/jobs/{job['id']}/ws")
    messages, close = await closed(ws)
    assert messages == [{"type": "job", "position": messages[0]["position"], "job": await api.get(job["id"])}]
    assert messages[0]["job"]["status"] == "cancelled"
    assert close.data == aiohttp.WSCloseCode.OK


async def test_events_of_other_jobs_are_not_sent(client, api):
    job, other = await api.create(), await api.create()
    ws = await client.ws_connect(f"/jobs/{job['id']}/ws")
    await receive(ws)
    await api.post(other["id"], "start")
    await api.post(job["id"], "start")
    [event] = await receive_events(ws, 1)
    assert event["job_id"] == job["id"]
    await ws.close()


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/jobs/6f1f0a9e-3b7d-4a55-9e1e-2f6ad3b1c0aa/ws", 404, "job_not_found"),
        ("/jobs/not-a-uuid/ws", 404, "job_not_found"),
        ("/jobs/{id}/ws?after=-1", 400, "invalid_request"),
        ("/jobs/{id}/ws?after=x", 400, "invalid_request"),
    ],
)
async def test_bad_requests_get_an_http_error_before_the_upgrade(client, api, hub, path, status, code):
    job = await api.create()
    with pytest.raises(aiohttp.WSServerHandshakeError) as failed:
        await client.ws_connect(path.replace("{id}", job["id"]))
    assert failed.value.status == status
    resp = await client.get(path.replace("{id}", job["id"]))  # the same answer over plain HTTP
    assert resp.status == status and (await resp.json())["error"]["code"] == code
    assert hub.watched() == 0

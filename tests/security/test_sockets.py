"""WebSocket keys: the Authorization header, or a first `auth` message within a deadline;
sockets per key and subscriptions per socket are bounded."""

import orjson
import pytest
from aiohttp import WSMsgType, WSServerHandshakeError

from tests.security.conftest import bearer
from tests.service.helpers import ok


def _send(ws, body: dict):
    return ws.send_str(orjson.dumps(body).decode())


async def _closed_with(ws) -> int:
    """The close code of a refused socket, after the `error` message that says why."""
    msg = await ws.receive(timeout=10)
    if msg.type is WSMsgType.TEXT:
        error = orjson.loads(msg.data)
        assert error["type"] == "error" and error["error"]["code"] in {"unauthorized", "job_not_found", "rate_limited"}
        msg = await ws.receive(timeout=10)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING), msg
    return ws.close_code


async def test_a_socket_may_authenticate_with_its_first_message(secure, make_key):
    key = await make_key("client")
    job = await ok(await secure.post("/jobs", json={"type": "report"}, headers=bearer(key)), 201)
    async with secure.ws_connect("/ws") as ws:
        await _send(ws, {"type": "auth", "token": key})
        assert await ws.receive_json(timeout=10) == {"type": "authenticated", "role": "client", "tenant": "acme"}
        await _send(ws, {"type": "subscribe", "jobs": [job["id"]], "after": 0})
        first = await ws.receive_json(timeout=10)
        if first["type"] == "subscribed":  # the hub had not yet seen the job's event: it comes live, after the ack
            first = await ws.receive_json(timeout=10)
        assert (first["type"], first["job_id"]) == ("event", job["id"])
    async with secure.ws_connect(f"/jobs/{job['id']}/ws") as ws:
        await _send(ws, {"type": "auth", "token": key})
        assert (await ws.receive_json(timeout=10))["type"] == "authenticated"
        assert (await ws.receive_json(timeout=10))["job"]["id"] == job["id"]


@pytest.mark.parametrize("first", [{"type": "auth", "token": "jl_x_wrong"}, {"type": "subscribe", "all": True}])
async def test_a_socket_without_a_valid_first_message_is_closed_4001(secure, first):
    async with secure.ws_connect("/ws") as ws:
        await _send(ws, first)
        assert await _closed_with(ws) == 4001


async def test_a_socket_that_sends_nothing_is_closed_after_the_deadline(serve, secure_settings, monkeypatch):
    monkeypatch.setenv("JOBLEDGER_WS_AUTH_TIMEOUT", "0.3")
    service = await serve(secure_settings)
    async with service.ws_connect("/ws") as ws:
        assert await _closed_with(ws) == 4001


async def test_another_tenants_job_after_message_auth_closes_4004(secure, make_key):
    acme = await make_key("client")
    job = await ok(await secure.post("/jobs", json={"type": "report"}, headers=bearer(acme)), 201)
    async with secure.ws_connect(f"/jobs/{job['id']}/ws") as ws:
        await _send(ws, {"type": "auth", "token": await make_key("client", "globex")})
        assert (await ws.receive_json(timeout=10))["type"] == "authenticated"
        assert await _closed_with(ws) == 4004


async def test_sockets_per_key_are_bounded(serve, secure_settings, make_key, monkeypatch):
    monkeypatch.setenv("JOBLEDGER_WS_MAX_SOCKETS_PER_KEY", "2")
    service = await serve(secure_settings)
    key = await make_key("client")
    first = await service.ws_connect("/ws", headers=bearer(key))
    second = await service.ws_connect("/ws", headers=bearer(key))
    with pytest.raises(WSServerHandshakeError) as refused:
        await service.ws_connect("/ws", headers=bearer(key))
    assert refused.value.status == 429
    async with service.ws_connect("/ws") as third:  # the same key in a message: closed 4029
        await _send(third, {"type": "auth", "token": key})
        assert (await third.receive_json(timeout=10))["type"] == "authenticated"
        assert await _closed_with(third) == 4029
    async with service.ws_connect("/ws", headers=bearer(await make_key("client"))):  # another key is not counted
        pass
    await first.close()
    async with service.ws_connect("/ws", headers=bearer(key)):  # a closed socket gives its place back
        pass
    await second.close()


async def test_subscriptions_per_socket_are_bounded(serve, settings, monkeypatch):
    monkeypatch.setenv("JOBLEDGER_WS_MAX_SUBSCRIPTIONS", "3")
    service = await serve(settings)
    async with service.ws_connect("/ws") as ws:
        await _send(ws, {"type": "subscribe", "job_types": ["a", "b"]})
        assert (await ws.receive_json(timeout=10))["type"] == "subscribed"
        await _send(ws, {"type": "subscribe", "job_types": ["b", "c", "d"]})
        refused = await ws.receive_json(timeout=10)
        assert refused["type"] == "error" and refused["error"]["code"] == "too_many_subscriptions"
        assert refused["error"]["details"] == {"limit": 3, "requested": 4}
        await _send(ws, {"type": "subscribe", "job_types": ["c"]})
        assert (await ws.receive_json(timeout=10))["type"] == "subscribed"


async def test_in_open_mode_an_auth_message_scopes_the_socket(client, make_key):
    acme = await make_key("client")
    mine = await ok(await client.post("/jobs", json={"type": "report"}, headers=bearer(acme)), 201)
    await ok(await client.post("/jobs", json={"type": "report"}), 201)  # tenant "default"
    async with client.ws_connect("/ws") as ws:
        await _send(ws, {"type": "auth", "token": acme})
        assert await ws.receive_json(timeout=10) == {"type": "authenticated", "role": "client", "tenant": "acme"}
        await _send(ws, {"type": "subscribe", "all": True, "after": 0})
        assert (await ws.receive_json(timeout=10))["job_id"] == mine["id"]  # not the default tenant's job
        assert (await ws.receive_json(timeout=10))["type"] == "subscribed"
        await _send(ws, {"type": "auth", "token": acme})
        assert (await ws.receive_json(timeout=10))["type"] == "error"  # only first
    async with client.ws_connect("/ws") as ws:
        await _send(ws, {"type": "auth", "token": "jl_x_wrong"})
        assert (await ws.receive_json(timeout=10))["error"]["code"] == "unauthorized"

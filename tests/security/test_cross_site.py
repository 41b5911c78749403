"""Cross-site requests and DNS rebinding: a page the developer visits must not drive the service.

A browser sends a cross-site `text/plain` or form POST without asking first, and opens a
WebSocket to any origin; a page whose name was rebound to 127.0.0.1 is "same origin" to the
browser. So: bodies must be JSON-typed (a preflight the service never allows), a state change or
WebSocket from a foreign Origin is refused, and the open mode answers only its own host names.
"""

import aiohttp
import orjson
import pytest
from aiohttp import WSServerHandshakeError

from jobledger.web.config import Settings
from tests.ops.test_proxy import proxy  # noqa: F401 -- the fixture: nginx with deploy/nginx.conf
from tests.security.conftest import bearer
from tests.service.helpers import ok

EVIL = "https://evil.example"
JOB = orjson.dumps({"type": "report"})


async def _jobs(client, **headers) -> list[dict]:
    return (await ok(await client.get("/jobs", headers=headers)))["jobs"]


async def _refused(resp, status: int, code: str, field: str) -> dict:
    body = await resp.json()
    assert (resp.status, body["error"]["code"]) == (status, code), body
    assert [f["field"] for f in body["error"]["details"]["fields"]] == [field]
    assert field in body["error"]["message"]
    return body


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",  # what a cross-site fetch sends without a preflight
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",  # curl -d, and an HTML form
        "multipart/form-data; boundary=x",
        "application/octet-stream",
        "application/json; charset=iso-8859-1",  # JSON is UTF-8
        "application/jsonx",
        None,
    ],
)
async def test_a_body_that_is_not_json_typed_is_refused_415(client, content_type):
    """Defends against a cross-site page creating jobs with a body a browser sends without a preflight."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    resp = await client.post("/jobs", data=JOB, headers=headers, skip_auto_headers=["Content-Type"])

    await _refused(resp, 415, "unsupported_media_type", "Content-Type")
    assert await _jobs(client) == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON;Charset=UTF-8", "application/vnd.x+json"],
)
async def test_json_typed_bodies_are_read(client, content_type):
    """The check must not refuse JSON however its type is spelled (else clients break)."""
    resp = await client.post("/jobs", data=JOB, headers={"Content-Type": content_type})
    assert resp.status == 201, await resp.text()


async def test_a_command_without_a_body_needs_no_content_type(client):
    """An empty body is a command without options: curl -XPOST sends no type, and nothing needs one."""
    job = await ok(await client.post("/jobs", json={"type": "report"}), 201)
    resp = await client.post(f"/jobs/{job['id']}/cancel", skip_auto_headers=["Content-Type"])
    assert (await ok(resp))["status"] == "cancelled"


async def test_a_text_plain_cancel_is_refused_and_changes_nothing(client):
    """Defends against the issue's example: a cross-site text/plain POST to /cancel answered 200."""
    job = await ok(await client.post("/jobs", json={"type": "report"}), 201)
    resp = await client.post(f"/jobs/{job['id']}/cancel", data=b'{"reason": "x"}', headers={"Content-Type": "text/plain"})
    await _refused(resp, 415, "unsupported_media_type", "Content-Type")
    assert (await ok(await client.get(f"/jobs/{job['id']}")))["status"] == "queued"


@pytest.mark.parametrize(("method", "path"), [("POST", "/jobs"), ("PUT", "/types/report"), ("POST", "/workers/claim")])
async def test_a_state_change_from_a_foreign_origin_is_refused_in_the_open_mode(client, method, path):
    """Defends against a page on any site driving the developer's loopback service, even with a JSON body."""
    resp = await client.request(method, path, json={"type": "report", "worker_id": "w"}, headers={"Origin": EVIL})
    await _refused(resp, 403, "cross_origin", "Origin")
    assert await _jobs(client) == []


async def test_a_foreign_origin_is_refused_even_with_a_key(secure, make_key):
    """Defends keys mode too: a key is not proof the request came from a page allowed to send it."""
    key = await make_key("client")
    resp = await secure.post("/jobs", json={"type": "report"}, headers={"Origin": EVIL, **bearer(key)})
    await _refused(resp, 403, "cross_origin", "Origin")
    assert await _jobs(secure, **bearer(key)) == []


async def test_the_own_origin_and_no_origin_may_change_state(client):
    """The dashboard (same origin) and curl or SDKs (no Origin) must keep working."""
    own = f"http://{client.host}:{client.port}"
    assert (await client.post("/jobs", json={"type": "report"}, headers={"Origin": own})).status == 201
    assert (await client.post("/jobs", json={"type": "report"})).status == 201
    other_port = f"http://{client.host}:{client.port + 1}"  # another service on the same machine
    await _refused(await client.post("/jobs", json={"type": "r"}, headers={"Origin": other_port}), 403, "cross_origin", "Origin")


async def test_reads_from_a_foreign_origin_are_left_to_cors(client):
    """A GET changes nothing; the browser hides its answer unless CORS allows the origin."""
    resp = await client.get("/jobs", headers={"Origin": EVIL})
    assert resp.status == 200 and "Access-Control-Allow-Origin" not in resp.headers


@pytest.mark.parametrize("cors", [[], [EVIL.replace("evil", "app")]])
@pytest.mark.parametrize("path", ["/ws", "/jobs/00000000-0000-4000-8000-000000000000/ws"])
async def test_a_websocket_from_a_foreign_origin_is_refused_before_the_upgrade(serve, settings, cors, path):
    """Defends against a page on any site opening a socket and replaying the whole log (CORS set or not)."""
    service = await serve(settings.model_copy(update={"cors_origins": cors}))
    await ok(await service.post("/jobs", json={"type": "report", "payload": {"secret": 1}}), 201)
    with pytest.raises(WSServerHandshakeError) as refused:
        await service.ws_connect(path, origin=EVIL)
    assert refused.value.status == 403


async def test_a_websocket_from_the_own_or_an_allowed_origin_opens(serve, settings):
    """The dashboard's socket (same origin) and an allowed origin's must still open."""
    allowed = "https://app.example"
    service = await serve(settings.model_copy(update={"cors_origins": [allowed]}))
    for origin in (f"http://{service.host}:{service.port}", allowed):
        async with service.ws_connect("/ws", origin=origin) as ws:
            await ws.send_json({"type": "ping"})
            assert (await ws.receive_json(timeout=10))["type"] == "pong"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "10.0.0.8:{port}", "localhost.evil.example"])
@pytest.mark.parametrize("path", ["/jobs", "/ui/", "/health"])
async def test_the_open_mode_refuses_a_foreign_host(client, host, path):
    """Defends against DNS rebinding: evil.example, rebound to 127.0.0.1, reads the service as its own origin."""
    resp = await client.get(path, headers={"Host": host.format(port=client.port)})
    await _refused(resp, 403, "host_not_allowed", "Host")


async def test_a_rebound_page_cannot_post_as_its_own_origin(client):
    """The rebound page's Origin equals the Host it sends: the Host check is what stops it."""
    rebound = f"evil.example:{client.port}"
    resp = await client.post("/jobs", json={"type": "report"}, headers={"Host": rebound, "Origin": f"http://{rebound}"})
    await _refused(resp, 403, "host_not_allowed", "Host")
    assert await _jobs(client) == []


@pytest.mark.parametrize("host", ["localhost", "localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "LOCALHOST"])
async def test_the_open_mode_answers_its_loopback_names(client, host):
    """The names a developer uses must keep working, with or without the port."""
    assert (await client.get("/jobs", headers={"Host": host.format(port=client.port)})).status == 200


async def test_allowed_hosts_adds_names(serve, settings):
    """A name the operator gives (e.g. a local proxy's) is answered; others still are not."""
    service = await serve(settings.model_copy(update={"allowed_hosts": ["jobs.internal", "Box.Local:8443"]}))
    for host in ("jobs.internal", "jobs.internal:8080", "box.local"):
        assert (await service.get("/jobs", headers={"Host": host})).status == 200, host
    assert (await service.get("/jobs", headers={"Host": "evil.example"})).status == 403


async def test_with_keys_any_host_unless_allowed_hosts_is_set(serve, secure_settings, make_key):
    """Keys mode is reached by names of the operator's choosing; a list, when given, is enforced."""
    key = bearer(await make_key("client"))
    anyhost = await serve(secure_settings)
    assert (await anyhost.get("/jobs", headers={"Host": "jobs.example.com", **key})).status == 200
    listed = await serve(secure_settings.model_copy(update={"allowed_hosts": ["jobs.example.com"]}))
    assert (await listed.get("/jobs", headers={"Host": "jobs.example.com", **key})).status == 200
    assert (await listed.get("/jobs", headers={"Host": "localhost", **key})).status == 200
    await _refused(await listed.get("/jobs", headers={"Host": "other.example", **key}), 403, "host_not_allowed", "Host")


@pytest.mark.parametrize("host", ["bad host", "jobs.example:port", "::1"])
def test_a_malformed_allowed_host_is_refused_by_name(host):
    """A typo in the setting must fail at start, not silently refuse every request."""
    with pytest.raises(ValueError, match="allowed_hosts"):
        Settings(allowed_hosts=[host])


async def test_behind_the_compose_proxy_the_own_origin_is_still_its_own(proxy):  # noqa: F811 -- the fixture
    """Defends the deployment: nginx must pass the browser's Host (port included), or the dashboard's
    own POSTs and socket would be refused as cross-origin (and a foreign Origin must still be)."""
    url, _ = proxy
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/jobs", json={"type": "report"}, headers={"Origin": url}) as resp:
            assert resp.status == 201, await resp.text()
        async with session.ws_connect(f"{url}/ws", origin=url) as ws:
            await ws.send_json({"type": "ping"})
            assert (await ws.receive_json(timeout=10))["type"] == "pong"
        async with session.post(f"{url}/jobs", json={"type": "report"}, headers={"Origin": EVIL}) as resp:
            assert resp.status == 403

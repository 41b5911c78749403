"""Security headers on every response; CORS only for the configured origins."""

import pytest

from tests.security.conftest import bearer

ORIGIN = "https://app.example"


@pytest.mark.parametrize(("method", "path"), [("GET", "/health"), ("GET", "/jobs"), ("GET", "/nope"),
                                              ("POST", "/jobs"), ("GET", "/jobs/not-a-uuid")])
async def test_every_response_carries_security_headers(client, method, path):
    resp = await client.request(method, path, data=b"{", headers={"Content-Type": "application/json"})
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in resp.headers  # only when configured (behind TLS)


async def test_a_websocket_upgrade_carries_its_request_id_and_no_document_headers(client):
    """A 101 renders nothing, and its headers live as long as the socket: ~1.4 KB a socket saved."""
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    resp = await client.get("/ws", headers=upgrade)
    assert resp.status == 101
    assert resp.headers["X-Request-Id"]
    assert not {"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy"} & set(resp.headers)
    resp.close()


async def test_refusals_carry_them_too(secure):
    resp = await secure.get("/jobs")
    assert resp.status == 401 and resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_hsts_when_configured(serve, settings):
    service = await serve(settings.model_copy(update={"hsts": True}))
    assert "max-age=" in (await service.get("/health")).headers["Strict-Transport-Security"]


async def test_no_cors_unless_configured(client):
    resp = await client.get("/jobs", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_cors_for_configured_origins(serve, secure_settings, make_key):
    service = await serve(secure_settings.model_copy(update={"cors_origins": [ORIGIN]}))
    preflight = await service.options("/jobs", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
    })
    assert preflight.status == 200 and preflight.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "AUTHORIZATION" in preflight.headers["Access-Control-Allow-Headers"].upper()
    resp = await service.post("/jobs", json={"type": "r"}, headers={"Origin": ORIGIN, **bearer(await make_key("client"))})
    assert resp.status == 201 and resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "ETAG" in resp.headers["Access-Control-Expose-Headers"].upper()
    foreign = await service.get("/jobs", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers
    refused = await service.options("/jobs", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert refused.status == 403

"""With an API key set, the dashboard sends it on every request and first on every socket;
without one (open mode) it sends nothing."""

import json

import pytest
from playwright.async_api import expect

from jobledger.application.jobs import DEFAULT_TENANT, utcnow
from jobledger.web import auth
from tests.ui.helpers import WAIT_MS, open_dashboard


@pytest.fixture
def backend() -> str:
    """Only the browser's side is tested here: one backend is enough."""
    return "sqlite"


def sent_frames(page) -> list[list[dict]]:
    """Each socket the page opens, with the messages the page sent on it."""
    sockets: list[list[dict]] = []

    def opened(socket) -> None:
        sockets.append(frames := [])
        socket.on("framesent", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", opened)
    return sockets


def authorizations(page, since: int) -> set[str | None]:
    return {r.headers.get("authorization") for r in page.requests[since:] if r.resource_type == "fetch"}


@pytest.fixture
async def admin_key(store) -> str:
    """An admin key of the open mode's tenant, stored in the test database."""
    key, record = auth.new_key("admin", DEFAULT_TENANT, None, None, utcnow())
    await store.registry.put_key(record)
    return key


async def test_the_api_key_goes_with_every_request_and_first_on_the_socket(page, api, admin_key):
    sockets = sent_frames(page)
    await api.create(type="report")
    await open_dashboard(page)
    await expect(page.locator(".job-table tbody tr")).to_have_count(1)
    assert authorizations(page, 0) == {None}
    assert sockets[0][0] == {"type": "subscribe", "all": True}

    before = len(page.requests)
    await page.fill("#api-key", admin_key)
    await page.click("#api-key-form button")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    await expect(page.locator(".job-table tbody tr")).to_have_count(1)
    assert authorizations(page, before) == {f"Bearer {admin_key}"}
    first, subscribe = sockets[-1][:2]
    assert first == {"type": "auth", "token": admin_key}
    assert subscribe["type"] == "subscribe" and subscribe["all"] is True and subscribe["after"] >= 1

    await page.reload()
    await expect(page.locator("#api-key")).to_have_value(admin_key)
    assert await page.evaluate("localStorage.getItem('jobledger.apiKey')") == admin_key


async def test_a_key_the_service_refuses_is_said_so_not_retried_forever(page, api):
    sockets = sent_frames(page)
    await open_dashboard(page)
    await page.fill("#api-key", "jl_000000000000_unknown")
    await page.click("#api-key-form button")
    connection = page.locator("#connection")
    await expect(connection).to_have_attribute("data-state", "offline", timeout=WAIT_MS)
    await expect(connection).to_have_attribute("title", "refused: unauthorized: unknown or revoked API key (check the API key)")
    await page.wait_for_timeout(1000)
    assert len(sockets) == 2  # the refusal is final: the client does not reconnect with the same key

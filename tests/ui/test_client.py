"""The dashboard goes through the TypeScript client (service/web/ui/client/, built from
clients/typescript): it loads the client's modules, and without them it cannot reach the service
at all (it has no fetch or socket of its own; tests/ui/test_assets.py checks the sources)."""

import pytest
from playwright.async_api import expect

from tests.ui.helpers import WAIT_MS, browser_page, open_dashboard

CLIENT_MODULES = {"index.js", "api.js", "http.js", "live.js", "errors.js"}


@pytest.fixture
def backend() -> str:
    """Only the browser's side is tested here: one backend is enough."""
    return "sqlite"


def service_calls(page) -> list[str]:
    """The API requests the page made (not the dashboard's own files)."""
    return [r.url for r in page.requests if "/ui/" not in r.url]


async def test_the_dashboard_loads_the_client_and_calls_through_it(page, api):
    job = await api.create(type="report")
    await open_dashboard(page)
    await expect(page.locator(f'.job-table tr[data-job-id="{job["id"]}"]')).to_have_count(1)
    loaded = {r.url.rsplit("/ui/client/", 1)[1] for r in page.requests if "/ui/client/" in r.url}
    assert CLIENT_MODULES <= loaded, loaded
    assert any("/jobs?" in url for url in service_calls(page))  # and its socket is live: open_dashboard waited


async def test_without_the_client_the_dashboard_reaches_nothing(client):
    async with browser_page(str(client.make_url(""))) as page:
        await page.route("**/ui/client/*", lambda route: route.abort())
        await page.goto("/ui/")
        await page.wait_for_timeout(1500)
        assert service_calls(page) == []
        assert not await page.evaluate("performance.getEntriesByType('resource').some((e) => e.name.endsWith('/ws'))")
        await expect(page.locator("#connection")).to_have_attribute("data-state", "connecting", timeout=WAIT_MS)

"""A dropped connection: the page says so, reconnects by itself, and catches up on what was
committed meanwhile (the server replays it after the last position the page saw)."""

import asyncio

from playwright.async_api import expect

from tests.ui.helpers import WAIT_MS, open_dashboard


async def test_the_page_catches_up_after_a_dropped_connection(page, api, worker):
    sockets, reconnect = [], asyncio.Event()

    async def through_the_network(socket) -> None:
        if sockets:  # every later connection waits until the test lets it through
            await reconnect.wait()
        sockets.append(socket)
        socket.connect_to_server()

    await page.route_web_socket("**/ws", through_the_network)
    job = await api.create(type="ocr")
    await open_dashboard(page)
    row = page.locator(f'.job-table tr[data-job-id="{job["id"]}"]')
    await expect(row.locator(".badge")).to_have_text("queued")
    await page.evaluate("window.stillTheSamePage = true")

    await sockets[0].close(code=1006)
    await expect(page.locator("#connection")).not_to_have_attribute("data-state", "live", timeout=WAIT_MS)
    await worker.claim("ocr")
    await worker.progress(job["id"], 55, "while the page was away")
    newer = await api.create(type="ocr")
    await page.wait_for_timeout(500)
    await expect(row.locator(".pct")).to_have_text("0%")  # nothing arrives while disconnected

    reconnect.set()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    await expect(row.locator(".pct")).to_have_text("55%", timeout=WAIT_MS)
    await expect(row.locator(".badge")).to_have_text("running")
    await expect(page.locator(".job-table tbody tr").first).to_have_attribute("data-job-id", newer["id"])
    await worker.report(job["id"], "complete")
    await expect(row.locator(".badge")).to_have_text("completed", timeout=WAIT_MS)
    assert await page.evaluate("window.stillTheSamePage") is True

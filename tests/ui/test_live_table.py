"""The job table follows /ws: jobs appear, progress and finish without a reload or a poll."""

import asyncio

import pytest
from playwright.async_api import expect

from tests.ui.helpers import WAIT_MS, open_dashboard


def row(page, job_id: str):
    return page.locator(f'.job-table tr[data-job-id="{job_id}"]')


async def test_a_job_appears_progresses_and_completes_without_reloading(page, api, worker, client):
    await api.create(type="report")
    await open_dashboard(page)
    await page.evaluate("window.stillTheSamePage = true")
    loaded = len(page.requests)

    job = await api.create(type="ocr", phases=["read", "check"], payload={"file": "scan.tiff"})
    line = row(page, job["id"])
    await expect(line).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator(".job-table tbody tr").first).to_have_attribute("data-job-id", job["id"])
    await expect(line.locator(".badge")).to_have_text("queued")
    await expect(line.locator(".pct")).to_have_text("0%")

    await worker.claim("ocr")
    await expect(line.locator(".badge")).to_have_text("running", timeout=WAIT_MS)
    await worker.report(job["id"], "phases/read/start")
    await worker.progress(job["id"], 40, "page 4 of 10")
    await expect(line.locator(".pct")).to_have_text("40%", timeout=WAIT_MS)
    await expect(line.locator("[role=progressbar]")).to_have_attribute("aria-valuenow", "40")
    await expect(line.locator("[role=progressbar] > span")).to_have_attribute("style", "width: 40%;")
    await expect(line.locator(".progress-message")).to_have_text("page 4 of 10")
    await expect(line.locator(".phase-summary")).to_have_text("read 0/2")

    await worker.report(job["id"], "phases/read/complete")
    await worker.report(job["id"], "phases/check/start")
    await worker.progress(job["id"], 87.5)
    await expect(line.locator(".pct")).to_have_text("87.5%", timeout=WAIT_MS)
    await expect(line.locator(".phase-summary")).to_have_text("check 1/2")
    await worker.report(job["id"], "phases/check/complete")
    await worker.report(job["id"], "complete", {"result": {"pages": 10}})
    await expect(line.locator(".badge")).to_have_text("completed", timeout=WAIT_MS)
    await expect(line.locator(".pct")).to_have_text("100%")
    await expect(line.locator(".phase-summary")).to_have_text("check 2/2")

    card = page.locator('.card[data-type="ocr"]')
    await expect(card.locator('[data-figure="completed"] b')).to_have_text("1", timeout=WAIT_MS)
    await expect(card.locator('[data-figure="running"] b')).to_have_text("0")
    assert await page.evaluate("window.stillTheSamePage") is True
    since_load = [r.url for r in page.requests[loaded:]]
    assert not [u for u in since_load if "/jobs" in u], since_load  # rows changed by /ws messages alone
    assert all(u.startswith(str(client.make_url(""))) for u in (r.url for r in page.requests))


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_filters_by_status_and_type_and_search_by_id(page, api):
    queued_ocr = await api.create(type="ocr")
    done_ocr = await api.create(type="ocr")
    await api.post(done_ocr["id"], "start")
    await api.post(done_ocr["id"], "complete")
    queued_report = await api.create(type="report")
    await open_dashboard(page)
    rows = page.locator(".job-table tbody tr:visible")
    await expect(rows).to_have_count(3)

    await page.select_option("#filter-status", "queued")
    await expect(rows).to_have_count(2)
    await page.select_option("#filter-type", "ocr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-job-id", queued_ocr["id"])

    new_ocr = await api.create(type="ocr")
    await api.create(type="report")
    await expect(rows.first).to_have_attribute("data-job-id", new_ocr["id"], timeout=WAIT_MS)
    await api.post(queued_ocr["id"], "start")  # no longer queued: leaves the filtered table
    await expect(rows).to_have_count(1, timeout=WAIT_MS)
    await expect(rows.first).to_have_attribute("data-job-id", new_ocr["id"])

    await page.select_option("#filter-status", "")
    await page.select_option("#filter-type", "")
    await expect(rows).to_have_count(5)
    await page.fill("#search", done_ocr["id"][:8])
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-job-id", done_ocr["id"])
    await page.fill("#search", queued_report["id"])
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-job-id", queued_report["id"])
    await page.fill("#search", "00000000-0000-4000-8000-000000000000")
    await expect(rows).to_have_count(0)
    await expect(page.locator(".jobs .empty")).to_be_visible()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_job_created_while_the_table_loads_is_not_lost(page, api):
    """The server answers a load, then a job is created; the event arrives before the answer."""
    received: list[str] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda frame: received.append(frame)))
    await api.create(type="ocr")
    await open_dashboard(page)
    answered, release = asyncio.Event(), asyncio.Event()

    async def slow_answer(route) -> None:
        response = await route.fetch()
        answered.set()
        await release.wait()
        await route.fulfill(response=response)

    await page.route(lambda url: "/jobs?" in url and "status=queued" in url, slow_answer)
    await page.select_option("#filter-status", "queued")
    await asyncio.wait_for(answered.wait(), WAIT_MS / 1000)
    job = await api.create(type="ocr")
    deadline = asyncio.get_running_loop().time() + WAIT_MS / 1000
    while not any(job["id"] in frame for frame in received):
        assert asyncio.get_running_loop().time() < deadline, "the event never reached the page"
        await asyncio.sleep(0.05)

    async with page.expect_response(lambda r: "status=queued" in r.url):
        release.set()
    await page.wait_for_timeout(300)  # the answer is applied (the held event after it)
    assert await page.locator(".job-table tbody tr").count() == 2
    await expect(row(page, job["id"])).to_be_visible()

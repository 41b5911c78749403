"""The job page: phases, progress, result or error, and the whole event timeline, kept live."""

from playwright.async_api import expect

from tests.ui.helpers import WAIT_MS, open_dashboard

HOSTILE = "<img src=x onerror=window.injected=1>"  # would run if put in as HTML


async def test_the_job_page_shows_phases_result_and_the_whole_timeline_live(page, api, worker):
    job = await api.create(type="rfp-analysis", phases=["research", "audit"], payload={"title": HOSTILE})
    await open_dashboard(page, f"/ui/#/jobs/{job['id']}")
    timeline = page.locator("#timeline > li")
    await expect(timeline).to_have_count(1, timeout=WAIT_MS)
    await expect(page.locator(".job-title .badge")).to_have_text("queued")

    await worker.claim("rfp-analysis")
    await worker.report(job["id"], "phases/research/start")
    await worker.progress(job["id"], 30, "reading sources")
    await expect(page.locator('[data-section="progress"] .pct')).to_have_text("30%", timeout=WAIT_MS)
    await expect(page.locator('[data-section="progress"] .progress-message')).to_have_text("reading sources")
    await expect(page.locator('[data-phase="research"] .badge')).to_have_text("running")
    await worker.report(job["id"], "phases/research/complete", {"result": {"sources": 14}, "confidence": 0.86})
    await worker.report(job["id"], "phases/audit/start")
    await worker.report(job["id"], "phases/audit/complete")
    await worker.report(job["id"], "complete", {"result": {"score": 0.82, "note": HOSTILE}})

    await expect(page.locator(".job-title .badge")).to_have_text("completed", timeout=WAIT_MS)
    await expect(page.locator('[data-phase="research"] .badge')).to_have_text("completed")
    await expect(page.locator('[data-phase="research"]')).to_contain_text("confidence 0.86")
    await expect(page.locator('[data-phase="audit"] .badge')).to_have_text("completed")
    await expect(page.locator('[data-section="result"] pre')).to_contain_text('"score": 0.82')
    logged = await api.stream(job["id"])
    await expect(timeline).to_have_count(len(logged))
    assert await timeline.evaluate_all("items => items.map(i => i.dataset.event)") == [e["type"] for e in logged]
    assert await timeline.evaluate_all("items => items.map(i => +i.dataset.version)") == list(range(1, len(logged) + 1))
    await expect(page.locator('[data-event="ProgressReported"]')).to_contain_text("30% · reading sources")

    # user data is shown as text, never run as HTML
    await expect(page.locator('[data-section="payload"] pre')).to_contain_text(HOSTILE)
    await expect(page.locator('[data-section="result"] pre')).to_contain_text(HOSTILE)
    assert await page.locator("#view img").count() == 0
    assert await page.evaluate("window.injected") is None


async def test_a_failed_job_page_shows_its_error_and_retries(page, api, worker):
    job = await api.create(type="ocr")
    await worker.claim("ocr")
    await worker.report(job["id"], "fail", {"error": {"code": "unreadable", "message": "page 3 is blank"}})
    await open_dashboard(page, f"/ui/#/jobs/{job['id']}")
    await expect(page.locator('[data-section="error"] pre')).to_contain_text('"message": "page 3 is blank"')
    await page.locator(".job-title .retry").click()
    await expect(page.locator(".job-title .badge")).to_have_text("queued", timeout=WAIT_MS)
    await expect(page.locator(".job-title .retry")).to_have_count(0)
    await expect(page.locator("#timeline > li").last).to_have_attribute("data-event", "RetryScheduled")
    assert (await api.get(job["id"]))["status"] == "queued"


async def test_an_unknown_job_says_so(page):
    await open_dashboard(page, "/ui/#/jobs/00000000-0000-4000-8000-000000000000")
    await expect(page.locator("#view .empty")).to_have_text("No job 00000000-0000-4000-8000-000000000000.")

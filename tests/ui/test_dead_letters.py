"""The dead-letter list: failed jobs, live, each with a Retry button that queues it again."""

from playwright.async_api import expect

from tests.ui.helpers import WAIT_MS, open_dashboard


async def fail(api, worker, job_type: str, message: str) -> dict:
    job = await api.create(type=job_type)
    await worker.claim(job_type)
    return await worker.report(job["id"], "fail", {"error": {"code": "boom", "message": message}})


async def test_failed_jobs_are_listed_and_retry_queues_them_again(page, api, worker):
    earlier = await fail(api, worker, "ocr", "disk full")
    await open_dashboard(page)
    dead = page.locator("#dead-letters li.dead")
    await expect(dead).to_have_count(1)
    await expect(dead.first).to_contain_text("boom: disk full")

    later = await fail(api, worker, "llm-summary", "upstream answered 429")
    await expect(dead).to_have_count(2, timeout=WAIT_MS)
    await expect(dead.first).to_have_attribute("data-job-id", later["id"])
    await expect(page.locator("#dead-letters .pill")).to_have_text("2")

    await dead.filter(has_text="disk full").get_by_role("button", name="Retry").click()
    await expect(dead).to_have_count(1, timeout=WAIT_MS)
    await expect(dead.first).to_have_attribute("data-job-id", later["id"])
    await expect(page.locator(f'.job-table tr[data-job-id="{earlier["id"]}"] .badge')).to_have_text("queued")
    retried = await api.get(earlier["id"])
    assert retried["status"] == "queued"
    assert (await api.stream(earlier["id"]))[-1]["type"] == "RetryScheduled"

    await worker.claim("ocr")  # the retried job runs again, and completes
    await worker.report(earlier["id"], "complete")
    await expect(page.locator(f'.job-table tr[data-job-id="{earlier["id"]}"] .badge')).to_have_text(
        "completed", timeout=WAIT_MS
    )
    await expect(dead).to_have_count(1)

"""The job page draws the job's dependencies: parents, the job, children, with live statuses; names are text."""

from playwright.async_api import expect

from tests.ui.helpers import WAIT_MS, open_dashboard

HOSTILE = "<img src=x onerror=window.injected=1>"  # would run if put in as markup


async def test_the_job_page_draws_parents_and_children_and_follows_their_statuses(page, api, worker):
    parent = await api.create(type="research")
    other = await api.create(type=HOSTILE)
    job = await api.create(type="audit", depends_on=[parent["id"], {"job": other["id"], "on_failure": "run"}])
    child = await api.create(type="publish", depends_on=[job["id"]])

    await open_dashboard(page, f"/ui/#/jobs/{job['id']}")
    graph = page.locator('[data-section="dependencies"] svg.graph')
    await expect(graph.locator(".graph-node")).to_have_count(4, timeout=WAIT_MS)
    await expect(page.locator(".job-title .badge")).to_have_text("waiting")
    assert await graph.locator('[data-role="parent"]').evaluate_all("ns => ns.map(n => n.dataset.job)") == [
        parent["id"], other["id"],
    ]
    await expect(graph.locator(f'[data-job="{child["id"]}"]')).to_have_attribute("data-role", "child")
    await expect(graph.locator(f'[data-job="{other["id"]}"] .graph-type')).to_have_text(HOSTILE[:27] + "…")
    await expect(graph.locator(f'[data-job="{other["id"]}"] .graph-status')).to_have_text("queued · runs anyway")
    await expect(graph.locator(".graph-edge.run")).to_have_count(1)

    await worker.claim("research")
    await worker.report(parent["id"], "complete", {"result": {"sources": 2}})
    await expect(graph.locator(f'[data-job="{parent["id"]}"] .graph-status')).to_have_text("completed", timeout=WAIT_MS)
    await api.post(other["id"], "cancel", {"reason": "not needed"})
    await expect(page.locator(".job-title .badge")).to_have_text("queued", timeout=WAIT_MS)
    await expect(graph.locator(f'[data-job="{other["id"]}"] .graph-status')).to_have_text("cancelled · runs anyway")

    await graph.locator(f'[data-job="{child["id"]}"]').click()
    await expect(page.locator(".job-id")).to_have_text(child["id"], timeout=WAIT_MS)
    assert await page.locator("#view img").count() == 0
    assert await page.evaluate("window.injected") is None

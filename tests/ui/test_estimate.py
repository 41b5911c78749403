"""The job page shows when the job will finish (its document's `estimate`), or that there is none yet."""

import pytest
from playwright.async_api import expect

from jobledger.projections.estimates import MIN_SAMPLES
from jobledger.web import keys
from tests.service.clocked import Clock, caught_up, history
from tests.service.helpers import ok
from tests.ui.helpers import WAIT_MS, open_dashboard


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"estimate_cache_seconds": 0})


async def test_the_job_page_shows_the_estimate(page, client):
    clock = Clock()
    client.app[keys.jobs_key].clock = clock
    end = await history(client, clock, "render", MIN_SAMPLES)
    await caught_up(client)
    clock.at(end + 100)
    job = await ok(await client.post("/jobs", json={"type": "render"}), 201)
    fresh = await ok(await client.post("/jobs", json={"type": "other"}), 201)

    await open_dashboard(page, f"/ui/#/jobs/{job['id']}")
    line = page.locator('[data-section="progress"] .estimate')
    await expect(line).to_contain_text("finishes in about 1 min 10 s", timeout=WAIT_MS)  # 10 s wait + 60 s run
    await expect(line).to_contain_text(f"from the last {MIN_SAMPLES} runs")
    clock.at(end + 130)
    await ok(await client.post(f"/jobs/{job['id']}/start"))  # its live event brings the new estimate
    await expect(line).to_contain_text("finishes in about 1 min 0 s", timeout=WAIT_MS)

    await open_dashboard(page, f"/ui/#/jobs/{fresh['id']}")
    await expect(page.locator('[data-section="progress"] .estimate')).to_have_text(
        "no estimate yet: too few finished runs of this type", timeout=WAIT_MS
    )

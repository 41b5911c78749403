"""The schedules view: each schedule with its expression, zone, status and next fire time, and its
latest fires linking to their jobs, a new fire's job arriving live; stored text shown as text."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import expect

from jobledger.web import keys
from tests.service.helpers import ok
from tests.ui.helpers import WAIT_MS, open_dashboard

T0 = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
MARKUP = '<img src=x onerror="window.pwned=1">'


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"scheduler": False})  # the test fires, at the times it sets


@pytest.mark.parametrize("backend", ["sqlite"])  # the view reads the same API on both
async def test_the_schedules_view_lists_schedules_and_their_fires_live(page, client):
    scheduler, jobs = client.app[keys.scheduler_key], client.app[keys.jobs_key]
    jobs.clock = lambda: T0
    body = {"name": "reports", "cron": "*/10 * * * *", "timezone": "Europe/Berlin", "job": {"type": f"<b>{MARKUP}</b>"}}
    await ok(await client.post("/schedules", json=body), 201)
    await ok(await client.post("/schedules", json={**body, "name": "held"}), 201)
    await ok(await client.post("/schedules/held/pause", json={"reason": MARKUP}))
    jobs.clock = lambda: T0 + timedelta(minutes=10)
    await scheduler.tick()
    first = (await ok(await client.get("/schedules/reports")))["last_fires"][0]["job_id"]

    await open_dashboard(page, "/ui/#/schedules")

    reports, held = page.locator('tr.schedule[data-name="reports"]'), page.locator('tr.schedule[data-name="held"]')
    await expect(reports.locator(".fire a")).to_have_count(1, timeout=WAIT_MS)
    await expect(reports.locator(".fire a")).to_have_attribute("href", f"#/jobs/{first}")
    await expect(reports).to_contain_text("*/10 * * * *")
    await expect(reports).to_contain_text("Europe/Berlin")
    await expect(reports.locator(".next span")).to_have_attribute("title", "2031-03-01T09:20:00+00:00")
    await expect(held.locator(".badge")).to_have_text("paused")
    await expect(held.locator(".reason")).to_have_text(MARKUP)  # as text: no element made of it
    await expect(held.locator(".name .muted")).to_have_text(f"<b>{MARKUP}</b>")
    assert await page.locator("#schedules img").count() == 0
    assert await page.evaluate("window.pwned") is None

    jobs.clock = lambda: T0 + timedelta(minutes=20)
    await scheduler.tick()  # the fire's job arrives live; the view loads again
    await expect(reports.locator(".fire a")).to_have_count(2, timeout=WAIT_MS)
    await reports.locator(f'.fire a[href="#/jobs/{first}"]').click()
    await expect(page).to_have_url(re.compile(f"/ui/#/jobs/{first}$"), timeout=WAIT_MS)
    await expect(page.locator("main")).to_contain_text(f"schedule:reports:1:{T0 + timedelta(minutes=10):%Y-%m-%dT%H:%M:%S}")

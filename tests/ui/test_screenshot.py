"""Screenshots of the dashboard with a realistic set of jobs, for people to look at.

They go to pytest's tmp_path, so a test run never changes tracked files; with
JOBLEDGER_SCREENSHOTS=docs they replace the ones the README shows (docs/dashboard.png,
docs/job.png)."""

import os
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.ui.helpers import VIEWPORT, WAIT_MS, open_dashboard, populate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def backend() -> str:
    """What the page shows does not depend on the store: one backend is enough."""
    return "sqlite"


@pytest.fixture
def shots(tmp_path) -> Path:
    return Path(os.environ.get("JOBLEDGER_SCREENSHOTS") or tmp_path)


def assert_png(path: Path, width: int) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert int.from_bytes(data[16:20], "big") == width
    assert len(data) > 20_000  # a rendered page, not a blank one


async def test_screenshots_of_the_dashboard_and_a_job(page, api, shots):
    await populate(api)
    await open_dashboard(page)
    await expect(page.locator(".job-table tbody tr")).to_have_count(19)
    await expect(page.locator('.card[data-type="ocr"] [data-figure="completed"] b')).to_have_text("4", timeout=WAIT_MS)
    await expect(page.locator("#dead-letters li.dead")).to_have_count(2)
    await page.mouse.move(0, VIEWPORT["height"] - 1)  # no hover highlight in the picture
    await page.screenshot(path=shots / "dashboard.png")
    assert_png(shots / "dashboard.png", VIEWPORT["width"])

    running = page.locator(".job-table tr", has_text="checking clause 18 of 25")
    await running.locator("td.id a").click()
    await expect(page.locator("#timeline > li")).to_have_count(6)
    await page.screenshot(path=shots / "job.png", full_page=True)
    assert_png(shots / "job.png", VIEWPORT["width"])

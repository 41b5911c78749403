"""The job table filters on a metadata pair (`user_id=42`): the server's list gives the matching
jobs, and jobs created later join it live only when their metadata holds the pair."""

from playwright.async_api import expect

from tests.ui.helpers import WAIT_MS, open_dashboard


async def test_the_table_lists_and_follows_the_jobs_of_one_metadata_pair(page, api):
    mine = await api.create(type="upload", metadata={"user_id": "42"})
    other = await api.create(type="upload", metadata={"user_id": "7"})
    numeric = await api.create(type="upload", metadata={"user_id": 42})
    await open_dashboard(page)
    rows = page.locator(".job-table tbody tr:not([hidden])")
    await expect(rows).to_have_count(3, timeout=WAIT_MS)

    await page.fill("#filter-metadata", "user_id=42")
    await page.press("#filter-metadata", "Enter")

    ids = [mine["id"], numeric["id"]]  # a number matches by its JSON text, as GET /jobs does
    await expect(rows).to_have_count(2, timeout=WAIT_MS)
    for job_id in ids:
        await expect(page.locator(f'.job-table tr[data-job-id="{job_id}"]')).to_be_visible()
    await expect(page.locator(f'.job-table tr[data-job-id="{other["id"]}"]')).to_have_count(0)
    later = await api.create(type="upload", metadata={"user_id": "42"})
    await api.create(type="upload", metadata={"user_id": "8"})
    await expect(page.locator(f'.job-table tr[data-job-id="{later["id"]}"]')).to_be_visible(timeout=WAIT_MS)
    await expect(rows).to_have_count(3)

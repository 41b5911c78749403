"""The overview shows a paused job type: its card carries a "paused" badge (from /stats), which goes
when the type resumes."""

from playwright.async_api import expect

from tests.service.helpers import ok
from tests.ui.helpers import WAIT_MS, open_dashboard


async def test_a_paused_type_is_shown_on_its_card_until_it_resumes(page, client):
    await ok(await client.post("/jobs", json={"type": "mail"}), 201)
    await ok(await client.post("/jobs", json={"type": "render"}), 201)
    await ok(await client.post("/types/mail/pause", json={"reason": "the mail API is down"}))

    await open_dashboard(page, "/ui/")

    mail, render = page.locator('.card[data-type="mail"]'), page.locator('.card[data-type="render"]')
    await expect(mail.locator(".badge.type-paused")).to_have_text("paused", timeout=WAIT_MS)
    await expect(render).to_be_visible()
    await expect(render.locator(".badge.type-paused")).to_have_count(0)
    await ok(await client.post("/types/mail/resume", json={}))
    await ok(await client.post("/jobs", json={"type": "mail"}), 201)  # an event: the overview loads again
    await expect(mail.locator(".badge.type-paused")).to_have_count(0, timeout=WAIT_MS)

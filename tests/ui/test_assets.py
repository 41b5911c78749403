"""The dashboard's files: served by the service with their content types, and self-contained
(no CDN, no external URL: it works on a machine with no network)."""

import posixpath
import re

import pytest

from jobledger.web import ui_routes

EXPECTED_TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # an XML namespace name, never fetched


@pytest.fixture
def backend() -> str:
    """Static files do not depend on the store: one backend is enough."""
    return "sqlite"


def ui_files() -> dict[str, str]:
    """Each shipped file by its path under /ui/ (the built client's under client/)."""
    root = ui_routes.UI_DIR
    return {path.relative_to(root).as_posix(): path.read_text() for path in root.rglob("*") if path.is_file()}


async def test_ui_redirects_to_the_index_page(client):
    resp = await client.get("/ui", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/ui/"
    resp = await client.get("/ui/")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert '<script type="module" src="app.js"></script>' in await resp.text()
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


async def test_every_file_is_served_with_its_content_type(client):
    files = ui_files()
    assert {"index.html", "style.css", "app.js", "icon.svg"} <= set(files)
    for name, text in files.items():
        resp = await client.get(f"/ui/{name}")
        assert resp.status == 200, name
        assert resp.content_type == EXPECTED_TYPES[name[name.rindex("."):]], name
        assert await resp.text() == text


@pytest.mark.parametrize(
    "path", ["/ui/missing.js", "/ui/..%2Fui_routes.py", "/ui/%2E%2E/app.py", "/ui/client/..%2Fapp.js", "/ui/other/api.js"]
)
async def test_nothing_else_is_served(client, path):
    resp = await client.get(path)
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_every_reference_resolves_to_a_shipped_file(client):
    files = ui_files()
    html_refs = re.findall(r'(?:src|href)="([^"#]+)"', files["index.html"])
    imports = [posixpath.normpath(posixpath.join(posixpath.dirname(name), ref))
               for name, text in files.items() if name.endswith(".js")
               for ref in re.findall(r'from "(\.{1,2}/[^"]+)"', text)]
    assert html_refs and imports
    for ref in html_refs + imports:
        assert ref in files, ref


def test_no_file_refers_to_anything_outside_the_service():
    for name, text in ui_files().items():
        urls = set(re.findall(r"[a-z]+://[^\s\"'`)<>]*", text, re.IGNORECASE)) - {SVG_NAMESPACE}
        assert urls == set(), (name, urls)
        assert not re.search(r"""(?:src|href|url)\s*[=(]\s*["']?//""", text), name
        assert "@import" not in text, name


def test_only_the_built_client_talks_to_the_service():
    """One client, not two: the dashboard's own modules reach the service only through client/."""
    network = re.compile(r"\bfetch\b|\bWebSocket\b|XMLHttpRequest|EventSource|sendBeacon")
    files = {name: text for name, text in ui_files().items() if name.endswith(".js")}
    talking = {name for name, text in files.items() if network.search(text)}
    assert talking == {"client/http.js", "client/live.js"}
    assert 'from "./client/index.js"' in files["api.js"]
    importing_client = {name for name, text in files.items() if '"./client/' in text}
    assert importing_client == {"api.js"}

"""The dashboard at `/ui/`: static HTML, CSS and ES modules from `service/ui/`, no build step.

Only the files shipped in that folder and in its `client/` (the TypeScript client, built into
plain JavaScript and committed: `npm run build:ui` in clients/typescript) are served, looked up
by name, so no path can reach outside them. The page talks to the same public API as any
client, through that client: REST for reads and commands, `/ws` for live updates.
"""

from pathlib import Path

from aiohttp import web

from jobledger.web import auth

UI_DIR = Path(__file__).parent / "ui"
TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
# The page loads nothing from elsewhere: everything is the service's own (and XSS has nowhere to send data).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

routes = web.RouteTableDef()


def _files() -> dict[str, Path]:
    found = [*UI_DIR.iterdir(), *(UI_DIR / "client").iterdir()]
    return {p.relative_to(UI_DIR).as_posix(): p for p in found if p.is_file() and p.suffix in TYPES}


FILES = _files()


@routes.get("/ui")
@auth.requires(auth.PUBLIC)
async def ui_root(_request: web.Request) -> web.Response:
    raise web.HTTPFound("/ui/")


@routes.get("/ui/")
@routes.get("/ui/{name}")
@routes.get("/ui/{folder:client}/{name}")
@auth.requires(auth.PUBLIC)  # the page holds no data: it is what asks for the key
async def ui_file(request: web.Request) -> web.FileResponse:
    """One of the dashboard's files (index.html for `/ui/`), revalidated on every load."""
    name = request.match_info.get("name", "index.html")
    path = FILES.get(f"{request.match_info['folder']}/{name}" if "folder" in request.match_info else name)
    if path is None:
        raise web.HTTPNotFound(reason="no such dashboard file")
    return web.FileResponse(path, headers={**HEADERS, "Content-Type": f"{TYPES[path.suffix]}; charset=utf-8"})

"""GET /openapi.json: public, and it documents every route the app serves (and only those)."""

import orjson

from jobledger.web import auth, errors, openapi
from jobledger.web.app import create_app
from tests.security.conftest import bearer
from tests.service.helpers import ok

#: routes OpenAPI cannot or need not describe as operations
UNDOCUMENTED = {
    ("GET", "/ws"),  # WebSocket endpoints: an upgrade, then messages (README, Live updates); not an OpenAPI operation
    ("GET", "/jobs/{id}/ws"),
    ("GET", "/ui"),  # the dashboard: HTML, CSS and JavaScript files, not an API
    ("GET", "/ui/"),
    ("GET", "/ui/{name}"),
    ("GET", "/ui/{folder}/{name}"),  # the dashboard's copy of the TypeScript client (ui/client/)
}


def _served(settings) -> set[tuple[str, str]]:
    app = create_app(settings)
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method not in ("HEAD", "OPTIONS")  # aiohttp's HEAD for each GET; CORS preflights
    }


def _documented(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_every_route_is_documented_and_every_operation_is_a_route(settings):
    served, documented = _served(settings), _documented(openapi.document())
    assert served - UNDOCUMENTED == documented
    assert UNDOCUMENTED <= served  # the exclusions name real routes


def test_security_follows_the_handlers_action(settings):
    document = openapi.document()
    for op in openapi.OPERATIONS:
        security = document["paths"][op.path][op.method]["security"]
        assert security == ([] if op.handler.jobledger_action == auth.PUBLIC else [{"bearer": []}]), op.path
        route = next(r for r in create_app(settings).router.routes()
                     if r.method == op.method.upper() and r.resource.canonical == op.path)
        assert route.handler is op.handler


async def test_the_document_is_served_without_a_key(serve, settings, make_key):
    secure = await serve(settings.model_copy(update={"auth": "required"}))
    resp = await secure.get("/openapi.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    document = orjson.loads(await resp.read())
    assert document["openapi"] == "3.1.0" and document == orjson.loads(openapi.document_bytes())
    assert (await secure.get("/jobs")).status == 401
    await ok(await secure.get("/jobs", headers=bearer(await make_key("admin"))))


def test_request_bodies_are_the_models_that_validate_them():
    document = openapi.document()
    body = document["paths"]["/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    created = document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert created["required"] == ["type"] and created["additionalProperties"] is False
    limit = next(p for p in document["paths"]["/jobs"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["minimum"] == 1 and limit["schema"]["maximum"] == 500


def test_every_error_status_and_code_the_middleware_answers_is_documented():
    answers = openapi.document()["components"]["responses"]
    assert set(errors.STATUS.values()) | {413} == {int(status) for status in answers}
    for cls, status in errors.STATUS.items():
        code = answers[str(status)]["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"]
        assert cls.code in code["properties"]["code"]["enum"]


async def test_the_open_mode_documents_the_key_as_optional(serve, settings):
    """The served document follows the mode: in the open mode a request needs no key (`{}`), though it may send one."""
    for mode, required in [("auto", False), ("required", True)]:
        service = await serve(settings.model_copy(update={"auth": mode}))
        document = await ok(await service.get("/openapi.json"))
        expected = [{"bearer": []}] if required else [{}, {"bearer": []}]
        assert document["paths"]["/jobs"]["post"]["security"] == expected, mode
        assert document["paths"]["/health"]["get"]["security"] == []


async def test_if_none_match_star_is_not_modified_while_the_job_exists(client):
    job = await ok(await client.post("/jobs", json={"type": "report"}), 201)
    for tags in ["*", f'"7", W/"{job["version"]}"']:
        resp = await client.get(f"/jobs/{job['id']}", headers={"If-None-Match": tags})
        assert resp.status == 304, tags
    assert (await client.get(f"/jobs/{job['id']}", headers={"If-None-Match": '"7", "17"'})).status == 200


async def test_jobs_batch_answers_405_to_every_other_method_and_allows_only_post(client):
    for method in ("GET", "DELETE", "PUT", "OPTIONS"):
        resp = await client.request(method, "/jobs/batch")
        assert (resp.status, resp.headers.get("Allow")) == (405, "POST"), method


async def test_bodies_are_as_strict_as_the_document(client):
    """An integer is an integer (5 or 5.0, as JSON Schema has it, never "5" or false), phases are unique."""
    for bad in [{"priority": False}, {"priority": "5"}, {"priority": 5.5}, {"phases": ["a", "a"]}]:
        resp = await client.post("/jobs", json={"type": "report", **bad})
        assert resp.status == 400, bad
    assert (await ok(await client.post("/jobs", json={"type": "report", "priority": 5.0}), 201))["priority"] == 5
    resp = await client.post("/workers/claim", json={"worker_id": "w", "wait_seconds": "1"})
    assert resp.status == 400


async def test_the_cursor_is_the_string_next_cursor_gives(client):
    for _ in range(3):
        await ok(await client.post("/jobs", json={"type": "report"}), 201)
    page = await ok(await client.get("/jobs", params={"limit": 2}))
    assert isinstance(page["next_cursor"], str)
    rest = await ok(await client.get("/jobs", params={"limit": 2, "cursor": page["next_cursor"]}))
    assert len(rest["jobs"]) == 1 and rest["next_cursor"] is None
    document = openapi.document()
    (cursor,) = [p for p in document["paths"]["/jobs"]["get"]["parameters"] if p["name"] == "cursor"]
    assert cursor["schema"]["type"] == "string"

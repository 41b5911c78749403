"""Job type schemas can neither stall the service (catastrophic patterns, costly payloads) nor
break it (remote or cyclic references): a bad schema is refused when stored, with a 400 naming
`schema` and why, and a payload's validation holds the event loop for a bounded time."""

import asyncio
import time

import pytest

from tests.workers.helpers import define_type
from tests.service.helpers import error_of, ok

REFUSED = {
    "remote $ref": ({"$ref": "https://example.com/schema.json"}, "not a local reference"),
    "relative $ref": ({"$ref": "other.json#/a"}, "not a local reference"),
    "anchor $ref": ({"$ref": "#here"}, "not a local reference"),
    "self $ref": ({"$ref": "#"}, "cycle"),
    "$defs cycle": ({"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}, "cycle"),
    "unreferenced cycle": ({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}, "cycle"),
    "dangling $ref": ({"$ref": "#/$defs/none"}, "does not point at a subschema"),
    "$ref into data": ({"enum": [{"$ref": "https://example.com/"}], "$ref": "#/enum/0"}, "does not point at a subschema"),
    "$dynamicRef": ({"$dynamicRef": "#meta"}, "$dynamicRef"),
    "$id": ({"properties": {"a": {"$id": "https://example.com/a", "$ref": "#/x"}}}, "$id"),
    "remote $schema": ({"$schema": "https://example.com/my-metaschema"}, "$schema"),
    "lookahead": ({"properties": {"a": {"pattern": "(?=a)a"}}}, "linear-time engine"),
    "backreference": ({"patternProperties": {"(a)\\1": {}}}, "linear-time engine"),
    "propertyNames lookbehind": ({"propertyNames": {"pattern": "(?<!x)y"}}, "linear-time engine"),
    "dependentSchemas lookahead": ({"dependentSchemas": {"a": {"pattern": "(?!b)"}}}, "linear-time engine"),
    "not a schema": ({"type": 12}, "not a valid JSON Schema"),
    "expands exponentially": (
        {"$defs": {f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 2} for i in range(20)} | {"d20": {}},
         "$ref": "#/$defs/d0"},
        "once its $refs are expanded",
    ),
}


@pytest.mark.parametrize("name", list(REFUSED))
async def test_an_unsafe_schema_is_refused_when_stored(client, name):
    """Defends against a schema that every later create of its type answers with a 500 (an
    unresolvable or remote $ref, a $ref cycle) or that would fetch URLs or stall the loop."""
    schema, reason = REFUSED[name]
    details = await error_of(await client.put("/types/t", json={"schema": schema}), 400, "invalid_request")
    assert details["fields"][0]["field"] == "schema" and reason in details["fields"][0]["reason"], details
    await error_of(await client.get("/types/t"), 404, "type_not_found")


async def test_a_catastrophic_pattern_answers_quickly_while_other_requests_are_answered(client):
    """Defends against `^(a+)+$` backtracking: 30 'a's and a '!' held the event loop for 70 s."""
    schema = {"type": "object", "properties": {"s": {"pattern": "^(a+)+$"}}}
    await ok(await client.put("/types/t", json={"schema": schema}))
    started = time.monotonic()

    async def health_meanwhile() -> float:
        await asyncio.sleep(0.01)
        await ok(await client.get("/health"))
        return time.monotonic() - started

    create, answered_after = await asyncio.gather(
        client.post("/jobs", json={"type": "t", "payload": {"s": "a" * 40 + "!"}}), health_meanwhile()
    )

    details = await error_of(create, 400, "invalid_request")
    assert details["fields"][0]["field"] == "payload.s"
    assert answered_after < 2 and time.monotonic() - started < 2
    await ok(await client.post("/jobs", json={"type": "t", "payload": {"s": "a" * 40}}), 201)


async def test_a_payload_too_costly_to_validate_is_refused_while_other_requests_are_answered(client):
    """Defends against a schema and payload whose validation multiplies (a 1,000-value enum
    checked against each of 9,000 items): refused with a 400 within a bounded time, off the loop."""
    await ok(await client.put("/types/t", json={"schema": {"items": {"enum": list(range(1000))}}}))
    started = time.monotonic()
    ticks = []

    async def loop_meanwhile() -> None:
        while time.monotonic() - started < 1:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.05)

    create, _ = await asyncio.gather(
        client.post("/jobs", json={"type": "t", "payload": [999] * 9_000}), loop_meanwhile()
    )

    details = await error_of(create, 400, "invalid_request")
    assert details["fields"] == [{"field": "payload", "reason": details["fields"][0]["reason"]}]
    assert "too costly" in details["fields"][0]["reason"]
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.5  # the loop was never held for long
    assert time.monotonic() - started < 10


async def test_a_schema_stored_before_the_checks_is_refused_at_create_not_a_500(client, store):
    """Defends against a cyclic schema registered before this release: its creates answer 400
    naming the type, never 500, and the other types still work."""
    await define_type(store, "default", "old", {"schema": {"$ref": "#"}})

    details = await error_of(await client.post("/jobs", json={"type": "old", "payload": 1}), 400, "invalid_request")

    assert details["fields"][0]["field"] == "type" and "cycle" in details["fields"][0]["reason"]
    await ok(await client.post("/jobs", json={"type": "other"}), 201)


async def test_safe_schemas_with_local_refs_still_validate(client):
    """Local references, patterns RE2 knows and uniqueItems keep working (and refusing)."""
    schema = {
        "$defs": {"name": {"type": "string", "pattern": "^[a-z]+$"}},
        "type": "object",
        "properties": {"who": {"$ref": "#/$defs/name"}, "tags": {"type": "array", "uniqueItems": True}},
        "patternProperties": {"^x-": {"type": "integer"}},
        "additionalProperties": False,
    }
    await ok(await client.put("/types/t", json={"schema": schema}))
    good = {"who": "ann", "tags": [{"a": 1}, {"a": 2}], "x-n": 1}
    await ok(await client.post("/jobs", json={"type": "t", "payload": good}), 201)
    for bad, field in [({"who": "Ann"}, "payload.who"), ({"tags": [{"a": 1}, {"a": 1.0}]}, "payload.tags"),
                       ({"x-n": "1"}, "payload.x-n"), ({"other": 1}, "payload")]:
        details = await error_of(await client.post("/jobs", json={"type": "t", "payload": bad}), 400, "invalid_request")
        assert details["fields"][0]["field"] == field, (bad, details)

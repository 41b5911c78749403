"""Query strings, path variables and headers, validated by pydantic; errors name the field.
Request bodies are application.bodies' models, read here within the app's limits."""

import functools
import re
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

from jobledger.application import bodies, json_types
from jobledger.application.bodies import MAX_INT64, Body, Name, UtcTime, invalid
from jobledger.domain import errors
from jobledger.domain.status import Status
from jobledger.eventlog import metadata
from jobledger.web import guards

M = TypeVar("M", bound=BaseModel)
limits_key = web.AppKey("limits", bodies.Limits)


class TypePath(Body):
    name: Name = Field(description="the job type's name")


def _up_to(most: int) -> str:
    """A regular expression of the decimal numbers 1 to `most`, without leading zeros."""
    digits = str(most)
    shorter = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    same = [
        f"{digits[:i]}[{'1' if i == 0 else '0'}-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}"
        for i, d in enumerate(digits) if int(d) > (1 if i == 0 else 0)
    ]
    return f"^({'|'.join([*shorter, *same, digits])})$"


CURSOR = _up_to(MAX_INT64)  # a position, as next_cursor writes it (a string: opaque to clients)
Cursor = Annotated[int, BeforeValidator(lambda v: _matched(CURSOR, v, "expected next_cursor of a page")),
                   WithJsonSchema({"type": "string", "pattern": CURSOR})]


def _matched(pattern: str, value: Any, reason: str) -> Any:
    """`value` as an integer if it is text matching `pattern` (the OpenAPI document's), else ValueError."""
    found = re.match(pattern, value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(reason)
    return int(found.group("digits") if "digits" in found.re.groupindex else found.group(0))


class ListQuery(Body):
    status: Status | None = None
    type: Name | None = None
    limit: int = Field(50, ge=1, le=500)
    cursor: Cursor | None = Field(None, description="next_cursor of the previous page")
    created_after: UtcTime | None = Field(None, description="only jobs created at or after this time")
    created_before: UtcTime | None = Field(None, description="only jobs created before this time")


METADATA_PREFIX = "metadata."  #: a list's query parameter `metadata.<key>=<value>` filters on a metadata value
MAX_METADATA_FILTERS = json_types.MAX_METADATA_FILTERS
METADATA_PREFIX_SHOWN = len(METADATA_PREFIX) + metadata.MAX_KEY  # an error names the parameter, cut to this


def metadata_filters(query) -> tuple[tuple[str, str], ...]:
    """The `metadata.<key>=<value>` pairs of a list's query (each key at most once), in the
    order given; raises InvalidCommand naming each bad one (eventlog/metadata.py: what can match)."""
    pairs, bad = [], []
    for name in dict.fromkeys(k for k in query if k.startswith(METADATA_PREFIX)):
        key, values = name[len(METADATA_PREFIX):], query.getall(name)
        reason = _metadata_refusal(key, values)
        if reason:
            bad.append({"field": name[:METADATA_PREFIX_SHOWN], "reason": reason})
        else:
            pairs.append((key, values[0]))
    if len(pairs) > MAX_METADATA_FILTERS:
        bad.append({"field": METADATA_PREFIX + "*", "reason": f"at most {MAX_METADATA_FILTERS} metadata filters"})
    if bad:
        raise errors.InvalidCommand(fields=bad)
    return tuple(pairs)


def _metadata_refusal(key: str, values: list[str]) -> str | None:
    if len(values) > 1:
        return "given more than once: a job's metadata key has one value"
    if not 0 < len(key) <= metadata.MAX_KEY:
        return f"a metadata key has 1 to {metadata.MAX_KEY} characters"
    if len(values[0]) > metadata.MAX_VALUE:
        return f"at most {metadata.MAX_VALUE} characters: longer metadata values are not indexed"
    if "\x00" in key + values[0]:  # PostgreSQL stores no NUL: refused alike on both backends
        return "must not contain NUL characters"
    return None


class AsOfQuery(Body):
    as_of: UtcTime | None = Field(None, description="the job as it was at this time")
    at_position: int | None = Field(None, ge=0, le=MAX_INT64, description="the job as it was at this log position")


class JobEventsQuery(Body):
    after: int = Field(0, ge=0, le=MAX_INT64, description="only events past this log position")
    until: UtcTime | None = Field(None, description="only events recorded at or before this time")


class EventsQuery(Body):
    after: int = Field(0, ge=0, le=MAX_INT64)
    limit: int = Field(500, ge=1, le=5000)


VERSION = '^(W/)?"?(?P<digits>[0-9]{1,18})"?$'
#: a header's text: printable ASCII, without spaces at either end (HTTP strips them: they never arrive)
HEADER_TEXT = "^[!-~]([ -~]*[!-~])?$"


def _header_text(value: str) -> str:
    if not re.match(HEADER_TEXT, value):
        raise ValueError("must be printable ASCII")
    return value


HeaderText = Annotated[
    str, Field(min_length=1, max_length=200, json_schema_extra={"pattern": HEADER_TEXT}), AfterValidator(_header_text)
]
Version = Annotated[
    int, BeforeValidator(lambda v: _matched(VERSION, v, "expected a job version, e.g. 3")),
    WithJsonSchema({"type": "string", "pattern": VERSION.replace("?P<digits>", "")}),
]


class Headers(BaseModel):
    """Request headers a route reads, by their HTTP names (see parse_headers)."""

    model_config = ConfigDict(extra="ignore", frozen=True)  # frozen: requests with the same ones share one


class MetaHeaders(Headers):
    actor: HeaderText | None = Field(
        None, alias="X-Actor",
        description="whom a worker or admin key acts on behalf of (`on_behalf_of` in each event's metadata; the "
        "actor is always the key); 403 from other roles",
    )
    correlation_id: HeaderText | None = Field(
        None, alias="X-Correlation-Id", description="links related requests (default: the request id)"
    )


class CommandHeaders(MetaHeaders):
    if_match: Version | None = Field(None, alias="If-Match", description="only if the job is still at this version")


class ReadHeaders(Headers):
    if_none_match: Annotated[
        str, Field(min_length=1, max_length=1000, json_schema_extra={"pattern": HEADER_TEXT}), AfterValidator(_header_text)
    ] | None = Field(
        None, alias="If-None-Match",
        description='the versions you hold, quoted ("5", or "4", "5"), or *: 304 if one is current (* : if the job exists)',
    )


class CreateHeaders(MetaHeaders):
    idempotency_key: Annotated[
        str, Field(min_length=1, max_length=255, json_schema_extra={"pattern": HEADER_TEXT}), AfterValidator(_header_text)
    ] | None = Field(
        None, alias="Idempotency-Key", description="the same key and body again answer the same job"
    )


def current(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match is `*` (the job exists) or names `etag`, weakly compared (RFC 9110, 13.1.2)."""
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


async def read_body(request: web.Request, model: type[M]) -> M:
    """The request's body as `model`, within the app's limits; every route that reads a body reads it here,
    so each is JSON-typed, not encoded and read within the time allowed (guards.read_json)."""
    return bodies.parse_body(model, await guards.read_json(request), request.app[limits_key])


def parse_query(model: type[M], query: dict[str, str]) -> M:
    try:
        return model.model_validate(dict(query))
    except ValidationError as exc:
        raise invalid(exc, "query") from None


def parse_path(model: type[M], match_info) -> M:
    """The path's variables as `model`; raises InvalidCommand naming each bad one."""
    try:
        return model.model_validate(dict(match_info))
    except ValidationError as exc:
        raise invalid(exc, "path") from None


def parse_headers(model: type[M], headers) -> M:
    """The headers `model` names (case-insensitive `headers`), validated; raises InvalidCommand naming each bad one."""
    given = tuple((alias, headers[alias]) for alias in _aliases(model) if alias in headers)
    try:
        return _validated_headers(model, given)
    except ValidationError as exc:
        raise invalid(exc, "headers") from None


@functools.cache
def _aliases(model: type[Headers]) -> tuple[str, ...]:
    return tuple(f.alias for f in model.model_fields.values())


@functools.lru_cache(maxsize=256)
def _validated_headers(model: type[M], given: tuple[tuple[str, str], ...]) -> M:
    """Validated once per distinct headers (a worker sends the same X-Actor each time); models are frozen."""
    return model.model_validate(dict(given))

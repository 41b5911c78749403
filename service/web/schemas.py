"""Query strings, path variables and headers, validated by pydantic; errors name the field.
Request bodies are application.bodies' models, read here within the app's limits."""

import functools
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema

from jobledger.application import bodies
from jobledger.application.bodies import MAX_INT64, Body, Name, UtcTime, invalid
from jobledger.domain.status import Status

M = TypeVar("M", bound=BaseModel)
limits_key = web.AppKey("limits", bodies.Limits)


class TypePath(Body):
    name: Name = Field(description="the job type's name")


class ListQuery(Body):
    status: Status | None = None
    type: Name | None = None
    limit: int = Field(50, ge=1, le=500)
    cursor: int | None = Field(None, ge=1, le=MAX_INT64, description="next_cursor of the previous page")


class AsOfQuery(Body):
    as_of: UtcTime | None = Field(None, description="the job as it was at this time")
    at_position: int | None = Field(None, ge=0, le=MAX_INT64, description="the job as it was at this log position")


class JobEventsQuery(Body):
    after: int = Field(0, ge=0, le=MAX_INT64, description="only events past this log position")
    until: UtcTime | None = Field(None, description="only events recorded at or before this time")


class EventsQuery(Body):
    after: int = Field(0, ge=0, le=MAX_INT64)
    limit: int = Field(500, ge=1, le=5000)


def _version(value: Any) -> Any:
    digits = value.strip().removeprefix("W/").strip('"') if isinstance(value, str) else ""
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 18):
        raise ValueError("expected a job version, e.g. 3")
    return int(digits)


HeaderText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(bodies.printable)]
Version = Annotated[
    int, BeforeValidator(_version), WithJsonSchema({"type": "string", "pattern": '^(W/)?"?[0-9]{1,18}"?$'})
]


class Headers(BaseModel):
    """Request headers a route reads, by their HTTP names (see parse_headers)."""

    model_config = ConfigDict(extra="ignore", frozen=True)  # frozen: requests with the same ones share one


class MetaHeaders(Headers):
    actor: HeaderText | None = Field(
        None, alias="X-Actor", description="who acts (default: api); in each event's metadata"
    )
    correlation_id: HeaderText | None = Field(
        None, alias="X-Correlation-Id", description="links related requests (default: the request id)"
    )


class CommandHeaders(MetaHeaders):
    if_match: Version | None = Field(None, alias="If-Match", description="only if the job is still at this version")


class ReadHeaders(Headers):
    if_none_match: Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(bodies.printable)] | None = Field(
        None, alias="If-None-Match", description='the version you hold, quoted ("5"): 304 if it is still current'
    )


class CreateHeaders(MetaHeaders):
    idempotency_key: bodies.IdempotencyKey | None = Field(
        None, alias="Idempotency-Key", description="the same key and body again answer the same job"
    )


async def read_body(request: web.Request, model: type[M]) -> M:
    """The request's body as `model`, within the app's limits."""
    return bodies.parse_body(model, await request.read(), request.app[limits_key])


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

"""Request bodies, validated by pydantic; errors name the field. The web edge and the in-process
SDK parse every body with these models, so no rule exists twice."""

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema, field_validator
from pydantic_core import ErrorDetails

from jobledger.application.jobs import token_hash
from jobledger.application import graph_bodies
from jobledger.application.json_types import JSON_REF, Json, JsonObject, UtcTime, json_int, text
from jobledger.domain import commands, errors

M = TypeVar("M", bound=BaseModel)

def _no_nul(value: str) -> str:
    if "\x00" in value:  # PostgreSQL cannot store it (text or JSON): refused alike on both backends
        raise ValueError("must not contain NUL characters")
    return value


_MEDIA_TOKEN = "[A-Za-z0-9!#$&^_.+-]+"
MEDIA_TYPE = re.compile(f'^{_MEDIA_TOKEN}/{_MEDIA_TOKEN}( *; *{_MEDIA_TOKEN}=({_MEDIA_TOKEN}|"[ !#-~]*"))*$')


def _media_type(value: str) -> str:
    if not MEDIA_TYPE.match(value):
        raise ValueError("must be a media type, e.g. text/markdown or text/plain; charset=utf-8")
    return value


Name = Annotated[
    str, Field(min_length=1, max_length=200, json_schema_extra={"pattern": "^[^\\u0000]*$"}), AfterValidator(_no_nul)
]


def _unique_phases(phases: list[str]) -> list[str]:
    if len(set(phases)) != len(phases):
        raise ValueError("phase names must be unique")
    return phases


#: a job's phases, in order: a create's own, or its type's default (types.JobType)
Phases = Annotated[list[Name], Field(max_length=100, json_schema_extra={"uniqueItems": True}), AfterValidator(_unique_phases)]
Priority = json_int(-(2**31), 2**31 - 1)  #: higher first (a create's, or its type's default)
MediaType = Annotated[
    str,
    Field(min_length=1, max_length=200, json_schema_extra={"pattern": MEDIA_TYPE.pattern}),
    AfterValidator(_media_type),
]
Percent = Annotated[float, Field(ge=0, le=100)]
Confidence = Annotated[float, Field(ge=0, le=1)]
MAX_EXPIRES_IN = 365 * 24 * 3600
MAX_INT64 = 2**63 - 1  # positions and counts are BIGINT on PostgreSQL


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # JSON has no NaN; 1e400 would be stored as null


class CreateJobBody(Body):
    type: Name
    payload: Json = None
    metadata: JsonObject = Field(default_factory=dict)
    phases: Phases = Field(default_factory=list)
    priority: Priority = 0
    max_attempts: json_int(1, 1000) = 1
    run_at: UtcTime | None = None
    expires_in: float = Field(24 * 3600, gt=0, le=MAX_EXPIRES_IN, description="seconds until the job expires")
    retry_base_seconds: float = Field(1.0, ge=0, le=86400, description="first retry delay; doubles per attempt")
    retry_max_seconds: float = Field(300.0, ge=0, le=7 * 86400, description="longest retry delay")
    message: text(10_000) | None = Field(None, description="the job's progress message from the start, while it waits")
    depends_on: graph_bodies.DependsOn = Field(default_factory=list, description=graph_bodies.DEPENDS_ON)

    def parents(self) -> tuple[commands.Dependency, ...]:
        """The command's `depends_on`: each parent's id and what its failure does."""
        return graph_bodies.parents(self.depends_on)

    def command(
        self, tenant: str, idempotency_key: str | None, digest: str, defaults=None, user: str | None = None
    ) -> commands.CreateJob:
        """The CreateJob command; fields the body leaves out come from the job type's `defaults`.
        `user` is the caller's (its token's), never the body's: a body has no such field."""
        given = self.model_fields_set

        def pick(name: str):
            default = getattr(defaults, name, None) if defaults is not None else None
            return default if name not in given and default is not None else getattr(self, name)

        return commands.CreateJob(
            type=self.type,
            tenant=tenant,
            user=user,
            payload=self.payload,
            metadata=self.metadata,
            phases=tuple(pick("phases")),
            priority=pick("priority"),
            max_attempts=pick("max_attempts"),
            run_at=self.run_at,
            expires_in=timedelta(seconds=pick("expires_in")),
            idempotency_key=idempotency_key,
            request_hash=digest,
            retry_base_seconds=pick("retry_base_seconds"),
            retry_max_seconds=pick("retry_max_seconds"),
            message=self.message,
            depends_on=self.parents(),
        )


class LeaseBody(Body):
    lease_token: text(200, 1) | None = Field(None, description="the token a claim returned")


class ProgressBody(LeaseBody):
    percent: Percent | None = Field(None, description="required while the job runs; left out while it is queued")
    message: text(10_000) | None = None
    details: Json = None


class PhaseCompleteBody(LeaseBody):
    result: Json = None
    confidence: Confidence | None = None


class ErrorBody(LeaseBody):
    error: Annotated[Any, WithJsonSchema({"allOf": [{"$ref": JSON_REF}, {"not": {"enum": [None, ""]}}]})] = Field(
        description="what went wrong: a message or an object (not null, not empty)"
    )

    @field_validator("error")
    @classmethod
    def _present(cls, error: Any) -> Any:
        if error is None or error == "":
            raise ValueError("error must not be empty")
        return error


class CompleteBody(LeaseBody):
    result: Json = None


class FailBody(ErrorBody):
    retryable: bool = Field(False, description="retry with backoff while attempts are left")


class CancelBody(Body):
    reason: text(10_000) | None = None


class ClaimBody(Body):
    worker_id: Name
    types: list[Name] | None = Field(None, min_length=1, max_length=100, description="omit to take any type")
    limit: json_int(1, 1000) = 1
    lease_seconds: float | None = Field(None, gt=0, le=86400, description="default: the type's, else 30")
    wait_seconds: float = Field(0, ge=0, le=60)


class HeldLeaseBody(Body):
    """A call only the lease holder makes: the token is required (LeaseBody's is not: a tracked job has none)."""

    lease_token: text(200, 1) = Field(description="the token a claim returned")


class HeartbeatBody(HeldLeaseBody):
    lease_seconds: float | None = Field(None, gt=0, le=86400)


class ReleaseBody(HeldLeaseBody):
    reason: text(10_000) | None = Field(None, description="why the job is given back")


class ArtifactBody(LeaseBody):
    # data is text unless the content type is JSON (the default): as _text_unless_json checks
    model_config = ConfigDict(json_schema_extra={
        "if": {"required": ["content_type"], "properties": {"content_type": {"not": {"const": "application/json"}}}},
        "then": {"properties": {"data": {"type": "string"}}},
    })

    name: Name
    content_type: MediaType = "application/json"
    data: Json

    @field_validator("data")
    @classmethod
    def _text_unless_json(cls, data: Any, info) -> Any:
        if info.data.get("content_type", "application/json") != "application/json" and not isinstance(data, str):
            raise ValueError("must be a string unless content_type is application/json")
        return data


def artifact_size(body: "ArtifactBody") -> int:
    """Bytes of the artifact's data: the text itself, or its JSON."""
    data = body.data if isinstance(body.data, str) else orjson.dumps(body.data).decode()
    return len(data.encode())


class RetryBody(Body):
    reason: text(10_000) | None = None


class PurgeBody(Body):
    reason: text(10_000) | None = Field(None, description="why the job's data is erased (kept in the log)")


class EmptyBody(Body):
    pass


#: text without control characters (C0, DEL, C1): what `printable` accepts, as the OpenAPI document says it
PRINTABLE = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


IdempotencyKey = Annotated[
    str, Field(min_length=1, max_length=255, json_schema_extra={"pattern": PRINTABLE}), AfterValidator(printable)
]


MAX_BATCH = 100  # jobs in one POST /jobs/batch: each is a lock held to the commit (PostgreSQL)


class BatchJob(CreateJobBody):
    idempotency_key: IdempotencyKey | None = Field(
        None, description="as the Idempotency-Key header of POST /jobs: the same key and job again answer the same job"
    )
    ref: graph_bodies.Ref | None = Field(None, description="a name for this job within the batch, for others' depends_on")
    depends_on: graph_bodies.BatchDependsOn = Field(default_factory=list, description=graph_bodies.BATCH_DEPENDS_ON)

    def parents(self) -> tuple[commands.Dependency, ...]:
        return ()  # references are resolved with the whole batch (application/graph.py)


class CreateJobsBody(Body):
    jobs: list[BatchJob] = Field(min_length=1, max_length=MAX_BATCH)

    @field_validator("jobs")
    @classmethod
    def _keys_once(cls, jobs: list[BatchJob]) -> list[BatchJob]:
        first: dict[str, int] = {}
        refs: dict[str, int] = {}
        for i, job in enumerate(jobs):
            if job.idempotency_key is not None and first.setdefault(job.idempotency_key, i) != i:
                raise ValueError(f"jobs {first[job.idempotency_key]} and {i} have the same idempotency_key")
            if job.ref is not None and refs.setdefault(job.ref, i) != i:
                raise ValueError(f"jobs {refs[job.ref]} and {i} have the same ref")
        return jobs


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "body"


_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")  # how pydantic opens a validator's own message


def reason(error: ErrorDetails) -> str:
    """Why pydantic refused a value, in our words: without its "Value error, " prefixes (in lower case)."""
    message = error["msg"]
    for prefix in _PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return errors.sentence(message)


def invalid(exc: ValidationError, where: str = "body") -> errors.InvalidCommand:
    """InvalidCommand naming each field pydantic refused (`where`, for JSON that does not parse)."""
    fields = [
        {"field": _field(e["loc"]) if e["type"] != "json_invalid" else where, "reason": reason(e)} for e in exc.errors()
    ]
    return errors.InvalidCommand(fields=fields)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on the free-form JSON of a body (payload, metadata, results, details)."""

    depth: int = 64
    string: int = 1_048_576  # characters in one string
    array: int = 10_000  # items in one array or object


DEFAULT_LIMITS = Limits()
_INT_RANGE = range(-(2**63), 2**63)


def _storable(value: Any, path: str, limits: Limits, depth: int = 0) -> tuple[str, str] | None:
    """(field, reason) where `value` breaks a limit or cannot be stored alike on both backends,
    or None: PostgreSQL refuses NUL characters, orjson integers beyond 64 bits and non-finite floats.
    A body inside a body (a job of a batch) is judged as if it came alone."""
    if isinstance(value, BaseModel):
        fields = ((name, getattr(value, name)) for name in type(value).model_fields)
        return next((p for name, item in fields if (p := _storable(item, f"{path}.{name}", limits))), None)
    if depth > limits.depth:
        return path, f"nested deeper than {limits.depth} levels"
    if isinstance(value, str):
        if len(value) > limits.string:
            return path, f"longer than {limits.string} characters"
        return (path, "must not contain NUL characters") if "\x00" in value else None
    if isinstance(value, int) and not isinstance(value, bool):
        return None if value in _INT_RANGE else (path, "integer out of the signed 64-bit range")
    if isinstance(value, float) and not math.isfinite(value):  # NaN, or past a double (1e400): JSON would say null
        return path, "must be a finite number within the range of a double"
    if isinstance(value, float) and value.is_integer() and not -(2**63) <= value < 2**63:
        # JSON Schema (the OpenAPI document) calls 1e20 an integer: beyond 64 bits, refused as 10**20 is
        return path, "integer out of the signed 64-bit range (a number without a fraction is an integer)"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    if items and len(value) > limits.array:
        return path, f"more than {limits.array} items"
    for key, item in items:
        if isinstance(key, str) and ("\x00" in key or len(key) > limits.string):
            return path, f"keys must be at most {limits.string} characters, without NUL characters"
        problem = _storable(item, f"{path}.{key}", limits, depth + 1)
        if problem:
            return problem
    return None


# In JSON text, the only ways to a value _storable refuses (besides size, nesting and item
# counts): NUL as an escape (or raw, should a parser take it), an integer of 19 digits or
# more, a float that is an integer past 64 bits or past a double (a 2-digit exponent or more, or
# 19 digits or more), NaN and Infinity.
# They are looked for with every digit written 0, every E as e and signs left out (which can
# only join runs), by substring: a regular expression of alternatives is slower in Python.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789E", b"000000000e")
_IN_DIGIT_RUNS = (b"0" * 19, b"e00", b"\\u0000")
_NOT_NUMBERS = (b"NaN", b"Infinity", b"\x00")


def surely_storable(raw: bytes, limits: Limits) -> bool:
    """True if no value parsed from the JSON text `raw` can break `limits` or be unstorable:
    a few scans of the bytes, in place of a walk over every value (_storable). False only
    means "walk them": it errs on that side (a bracket or a digit run inside a string counts).

    A string (or key) of n characters takes at least n bytes, a container of n items more
    than n, and a value nested d deep inside a field is inside d + 1 brackets, the body's
    own included.
    """
    if len(raw) > min(limits.string, limits.array) or raw.count(b"[") + raw.count(b"{") > limits.depth:
        return False
    text = raw.translate(_DIGITS_AS_ZERO, b"+-")
    signs = (*_IN_DIGIT_RUNS, *_NOT_NUMBERS) if b"00" in text else _NOT_NUMBERS
    return not any(sign in text for sign in signs)


def _check_storable(body: BaseModel, limits: Limits) -> None:
    problems = [p for name in type(body).model_fields if (p := _storable(getattr(body, name), name, limits))]
    if problems:
        fields = [{"field": field, "reason": reason} for field, reason in problems]
        raise errors.InvalidCommand(fields=fields)


def parse_body(model: type[M], raw: bytes, limits: Limits = DEFAULT_LIMITS) -> M:
    """Validate a JSON body (empty means {}); raises InvalidCommand naming each bad field."""
    try:  # strict: an integer is an integer and a boolean a boolean, as the OpenAPI document says (not "5", not false)
        body = model.model_validate_json(raw or b"{}", strict=True)
    except ValidationError as exc:
        raise invalid(exc) from None
    if not surely_storable(raw, limits):
        _check_storable(body, limits)
    return body


def lease(body: LeaseBody) -> dict[str, str | None]:
    """The keyword that carries a worker's lease into its command."""
    return {"lease_token_hash": token_hash(body.lease_token) if body.lease_token else None}

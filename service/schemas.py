"""Request bodies and query strings, validated by pydantic; errors name the field."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from domain import commands, errors
from domain.status import Status

M = TypeVar("M", bound=BaseModel)

Name = Annotated[str, Field(min_length=1, max_length=200)]
Percent = Annotated[float, Field(ge=0, le=100)]
Confidence = Annotated[float, Field(ge=0, le=1)]
MAX_EXPIRES_IN = 365 * 24 * 3600


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateJobBody(Body):
    type: Name
    payload: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    phases: list[Name] = Field(default_factory=list, max_length=100)
    priority: int = Field(0, ge=-(2**31), le=2**31 - 1)
    max_attempts: int = Field(1, ge=1, le=1000)
    run_at: AwareDatetime | None = None
    expires_in: float = Field(24 * 3600, gt=0, le=MAX_EXPIRES_IN, description="seconds until the job expires")

    @field_validator("phases")
    @classmethod
    def _unique(cls, phases: list[str]) -> list[str]:
        if len(set(phases)) != len(phases):
            raise ValueError("phase names must be unique")
        return phases

    def command(self, tenant: str, idempotency_key: str | None, digest: str) -> commands.CreateJob:
        return commands.CreateJob(
            type=self.type,
            tenant=tenant,
            payload=self.payload,
            metadata=self.metadata,
            phases=tuple(self.phases),
            priority=self.priority,
            max_attempts=self.max_attempts,
            run_at=self.run_at.astimezone(UTC) if self.run_at else None,
            expires_in=timedelta(seconds=self.expires_in),
            idempotency_key=idempotency_key,
            request_hash=digest,
        )


class ProgressBody(Body):
    percent: Percent
    message: str | None = Field(None, max_length=10_000)
    details: Any = None


class PhaseCompleteBody(Body):
    result: Any = None
    confidence: Confidence | None = None


class ErrorBody(Body):
    error: Any = Field(description="what went wrong: a message or an object")

    @field_validator("error")
    @classmethod
    def _present(cls, error: Any) -> Any:
        if error is None or error == "":
            raise ValueError("error must not be empty")
        return error


class CompleteBody(Body):
    result: Any = None


class CancelBody(Body):
    reason: str | None = Field(None, max_length=10_000)


class EmptyBody(Body):
    pass


class ListQuery(Body):
    status: Status | None = None
    type: Name | None = None
    limit: int = Field(50, ge=1, le=500)
    cursor: int | None = Field(None, ge=1, description="next_cursor of the previous page")


class EventsQuery(Body):
    after: int = Field(0, ge=0)
    limit: int = Field(500, ge=1, le=5000)


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "body"


def invalid(exc: ValidationError, where: str = "body") -> errors.InvalidCommand:
    fields = [{"field": _field(e["loc"]) if e["type"] != "json_invalid" else where, "reason": e["msg"]} for e in exc.errors()]
    first = fields[0]
    return errors.InvalidCommand(f"{first['field']}: {first['reason']}", fields=fields)


def parse_body(model: type[M], raw: bytes) -> M:
    """Validate a JSON body (empty means {}); raises InvalidCommand naming each bad field."""
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        raise invalid(exc) from None


def parse_query(model: type[M], query: dict[str, str]) -> M:
    try:
        return model.model_validate(dict(query))
    except ValidationError as exc:
        raise invalid(exc, "query") from None




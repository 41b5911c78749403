"""The job type registry: payload schema and defaults per type, from a file or the API."""

import time
from typing import Any

import jsonschema
import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from jobledger.domain import errors
from jobledger.application.bodies import MAX_INT64
from jobledger.eventlog.protocols import Stores

DEFAULT_LEASE_SECONDS = 30.0
_CACHE_SECONDS = 2.0  # other instances' PUT /types reach this one within this time


class JobType(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    payload_schema: dict[str, Any] | None = Field(None, alias="schema", description="JSON Schema for payloads")
    max_attempts: int | None = Field(None, ge=1, le=1000)
    lease_seconds: float | None = Field(None, gt=0, le=86400)
    expires_in: float | None = Field(None, gt=0, le=365 * 86400)
    max_running: int | None = Field(
        None, ge=1, le=MAX_INT64, description="jobs of this type running at once, enforced at claim"
    )
    retry_base_seconds: float | None = Field(None, ge=0, le=86400)
    retry_max_seconds: float | None = Field(None, ge=0, le=7 * 86400)
    max_payload_bytes: int | None = Field(
        None, ge=1, le=MAX_INT64, description="largest payload (as JSON) of a job of this type"
    )

    @field_validator("payload_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None:
            try:
                jsonschema.validators.validator_for(schema).check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"not a valid JSON Schema: {exc.message}") from None
        return schema

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class TypeRegistry:
    def __init__(self, stores: Stores, strict: bool = False, max_payload_bytes: int | None = None):
        self.stores = stores
        self.strict = strict
        self.max_payload_bytes = max_payload_bytes  # for types that set none
        self._types: dict[str, JobType] = {}
        self._loaded_at = float("-inf")

    async def all(self) -> dict[str, JobType]:
        if time.monotonic() - self._loaded_at > _CACHE_SECONDS:
            registered = await self.stores.registry.get_types()
            self._types = {name: JobType.model_validate(c) for name, c in registered.items()}
            self._loaded_at = time.monotonic()
        return self._types

    async def get(self, name: str) -> JobType | None:
        return (await self.all()).get(name)

    async def put(self, name: str, job_type: JobType, now) -> None:
        await self.stores.registry.put_type(name, job_type.as_json(), now)
        self._loaded_at = float("-inf")

    async def load_file(self, path: str, now) -> None:
        """Register every type in a JSON file: {"name": {"schema": ..., "max_attempts": ...}}."""
        with open(path, "rb") as f:
            for name, config in orjson.loads(f.read()).items():
                await self.put(name, JobType.model_validate(config), now)

    async def claim_limits(
        self, wanted: tuple[str, ...] | None, lease_seconds: float | None
    ) -> tuple[dict[str, int], float]:
        """For a claim of `wanted` types (None: any): the running limits of the registered
        types it may take, and its lease (asked, else the type's when one type is asked for)."""
        types = await self.all()
        max_running = {n: t.max_running for n, t in types.items() if t.max_running and (wanted is None or n in wanted)}
        if lease_seconds is None and wanted and len(wanted) == 1 and wanted[0] in types:
            lease_seconds = types[wanted[0]].lease_seconds
        return max_running, lease_seconds or DEFAULT_LEASE_SECONDS

    async def check_payload(self, type_name: str, payload: Any) -> JobType | None:
        """The type's settings; raises InvalidCommand naming the field a payload breaks."""
        job_type = await self.get(type_name)
        limit = (job_type and job_type.max_payload_bytes) or self.max_payload_bytes
        if limit is not None and (size := len(orjson.dumps(payload))) > limit:
            reason = f"{size} bytes as JSON, more than the {limit} allowed for type {type_name!r}"
            raise errors.InvalidCommand(f"payload: {reason}", fields=[{"field": "payload", "reason": reason}])
        if job_type is None:
            if self.strict:
                raise errors.InvalidCommand(
                    f"type: {type_name!r} is not registered", fields=[{"field": "type", "reason": "not a registered type"}]
                )
            return None
        if job_type.payload_schema is not None:
            validator = jsonschema.validators.validator_for(job_type.payload_schema)(job_type.payload_schema)
            problems = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
            if problems:
                fields = [{"field": _path(p), "reason": p.message} for p in problems]
                raise errors.InvalidCommand(f"{fields[0]['field']}: {fields[0]['reason']}", fields=fields)
        return job_type


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(["payload", *(str(part) for part in error.absolute_path)])

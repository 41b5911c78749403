"""The job type registry: payload schema and defaults per type and tenant, from a file or the API,
and whether claims give out the type's jobs (a pause).

Each tenant has its own types, as it has its own jobs: one tenant's schema or `max_running`
never touches another's jobs. The types file loaded at start registers types of the tenant
"default" (the open mode's, and in-process workers', see application.embedded).

A type's definition and its pauses are events of the type's own stream in the log
(domain/job_type.py): registering, pausing and resuming append them, and the job_types read
model follows in the same transaction (eventlog/type_rows.py). Reads come from that model,
cached for `_CACHE_SECONDS`; `forget` drops a tenant's cache when the log shows one of its
types changed (service/web/app.py follows the log), so other instances see a pause within
the time they take to read the log.
"""

import asyncio
import time
from typing import Any

import jsonschema
import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from jobledger.domain import errors, job_type as type_stream
from jobledger.domain.events import TYPE_EVENT_TYPES
from jobledger.application import type_schemas
from jobledger.application.bodies import MAX_INT64, Phases, Priority
from jobledger.application.json_types import JsonObject, json_int
from jobledger.application.jobs import DEFAULT_TENANT
from jobledger.eventlog import codec
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import RecordedEvent, TypeRow

DEFAULT_LEASE_SECONDS = 30.0
_CACHE_SECONDS = 2.0  # other instances' PUT /types reach this one within this time
_CACHED_TENANTS = 1024  # tenants whose types an instance keeps; past it, the cache starts again
_CHECKED = 4096  # stored types kept parsed and checked, by their stored text
_ATTEMPTS = 5  # a type change read and decided again after another instance changed it first
FILE_ACTOR = {"actor": "types-file"}  #: who registers the types file's types


class JobType(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    payload_schema: JsonObject | None = Field(
        None, alias="schema", description="JSON Schema for payloads: local $refs only, RE2 patterns (README, Security)"
    )
    max_attempts: json_int(1, 1000) | None = None
    lease_seconds: float | None = Field(None, gt=0, le=86400)
    expires_in: float | None = Field(None, gt=0, le=365 * 86400)
    max_running: json_int(1, MAX_INT64) | None = Field(
        None, description="jobs of this type and tenant running at once, enforced at claim"
    )
    retry_base_seconds: float | None = Field(None, ge=0, le=86400)
    retry_max_seconds: float | None = Field(None, ge=0, le=7 * 86400)
    max_payload_bytes: json_int(1, MAX_INT64) | None = Field(
        None, description="largest payload (as JSON) of a job of this type"
    )
    phases: Phases | None = Field(None, description="the phases of the type's jobs, unless a create names its own")
    priority: Priority | None = Field(None, description="jobs' priority unless a create gives one")
    _validator: type_schemas.PayloadValidator | None = PrivateAttr(None)
    _refused: str | None = PrivateAttr(None)  # why a schema stored before the checks existed fails them

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


async def checked(job_type: JobType) -> JobType:
    """The type with its payload validator; InvalidCommand naming `schema` if the schema is unsafe.
    The check runs off the event loop: the metaschema alone takes about 1 ms a subschema."""
    schema = job_type.payload_schema
    if schema is not None:
        try:
            await asyncio.to_thread(type_schemas.check, schema)
        except type_schemas.SchemaRefused as exc:
            raise errors.InvalidCommand(f"schema: {exc}", fields=[{"field": "schema", "reason": str(exc)}]) from None
        job_type._validator = type_schemas.PayloadValidator(schema)
    return job_type


async def _stored(config: dict[str, Any]) -> JobType:
    """A type as stored; one whose schema fails today's checks is kept, marked refused."""
    job_type = JobType.model_validate(config)
    try:
        return await checked(job_type)
    except errors.InvalidCommand as exc:
        job_type._refused = exc.details["fields"][0]["reason"]
        return job_type


class TypeRegistry:
    def __init__(self, stores: Stores, strict: bool = False, max_payload_bytes: int | None = None):
        self.stores = stores
        self.strict = strict
        self.max_payload_bytes = max_payload_bytes  # for types that set none
        self._types: dict[str, tuple[float, dict[str, JobType], dict[str, TypeRow]]] = {}  # tenant -> (loaded at, types, rows)
        self._checked: dict[bytes, JobType] = {}  # stored config -> the type made of it

    async def all(self, tenant: str) -> dict[str, JobType]:
        """The tenant's types by name."""
        return (await self._loaded(tenant))[1]

    async def rows(self, tenant: str) -> dict[str, TypeRow]:
        """The tenant's types as the read model holds them (paused or not, their stream version)."""
        return (await self._loaded(tenant))[2]

    async def paused(self, tenant: str) -> frozenset[str]:
        """The tenant's paused types: claims leave their jobs queued."""
        return frozenset(name for name, row in (await self.rows(tenant)).items() if row.paused)

    async def _loaded(self, tenant: str) -> tuple[float, dict[str, JobType], dict[str, TypeRow]]:
        cached = self._types.get(tenant)
        if cached is not None and time.monotonic() - cached[0] <= _CACHE_SECONDS:
            return cached
        stored = await self.stores.registry.get_types(tenant)
        loaded = (time.monotonic(), {name: await self._parsed(row.config) for name, row in stored.items()}, stored)
        if len(self._types) >= _CACHED_TENANTS:
            self._types.clear()
        self._types[tenant] = loaded
        return loaded

    def forget(self, events: list[RecordedEvent]) -> bool:
        """Drop the cache of every tenant one of whose types `events` (read from the log) changed;
        whether any did."""
        changed = False
        for event in events:
            if event.type in TYPE_EVENT_TYPES:
                self._types.pop(event.data["tenant"], None)
                changed = True
        return changed

    async def _parsed(self, config: dict[str, Any]) -> JobType:
        key = orjson.dumps(config, option=orjson.OPT_SORT_KEYS)
        job_type = self._checked.get(key)
        if job_type is None:
            if len(self._checked) >= _CHECKED:
                self._checked.clear()
            job_type = self._checked[key] = await _stored(config)
        return job_type

    async def get(self, tenant: str, name: str) -> JobType | None:
        return (await self.all(tenant)).get(name)

    async def put(self, tenant: str, name: str, job_type: JobType, now, meta: dict[str, Any]) -> bool:
        """Register the tenant's type `name` (TypeDefined in its stream); False if it was already so
        defined. InvalidCommand (400, naming `schema`) for an unsafe schema."""
        await checked(job_type)
        return (await self.change(tenant, name, "define", now, meta, config=job_type.as_json()))[1]

    async def change(
        self, tenant: str, name: str, trigger: str, now, meta: dict[str, Any], **args: Any
    ) -> tuple[type_stream.TypeState, bool]:
        """Apply `trigger` (define, pause, resume) to the type's stream: its state after, and
        whether anything was appended (a pause of a paused type appends nothing)."""
        stream = type_stream.stream_id(tenant, name)
        for _ in range(_ATTEMPTS):
            state = await self.history(tenant, name)
            new_events = type_stream.decide(state, trigger, **args)
            if not new_events:
                return state, False
            recorded = [codec.new_event(e, now, {**meta, "tenant": tenant}) for e in new_events]
            try:
                await self.stores.log.append(stream, state.version, recorded)
            except errors.VersionConflict:
                continue
            self._types.pop(tenant, None)
            return type_stream.fold(state, new_events), True
        raise errors.VersionConflict(stream, state.version, reason=f"type {name!r} kept changing; try again")

    async def history(self, tenant: str, name: str) -> type_stream.TypeState:
        """The type's state, folded from its stream."""
        recorded = await self.events(tenant, name)
        return type_stream.fold(type_stream.TypeState(tenant, name), [codec.domain_event(e) for e in recorded])

    async def events(self, tenant: str, name: str) -> list[RecordedEvent]:
        return await self.stores.log.read_stream(type_stream.stream_id(tenant, name))

    async def load_file(self, path: str, now, tenant: str = DEFAULT_TENANT) -> None:
        """Register every type in a JSON file, {"name": {"schema": ..., "max_attempts": ...}}, for `tenant`."""
        with open(path, "rb") as f:
            for name, config in orjson.loads(f.read()).items():
                await self.put(tenant, name, JobType.model_validate(config), now, FILE_ACTOR)

    async def claim_limits(
        self, tenant: str, wanted: tuple[str, ...] | None, lease_seconds: float | None
    ) -> tuple[dict[str, int], float]:
        """For a claim of `wanted` types (None: any) of the tenant's jobs: the running limits of
        its registered types the claim may take, and its lease (asked, else the type's when
        one type is asked for)."""
        types = await self.all(tenant)
        max_running = {n: t.max_running for n, t in types.items() if t.max_running and (wanted is None or n in wanted)}
        if lease_seconds is None and wanted and len(wanted) == 1 and wanted[0] in types:
            lease_seconds = types[wanted[0]].lease_seconds
        return max_running, lease_seconds or DEFAULT_LEASE_SECONDS

    async def check_payload(self, tenant: str, type_name: str, payload: Any) -> JobType | None:
        """The tenant's settings for the type; raises InvalidCommand naming the field a payload breaks."""
        job_type = await self.get(tenant, type_name)
        try:
            self.check_loaded(job_type, type_name, payload, type_schemas.INLINE_BUDGET)
        except type_schemas.BudgetExceeded:  # checked again in a thread within the larger budget
            _refuse(await _validated(job_type._validator, payload))
        return job_type

    def check_loaded(self, job_type: JobType | None, type_name: str, payload: Any, budget: int) -> None:
        """check_payload's checks against the type as already read (a scheduler's fire is planned
        inside its transaction, with no time to read or wait): InvalidCommand naming the field,
        BudgetExceeded if the schema's validation takes more than `budget` units of work."""
        limit = (job_type and job_type.max_payload_bytes) or self.max_payload_bytes
        if limit is not None and (size := len(orjson.dumps(payload))) > limit:
            reason = f"{size} bytes as JSON, more than the {limit} allowed for type {type_name!r}"
            raise errors.InvalidCommand(f"payload: {reason}", fields=[{"field": "payload", "reason": reason}])
        if job_type is None:
            if self.strict:
                raise errors.InvalidCommand(
                    f"type: {type_name!r} is not registered", fields=[{"field": "type", "reason": "not a registered type"}]
                )
            return
        if job_type._refused is not None:
            reason = (
                f"the schema registered for {type_name!r} is refused ({job_type._refused}); "
                "an admin must register it again"
            )
            raise errors.InvalidCommand(f"type: {reason}", fields=[{"field": "type", "reason": reason}])
        if job_type._validator is not None:
            _refuse(job_type._validator.errors(payload, budget))


def _refuse(problems: list[jsonschema.ValidationError]) -> None:
    """InvalidCommand naming each field the payload's schema errors are at, if any."""
    if problems:
        problems = sorted(problems, key=lambda e: list(e.absolute_path))
        fields = [{"field": _path(p), "reason": p.message} for p in problems]
        raise errors.InvalidCommand(f"{fields[0]['field']}: {fields[0]['reason']}", fields=fields)


async def _validated(validator: type_schemas.PayloadValidator, payload: Any) -> list[jsonschema.ValidationError]:
    """The payload's errors, checked in a thread within the larger budget (past the loop's), so the
    loop answers other requests meanwhile."""
    try:
        return await asyncio.to_thread(validator.errors, payload)
    except type_schemas.BudgetExceeded:
        reason = "too costly to validate against the type's schema; send a smaller payload"
        raise errors.InvalidCommand(f"payload: {reason}", fields=[{"field": "payload", "reason": reason}]) from None


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(["payload", *(str(part) for part in error.absolute_path)])

"""Response bodies, as pydantic models: what the handlers answer, for the OpenAPI document.

The handlers build their JSON directly (orjson, or the stored document as written); these
models only describe it. Every field a handler always writes is required (no default);
`X | None` means it may be null. `extra="forbid"` makes the schemas closed, so a field a
handler adds without describing it here breaks the schemathesis run.
"""

import enum
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, RootModel

from jobledger.domain import events
from jobledger.domain.status import PhaseStatus, Status
from jobledger.application import types
from jobledger.projections import estimates

EventType = enum.Enum("EventType", {name: name for name in events.STORED_TYPES}, type=str)
Count = Annotated[int, Field(ge=0)]
Position = Annotated[int, Field(ge=0, description="a global log position")]
Hash = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Phase(Answer):
    name: str
    status: PhaseStatus
    started_at: datetime | None
    finished_at: datetime | None
    result: Any
    confidence: float | None
    error: Any


class Progress(Answer):
    percent: float | None  # None: a queued job's message (or the create's), or a job started since
    message: str | None
    details: Any
    reported_at: datetime | None


class Artifact(Answer):
    name: str
    content_type: str
    size: Count
    added_at: datetime | None
    version: int = Field(ge=1, description="the job version whose ArtifactAdded holds it")


class Estimate(Answer):
    """When a queued or running job will finish, from its type's recent durations and its progress."""

    remaining_seconds: float = Field(ge=0, description="seconds from now until it finishes")
    finishes_at: datetime = Field(description="now plus remaining_seconds")
    basis: Literal["history", "history+progress"] = Field(
        description="history: the type's median queue wait and run; history+progress: blended with the job's own pace"
    )
    samples: int = Field(ge=estimates.MIN_SAMPLES, description="the type's completed runs it was taken from")


class Parent(Answer):
    job: UUID
    on_failure: Literal["cancel", "run"] = Field(description="what the parent's failure, cancel or expiry does to the job")


class Job(Answer):
    """The job document; `version` is its event count, `position` the log position of its latest event."""

    id: UUID
    type: str
    tenant: str
    user: str | None = Field(
        None, description="the signed-in user who created it (a JWT's user claim); null: created with an API key"
    )
    status: Status
    priority: int
    payload: Any
    metadata: dict[str, Any]
    phases: list[Phase]
    progress: Progress | None
    result: Any
    error: Any
    attempts: Count
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    worker_id: str | None
    lease_token_hash: Hash | None
    lease_expires_at: datetime | None
    cancel_requested: bool
    cancel_reason: str | None
    cancelled_by: str | None
    artifacts: list[Artifact]
    depends_on: list[Parent] = Field(default_factory=list, description="the jobs it runs after (README, Dependencies)")
    waiting_on: list[UUID] = Field(default_factory=list, description="the parents it still waits for, while `waiting`")
    children: Count = Field(0, description="jobs created depending on it while it had not ended")
    idempotency_key: str | None
    created_at: datetime
    run_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    erased_at: datetime | None = Field(None, description="when its data was erased (POST /jobs/{id}/purge)")
    expires_at: datetime
    updated_at: datetime
    version: int = Field(ge=1)
    position: int = Field(ge=1)
    estimate: Estimate | None = Field(
        description=f"null: a finished job, a job as it was in the past, or a type with fewer than "
        f"{estimates.MIN_SAMPLES} completed runs (README \"Estimates\")"
    )


class GraphNode(Answer):
    id: UUID
    type: str
    status: Status


class GraphParent(GraphNode):
    on_failure: Literal["cancel", "run"]
    result: Any = Field(description="the parent's result once it completed; null before")


class GraphChild(GraphNode):
    on_failure: Literal["cancel", "run"]


class GraphJob(GraphNode):
    waiting_on: list[UUID] = Field(description="the parents it still waits for, while `waiting`")


class JobGraph(Answer):
    job: GraphJob
    parents: list[GraphParent] = Field(description="in the order of its depends_on")
    children: list[GraphChild]


class JobBatch(Answer):
    jobs: list[Job] = Field(description="the jobs, in the order they were given")
    created: list[bool] = Field(
        description="for each job: true if this request created it, false if its idempotency_key found it made before"
    )


class JobPage(Answer):
    jobs: list[Job]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last")


class BulkAnswer(Answer):
    action: Literal["cancel", "retry", "purge"]
    dry_run: bool
    as_of: datetime = Field(description="only jobs selected by then were taken: send it again to resume")
    selected: int = Field(ge=0, description="jobs the filter selected")
    acted: int = Field(ge=0, description="jobs given their event (0 on a dry run)")


class Event(Answer):
    position: int = Field(ge=1)
    job_id: UUID
    version: int = Field(ge=1)
    type: EventType
    schema_version: int = Field(ge=1)
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    hash: Hash


class JobEvents(Answer):
    job_id: UUID
    events: list[Event]


class EventPage(Answer):
    events: list[Event]
    next_after: Position = Field(description="pass as `after` for the next page")


class Break(Answer):
    job_id: UUID
    version: int
    reason: str


class Problem(Answer):
    kind: str = Field(description="chain, row (the status row against the fold of its events), tree or checkpoint")
    job_id: UUID | None
    version: int | None
    detail: str = Field(description="what differs")


class Verification(Answer):
    job_id: UUID
    ok: bool
    events: Count = Field(description="events checked")
    broken: Break | None = Field(description="the first broken link of the chain, or null")
    problems: list[Problem] = Field(description="everything found broken: chain, status row, tree leaves")


class ClaimedJob(Job):
    lease_token: str = Field(description="shown only here; send it with every call about this job")
    traceparent: str | None = Field(
        description="the W3C trace context the job was created in (README, Traces): its handler's parent; null: none"
    )


class Claim(Answer):
    jobs: list[ClaimedJob]


class Artifacts(Answer):
    artifacts: list[Artifact]


class JobTypeAnswer(types.JobType):
    """A registered job type: its name and the settings it was given (unset ones are left out),
    whether claims give out its jobs, and its stream's version (events of its history)."""

    name: str
    status: Literal["active", "paused"]
    paused_reason: str | None = None
    version: Count = Field(description="events in the type's stream; 0: registered before types had one")


class TypeChange(JobTypeAnswer):
    """The type after a pause or resume; `changed`: whether this request changed it."""

    changed: bool


class TypeEvents(Answer):
    name: str
    stream_id: UUID = Field(description="the type's stream in the log (its events' `job_id`)")
    events: list[Event]


class JobTypes(Answer):
    types: list[JobTypeAnswer]


class Lag(Answer):
    position: Position
    lag: Count


class Queue(Answer):
    queued: Count
    running: Count
    oldest_queued_age_seconds: float | None


class PausedType(Answer):
    tenant: str
    type: str
    reason: str | None


class HealthBrief(Answer):
    """Liveness: what anyone may see."""

    status: Literal["ok"]
    version: str
    backend: Literal["sqlite", "postgresql"]
    uptime_seconds: float


class Health(HealthBrief):
    """Liveness and the counts across every tenant (an operator key, or the open mode)."""

    jobs: dict[str, Count]
    running: Count
    queues: dict[str, Queue]
    paused_types: list[PausedType] = Field(description="every tenant's paused job types (POST /types/{name}/pause)")
    projections: dict[str, Lag]


class Durations(Answer):
    count: Count
    p50: float | None
    p95: float | None
    max: float | None


class Window(Answer):
    finished: dict[str, Count] = Field(description="jobs that reached a terminal status, by status")
    queue_wait_seconds: Durations
    run_seconds: Durations
    phase_seconds: dict[str, Durations]


class TypeStats(Answer):
    counts: dict[str, Count]
    all_time: Window
    last_hour: Window


class Stats(Answer):
    types: dict[str, TypeStats]
    paused: list[str] = Field(description="the caller's tenant's paused job types: claims leave their jobs queued")
    projection: Lag


class ErrorDetail(Answer):
    code: str = Field(description="what went wrong, e.g. invalid_request, job_not_found")
    message: str
    details: dict[str, Any] = Field(description="for invalid_request, `fields`: [{field, reason}]")


class Error(Answer):
    error: ErrorDetail


# The log's checkpoints and proofs (service/web/audit_routes.py, docs/auditing.md)
TreeHash = Annotated[str, Field(pattern="^[A-Za-z0-9+/]{43}=$", description="a SHA-256 hash, base64")]


class CheckpointEntry(Answer):
    tree_size: Count
    root_hash: TreeHash
    note: str = Field(description="the signed checkpoint: a C2SP signed note")
    issued_at: datetime


class CheckpointList(RootModel[list[CheckpointEntry]]):
    """Checkpoints, ascending by size."""


class InclusionProof(Answer):
    leaf_index: Count
    tree_size: int = Field(ge=1)
    leaf_hash: TreeHash
    proof: list[TreeHash] = Field(description="RFC 9162 audit path, from the leaf up")


class ConsistencyProof(Answer):
    first: Count
    second: Count
    proof: list[TreeHash] = Field(description="RFC 9162 2.1.4 consistency proof")


class BundledEvent(Answer):
    position: int = Field(ge=1)
    job_id: UUID
    version: int = Field(ge=1)
    type: str
    schema_version: int = Field(ge=1)
    data: Any
    metadata: Any
    recorded_at: datetime


class BundleEntry(Answer):
    leaf_index: Count
    position: int = Field(ge=1)
    canonical: str | None = Field(
        None, description="the event's canonical bytes, base64: what its leaf hashes (absent for an erased event)"
    )
    erased: Literal[True] | None = Field(None, description="its job's data was erased: its bytes are gone, its leaf is proven")
    leaf_hash: TreeHash | None = Field(None, description="an erased event's leaf hash (base64), whose inclusion is proven")
    event: BundledEvent
    inclusion_proof: list[TreeHash]


class AuditBundle(Answer):
    format: Literal["jobledger-audit-bundle/1"]
    origin: str
    job_id: UUID
    checkpoint: str = Field(description="the signed checkpoint the proofs lead to")
    tree_size: Count
    events: list[BundleEntry]

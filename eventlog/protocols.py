"""What the service asks of storage, one small protocol per concern, and `Stores`, which
holds one backend's implementation of each.

Every backend implements each protocol in a module of its own (eventlog/sqlite/,
eventlog/postgres/); the concerns of one backend share its connection holder, and its
package's `stores()` composes them. A new concern is a new protocol here, a field of
`Stores`, and one module per backend.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from jobledger.eventlog.chain import RawEvent
from jobledger.eventlog.trigger_models import TriggerModel
from jobledger.eventlog.records import (
    ApiKey,
    AppendRequest,
    Checkpoint,
    ClaimPlan,
    ClaimQuery,
    FirePlan,
    JobFilter,
    Leaf,
    Listener,
    NewEvent,
    QueueStats,
    RecordedEvent,
    Redaction,
    ScheduleRow,
    StatusRow,
    TypeRow,
)
from jobledger.eventlog.records import Attempt, Delivery, WebhookRow

#: (event_type, body) -> the body without the erased job's data, or None if it holds none
Redact = Callable[[str, str], str | None]


class EventLog(Protocol):
    """The append-only log: the source of truth."""

    async def append(
        self, stream_id: UUID, expected_version: int, events: Sequence[NewEvent], state: dict[str, Any] | None = None
    ) -> list[RecordedEvent]:
        """Append `events` after `expected_version` (and write `state`, the job's status row, in the
        same transaction), or raise VersionConflict and append nothing."""
        ...

    async def append_all(self, requests: Sequence[AppendRequest]) -> list[list[RecordedEvent]]:
        """All of `requests` (each to a stream of its own) in one transaction, or none of them:
        if any meets another version than it expects, nothing is written (AppendsRefused)."""
        ...

    async def read_stream(self, stream_id: UUID) -> list[RecordedEvent]: ...

    async def created_traces(self, stream_ids: Sequence[UUID]) -> dict[UUID, dict[str, str]]:
        """The trace context (codec.trace_context) of each stream's first event, by stream id."""
        ...

    async def read_all(self, *, after: int = 0, limit: int = 500) -> list[RecordedEvent]:
        """Events after position `after`, in position order, none of which any event still
        to commit can come before: a reader of `position > last_seen` misses nothing."""
        ...

    async def head(self) -> int:
        """The position up to which read_all would answer now."""
        ...

    async def raw_stream(self, stream_id: UUID) -> list[RawEvent]:
        """A job's events as stored, in position order: what verification hashes."""
        ...

    async def raw_all(self, *, after: int = 0, limit: int = 5000) -> list[RawEvent]: ...

    async def leaf_rows(self, *, after: int = 0, limit: int = 5000) -> list[tuple[int, UUID, bytes | None]]:
        """(position, job id, leaf hash stored at append) of raw_all's events, in its order; the
        hash is None for an event stored without one (before migration 0016, or imported)."""
        ...

    async def import_events(self, events: list[RawEvent]) -> None:
        """Write exported events as they were (positions and hashes kept) into this log."""
        ...

    async def listen(self, callback: Listener) -> None:
        """Call `callback(written)` whenever the log may have moved: `written` holds the
        (tenant, job type, status) of each status row written, or is None where that is not known (a
        wake-up from an instance that did not say, or after the connection that brings other
        instances' wake-ups was lost)."""
        ...


class StatusStore(Protocol):
    """The job status read model, written with the appends (EventLog.append's `state`)."""

    async def get_status(self, job_id: UUID) -> StatusRow | None: ...

    async def list_status(self, query: JobFilter) -> list[tuple[int, int, str]]:
        """(created_position, last_position, doc) of matching jobs, newest first."""
        ...

    async def count_by_status(self) -> dict[str, int]: ...

    async def count_by_type_and_status(self) -> dict[tuple[str, str], int]:
        """(job type, status) -> jobs in the status read model."""
        ...

    async def status_versions(self) -> dict[UUID, int]:
        """Each job's version as the status read model last saw it."""
        ...

    async def status_rows(self, after: UUID | None = None, limit: int = 5000) -> list[dict[str, Any]]:
        """Whole status rows (every column, times as datetimes, doc as JSON text), by job id from
        after `after`: what `audit verify` compares with the fold of each job's events."""
        ...

    async def due_for_expiry(self, now: datetime, limit: int) -> list[UUID]: ...

    async def rebuild_status(self, fold, progress: Callable[[int], None] | None = None) -> int:
        """Replay the log into a new status table and swap it in; the number of jobs."""
        ...

    async def prune_status(self, finished_before: datetime) -> int: ...


class ClaimQueue(Protocol):
    """Queued jobs handed to workers: claims append in the same transaction as they choose."""

    async def claim(self, query: ClaimQuery, plan: ClaimPlan) -> list[list[RecordedEvent]]:
        """Claim queued jobs atomically: no two claims, on any instance, get the same job."""
        ...

    async def due_for_lease_expiry(self, now: datetime, limit: int) -> list[UUID]: ...

    async def queue_stats(self, now: datetime) -> list[QueueStats]: ...


class Registry(Protocol):
    """What operators and tenants' admins register: job types (per tenant) and API keys."""

    async def get_types(self, tenant: str) -> dict[str, TypeRow]:
        """The tenant's job types by name: each tenant has its own, as it has its own jobs. The
        rows are the read model of the types' streams (written by the log's trigger, never here)."""
        ...

    async def paused_types(self) -> list[tuple[str, str, str | None]]:
        """(tenant, name, reason) of every paused type, of every tenant: an operator's view."""
        ...

    async def put_key(self, key: ApiKey) -> None: ...

    async def key_by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def list_keys(self) -> list[ApiKey]: ...

    async def revoke_key(self, key_id: str, now: datetime) -> bool:
        """Revoke an active key; False if there is none with this id."""
        ...


class ProjectionStore(Protocol):
    """Asynchronous projections: generations of rows, each with the checkpoint it reached."""

    async def ensure_projection(self, name: str, now: datetime) -> None:
        """Give `name` its first, active generation unless it has one."""
        ...

    async def start_generation(self, name: str, active: bool, now: datetime) -> int:
        """A new, empty generation of `name` at position 0 (the active one if `active`)."""
        ...

    async def projection_checkpoints(self) -> list[tuple[str, int, int, bool]]:
        """(projection, generation, position, active) of every generation."""
        ...

    async def load_projection_rows(self, name: str, generation: int, keys: list[str]) -> dict[str, Any]: ...

    async def save_projection(
        self, name: str, generation: int, rows: dict[str, Any], after: int, position: int, now: datetime
    ) -> bool:
        """Write rows and move the checkpoint from `after` to `position`, atomically; False if it had moved."""
        ...

    async def projection_docs(self, name: str) -> list[Any]:
        """Every row of the active generation of `name`."""
        ...

    async def activate_generation(self, name: str, generation: int) -> None:
        """Make `generation` the one reads see, and drop the others, in one transaction."""
        ...

    async def rebuild_table(self, model: TriggerModel) -> int:
        """Make a read model that triggers on the log keep (eventlog/trigger_models.py) again from
        the log alone, in one transaction its writers wait for; how many rows it has."""
        ...


class TreeStore(Protocol):
    """The log's Merkle tree: leaves, the hashes of complete subtrees, signed checkpoints
    (eventlog/merkle.py names a node (level, index); docs/auditing.md)."""

    async def tree_state(self) -> tuple[int, int]:
        """(size, last position): how many leaves the tree has, and the position of the last."""
        ...

    async def tree_nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored hashes of these (level, index) nodes, in one read; absent ones are left out."""
        ...

    async def extend_tree(self, size: int, leaves: Sequence[Leaf], nodes: Sequence[tuple[int, int, bytes]]) -> bool:
        """Add leaves (from leaf `size` on) and the nodes they complete, in one transaction, if the
        tree still has `size` leaves; False (nothing written) if another builder moved it first."""
        ...

    async def leaves_at(self, positions: Sequence[int]) -> dict[int, Leaf]:
        """The leaves of the events at these positions (position -> leaf), those in the tree."""
        ...

    async def leaf(self, leaf_index: int) -> Leaf | None: ...

    async def leaf_hashes(self, start: int, limit: int) -> list[bytes]:
        """Stored leaf hashes from leaf `start` on, in order."""
        ...

    async def put_checkpoint(self, checkpoint: Checkpoint) -> Checkpoint:
        """Store `checkpoint` unless one of its size is stored; the one stored for that size."""
        ...

    async def latest_checkpoint(self) -> Checkpoint | None: ...

    async def list_checkpoints(self, after: int, limit: int) -> list[Checkpoint]:
        """Checkpoints of sizes above `after` (-1: all, the empty tree's too), ascending."""
        ...


class Erasure(Protocol):
    """Erasing a finished job's data from its events (domain/erasure.py): the one change the log
    takes besides appends. The digest and leaf hash of each event's bytes as they were are kept,
    so its chain and the Merkle tree still verify."""

    async def erase(self, job_id: UUID, redactions: Sequence[Redaction]) -> None:
        """Replace these events' data, keep their commitments, and drop the job's metadata index
        rows, in one transaction (a redaction already made is kept as it was)."""
        ...

    async def erased(self, first: int, last: int) -> dict[int, tuple[bytes, bytes]]:
        """position -> (chain digest, leaf hash) of the erased events from `first` to `last`."""
        ...


class ScheduleStore(Protocol):
    """Schedules (domain/schedule.py): their read model, and their fires, each chosen and appended
    in one transaction so that no two instances fire one schedule's time."""

    async def get_schedule(self, tenant: str, name: str) -> ScheduleRow | None:
        """The tenant's schedule `name`, deleted or not (a name another tenant uses is not seen)."""
        ...

    async def list_schedules(self, tenant: str, after: str | None, limit: int) -> list[ScheduleRow]:
        """The tenant's schedules but the deleted ones, by name, from after `after`."""
        ...

    async def count_schedules(self, tenant: str) -> int:
        """How many schedules the tenant has but the deleted ones."""
        ...

    async def next_fire_at(self) -> datetime | None:
        """The earliest next fire time of any active schedule."""
        ...

    async def fire_due(self, now: datetime, limit: int, plan: FirePlan) -> list[list[RecordedEvent]]:
        """Up to `limit` active schedules due at `now` that no other fire holds, handed to `plan`,
        whose appends are written in one transaction with the choice (all, or none: AppendsRefused)."""
        ...


class WebhookStore(Protocol):
    """Webhook endpoints (their read model and secrets), the deliveries the dispatcher queued
    from the log up to its checkpoint, and every attempt to send them (application/webhooks.py)."""

    async def get_webhook(self, webhook_id: str) -> WebhookRow | None: ...

    async def list_webhooks(self, tenant: str | None) -> list[WebhookRow]:
        """The tenant's endpoints but deleted ones, oldest first; None: every tenant's, whatever their status."""
        ...

    async def count_webhooks(self, tenant: str) -> int:
        """How many endpoints the tenant has but the deleted ones."""
        ...

    async def put_secret(self, webhook_id: str, secret_id: str, secret: str, now: datetime) -> None: ...

    async def secrets(self, webhook_id: str, secret_ids: Sequence[str]) -> dict[str, str]: ...

    async def drop_secrets(self, webhook_id: str) -> None: ...

    async def dispatched(self) -> int:
        """The dispatcher's checkpoint: the position up to which deliveries are queued."""
        ...

    async def enqueue(
        self, after: int, position: int, deliveries: Sequence[Delivery], now: datetime, lease_until: datetime,
        room: dict[str, int], redact: Redact,
    ) -> list[Delivery] | None:
        """Queue `deliveries` and move the checkpoint from `after` to `position`, in one transaction;
        None (nothing written) if another dispatcher moved it first. Else those leased to the caller
        until `lease_until` as they are queued (webhook_rows.handed_over: at most `room[endpoint]`).

        A delivery of a job erased by then (its status row's `erased_at`, committed with JobErased)
        is queued with `redact(event_type, body)` in place of its body (where not None): the events
        were read before the erasure rewrote them. Against an erasure not yet committed, the check
        and redact_bodies exclude each other (PostgreSQL: a lock per job; SQLite: one writer), so
        a body with the job's data is either rewritten by the erasure or never queued."""
        ...

    async def claim_deliveries(
        self, now: datetime, lease_until: datetime, limit: int, busy: Sequence[str]
    ) -> list[Delivery]:
        """Lease up to `limit` due deliveries of active endpoints (not of `busy` ones), each the
        first of its job's still pending for its endpoint: no two claims, on any instance, get one."""
        ...

    async def record_attempts(self, results: Sequence[tuple[Attempt, str, datetime]]) -> None:
        """Store attempts, each with its delivery's state and next attempt after it, and release
        their leases, in one transaction."""
        ...

    async def list_deliveries(self, webhook_id: str, limit: int) -> list[tuple[Delivery, list[Attempt]]]:
        """The endpoint's latest deliveries, newest first, each with its attempts."""
        ...

    async def get_delivery(self, delivery_id: str) -> Delivery | None: ...

    async def resend(self, delivery_id: str, now: datetime) -> None:
        """Make a delivery pending and due now, its retries starting again (its attempts are kept)."""
        ...

    async def job_types(self, job_ids: Sequence[UUID]) -> dict[UUID, str]:
        """The type of each of these jobs the status read model holds."""
        ...

    async def redact_bodies(self, job_id: UUID, redact: Redact) -> int:
        """Rewrite every delivery of the job's events, to any endpoint, with `redact(event_type, body)`
        (where not None), in one transaction that no enqueue of the job's deliveries overlaps; how
        many were rewritten."""
        ...


class Graph(Protocol):
    """Jobs and their parents (domain/dependencies.py): the job_edges read model, written by the
    log's trigger on JobCreated (eventlog/edge_rows.py), never here."""

    async def children(self, parent: UUID) -> list[tuple[UUID, str]]:
        """(child, on_failure) of each job created depending on `parent`."""
        ...

    async def waiting_children(self, parent: UUID) -> list[StatusRow]:
        """The status rows of `parent`'s children that are waiting, in one read."""
        ...

    async def rows(self, job_ids: Sequence[UUID]) -> list[StatusRow]:
        """The status rows of these jobs (those in the read model), in one read, tenant and user filled."""
        ...

    async def rebuild_edges(self) -> int:
        """Make job_edges again from the log's JobCreated events, in one transaction; the edge count."""
        ...


@dataclass(frozen=True)
class Stores:
    """One backend's store of each concern, sharing its connections."""

    backend: str  #: "sqlite" or "postgresql"
    log: EventLog
    status: StatusStore
    queue: ClaimQueue
    registry: Registry
    projections: ProjectionStore
    tree: TreeStore  #: the log's Merkle tree and its checkpoints
    erasure: Erasure  #: erased jobs' data, and what the log keeps of it
    schedules: ScheduleStore  #: schedules' read model and their fires
    webhooks: WebhookStore  #: webhook endpoints, their deliveries and attempts
    graph: Graph  #: jobs' parents and children (job_edges)
    #: run in order by close(): what drains first (the log's queued appends), then the connections
    closers: tuple[Callable[[], Awaitable[None]], ...] = field(default=(), repr=False)

    async def close(self) -> None:
        for close in self.closers:
            await close()

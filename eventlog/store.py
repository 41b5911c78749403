"""The EventStore contract shared by both backends, and the rows it moves."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append; its time is chosen by the caller, who folded it already."""

    type: str
    data: dict[str, Any]
    recorded_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    stream_id: UUID
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "job_id": str(self.stream_id),
            "version": self.version,
            "type": self.type,
            "schema_version": self.schema_version,
            "data": self.data,
            "metadata": self.metadata,
            "recorded_at": self.recorded_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One caller's append, as queued for the group-committing appender.

    `state` is the stream's read-model row after these events (see
    projections.job_status.row); it is written in the same transaction.
    """

    stream_id: UUID
    expected_version: int
    events: Sequence[NewEvent]
    state: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class StatusRow:
    job_id: UUID
    version: int
    last_position: int
    doc: str  # the stored JSON document (without position), sent to clients as it is


@dataclass(frozen=True, slots=True)
class JobFilter:
    status: str | None = None
    type: str | None = None
    before: int | None = None  # keyset cursor: created_position of the last row seen
    limit: int = 50


class EventStore(Protocol):
    backend: str

    async def append(
        self, stream_id: UUID, expected_version: int, events: Sequence[NewEvent], state: dict[str, Any] | None = None
    ) -> list[RecordedEvent]: ...

    async def read_stream(self, stream_id: UUID) -> list[RecordedEvent]: ...

    async def read_all(self, *, after: int = 0, limit: int = 500) -> list[RecordedEvent]: ...

    async def head(self) -> int: ...

    async def listen(self, callback) -> None:
        """Call `callback()` whenever the log may have moved."""
        ...

    async def get_status(self, job_id: UUID) -> StatusRow | None: ...

    async def list_status(self, query: JobFilter) -> list[tuple[int, int, str]]:
        """(created_position, last_position, doc) of matching jobs, newest first."""
        ...

    async def count_by_status(self) -> dict[str, int]: ...

    async def due_for_expiry(self, now: datetime, limit: int) -> list[UUID]: ...

    async def rebuild_status(self, fold) -> int: ...

    async def close(self) -> None: ...

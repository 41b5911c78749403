"""The status read model checked against the log: each job folded from its events, field by field
against its stored row (used by `audit.py`)."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from jobledger.domain import events
from jobledger.eventlog import codec
from jobledger.eventlog.chain import RawEvent
from jobledger.projections import job_status

# The columns compared besides the document (compared key by key) and the version.
COLUMNS = (
    "tenant", "type", "status", "priority", "run_at", "expires_at", "lease_expires_at", "created_at",
    "updated_at", "finished_at", "created_position", "last_position",
)  # fmt: skip


class Fold(job_status.Rebuild):
    """job_status's rebuild fold over raw events, which remembers the jobs it could not fold."""

    def __init__(self) -> None:
        super().__init__()
        self.unreadable: dict[UUID, str] = {}  # job id -> why one of its events could not be folded

    def add_page(self, page: list[RawEvent]) -> None:
        """Fold a page of the log; the data of the whole page is parsed at once."""
        try:
            datas = codec.loads("[" + ",".join(e.data for e in page) + "]")
        except ValueError:
            datas = [None] * len(page)  # some event's data is not JSON: each one is parsed alone below
        for e, data in zip(page, datas, strict=True):
            self.add(e, data)

    def add(self, e: RawEvent, data: Any = None) -> None:
        if e.stream_id in self.unreadable:
            return
        try:
            event = events.decode(e.type, codec.loads(e.data) if data is None else data, e.schema_version)
            self.apply(e.stream_id, e.position, event, e.recorded_at)
        except Exception as exc:  # noqa: BLE001 - an edited event can fail anywhere in decoding or folding
            self.unreadable[e.stream_id] = f"the event at position {e.position} cannot be read: {type(exc).__name__}"

    def version(self, job_id: UUID) -> int:
        draft = self.drafts.get(job_id)
        return 0 if draft is None else draft.version

    def expected_row(self, job_id: UUID) -> dict[str, Any]:
        """The row the status table should hold for the job folded so far."""
        values = job_status.row(self.drafts[job_id])
        values["created_position"], values["last_position"] = self.created[job_id], self.last[job_id]
        return values


def differences(stored: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """The fields in which a stored status row differs from the one its events fold into."""
    found = [c for c in ("version", *COLUMNS) if _plain(stored.get(c)) != _plain(expected.get(c))]
    try:
        doc = codec.loads(stored["doc"])
    except ValueError:
        return [*found, "doc"]
    want = codec.loads(expected["doc"])
    if not isinstance(doc, dict):
        return [*found, "doc"]
    return found + [f"doc.{k}" for k in _keys(doc, want) if codec.dumps(doc.get(k)) != codec.dumps(want.get(k))]


def _keys(a: dict, b: dict) -> Iterable[str]:
    return [*b, *(k for k in a if k not in b)]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if hasattr(value, "value"):  # an enum
        return value.value
    return value

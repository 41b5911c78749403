"""The read models that triggers on the log's inserts keep, in the append's transaction:
job_edges (eventlog/edge_rows.py), schedules (schedule_rows.py) and webhooks (webhook_rows.py).

Each is made again from the log alone (`jobledger projections rebuild NAME`) by the same
trigger code that keeps it: in one transaction, the table is emptied and its events are copied,
in log order, into a scratch table `replay` that carries copies of its triggers. So a rebuild
cannot disagree with the live path, and no rule exists twice. The table is locked for the
transaction (PostgreSQL: EXCLUSIVE; SQLite: the one writer): reads go on, and an append whose
trigger writes to it waits, then applies its event on the rebuilt rows.

job_types is not among them: a type registered before its stream existed (migration 0014) has a
row with no events, which a rebuild would lose.
"""

import re
from dataclasses import dataclass

from jobledger.domain import events
from jobledger.eventlog import edge_rows, schedule_rows, webhook_rows


@dataclass(frozen=True)
class TriggerModel:
    table: str
    event_types: tuple[str, ...]  #: the events its triggers act on (each trigger's WHEN narrows them further)
    postgres: tuple[str, ...]  #: its migration's statements (functions, then triggers)
    sqlite: tuple[str, ...]


MODELS = {
    m.table: m
    for m in (
        TriggerModel("job_edges", ("JobCreated",), tuple(edge_rows.POSTGRES), tuple(edge_rows.SQLITE)),
        TriggerModel("schedules", tuple(events.SCHEDULE_EVENT_TYPES), tuple(schedule_rows.POSTGRES), tuple(schedule_rows.SQLITE)),
        TriggerModel("webhooks", tuple(events.WEBHOOK_EVENT_TYPES), tuple(webhook_rows.POSTGRES), tuple(webhook_rows.SQLITE)),
    )
}

_ON_EVENTS = re.compile(r"^\s*CREATE TRIGGER (\w+) (AFTER INSERT) ON events\b")


def replay_triggers(statements: tuple[str, ...], *, temp: bool) -> list[str]:
    """The CREATE TRIGGER statements among `statements`, on `replay` instead of `events` (and
    TEMP for SQLite, whose temporary table only a temporary trigger may watch)."""
    made = []
    for statement in statements:
        if not statement.lstrip().startswith("CREATE TRIGGER"):
            continue  # a function: the trigger's copy calls the one the migration made
        keyword = "CREATE TEMP TRIGGER" if temp else "CREATE TRIGGER"
        copy, found = _ON_EVENTS.subn(lambda m: f"{keyword} replay_{m[1]} {m[2]} ON replay", statement)
        if found != 1:
            raise ValueError(f"not a trigger on the log's inserts: {statement[:80]!r}")
        made.append(copy)
    return made

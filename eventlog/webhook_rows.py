"""The webhooks table as the log's read model: each endpoint's URL, filters, status and secret
ids, written by a trigger on the log's inserts of webhook events (domain/webhook.py), in the
append's transaction, on both backends (like eventlog/type_rows.py for job types). A row only
ever moves forward: `version` is the endpoint's stream version it has seen.

Migration 0019 ran these statements: a change to them needs a migration of its own.
"""

from dataclasses import replace
from datetime import datetime

from jobledger.domain import events
from jobledger.eventlog import codec
from jobledger.eventlog.records import WebhookRow

_TYPES = ", ".join(f"'{name}'" for name in events.WEBHOOK_EVENT_TYPES)
WHEN = f"NEW.type IN ({_TYPES})"  #: which inserted events the trigger acts on

_COLUMNS = (
    "webhook_id, tenant, url, event_types, job_types, description, status, secret_id, "
    "created_position, created_at, updated_at, version"
)


def _update(get, text) -> str:
    """The UPDATE of an existing endpoint's row; `get(name)` reads a JSON value of the event's data,
    `text(name)` a text one."""
    return f"""UPDATE webhooks SET
        url = CASE NEW.type WHEN 'WebhookUpdated' THEN {text('url')} ELSE url END,
        event_types = CASE NEW.type WHEN 'WebhookUpdated' THEN {get('event_types')} ELSE event_types END,
        job_types = CASE NEW.type WHEN 'WebhookUpdated' THEN {get('job_types')} ELSE job_types END,
        description = CASE NEW.type WHEN 'WebhookUpdated' THEN {text('description')} ELSE description END,
        status = CASE NEW.type WHEN 'WebhookDisabled' THEN 'disabled' WHEN 'WebhookEnabled' THEN 'active'
            WHEN 'WebhookDeleted' THEN 'deleted' ELSE status END,
        disabled_reason = CASE NEW.type WHEN 'WebhookDisabled' THEN {text('reason')}
            WHEN 'WebhookEnabled' THEN NULL ELSE disabled_reason END,
        secret_id = CASE NEW.type WHEN 'WebhookSecretRotated' THEN {text('secret_id')} ELSE secret_id END,
        previous_secret_id = CASE NEW.type WHEN 'WebhookSecretRotated' THEN {text('previous_secret_id')}
            ELSE previous_secret_id END,
        previous_expires_at = CASE NEW.type WHEN 'WebhookSecretRotated' THEN {text('previous_expires_at')}
            ELSE previous_expires_at END,
        updated_at = NEW.recorded_at,
        version = NEW.version
    WHERE webhook_id = {text('webhook_id')} AND version < NEW.version"""


def _insert(get, text) -> str:
    return f"""INSERT INTO webhooks ({_COLUMNS}) VALUES (
        {text('webhook_id')}, {text('tenant')}, {text('url')}, {get('event_types')}, {get('job_types')},
        {text('description')}, 'active', {text('secret_id')}, NEW.position, NEW.recorded_at, NEW.recorded_at,
        NEW.version
    ) ON CONFLICT (webhook_id) DO NOTHING"""


def _pg_get(name: str) -> str:
    return f"NULLIF((NEW.data -> '{name}')::text, 'null')::json"


def _pg_text(name: str) -> str:
    return f"NEW.data ->> '{name}'"


def _sqlite_get(name: str) -> str:
    return f"json_extract(NEW.data, '$.{name}')"


POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION jobledger_webhook_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.type = 'WebhookCreated' THEN
            {_insert(_pg_get, _pg_text)};
        ELSE
            {_update(_pg_get, _pg_text)};
        END IF;
        RETURN NULL;
    END $$""",
    f"CREATE TRIGGER events_webhooks AFTER INSERT ON events FOR EACH ROW WHEN ({WHEN}) "
    "EXECUTE FUNCTION jobledger_webhook_event()",
]

SQLITE = [
    f"""CREATE TRIGGER events_webhooks_created AFTER INSERT ON events WHEN NEW.type = 'WebhookCreated' BEGIN
        {_insert(_sqlite_get, _sqlite_get)};
    END""",
    f"""CREATE TRIGGER events_webhooks_changed AFTER INSERT ON events
    WHEN {WHEN} AND NEW.type <> 'WebhookCreated' BEGIN
        {_update(_sqlite_get, _sqlite_get)};
    END""",
]

DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS events_webhooks ON events", "DROP FUNCTION IF EXISTS jobledger_webhook_event()"],
    "sqlite": ["DROP TRIGGER IF EXISTS events_webhooks_created", "DROP TRIGGER IF EXISTS events_webhooks_changed"],
}


def webhook_row(row) -> WebhookRow:
    """A webhooks row (both backends: JSON columns as text, times as the driver gives them)."""
    values = dict(row)
    for name in ("event_types", "job_types"):
        value = codec.loads(values[name]) if values[name] is not None else None
        values[name] = None if value is None else tuple(value)
    expires = values["previous_expires_at"]
    values["previous_expires_at"] = datetime.fromisoformat(expires) if expires else None
    return WebhookRow(**values)


def handed_over(deliveries, blocked: set, room: dict[str, int]) -> set[str]:
    """The ids of the deliveries a dispatcher may lease to its own sender as it queues them: the
    first of each (endpoint, job) with none of the same still pending (`blocked`), up to
    `room[endpoint]` per endpoint. The others wait for a claim (in log order, per job)."""
    seen, taken, left = set(blocked), set(), dict(room)
    for d in deliveries:
        pair = (d.webhook_id, d.job_id)
        if pair not in seen and left.get(d.webhook_id, 0) > 0:
            taken.add(d.delivery_id)
            left[d.webhook_id] -= 1
        seen.add(pair)
    return taken


def redacted(delivery, redact):
    """The delivery with `redact(event_type, body)` as its body, unless that is None (nothing to take out)."""
    body = redact(delivery.event_type, delivery.body)
    return delivery if body is None else replace(delivery, body=body)

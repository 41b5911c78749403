"""The schedules table as the log's read model: each tenant's schedule, its definition, status,
next fire time and latest fires, written by a trigger on the log's inserts of schedule events
(domain/schedule.py), in the same transaction, on every path that inserts events, on both backends.

`version` is the schedule's stream version the row has seen: a row only ever moves forward, and
one who holds the stream's append lock (eventlog/postgres/schedules.py) reads it as the stream's
head. A ScheduleCreated (a new schedule, or one made again after its delete) starts the row afresh.

Migration 0018 ran these statements: a change to them needs a migration of its own.
"""

from jobledger.domain import events
from jobledger.domain.schedule import RECENT_FIRES

CREATED = "'ScheduleCreated'"
_CHANGES = ", ".join(f"'{name}'" for name in events.SCHEDULE_EVENT_TYPES if name != "ScheduleCreated")
_FIRES = "'ScheduleFired', 'ScheduleFireSkipped'"
_COLUMNS = (
    "tenant, name, stream_id, status, config, paused_reason, next_fire_at, generation, last_job_id, last_fires, "
    "version, created_at, updated_at"
)
_AFRESH = (
    "status = 'active', config = excluded.config, paused_reason = NULL, next_fire_at = excluded.next_fire_at, "
    "generation = excluded.generation, last_job_id = NULL, last_fires = '[]', version = excluded.version, "
    "created_at = excluded.created_at, updated_at = excluded.updated_at"
)
_STATUS = (
    "CASE NEW.type WHEN 'SchedulePaused' THEN 'paused' WHEN 'ScheduleResumed' THEN 'active' "
    "WHEN 'ScheduleDeleted' THEN 'deleted' ELSE {t}.status END"
)

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION jobledger_schedule_event() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        d jsonb := NEW.data::jsonb;
    BEGIN
        IF NEW.type = {CREATED} THEN
            INSERT INTO schedules AS s ({_COLUMNS}) VALUES (
                d ->> 'tenant', d ->> 'name', NEW.stream_id, 'active', NEW.data -> 'config', NULL,
                (d ->> 'next_fire_at')::timestamptz, NEW.version, NULL, '[]', NEW.version, NEW.recorded_at,
                NEW.recorded_at
            )
            ON CONFLICT (tenant, name) DO UPDATE SET {_AFRESH.replace("excluded.", "EXCLUDED.")}
            WHERE s.version < EXCLUDED.version;
            RETURN NULL;
        END IF;
        UPDATE schedules AS s SET
            status = {_STATUS.format(t="s")},
            config = CASE NEW.type WHEN 'ScheduleUpdated' THEN NEW.data -> 'config' ELSE s.config END,
            paused_reason = CASE NEW.type WHEN 'SchedulePaused' THEN d ->> 'reason'
                WHEN 'ScheduleResumed' THEN NULL ELSE s.paused_reason END,
            next_fire_at = coalesce((d ->> 'next_fire_at')::timestamptz, s.next_fire_at),
            last_job_id = CASE NEW.type WHEN 'ScheduleFired' THEN (d ->> 'job_id')::uuid ELSE s.last_job_id END,
            last_fires = CASE WHEN NEW.type IN ({_FIRES}) THEN (
                SELECT (CASE WHEN jsonb_array_length(f) > {RECENT_FIRES} THEN f - 0 ELSE f END)::json
                FROM (SELECT s.last_fires::jsonb || jsonb_build_array(jsonb_build_object(
                    'fire_at', d -> 'fire_at', 'job_id', d -> 'job_id', 'skipped', d -> 'reason'
                )) AS f) AS added
            ) ELSE s.last_fires END,
            version = NEW.version,
            updated_at = NEW.recorded_at
        WHERE s.tenant = d ->> 'tenant' AND s.name = d ->> 'name' AND s.version < NEW.version;
        RETURN NULL;
    END $$""",
    f"CREATE TRIGGER events_schedules AFTER INSERT ON events FOR EACH ROW "
    f"WHEN (NEW.type IN ({CREATED}, {_CHANGES})) EXECUTE FUNCTION jobledger_schedule_event()",
]

_FIRE = (
    "json_object('fire_at', json_extract(NEW.data, '$.fire_at'), 'job_id', json_extract(NEW.data, '$.job_id'), "
    "'skipped', json_extract(NEW.data, '$.reason'))"
)
SQLITE = [
    f"""CREATE TRIGGER events_schedules_created AFTER INSERT ON events WHEN NEW.type = {CREATED} BEGIN
        INSERT INTO schedules ({_COLUMNS}) VALUES (
            json_extract(NEW.data, '$.tenant'), json_extract(NEW.data, '$.name'), NEW.stream_id, 'active',
            json_extract(NEW.data, '$.config'), NULL, json_extract(NEW.data, '$.next_fire_at'), NEW.version, NULL,
            '[]', NEW.version, NEW.recorded_at, NEW.recorded_at
        )
        ON CONFLICT (tenant, name) DO UPDATE SET {_AFRESH} WHERE schedules.version < excluded.version;
    END""",
    f"""CREATE TRIGGER events_schedules AFTER INSERT ON events WHEN NEW.type IN ({_CHANGES}) BEGIN
        UPDATE schedules SET
            status = {_STATUS.format(t="schedules")},
            config = CASE NEW.type WHEN 'ScheduleUpdated' THEN json_extract(NEW.data, '$.config') ELSE config END,
            paused_reason = CASE NEW.type WHEN 'SchedulePaused' THEN json_extract(NEW.data, '$.reason')
                WHEN 'ScheduleResumed' THEN NULL ELSE paused_reason END,
            next_fire_at = coalesce(json_extract(NEW.data, '$.next_fire_at'), next_fire_at),
            last_job_id = CASE NEW.type WHEN 'ScheduleFired'
                THEN replace(json_extract(NEW.data, '$.job_id'), '-', '') ELSE last_job_id END,
            last_fires = CASE WHEN NEW.type NOT IN ({_FIRES}) THEN last_fires
                WHEN json_array_length(last_fires) >= {RECENT_FIRES}
                THEN json_remove(json_insert(last_fires, '$[#]', {_FIRE}), '$[0]')
                ELSE json_insert(last_fires, '$[#]', {_FIRE}) END,
            version = NEW.version,
            updated_at = NEW.recorded_at
        WHERE tenant = json_extract(NEW.data, '$.tenant') AND name = json_extract(NEW.data, '$.name')
            AND version < NEW.version;
    END""",
]

DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS events_schedules ON events", "DROP FUNCTION IF EXISTS jobledger_schedule_event()"],
    "sqlite": ["DROP TRIGGER IF EXISTS events_schedules_created", "DROP TRIGGER IF EXISTS events_schedules"],
}

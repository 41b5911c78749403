"""The job types table as the log's read model: each tenant's type, its definition and whether it
is paused, written by a trigger on the log's inserts of job type events (domain/job_type.py).

A type's events (TypeDefined, TypePaused, TypeResumed) are appended like a job's; the trigger
writes the type's row in the same transaction, on every path that inserts events (appends,
`jobledger import`), on both backends. `version` is the type's stream version the row has seen:
a row is only ever moved forward. Rows registered before migration 0014 have version 0 and no
events; their history starts at their next change.

Migration 0014 ran these statements: a change to them needs a migration of its own.
"""

from jobledger.domain import events

_TYPES = ", ".join(f"'{name}'" for name in events.TYPE_EVENT_TYPES)
WHEN = f"NEW.type IN ({_TYPES})"  #: which inserted events the trigger acts on

POSTGRES = [
    """CREATE OR REPLACE FUNCTION jobledger_type_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO job_types AS t (tenant, name, config, updated_at, paused, paused_reason, version)
        VALUES (
            NEW.data ->> 'tenant', NEW.data ->> 'name',
            CASE NEW.type WHEN 'TypeDefined' THEN NEW.data -> 'config' ELSE '{}'::json END,
            NEW.recorded_at, NEW.type = 'TypePaused',
            CASE NEW.type WHEN 'TypePaused' THEN NEW.data ->> 'reason' END, NEW.version
        )
        ON CONFLICT (tenant, name) DO UPDATE SET
            config = CASE NEW.type WHEN 'TypeDefined' THEN EXCLUDED.config ELSE t.config END,
            paused = CASE NEW.type WHEN 'TypeDefined' THEN t.paused ELSE EXCLUDED.paused END,
            paused_reason = CASE NEW.type WHEN 'TypeDefined' THEN t.paused_reason ELSE EXCLUDED.paused_reason END,
            updated_at = EXCLUDED.updated_at,
            version = EXCLUDED.version
        WHERE t.version < EXCLUDED.version;
        RETURN NULL;
    END $$""",
    f"CREATE TRIGGER events_job_types AFTER INSERT ON events FOR EACH ROW WHEN ({WHEN}) "
    "EXECUTE FUNCTION jobledger_type_event()",
]

SQLITE = [
    f"""CREATE TRIGGER events_job_types AFTER INSERT ON events WHEN {WHEN} BEGIN
        INSERT INTO job_types (tenant, name, config, updated_at, paused, paused_reason, version)
        VALUES (
            json_extract(NEW.data, '$.tenant'), json_extract(NEW.data, '$.name'),
            CASE NEW.type WHEN 'TypeDefined' THEN json_extract(NEW.data, '$.config') ELSE '{{}}' END,
            NEW.recorded_at, NEW.type = 'TypePaused',
            CASE NEW.type WHEN 'TypePaused' THEN json_extract(NEW.data, '$.reason') END, NEW.version
        )
        ON CONFLICT (tenant, name) DO UPDATE SET
            config = CASE NEW.type WHEN 'TypeDefined' THEN excluded.config ELSE job_types.config END,
            paused = CASE NEW.type WHEN 'TypeDefined' THEN job_types.paused ELSE excluded.paused END,
            paused_reason = CASE NEW.type WHEN 'TypeDefined' THEN job_types.paused_reason ELSE excluded.paused_reason END,
            updated_at = excluded.updated_at,
            version = excluded.version
        WHERE job_types.version < excluded.version;
    END""",
]

DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS events_job_types ON events", "DROP FUNCTION IF EXISTS jobledger_type_event()"],
    "sqlite": ["DROP TRIGGER IF EXISTS events_job_types"],
}

"""The edges between jobs and their parents (job_edges) as the log's read model: written by a
trigger on the log's inserts of JobCreated events that name parents (`depends_on`), on every path
that inserts events (appends, `jobledger import`), on both backends, in the insert's transaction.

A child's parents are in its own document; the table answers the other way: a parent's children
(the release of waiting children when it ends, and GET /jobs/{id}/graph), by its primary key.
`REBUILD` makes the table again from the log alone.

Migration 0017 ran these statements: a change to them needs a migration of its own.
"""

WHEN = {  #: which inserted events the trigger acts on: a job created with parents
    "postgresql": "NEW.type = 'JobCreated' AND NEW.data ->> 'depends_on' IS NOT NULL",
    "sqlite": "NEW.type = 'JobCreated' AND json_extract(NEW.data, '$.depends_on') IS NOT NULL",
}

POSTGRES = [
    """CREATE OR REPLACE FUNCTION jobledger_job_edges() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO job_edges (parent, child, on_failure)
        SELECT (d ->> 'job')::uuid, NEW.stream_id, d ->> 'on_failure' FROM json_array_elements(NEW.data -> 'depends_on') d
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    f"CREATE TRIGGER events_job_edges AFTER INSERT ON events FOR EACH ROW WHEN ({WHEN['postgresql']}) "
    "EXECUTE FUNCTION jobledger_job_edges()",
]

# SQLite keeps a uuid as its 32 hex digits (SQLAlchemy's Uuid): the event's stream_id is, a JSON id is not yet
SQLITE = [
    f"""CREATE TRIGGER events_job_edges AFTER INSERT ON events WHEN {WHEN['sqlite']} BEGIN
        INSERT OR IGNORE INTO job_edges (parent, child, on_failure)
        SELECT replace(json_extract(d.value, '$.job'), '-', ''), NEW.stream_id, json_extract(d.value, '$.on_failure')
        FROM json_each(NEW.data, '$.depends_on') d;
    END""",
]

REBUILD = {  #: the table made again from the log's JobCreated events
    "postgresql": [
        "DELETE FROM job_edges",
        "INSERT INTO job_edges (parent, child, on_failure) SELECT (d ->> 'job')::uuid, e.stream_id, d ->> 'on_failure' "
        "FROM events e, json_array_elements(e.data -> 'depends_on') d "
        "WHERE e.type = 'JobCreated' AND e.data ->> 'depends_on' IS NOT NULL ON CONFLICT DO NOTHING",
    ],
    "sqlite": [
        "DELETE FROM job_edges",
        "INSERT OR IGNORE INTO job_edges (parent, child, on_failure) "
        "SELECT replace(json_extract(d.value, '$.job'), '-', ''), e.stream_id, json_extract(d.value, '$.on_failure') "
        "FROM events e, json_each(e.data, '$.depends_on') d "
        "WHERE e.type = 'JobCreated' AND json_extract(e.data, '$.depends_on') IS NOT NULL",
    ],
}

DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS events_job_edges ON events", "DROP FUNCTION IF EXISTS jobledger_job_edges()"],
    "sqlite": ["DROP TRIGGER IF EXISTS events_job_edges"],
}

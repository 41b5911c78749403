"""The metadata index: each job's metadata values, one row per key, so that a list filtered by
metadata (`GET /jobs?metadata.user_id=42`) reads the matching jobs newest first from an index
and never scans the status table.

job_metadata holds (tenant, key, value, created_position) for every scalar metadata value of
every job in job_status: a string as it is, a number or a boolean as its JSON text (`42`,
`1.5`, `true`). Objects, arrays, nulls, keys over MAX_KEY and values over MAX_VALUE
characters are not indexed, and no filter matches them. A job's metadata is fixed when it is
created, so the rows are written once, by triggers on job_status's inserts, and deleted with
the job's status row (retention). Both backends keep it the same way; a rebuild of job_status
puts the triggers back on the new table and fills in what is missing.

Migration 0013 ran these statements: a change to them needs a migration of its own.
"""

import orjson

MAX_KEY = 128  #: characters of a metadata key that can be filtered on
MAX_VALUE = 256  #: characters of a metadata value that can be filtered on
INDEX = "job_metadata_lookup"  #: (tenant, key, value, created_position): what a filtered list reads

# The index rows of the status rows in `rows` (a table or a trigger's transition table).
_PG_ROWS = f"""
    INSERT INTO job_metadata (job_id, key, tenant, value, created_position)
    SELECT c.job_id, m.key, c.tenant, m.text, c.created_position
    FROM {{rows}} c
    CROSS JOIN LATERAL (
        SELECT e.key, CASE json_typeof(e.value) WHEN 'string' THEN e.value #>> '{{{{}}}}' ELSE e.value::text END AS text
        FROM json_each(CASE json_typeof(c.doc -> 'metadata') WHEN 'object' THEN c.doc -> 'metadata' ELSE '{{{{}}}}' END) e
        WHERE json_typeof(e.value) IN ('string', 'number', 'boolean')
    ) m
    WHERE length(m.key) <= {MAX_KEY} AND length(m.text) <= {MAX_VALUE}
    ON CONFLICT DO NOTHING
"""
_SQLITE_TEXT = "CASE e.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(e.value AS TEXT) END"
_SQLITE_ROWS = f"""
    INSERT OR IGNORE INTO job_metadata (job_id, key, tenant, value, created_position)
    SELECT {{row}}.job_id, e.key, {{row}}.tenant, {_SQLITE_TEXT}, {{row}}.created_position
    FROM {{source}}json_each(
        CASE json_type({{row}}.doc, '$.metadata') WHEN 'object' THEN json_extract({{row}}.doc, '$.metadata') ELSE '{{{{}}}}' END
    ) e
    WHERE e.type IN ('text', 'integer', 'real', 'true', 'false')
      AND length(e.key) <= {MAX_KEY} AND length({_SQLITE_TEXT}) <= {MAX_VALUE}
"""

POSTGRES = [
    f"""CREATE OR REPLACE FUNCTION jobledger_metadata_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_PG_ROWS.format(rows="created")};
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION jobledger_metadata_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM job_metadata m USING removed r WHERE m.job_id = r.job_id;
        RETURN NULL;
    END $$""",
]
POSTGRES_TRIGGERS = [
    "CREATE TRIGGER job_status_metadata_added AFTER INSERT ON job_status REFERENCING NEW TABLE AS created "
    "FOR EACH STATEMENT EXECUTE FUNCTION jobledger_metadata_added()",
    "CREATE TRIGGER job_status_metadata_removed AFTER DELETE ON job_status REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION jobledger_metadata_removed()",
]
POSTGRES_FILL = _PG_ROWS.format(rows="job_status")

SQLITE_TRIGGERS = [
    "CREATE TRIGGER job_status_metadata_added AFTER INSERT ON job_status BEGIN"
    + _SQLITE_ROWS.format(row="NEW", source="")
    + "; END",
    "CREATE TRIGGER job_status_metadata_removed AFTER DELETE ON job_status BEGIN "
    "DELETE FROM job_metadata WHERE job_id = OLD.job_id; END",
]
SQLITE_FILL = _SQLITE_ROWS.format(row="c", source="job_status c, ")


Pairs = frozenset[tuple[str, str]]  #: (key, value text) pairs: a filter holds for a job whose pairs include them


def pairs(values: dict) -> Pairs:
    """A job's metadata as the index holds it (the triggers' rule, for live subscriptions): each
    scalar value as text (a string as it is, a number or a boolean as its JSON text)."""
    found = []
    for key, value in values.items():
        if isinstance(value, str):
            text = value
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            text = orjson.dumps(value).decode()  # as the document's JSON wrote it
        else:
            continue
        if len(key) <= MAX_KEY and len(text) <= MAX_VALUE:
            found.append((key, text))
    return frozenset(found)

"""events and job_status, and the PostgreSQL append function

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
_active = sa.text("status IN ('queued', 'running')")

# One round trip and one commit per group-committed batch. Position order must equal
# commit order (DESIGN invariant 3) and PostgreSQL sequences commit out of order, so
# every append takes this transaction-level advisory lock (key 0x6A6F626C, "jobl")
# before it draws positions and holds it until it commits: a batch's positions are
# visible before the next batch can draw any. It is held for one short batch only.
APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION jobledger_append(
    p_streams uuid[], p_expected int[], p_counts int[], p_states json[],
    e_types text[], e_schema smallint[], e_data jsonb[], e_meta jsonb[], e_at timestamptz[]
) RETURNS TABLE (idx int, current_version int, positions bigint[])
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1785684588);
    -- Set-based: three statements per batch, whatever its size. The caller never puts
    -- two appends to one stream in the same batch.
    RETURN QUERY
    WITH req AS (
        SELECT r.i::int AS i, r.stream, r.expected, r.n, r.state,
               (sum(r.n) OVER (ORDER BY r.i) - r.n)::int AS off,
               coalesce((SELECT max(e.version) FROM events e WHERE e.stream_id = r.stream), 0) AS cur
        FROM unnest(p_streams, p_expected, p_counts, p_states) WITH ORDINALITY AS r(stream, expected, n, state, i)
    ),
    ok AS (SELECT * FROM req WHERE req.cur = req.expected),
    ins AS (
        INSERT INTO events (stream_id, version, type, schema_version, data, metadata, recorded_at)
        SELECT ok.stream, ok.expected + (ev.k - ok.off)::int, ev.type, ev.schema, ev.data, ev.meta, ev.at
        FROM unnest(e_types, e_schema, e_data, e_meta, e_at) WITH ORDINALITY AS ev(type, schema, data, meta, at, k)
        JOIN ok ON ev.k > ok.off AND ev.k <= ok.off + ok.n
        ORDER BY ev.k
        RETURNING events.stream_id, events.position
    ),
    pos AS (
        SELECT ins.stream_id, array_agg(ins.position ORDER BY ins.position) AS positions
        FROM ins GROUP BY ins.stream_id
    ),
    upsert AS (
        INSERT INTO job_status AS s (
            job_id, tenant, type, status, priority, run_at, expires_at, lease_expires_at,
            created_at, updated_at, version, created_position, last_position, doc)
        SELECT r.job_id, r.tenant, r.type, r.status, r.priority, r.run_at, r.expires_at,
               r.lease_expires_at, r.created_at, r.updated_at, r.version,
               pos.positions[1], pos.positions[array_length(pos.positions, 1)], r.doc
        FROM ok JOIN pos ON pos.stream_id = ok.stream
        CROSS JOIN LATERAL json_populate_record(NULL::job_status, ok.state) AS r
        WHERE ok.state IS NOT NULL
        ON CONFLICT (job_id) DO UPDATE SET
            status = EXCLUDED.status, priority = EXCLUDED.priority, run_at = EXCLUDED.run_at,
            expires_at = EXCLUDED.expires_at, lease_expires_at = EXCLUDED.lease_expires_at,
            updated_at = EXCLUDED.updated_at, version = EXCLUDED.version,
            last_position = EXCLUDED.last_position, doc = EXCLUDED.doc
        RETURNING 1
    ),
    notify AS (
        -- One notification per committed batch: NOTIFY takes a global lock at commit.
        SELECT pg_notify('jobledger_events', max(ins.position)::text) FROM ins HAVING count(*) > 0
    )
    SELECT req.i, CASE WHEN pos.positions IS NULL THEN req.cur ELSE req.cur + req.n END, pos.positions
    FROM req LEFT JOIN pos ON pos.stream_id = req.stream AND req.cur = req.expected
    CROSS JOIN (SELECT count(*) FROM upsert) AS u
    CROSS JOIN (SELECT count(*) FROM notify) AS nt
    ORDER BY req.i;
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", _position, sa.Identity(always=False), primary_key=True),
        sa.Column("stream_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("schema_version", sa.SmallInteger(), nullable=False),
        sa.Column("data", _json, nullable=False),
        sa.Column("metadata", _json, nullable=False),
        sa.Column("recorded_at", _time, nullable=False),
        sa.UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "job_status",
        sa.Column("job_id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("run_at", _time),
        sa.Column("expires_at", _time, nullable=False),
        sa.Column("lease_expires_at", _time),
        sa.Column("created_at", _time, nullable=False),
        sa.Column("updated_at", _time, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_position", sa.BigInteger(), nullable=False),
        sa.Column("last_position", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),  # json, not jsonb: kept as written, key order too
    )
    op.create_index("job_status_created", "job_status", ["created_position"])
    op.create_index("job_status_status_created", "job_status", ["status", "created_position"])
    op.create_index("job_status_type_created", "job_status", ["type", "created_position"])
    op.create_index("job_status_expiry", "job_status", ["expires_at"], postgresql_where=_active, sqlite_where=_active)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS jobledger_append")
    op.drop_table("job_status")
    op.drop_table("events")

"""events and job_status, and the PostgreSQL append function

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")
_active = sa.text("status IN ('queued', 'running')")

# One round trip and one commit per group-committed batch. Each event's hash chains the
# job's previous hash with the event's digest (computed by the caller, eventlog.chain).
# Position order must equal
# commit order (DESIGN invariant 3) and PostgreSQL sequences commit out of order, so
# every append takes this transaction-level advisory lock (key 0x6A6F626C, "jobl")
# before it draws positions and holds it until it commits: a batch's positions are
# visible before the next batch can draw any. It is held for one short batch only.
APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION jobledger_append(
    p_streams uuid[], p_expected int[], p_counts int[], p_states json[],
    e_types text[], e_schema smallint[], e_data json[], e_meta json[], e_at timestamptz[], e_digest bytea[]
) RETURNS TABLE (idx int, current_version int, positions bigint[], hashes text[])
LANGUAGE plpgsql AS $$
DECLARE
    n int := coalesce(array_length(p_streams, 1), 0);
    total int := coalesce(array_length(e_types, 1), 0);
    cur int[];
    prev text[];
    ev_stream uuid[] := array_fill(NULL::uuid, ARRAY[total]);
    ev_version int[] := array_fill(NULL::int, ARRAY[total]);
    ev_hash text[] := array_fill(NULL::text, ARRAY[total]);
    i int;
    j int;
    k int := 0;
    h bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(1785684588);
    -- The caller never puts two appends to one stream in the same batch.
    SELECT array_agg(coalesce(m.version, 0) ORDER BY r.i), array_agg(coalesce(m.hash, '') ORDER BY r.i)
    INTO cur, prev
    FROM unnest(p_streams) WITH ORDINALITY AS r(s, i)
    LEFT JOIN LATERAL (
        SELECT e.version, e.hash FROM events e WHERE e.stream_id = r.s ORDER BY e.version DESC LIMIT 1
    ) m ON true;
    FOR i IN 1 .. n LOOP
        h := decode(prev[i], 'hex');
        FOR j IN 1 .. p_counts[i] LOOP
            k := k + 1;
            IF cur[i] = p_expected[i] THEN
                h := sha256(h || e_digest[k]);
                ev_stream[k] := p_streams[i];
                ev_version[k] := cur[i] + j;
                ev_hash[k] := encode(h, 'hex');
            END IF;
        END LOOP;
    END LOOP;
    RETURN QUERY
    WITH ins AS (
        INSERT INTO events (stream_id, version, type, schema_version, data, metadata, recorded_at, hash)
        SELECT ev.s, ev.v, ev.t, ev.sc, ev.d, ev.m, ev.a, ev.h
        FROM unnest(ev_stream, ev_version, e_types, e_schema, e_data, e_meta, e_at, ev_hash)
             WITH ORDINALITY AS ev(s, v, t, sc, d, m, a, h, k)
        WHERE ev.s IS NOT NULL
        ORDER BY ev.k
        RETURNING events.stream_id, events.position, events.hash
    ),
    pos AS (
        SELECT ins.stream_id, array_agg(ins.position ORDER BY ins.position) AS positions,
               array_agg(ins.hash ORDER BY ins.position) AS hashes
        FROM ins GROUP BY ins.stream_id
    ),
    upsert AS (
        INSERT INTO job_status AS s (
            job_id, tenant, type, status, priority, run_at, expires_at, lease_expires_at,
            created_at, updated_at, version, created_position, last_position, doc)
        SELECT x.job_id, x.tenant, x.type, x.status, x.priority, x.run_at, x.expires_at,
               x.lease_expires_at, x.created_at, x.updated_at, x.version,
               pos.positions[1], pos.positions[array_length(pos.positions, 1)], x.doc
        FROM unnest(p_streams, p_states) AS r(s, st)
        JOIN pos ON pos.stream_id = r.s
        CROSS JOIN LATERAL json_populate_record(NULL::job_status, r.st) AS x
        WHERE r.st IS NOT NULL
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
    SELECT r.i::int, CASE WHEN pos.positions IS NULL THEN cur[r.i] ELSE cur[r.i] + p_counts[r.i] END,
           pos.positions, pos.hashes
    FROM unnest(p_streams) WITH ORDINALITY AS r(s, i)
    LEFT JOIN pos ON pos.stream_id = r.s
    CROSS JOIN (SELECT count(*) FROM upsert) AS u
    CROSS JOIN (SELECT count(*) FROM notify) AS nt
    ORDER BY r.i;
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
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("recorded_at", _time, nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
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

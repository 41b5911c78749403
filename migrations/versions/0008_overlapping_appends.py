"""appends commit side by side: events.tx, per-job locks, positions drawn under a short lock

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Until 0007 every append held one advisory lock from drawing its positions until its
commit, so that position order was commit order (DESIGN invariant 3). Batches could
therefore never share a WAL flush, and NOTIFY (which also serialises commits) sat
inside that lock. Now:

- an append locks only the jobs it writes (two appends to one job still wait for each
  other, so a job's versions follow its positions);
- its transaction id and its positions are drawn together under a lock held for
  microseconds, not through the commit: a transaction with a smaller id always has
  smaller positions;
- each event keeps its transaction id (`tx`), and a follower reads only events whose
  transaction is older than every transaction still running (the snapshot's xmin).
  Those are exactly the events no still-running append can come before, so a reader of
  `position > N` still never skips one (eventlog/postgres/log.py, `SETTLED`);
- NOTIFY is sent after the commit, by the store, once per wake-up.

A rebuild's swap or an import still stops every append: appends hold the old lock key
shared, and those take it exclusive.
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ARGUMENTS = "uuid[], int[], int[], json[], text[], smallint[], json[], json[], timestamptz[], bytea[]"
APPEND_FUNCTION = """
CREATE FUNCTION jobledger_append(
    p_streams uuid[], p_expected int[], p_counts int[], p_states json[],
    e_types text[], e_schema smallint[], e_data json[], e_meta json[], e_at timestamptz[], e_digest bytea[]
) RETURNS TABLE (current_versions int[], positions bigint[], hashes text[])
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    n int := coalesce(array_length(p_streams, 1), 0);
    total int := coalesce(array_length(e_types, 1), 0);
    cur int[];
    prev text[];
    ev_stream uuid[] := array_fill(NULL::uuid, ARRAY[total]);
    ev_version int[] := array_fill(NULL::int, ARRAY[total]);
    ev_hash text[] := array_fill(NULL::text, ARRAY[total]);
    ev_position bigint[] := array_fill(NULL::bigint, ARRAY[total]);
    first_position bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    last_position bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    i int;
    j int;
    k int := 0;
    h bytea;
    accepted int := 0;
    next_position bigint;
    tx bigint;
    stream_key int;
BEGIN
    -- The transaction id is drawn below, under the sequencing lock: a write before this
    -- call would have drawn it already, out of step with the positions.
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'jobledger_append must be the first write of its transaction';
    END IF;
    -- Shared: appends run side by side; a rebuild's swap or an import takes it exclusive.
    PERFORM pg_advisory_xact_lock_shared(1785684588);
    -- One append per job at a time, on any instance, held to the commit: the version read
    -- below is the job's last committed one. Taken in key order, so batches never deadlock.
    FOR stream_key IN SELECT DISTINCT uuid_hash(s) FROM unnest(p_streams) AS s ORDER BY 1 LOOP
        PERFORM pg_advisory_xact_lock(1785684589, stream_key);
    END LOOP;
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
                accepted := accepted + 1;
            END IF;
        END LOOP;
    END LOOP;
    IF accepted > 0 THEN
        -- The sequencing lock, session-level so that it is let go before the commit: the
        -- transaction id and the positions are drawn together, so a transaction with a
        -- smaller id has smaller positions. Nothing else happens while it is held.
        PERFORM pg_advisory_lock(1785684590);
        BEGIN
            tx := pg_current_xact_id()::text::bigint;
            next_position := nextval('events_position_seq');
            IF accepted > 1 THEN
                PERFORM setval('events_position_seq', next_position + accepted - 1);
            END IF;
        EXCEPTION WHEN OTHERS OR query_canceled THEN
            PERFORM pg_advisory_unlock(1785684590);
            RAISE;
        END;
        PERFORM pg_advisory_unlock(1785684590);
        k := 0;
        FOR i IN 1 .. n LOOP
            FOR j IN 1 .. p_counts[i] LOOP
                k := k + 1;
                IF ev_stream[k] IS NOT NULL THEN
                    ev_position[k] := next_position;
                    first_position[i] := coalesce(first_position[i], next_position);
                    last_position[i] := next_position;
                    next_position := next_position + 1;
                END IF;
            END LOOP;
        END LOOP;
        INSERT INTO events (position, stream_id, version, type, schema_version, data, metadata, recorded_at, hash, tx)
        SELECT ev.p, ev.s, ev.v, ev.t, ev.sc, ev.d, ev.m, ev.a, ev.h, tx
        FROM unnest(ev_position, ev_stream, ev_version, e_types, e_schema, e_data, e_meta, e_at, ev_hash)
             AS ev(p, s, v, t, sc, d, m, a, h)
        WHERE ev.s IS NOT NULL;
        INSERT INTO job_status AS s (
            job_id, tenant, type, status, priority, run_at, expires_at, lease_expires_at,
            created_at, updated_at, finished_at, version, created_position, last_position, doc)
        SELECT x.job_id, x.tenant, x.type, x.status, x.priority, x.run_at, x.expires_at,
               x.lease_expires_at, x.created_at, x.updated_at, x.finished_at, x.version, r.f, r.l, x.doc
        FROM unnest(p_states, first_position, last_position) AS r(st, f, l)
        CROSS JOIN LATERAL json_populate_record(NULL::job_status, r.st) AS x
        WHERE r.st IS NOT NULL AND r.f IS NOT NULL
        ON CONFLICT (job_id) DO UPDATE SET
            status = EXCLUDED.status, priority = EXCLUDED.priority, run_at = EXCLUDED.run_at,
            expires_at = EXCLUDED.expires_at, lease_expires_at = EXCLUDED.lease_expires_at,
            updated_at = EXCLUDED.updated_at, finished_at = EXCLUDED.finished_at, version = EXCLUDED.version,
            last_position = EXCLUDED.last_position, doc = EXCLUDED.doc;
    END IF;
    -- One row: each append's version before it (it was refused where that is not the one
    -- expected), and each event's position and hash (null where refused).
    current_versions := cur;
    positions := ev_position;
    hashes := ev_hash;
    RETURN NEXT;
END
$$;
"""


def upgrade() -> None:
    # A constant default: no table rewrite. Rows from before are settled (0 is older than any xmin).
    op.add_column("events", sa.Column("tx", sa.BigInteger(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION jobledger_append({_ARGUMENTS})")  # its result changes shape
        op.execute(APPEND_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION jobledger_append({_ARGUMENTS})")
        op.execute(_revision_0007().append_function())
    op.drop_column("events", "tx")


def _revision_0007():
    """0007's module, loaded by its path (a module name cannot start with a digit)."""
    spec = importlib.util.spec_from_file_location("jobledger_migration_0007", Path(__file__).with_name("0007_finished_at.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""jobledger_append takes the status rows as typed columns; job_status leaves room for HOT updates

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

Until 0008 each status row reached jobledger_append as one JSON object (its columns and its
document together), which PostgreSQL parsed three times: as a `json` parameter, in
`json_populate_record`, and again as the `doc` column's input. That was half of the
function's time (pg_stat_statements under bench/throughput.py: 67 us a row of the status
upsert against 12 us an event). Now the columns come as arrays of their own types and the
document as one `json` value each, parsed once. The function is otherwise 0008's (the per-job
locks are taken in one statement instead of a loop, and a batch without status rows skips
their statement); its rules are unchanged.

job_status gets fillfactor 70 (a rebuilt table had it already, eventlog/shadow.py): a progress
report or heartbeat changes no indexed column, and with room left on its page PostgreSQL
updates the row in place (HOT) instead of writing into every index.
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ARGUMENTS_0008 = "uuid[], int[], int[], json[], text[], smallint[], json[], json[], timestamptz[], bytea[]"
_ARGUMENTS = (
    "uuid[], int[], int[], text[], smallint[], json[], json[], timestamptz[], bytea[], "
    "text[], text[], text[], int[], timestamptz[], timestamptz[], timestamptz[], timestamptz[], timestamptz[], "
    "timestamptz[], json[]"
)
APPEND_FUNCTION = """
CREATE FUNCTION jobledger_append(
    p_streams uuid[], p_expected int[], p_counts int[],
    e_types text[], e_schema smallint[], e_data json[], e_meta json[], e_at timestamptz[], e_digest bytea[],
    s_tenant text[], s_type text[], s_status text[], s_priority int[], s_run_at timestamptz[],
    s_expires_at timestamptz[], s_lease_expires_at timestamptz[], s_created_at timestamptz[],
    s_updated_at timestamptz[], s_finished_at timestamptz[], s_doc json[]
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
    PERFORM pg_advisory_xact_lock(1785684589, x.key)
    FROM (SELECT DISTINCT uuid_hash(s) AS key FROM unnest(p_streams) AS s ORDER BY 1) AS x;
    -- The caller never puts two appends to one stream in the same batch.
    SELECT array_agg(coalesce(m.version, 0) ORDER BY r.i), array_agg(coalesce(m.hash, '') ORDER BY r.i)
    INTO cur, prev
    FROM unnest(p_streams) WITH ORDINALITY AS r(s, i)
    LEFT JOIN LATERAL (
        SELECT e.version, e.hash FROM events e WHERE e.stream_id = r.s ORDER BY e.version DESC LIMIT 1
    ) m ON true;
    SELECT coalesce(sum(x.c), 0) INTO accepted
    FROM unnest(cur, p_expected, p_counts) AS x(v, e, c) WHERE x.v = x.e;
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
        -- Each accepted event's version, position and hash (its job's chain, on from the last one).
        FOR i IN 1 .. n LOOP
            IF cur[i] = p_expected[i] AND p_counts[i] > 0 THEN
                h := decode(prev[i], 'hex');
                first_position[i] := next_position;
                FOR j IN 1 .. p_counts[i] LOOP
                    k := k + 1;
                    h := sha256(h || e_digest[k]);
                    ev_stream[k] := p_streams[i];
                    ev_version[k] := cur[i] + j;
                    ev_hash[k] := encode(h, 'hex');
                    ev_position[k] := next_position;
                    next_position := next_position + 1;
                END LOOP;
                last_position[i] := next_position - 1;
            ELSE
                k := k + p_counts[i];
            END IF;
        END LOOP;
        INSERT INTO events (position, stream_id, version, type, schema_version, data, metadata, recorded_at, hash, tx)
        SELECT ev.p, ev.s, ev.v, ev.t, ev.sc, ev.d, ev.m, ev.a, ev.h, tx
        FROM unnest(ev_position, ev_stream, ev_version, e_types, e_schema, e_data, e_meta, e_at, ev_hash)
             AS ev(p, s, v, t, sc, d, m, a, h)
        WHERE ev.s IS NOT NULL;
    END IF;
    -- An accepted append with a document writes its job's row (version: expected + count).
    -- A batch with no documents at all sends no arrays (and skips the statement's set-up).
    IF accepted > 0 AND s_doc IS NOT NULL THEN
        INSERT INTO job_status AS s (
            job_id, tenant, type, status, priority, run_at, expires_at, lease_expires_at,
            created_at, updated_at, finished_at, version, created_position, last_position, doc)
        SELECT r.id, r.tenant, r.type, r.status, r.priority, r.run_at, r.expires_at, r.lease_expires_at,
               r.created_at, r.updated_at, r.finished_at, r.expected + r.count, r.f, r.l, r.doc
        FROM unnest(p_streams, p_expected, p_counts, s_tenant, s_type, s_status, s_priority, s_run_at,
                    s_expires_at, s_lease_expires_at, s_created_at, s_updated_at, s_finished_at, s_doc,
                    first_position, last_position)
             AS r(id, expected, count, tenant, type, status, priority, run_at, expires_at, lease_expires_at,
                  created_at, updated_at, finished_at, doc, f, l)
        WHERE r.doc IS NOT NULL AND r.f IS NOT NULL
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
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION jobledger_append({_ARGUMENTS_0008})")
        op.execute(APPEND_FUNCTION)
        op.execute("ALTER TABLE job_status SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE job_status RESET (fillfactor)")
        op.execute(f"DROP FUNCTION jobledger_append({_ARGUMENTS})")
        op.execute(_revision_0008().APPEND_FUNCTION)


def _revision_0008():
    """0008's module, loaded by its path (a module name cannot start with a digit)."""
    path = Path(__file__).with_name("0008_overlapping_appends.py")
    spec = importlib.util.spec_from_file_location("jobledger_migration_0008", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""jobledger_append takes typed status rows and the hashes its caller worked out; set-based writes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

Until 0008 each status row reached jobledger_append as one JSON object (its columns and its
document together), which PostgreSQL parsed three times: as a `json` parameter, in
`json_populate_record`, and again as the `doc` column's input. That was half of the
function's time (pg_stat_statements under bench/throughput.py: 67 us a row of the status
upsert against 12 us an event). Now the columns come as arrays of their own types and the
document as one `json` value each, parsed once.

Two loops in PL/pgSQL ran over every event (13 statements an event). Now the caller sends
each event's version, the append it belongs to, and its hash where it could work that out
(a new job's chain starts empty, and the store remembers the last hash of the jobs it
wrote); the function computes only the hashes the caller left out, and gives the events
their positions in the INSERT itself. It answers the first position; the others follow
it, accepted event by accepted event, in the order sent.

The rules are 0008's: the same locks (the per-job ones now taken in one statement), the
same version check, the same sequencing of transaction ids and positions. A batch without
status rows skips their statement.

job_status gets fillfactor 70 (a rebuilt table had it already, eventlog/shadow.py): a progress
report or heartbeat changes no indexed column, and with room left on its page PostgreSQL
updates the row in place (HOT) instead of writing into every index. So does projection_rows,
whose documents are rewritten on every save (3% of those updates were HOT with full pages).
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
    "uuid[], int[], int[], int[], int[], text[], smallint[], json[], json[], timestamptz[], bytea[], text[], "
    "text[], text[], text[], int[], timestamptz[], timestamptz[], timestamptz[], timestamptz[], timestamptz[], "
    "timestamptz[], json[]"
)
APPEND_FUNCTION = """
CREATE FUNCTION jobledger_append(
    p_streams uuid[], p_expected int[], p_counts int[],
    e_index int[], e_version int[], e_types text[], e_schema smallint[], e_data json[], e_meta json[],
    e_at timestamptz[], e_digest bytea[], e_hash text[],
    s_tenant text[], s_type text[], s_status text[], s_priority int[], s_run_at timestamptz[],
    s_expires_at timestamptz[], s_lease_expires_at timestamptz[], s_created_at timestamptz[],
    s_updated_at timestamptz[], s_finished_at timestamptz[], s_doc json[]
) RETURNS TABLE (current_versions int[], first_position bigint, hashes text[])
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    n int := coalesce(array_length(p_streams, 1), 0);
    cur int[];
    prev text[];
    i int;
    j int;
    k int := 0;
    h bytea;
    accepted int;
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
    SELECT coalesce(sum(a.c), 0) INTO accepted FROM unnest(cur, p_expected, p_counts) AS a(v, e, c) WHERE a.v = a.e;
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
        -- The hash chains the caller could not work out (it did not know the job's last hash).
        FOR i IN 1 .. n LOOP
            IF p_counts[i] > 0 AND cur[i] = p_expected[i] AND e_hash[k + 1] IS NULL THEN
                h := decode(prev[i], 'hex');
                FOR j IN k + 1 .. k + p_counts[i] LOOP
                    h := sha256(h || e_digest[j]);
                    e_hash[j] := encode(h, 'hex');
                END LOOP;
            END IF;
            k := k + p_counts[i];
        END LOOP;
        -- The accepted events, positions in order from next_position.
        INSERT INTO events (position, stream_id, version, type, schema_version, data, metadata, recorded_at, hash, tx)
        SELECT next_position - 1 + row_number() OVER (ORDER BY ev.k), p_streams[ev.i], ev.v, ev.t, ev.sc, ev.d,
               ev.m, ev.at, ev.h, tx
        FROM unnest(e_index, e_version, e_types, e_schema, e_data, e_meta, e_at, e_hash)
             WITH ORDINALITY AS ev(i, v, t, sc, d, m, at, h, k)
        WHERE cur[ev.i] = p_expected[ev.i];
    END IF;
    -- An accepted append with a document writes its job's row (version: expected + count).
    -- A batch with no documents at all sends no arrays (and skips the statement's set-up).
    IF accepted > 0 AND s_doc IS NOT NULL THEN
        INSERT INTO job_status AS s (
            job_id, tenant, type, status, priority, run_at, expires_at, lease_expires_at,
            created_at, updated_at, finished_at, version, created_position, last_position, doc)
        SELECT r.id, r.tenant, r.type, r.status, r.priority, r.run_at, r.expires_at, r.lease_expires_at,
               r.created_at, r.updated_at, r.finished_at, r.e + r.c, r.f, r.f + r.c - 1, r.doc
        FROM (SELECT r.*, next_position + sum(r.c) OVER (ORDER BY r.i) - r.c AS f
              FROM unnest(p_streams, cur, p_expected, p_counts, s_tenant, s_type, s_status, s_priority, s_run_at,
                          s_expires_at, s_lease_expires_at, s_created_at, s_updated_at, s_finished_at, s_doc)
                   WITH ORDINALITY AS r(id, v, e, c, tenant, type, status, priority, run_at, expires_at,
                                        lease_expires_at, created_at, updated_at, finished_at, doc, i)
              WHERE r.v = r.e AND r.c > 0) AS r
        WHERE r.doc IS NOT NULL
        ON CONFLICT (job_id) DO UPDATE SET
            status = EXCLUDED.status, priority = EXCLUDED.priority, run_at = EXCLUDED.run_at,
            expires_at = EXCLUDED.expires_at, lease_expires_at = EXCLUDED.lease_expires_at,
            updated_at = EXCLUDED.updated_at, finished_at = EXCLUDED.finished_at, version = EXCLUDED.version,
            last_position = EXCLUDED.last_position, doc = EXCLUDED.doc;
    END IF;
    -- One row: each append's version before it (it was refused where that is not the one
    -- expected), the first accepted event's position (the others follow it, in order), and
    -- each event's hash.
    current_versions := cur;
    first_position := next_position;
    hashes := e_hash;
    RETURN NEXT;
END
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION jobledger_append({_ARGUMENTS_0008})")
        op.execute(APPEND_FUNCTION)
        op.execute("ALTER TABLE job_status SET (fillfactor = 70)")
        op.execute("ALTER TABLE projection_rows SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE job_status RESET (fillfactor)")
        op.execute("ALTER TABLE projection_rows RESET (fillfactor)")
        op.execute(f"DROP FUNCTION jobledger_append({_ARGUMENTS})")
        op.execute(_revision_0008().APPEND_FUNCTION)


def _revision_0008():
    """0008's module, loaded by its path (a module name cannot start with a digit)."""
    path = Path(__file__).with_name("0008_overlapping_appends.py")
    spec = importlib.util.spec_from_file_location("jobledger_migration_0008", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

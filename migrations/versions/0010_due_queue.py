"""the queue indexes hold each job's due time after its priority; PostgreSQL reads a claim's candidates in one call

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Until 0009 the queue indexes held (priority, created_position), and a claim stepped over
every job not yet due (a run_at in the future, a retry waiting out its backoff) that sat
before the due ones: with 20,000 jobs scheduled for later, each claim read all of them
(7 to 12 ms a claim, against 1.5 to 3 ms), and claims take turns.

Now the indexes hold (priority, due time, created_position), the due time being run_at
where that is later than the creation, else the creation. Within one priority the due
jobs come first, so a claim reads a priority's due jobs and stops at the first that is
not due; it moves to the next lower priority by one index descent. It does so for the
first 8 priorities; below them one scan steps over the jobs not due, within the index
(with as many priorities as jobs, a descent each would cost more than the steps). Claims
take the highest priority first, then the longest due (a retry queues again behind the
jobs that were due before its backoff ended), then the first logged.

On PostgreSQL, `jobledger_claim_candidates` takes the claim lock and reads every scan of
a claim (one per named type, or one across types) in one call. Its planner settings
(no sort, no bitmap scan: a queue fills faster than ANALYZE follows) end with the call,
so the claim no longer sets them and puts them back in statements of their own.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_queued = sa.text("status = 'queued'")
_DUE_AT = {
    "postgresql": "greatest(run_at, created_at)",
    "sqlite": "max(coalesce(run_at, created_at), created_at)",
}
PRIORITIES_ONE_AT_A_TIME = 8
_COLUMNS = (
    "s.type, s.job_id, s.version, s.last_position, s.doc::text, s.priority, greatest(s.run_at, s.created_at), "
    "s.created_position"
)
_DUE = "greatest(s.run_at, s.created_at) <= p_now AND s.expires_at > p_now AND (p_tenant IS NULL OR s.tenant = p_tenant)"
CANDIDATES_FUNCTION = f"""
CREATE FUNCTION jobledger_claim_candidates(
    p_now timestamptz, p_types text[], p_limits int[], p_leave_out text[], p_tenant text
) RETURNS TABLE (
    type text, job_id uuid, version int, last_position bigint, doc text, priority int, due_at timestamptz,
    created_position bigint
)
LANGUAGE plpgsql SET enable_sort = off SET enable_bitmapscan = off AS $$
#variable_conflict use_column
DECLARE
    t text;
    p bigint;
    got int;
    n int;
    k int;
BEGIN
    -- Claims take turns: no two get the same job, and per-type running counts stay exact.
    PERFORM pg_advisory_xact_lock(1785684591);
    -- Scan i reads up to p_limits[i] due jobs of the type p_types[i], or, where that is
    -- NULL, of any type but p_leave_out, in claim order, from the highest priority down
    -- (priorities are 32-bit). The first {PRIORITIES_ONE_AT_A_TIME} priorities are read one at a time, each
    -- from its first due job to its last, skipping the jobs not due; below them, one scan
    -- steps over the jobs not due (with many priorities, a descent each would cost more).
    FOR i IN 1 .. coalesce(array_length(p_types, 1), 0) LOOP
        t := p_types[i];
        got := 0;
        k := 0;
        p := 2147483648;
        WHILE got < p_limits[i] LOOP
            IF k = {PRIORITIES_ONE_AT_A_TIME} THEN
                IF t IS NOT NULL THEN
                    RETURN QUERY SELECT {_COLUMNS} FROM job_status s
                    WHERE s.status = 'queued' AND s.type = t AND s.priority < p AND {_DUE}
                    ORDER BY s.priority DESC, greatest(s.run_at, s.created_at), s.created_position
                    LIMIT p_limits[i] - got;
                ELSE
                    RETURN QUERY SELECT {_COLUMNS} FROM job_status s
                    WHERE s.status = 'queued' AND NOT (s.type = ANY(p_leave_out)) AND s.priority < p AND {_DUE}
                    ORDER BY s.priority DESC, greatest(s.run_at, s.created_at), s.created_position
                    LIMIT p_limits[i] - got;
                END IF;
                EXIT;
            END IF;
            IF t IS NOT NULL THEN
                p := (SELECT s.priority FROM job_status s WHERE s.status = 'queued' AND s.type = t AND s.priority < p
                      ORDER BY s.priority DESC LIMIT 1);
            ELSE
                p := (SELECT s.priority FROM job_status s
                      WHERE s.status = 'queued' AND NOT (s.type = ANY(p_leave_out)) AND s.priority < p
                      ORDER BY s.priority DESC LIMIT 1);
            END IF;
            EXIT WHEN p IS NULL;
            IF t IS NOT NULL THEN
                RETURN QUERY SELECT {_COLUMNS} FROM job_status s
                WHERE s.status = 'queued' AND s.type = t AND s.priority = p AND {_DUE}
                ORDER BY greatest(s.run_at, s.created_at), s.created_position LIMIT p_limits[i] - got;
            ELSE
                RETURN QUERY SELECT {_COLUMNS} FROM job_status s
                WHERE s.status = 'queued' AND NOT (s.type = ANY(p_leave_out)) AND s.priority = p AND {_DUE}
                ORDER BY greatest(s.run_at, s.created_at), s.created_position LIMIT p_limits[i] - got;
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            got := got + n;
            k := k + 1;
        END LOOP;
    END LOOP;
END
$$;
"""


def _queue_indexes(due: sa.TextClause | None) -> None:
    after_priority = [due] if due is not None else []
    op.create_index(
        "job_status_queue", "job_status", ["type", sa.text("priority DESC"), *after_priority, "created_position"],
        postgresql_where=_queued, sqlite_where=_queued,
    )
    op.create_index(
        "job_status_queue_any", "job_status", [sa.text("priority DESC"), *after_priority, "created_position"],
        postgresql_where=_queued, sqlite_where=_queued,
    )


def _drop_queue_indexes() -> None:
    op.drop_index("job_status_queue_any", "job_status")
    op.drop_index("job_status_queue", "job_status")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_queue_indexes()
    _queue_indexes(sa.text(_DUE_AT[dialect]))
    if dialect == "postgresql":
        op.execute(CANDIDATES_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION jobledger_claim_candidates(timestamptz, text[], int[], text[], text)")
    _drop_queue_indexes()
    _queue_indexes(None)

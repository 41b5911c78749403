"""A claim reads its candidates off the queue indexes in claim order, and only due ones.

Claims take turns: a claim that sorted the queue, or stepped over every job not due yet
(scheduled for later, or a retry waiting out its backoff), held every other claim up for
as long. Here thousands of jobs not due for a day sit at the head of the queue: at higher
priorities, and logged before the due ones. A claim must find the due jobs, in claim
order, with work that does not grow with the waiting ones. The work is counted as each
backend does it: index entries read (PostgreSQL's statistics, on an analyzed table) or
virtual machine steps (SQLite's progress handler).
"""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from jobledger.eventlog.records import ClaimQuery
from tests.workers.helpers import queue_index_reads

WAITING = 3000
TYPES = ("report", "ocr", "llm")
NOW = datetime.now(UTC)
LATER = NOW + timedelta(days=1)
EXPIRES = NOW + timedelta(days=2)
COLUMNS = (
    "job_id, tenant, type, status, priority, run_at, expires_at, lease_expires_at, created_at, updated_at, version,"
    " created_position, last_position, doc"
)


def _row(position: int, type_: str, priority: int, run_at, created_at, status: str = "queued") -> tuple:
    return (uuid4(), "default", type_, status, priority, run_at, EXPIRES, None, created_at, created_at, 1, position,
            position, f'{{"n": {position}}}')


def _queue() -> tuple[list[tuple], dict[str, list[int]]]:
    """WAITING jobs not due for a day (logged first, priorities 0 to 4, one in 50 of
    them running), then the due ones; and the positions of the due ones in claim order, for a
    claim of "ocr" and for one of any type but "llm"."""
    rows = [
        _row(k, TYPES[k % 3], k % 5, LATER, NOW - timedelta(hours=3), "queued" if k % 50 else "running")
        for k in range(1, WAITING + 1)
    ]
    due = [
        (WAITING + 1, "ocr", 0, None, NOW - timedelta(minutes=1)),  # due since it was logged
        (WAITING + 2, "ocr", 4, NOW - timedelta(minutes=10), NOW - timedelta(hours=2)),  # highest priority
        (WAITING + 3, "ocr", 0, NOW - timedelta(minutes=30), NOW - timedelta(hours=2)),  # due longest at 0
        (WAITING + 4, "report", 0, NOW - timedelta(hours=5), NOW - timedelta(minutes=5)),  # past run_at: due when logged
        (WAITING + 5, "llm", 0, None, NOW - timedelta(hours=1)),
        (WAITING + 6, "ocr", 0, None, NOW - timedelta(minutes=1)),  # as due as the first: logged after it
    ]
    rows += [_row(*d) for d in due]
    order = {
        "ocr": [WAITING + 2, WAITING + 3, WAITING + 1, WAITING + 6],
        "any but llm": [WAITING + 2, WAITING + 3, WAITING + 4, WAITING + 1, WAITING + 6],
    }
    return rows, order


async def _fill(store, rows: list[tuple]) -> None:
    if store.backend == "postgresql":
        async with store.queue.db.pool.acquire() as conn:
            sql = f"INSERT INTO job_status ({COLUMNS}) VALUES ({', '.join(f'${i}' for i in range(1, 15))})"
            await conn.executemany(sql, rows)
            await conn.execute("ANALYZE job_status")
        return

    def fill(conn):
        def value(v):
            return v.hex if isinstance(v, UUID) else v.isoformat(timespec="microseconds") if isinstance(v, datetime) else v

        conn.executemany(f"INSERT INTO job_status ({COLUMNS}) VALUES ({', '.join('?' * 14)})",
                         [tuple(map(value, r)) for r in rows])
        conn.execute("ANALYZE")

    await store.queue.db.writer.run(fill)


async def _candidates(store, types) -> tuple[list[int], int]:
    """The positions a claim of 10 was offered, in order (it takes none), and the work it took."""
    offered = []

    def plan(rows):
        offered.extend(rows)
        return []

    query = ClaimQuery(types, NOW, 10, {"llm": 0} if types is None else {})
    if store.backend == "postgresql":
        scans, reads = await queue_index_reads(store.queue.db.dsn)
        await store.queue.claim(query, plan)
        work = (await queue_index_reads(store.queue.db.dsn, scans_above=scans))[1] - reads
    else:
        steps = [0]

        def count():
            steps[0] += 1

        await store.queue.db.writer.run(lambda conn: conn.set_progress_handler(count, 1))
        try:
            await store.queue.claim(query, plan)
        finally:
            await store.queue.db.writer.run(lambda conn: conn.set_progress_handler(None, 1))
        work = steps[0]
    return [row.last_position for row in offered], work


@pytest.mark.parametrize("types", [("ocr",), None], ids=["of-a-type", "of-any-type-but-one"])
async def test_a_claim_finds_the_due_jobs_in_claim_order_without_stepping_over_the_waiting_ones(store, types):
    rows, order = _queue()
    await _fill(store, rows)

    offered, work = await _candidates(store, types)

    assert offered == order["ocr" if types else "any but llm"]
    # Stepping over the waiting jobs (as claims did until migration 0010) read 984 and 2,946
    # index entries on PostgreSQL, and took 6,952 and 18,213 steps on SQLite. Reading only
    # the due ones: 9 and 13 entries, 283 and 766 steps.
    assert work < (100 if store.backend == "postgresql" else 2000), f"the claim's work: {work}"

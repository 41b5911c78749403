"""The status read model: rebuilt from the log, it equals the live table."""

import asyncio
import random
import sqlite3
import subprocess
import sys
from uuid import UUID

import asyncpg
import pytest

from jobledger.domain import commands, errors
from jobledger.eventlog import codec, shadow
from jobledger.eventlog.sqlite import sqlite_path
from jobledger.projections import job_status
from jobledger.application.jobs import Jobs
from jobledger.application.snapshot import replay
from tests.projections.helpers import query

PHASES = ("research", "audit", "write")


async def dump_status(db_url: str) -> list[tuple]:
    """Every row and column of job_status, straight from the database."""
    return await query(db_url, "SELECT * FROM job_status ORDER BY created_position")


def random_command(rng: random.Random) -> commands.Command:
    """Mostly reports, now and then a start or an ending, sometimes an illegal one."""
    phase = rng.choice(PHASES + ("nope",))
    candidates = [
        (20, commands.StartJob()),
        (60, commands.ReportProgress(rng.randint(0, 100), f"m{rng.random():.3f}", {"k": rng.random()})),
        (10, commands.ReportProgress(None, f"waiting {rng.random():.3f}")),  # legal only while queued
        (30, commands.StartPhase(phase)),
        (25, commands.CompletePhase(phase, {"v": rng.randint(0, 9)}, rng.random())),
        (4, commands.FailPhase(phase, "phase broke")),
        (1, commands.CompleteJob({"answer": rng.randint(0, 99)})),
        (1, commands.FailJob({"message": "boom"})),
        (1, commands.CancelJob("no longer needed", "tester")),
    ]
    return rng.choices([c for _, c in candidates], weights=[w for w, _ in candidates])[0]


async def random_history(jobs: Jobs, rng: random.Random, n_jobs: int, n_commands: int) -> list[UUID]:
    ids = []
    for i in range(n_jobs):
        phases = PHASES[: rng.randint(0, 3)]
        snapshot, _ = await jobs.create(commands.CreateJob(type=f"t{i % 4}", payload={"i": i}, phases=phases), {})
        ids.append(snapshot.job.id)
    for _ in range(n_commands):
        try:
            await jobs.execute(rng.choice(ids), random_command(rng), {"actor": "random"})
        except (errors.IllegalTransition, errors.PhaseNotFound, errors.InvalidCommand):
            pass
    return ids


async def test_rebuild_equals_live_after_thousands_of_random_events(store, db_url):
    jobs = Jobs(store)
    rng = random.Random(20261123)
    ids = await random_history(jobs, rng, n_jobs=150, n_commands=6000)
    assert await store.log.head() > 2000
    live = await dump_status(db_url)
    assert len(live) == len(ids)

    for job_id in ids:
        row = await store.status.get_status(job_id)
        assert codec.loads(row.doc) == job_status.document(replay(await store.log.read_stream(job_id)))

    assert await store.status.rebuild_status(job_status.Rebuild()) == len(ids)
    assert await dump_status(db_url) == live


async def test_rebuild_command_restores_a_damaged_table(store, db_url):
    jobs = Jobs(store)
    await random_history(jobs, random.Random(7), n_jobs=20, n_commands=300)
    live = await dump_status(db_url)
    await store.close()
    await _damage(db_url)
    assert await dump_status(db_url) != live

    command = [sys.executable, "-c", "from jobledger.cli.commands import main; main()", "projections", "rebuild", "--db", db_url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "20 jobs" in result.stdout
    assert await dump_status(db_url) == live


async def _damage(db_url: str) -> None:
    statements = ["DELETE FROM job_status WHERE status = 'queued'", "UPDATE job_status SET status = 'completed'"]
    if db_url.startswith("sqlite"):
        with sqlite3.connect(sqlite_path(db_url)) as conn:
            for sql in statements:
                conn.execute(sql)
        return
    conn = await asyncpg.connect(db_url)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def test_rebuild_reads_the_log_page_by_page(store, db_url, monkeypatch):
    ids = await random_history(Jobs(store), random.Random(5), n_jobs=30, n_commands=400)
    live = await dump_status(db_url)
    monkeypatch.setattr(shadow, "PAGE", 3)  # the log spans dozens of pages, the last one short
    assert await store.log.head() % 3 and await store.log.head() > 20 * 3
    assert await store.status.rebuild_status(job_status.Rebuild()) == len(ids)
    assert await dump_status(db_url) == live


class FailingRebuild(job_status.Rebuild):
    """A fold that breaks at its `fail_at`-th event (a bad event, say)."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at, self.applied = fail_at, 0

    def apply(self, *args) -> None:
        self.applied += 1
        if self.applied == self.fail_at:
            raise RuntimeError("the fold broke")
        super().apply(*args)


async def test_a_fold_that_breaks_leaves_the_table_and_the_store_as_they_were(store, db_url, monkeypatch):
    jobs = Jobs(store)
    ids = await random_history(jobs, random.Random(11), n_jobs=20, n_commands=300)
    live = await dump_status(db_url)
    monkeypatch.setattr(shadow, "PAGE", 10)  # it breaks while the next page is being read
    assert await store.log.head() > 60
    with pytest.raises(RuntimeError, match="the fold broke"):
        await store.status.rebuild_status(FailingRebuild(fail_at=45))
    assert await dump_status(db_url) == live
    snapshot, _ = await jobs.create(commands.CreateJob(type="after", payload={}), {})
    assert codec.loads((await store.status.get_status(snapshot.job.id)).doc)["status"] == "queued"
    live = await dump_status(db_url)
    assert await store.status.rebuild_status(job_status.Rebuild()) == len(ids) + 1
    assert await dump_status(db_url) == live


@pytest.mark.parametrize("page", [shadow.PAGE, 13])
async def test_rebuild_while_appends_and_reads_go_on(store, db_url, monkeypatch, page):
    monkeypatch.setattr(shadow, "PAGE", page)
    jobs = Jobs(store)
    rng = random.Random(99)
    ids = await random_history(jobs, rng, n_jobs=60, n_commands=1500)
    stop = asyncio.Event()
    read_failures, reads, writes = [], 0, 0

    async def keep_writing():
        nonlocal writes
        while not stop.is_set():
            try:
                await jobs.execute(rng.choice(ids), random_command(rng), {"actor": "during-rebuild"})
                writes += 1
            except (errors.IllegalTransition, errors.PhaseNotFound, errors.InvalidCommand):
                pass
            await asyncio.sleep(0)

    async def keep_reading():
        nonlocal reads
        while not stop.is_set():
            try:
                assert await store.status.get_status(rng.choice(ids)) is not None
                reads += 1
            except Exception as exc:  # noqa: BLE001 (any failed read fails the test)
                read_failures.append(repr(exc))
            await asyncio.sleep(0)

    background = [asyncio.create_task(keep_writing()), asyncio.create_task(keep_reading())]
    assert await store.status.rebuild_status(job_status.Rebuild()) == len(ids)
    stop.set()
    await asyncio.gather(*background)
    assert read_failures == [] and reads > 0 and writes > 0

    live = await dump_status(db_url)
    for job_id in ids:
        row = await store.status.get_status(job_id)
        assert codec.loads(row.doc) == job_status.document(replay(await store.log.read_stream(job_id)))
    await store.status.rebuild_status(job_status.Rebuild())
    assert await dump_status(db_url) == live

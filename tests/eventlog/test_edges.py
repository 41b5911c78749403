"""The job_edges read model on every backend: written from JobCreated's depends_on by the log's trigger
(on appends and on imports alike), read by parent, and made again from the log alone."""

from datetime import UTC, datetime
from uuid import uuid4

from jobledger.domain import commands, decide
from jobledger.domain.job import Dependency, fold
from jobledger.eventlog import codec
from jobledger.projections import job_status

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def _create(store, *parents: Dependency):
    job_id = uuid4()
    created = decide.create(job_id, commands.CreateJob(type="t", depends_on=parents), T0)
    job = fold(None, created, T0, job_id)
    await store.log.append(job_id, 0, [codec.new_event(e, T0, {"tenant": "default"}) for e in created], job_status.row(job))
    return job_id


async def test_edges_come_from_job_created_and_a_rebuild_makes_them_again(store):
    a, b = await _create(store), await _create(store)
    c = await _create(store, Dependency(a), Dependency(b, "run"))
    d = await _create(store, Dependency(a, "run"))

    expected = {a: sorted([(c, "cancel"), (d, "run")]), b: [(c, "run")], c: [], d: []}
    assert {job: sorted(await store.graph.children(job)) for job in (a, b, c, d)} == expected
    assert sorted(r.job_id for r in await store.graph.rows([a, c, uuid4()])) == sorted([a, c])
    assert [r.tenant for r in await store.graph.rows([c])] == ["default"]
    assert sorted(r.job_id for r in await store.graph.waiting_children(a)) == sorted([c, d])
    assert await store.graph.waiting_children(c) == []

    assert await store.graph.rebuild_edges() == 3
    assert {job: sorted(await store.graph.children(job)) for job in (a, b, c, d)} == expected

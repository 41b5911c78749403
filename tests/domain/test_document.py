"""The job document is a lossless snapshot: random histories survive orjson and back."""

import dataclasses
import random
import string
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import orjson
import pytest

from jobledger.domain import commands, errors, events
from jobledger.domain.decide import create, decide
from jobledger.domain.job import Draft, Job, evolve, fold
from jobledger.projections import job_status

SEEDS = range(200)
PHASE_NAMES = ["research", "audit", "draft", "review"]
ZONES = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7))]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + "éü✓ ") for _ in range(rng.randint(0, 8)))


def _json(rng: random.Random, depth: int = 0):
    kind = rng.choice(["null", "bool", "int", "float", "str"] + (["list", "dict"] if depth < 3 else []))
    match kind:
        case "null":
            return None
        case "bool":
            return rng.random() < 0.5
        case "int":
            return rng.randint(-(2**53), 2**53)
        case "float":
            return rng.uniform(-1e6, 1e6)
        case "str":
            return _text(rng)
        case "list":
            return [_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_text(rng): _json(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _percent(rng: random.Random) -> float | None:
    return rng.choice([None, rng.randint(0, 100), rng.uniform(0, 100)])


def _report(rng: random.Random, token: str | None, report: commands.WorkerReport) -> commands.WorkerReport:
    """Mostly under the current lease; sometimes without a token or with a stale one."""
    sent = rng.choices([token, None, "stale"], weights=[8, 1, 1])[0]
    return dataclasses.replace(report, lease_token_hash=sent)


def _phase(rng: random.Random, job: Job) -> str:
    """Mostly the phase the job is at; sometimes any phase, or one it does not have."""
    names = [p.name for p in job.phases]
    current = next((p.name for p in job.phases if p.status.value != "completed"), None)
    return current if current and rng.random() < 0.7 else rng.choice(names + ["ghost"])


QUEUED, RUNNING, NONE = {"queued"}, {"running"}, set()  # NONE: only ever picked at random


def _command(rng: random.Random, job: Job) -> commands.Command:
    """Any command, but more often one that fits the job's status, so histories get somewhere."""
    phase = _phase(rng, job)
    options = [
        (2, QUEUED, lambda: commands.StartJob()),
        (4, QUEUED, lambda: commands.ClaimJob(_text(rng) or "w", f"hash-{rng.getrandbits(32)}", rng.uniform(1, 900))),
        (5, QUEUED | RUNNING, lambda: commands.ReportProgress(
            _percent(rng), rng.choice([None, _text(rng)]), _json(rng)
        )),
        (6, RUNNING, lambda: commands.StartPhase(phase)),
        (6, RUNNING, lambda: commands.CompletePhase(phase, _json(rng), rng.choice([None, rng.random()]))),
        (2, RUNNING, lambda: commands.FailPhase(phase, _json(rng))),
        (3, RUNNING, lambda: commands.Heartbeat(rng.uniform(1, 900))),
        (3, RUNNING, lambda: commands.AddArtifact(rng.choice(["a", "b", _text(rng)]), "text/plain", _text(rng), 8)),
        (1, RUNNING, lambda: commands.CompleteJob(_json(rng))),
        (2, RUNNING, lambda: commands.FailJob(_json(rng), retryable=rng.random() < 0.7, jitter=rng.random())),
        (0.4, QUEUED | RUNNING, lambda: commands.CancelJob(rng.choice([None, _text(rng)]), _text(rng) or None)),
        (1, QUEUED | RUNNING, lambda: commands.ExpireJob()),
        (2, RUNNING, lambda: commands.ExpireLease(jitter=rng.random())),
        (1, RUNNING, lambda: commands.ReleaseJob(rng.choice([None, _text(rng)]))),
        (2, NONE, lambda: commands.RetryJob(rng.choice([None, _text(rng)]))),
        (0.3, NONE, lambda: commands.EraseJob(rng.choice([None, _text(rng)]), _text(rng) or None)),
    ]
    if rng.random() < 0.6:
        options = [o for o in options if job.status.value in o[1]] or options
    command = rng.choices([m for _, _, m in options], weights=[w for w, _, _ in options])[0]()
    if isinstance(command, commands.WorkerReport):
        return _report(rng, job.lease_token_hash, command)
    return command


def history(seed: int) -> tuple[UUID, list[tuple[events.Event, datetime]]]:
    """A random legal history of one job: each event with the time it was recorded."""
    rng = random.Random(seed)
    job_id = UUID(int=rng.getrandbits(128), version=4)
    phases = rng.sample(PHASE_NAMES, k=rng.randint(0, 3))
    at = datetime(2024, 1, 1, tzinfo=rng.choice(ZONES)) + timedelta(microseconds=rng.randint(0, 10**12))
    created = commands.CreateJob(
        type=_text(rng) or "t",
        tenant=_text(rng) or "default",
        payload=_json(rng),
        metadata={_text(rng): _json(rng) for _ in range(rng.randint(0, 3))},
        phases=tuple(phases),
        priority=rng.randint(-10, 10),
        max_attempts=rng.randint(1, 5),
        run_at=rng.choice([None, at + timedelta(minutes=rng.randint(0, 90))]),
        expires_in=timedelta(seconds=rng.randint(600, 4 * 3600)),
        idempotency_key=rng.choice([None, _text(rng)]),
        retry_base_seconds=rng.choice([0.0, 0.5, rng.uniform(0, 100)]),
        retry_max_seconds=rng.choice([300.0, rng.uniform(0, 1000)]),
        message=rng.choice([None, _text(rng)]),
    )
    recorded = [(e, at) for e in create(job_id, created, at)]
    job = fold(None, [e for e, _ in recorded], at, job_id)
    for _ in range(rng.randint(0, rng.choice([3, 80]))):
        at += timedelta(microseconds=rng.randint(1, rng.choice([10**6, 10**7, 10**8, 10**9])))
        try:
            new = decide(job, _command(rng, job), at)
        except (errors.IllegalTransition, errors.PhaseNotFound, errors.LeaseLost, errors.InvalidCommand):
            continue
        job = fold(job, new, at)
        recorded += [(e, at) for e in new]
    return job_id, recorded


def _final(job_id: UUID, recorded: list[tuple[events.Event, datetime]]) -> Job:
    job = None
    for event, at in recorded:
        job = evolve(job, event, at, job_id)
    return job


def _through_json(doc: dict) -> dict:
    return orjson.loads(orjson.dumps(doc))


def test_histories_are_varied():
    histories = [history(seed) for seed in SEEDS]
    finals = [_final(*h) for h in histories]
    recorded = [e for _, h in histories for e, _ in h]
    assert {j.status.value for j in finals} == {"queued", "running", "completed", "failed", "cancelled", "expired"}
    dependencies = {events.ChildAdded, events.DependencyResolved, events.DependenciesMet}  # test_dependencies.py
    assert {type(e) for e in recorded} == set(events.EVENT_TYPES.values()) - dependencies
    assert any(e.manual for e in recorded if isinstance(e, events.RetryScheduled))
    assert any(not e.manual for e in recorded if isinstance(e, events.RetryScheduled))
    assert any(j.leased for j in finals) and any(j.status.value == "running" and not j.leased for j in finals)
    assert any(j.cancel_requested and j.status.value == "running" for j in finals)
    assert any(j.attempts > 1 for j in finals) and any(j.progress for j in finals)
    assert any(j.status.value == "queued" and j.progress and j.progress.message for j in finals)
    assert any(isinstance(e, events.JobCreated) and e.message is not None for e in recorded)
    assert any(len(j.artifacts) > 1 for j in finals)
    assert any(j.erased_at is not None for j in finals)
    assert any(p.status.value == "completed" and p.confidence is not None for j in finals for p in j.phases)


@pytest.mark.parametrize("seed", SEEDS)
def test_every_state_of_a_history_round_trips_through_its_document(seed: int):
    job_id, recorded = history(seed)
    job = None
    for event, at in recorded:
        job = evolve(job, event, at, job_id)
        assert job_status.job_from_document(_through_json(job_status.document(job))) == job
        assert job_status.document_json(job) == orjson.dumps(job_status.document(job)).decode()


@pytest.mark.parametrize("seed", SEEDS[:10])
def test_deciding_on_the_snapshot_is_deciding_on_the_job(seed: int):
    job = _final(*history(seed))
    snapshot = job_status.job_from_document(_through_json(job_status.document(job)))
    rng = random.Random(seed)
    for _ in range(20):
        command = _command(rng, job)
        outcomes = []
        for state in (job, snapshot):
            try:
                outcomes.append(decide(state, command, job.expires_at))
            except errors.JobServiceError as exc:
                outcomes.append((type(exc), exc.details))
        assert outcomes[0] == outcomes[1]


def test_row_carries_the_filter_columns_and_the_document():
    job = _final(*history(3))
    row = job_status.row(job)
    assert row == {
        "job_id": job.id,
        "tenant": job.tenant,
        "type": job.type,
        "status": job.status.value,
        "priority": job.priority,
        "run_at": job.run_at,
        "expires_at": job.expires_at,
        "lease_expires_at": job.lease_expires_at,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
        "version": job.version,
        "doc": orjson.dumps(job_status.document(job)).decode(),
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_a_draft_folds_every_history_as_evolve_does(seed: int):
    job_id, recorded = history(seed)
    job, draft, evolved, drafted = None, None, [], []
    for event, at in recorded:
        job = evolve(job, event, at, job_id)
        if draft is None:
            draft = Draft(event, at, job_id)
        else:
            draft.apply(event, at)
        assert job_status.document(draft) == job_status.document(job)
        evolved.append(job)
        drafted.append(draft.job())
    assert drafted == evolved  # each frozen state stays as it was while the draft folds on


def test_a_draft_refuses_what_evolve_refuses():
    job_id, recorded = history(1)
    (created, at), (started, _) = recorded[0], recorded[1]
    with pytest.raises(ValueError, match="before JobCreated"):
        Draft(started, at, job_id)
    with pytest.raises(ValueError, match="existing job"):
        Draft(created, at, job_id).apply(created, at)
    with pytest.raises(ValueError, match="existing job"):
        evolve(evolve(None, created, at, job_id), created, at)


def test_rebuild_folds_interleaved_streams_into_one_row_each():
    streams = {job_id: recorded for job_id, recorded in map(history, range(5))}
    pending = {job_id: list(recorded) for job_id, recorded in streams.items()}
    rng, rebuild, position, seen = random.Random(99), job_status.Rebuild(), 0, {}
    while pending:
        job_id = rng.choice(sorted(pending))
        event, at = pending[job_id].pop(0)
        position += rng.randint(1, 3)
        rebuild.apply(job_id, position, event, at)
        seen.setdefault(job_id, []).append(position)
        if not pending[job_id]:
            del pending[job_id]
    expected = {job_id: _final(job_id, recorded) for job_id, recorded in streams.items()}
    assert rebuild.jobs() == expected
    assert sorted(rebuild.rows(), key=lambda r: str(r["job_id"])) == sorted(
        (
            {**job_status.row(job), "created_position": seen[job_id][0], "last_position": seen[job_id][-1]}
            for job_id, job in expected.items()
        ),
        key=lambda r: str(r["job_id"]),
    )

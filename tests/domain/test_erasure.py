"""Erasure: a finished job's history with its data taken out (erasure.redact) and JobErased folds to
the same job as the whole history and JobErased: reads, rebuilds and the live fold agree."""

import pytest

from jobledger.domain import commands, erasure, errors, events
from jobledger.domain.decide import decide
from jobledger.domain.job import evolve
from tests.domain.test_document import SEEDS, history


def _fold(job_id, recorded):
    job = None
    for event, at in recorded:
        job = evolve(job, event, at, job_id)
    return job


def _redacted(event: events.Event) -> events.Event:
    data = erasure.redact(event.type, event.to_data())
    return event if data is None else type(event).from_data({**event.to_data(), **data})


@pytest.mark.parametrize("seed", SEEDS)
def test_the_redacted_history_folds_to_the_erased_job(seed: int):
    job_id, recorded = history(seed)
    job, at = _fold(job_id, recorded), recorded[-1][1]
    if not job.status.terminal:
        with pytest.raises(errors.IllegalTransition):  # only a finished job's data is erased
            decide(job, commands.EraseJob("asked"), at)
        return
    if job.erased_at is not None:
        assert decide(job, commands.EraseJob("asked"), at) == []
        return
    erased = decide(job, commands.EraseJob("asked", "key:k1"), at)

    whole = _fold(job_id, [*recorded, *((e, at) for e in erased)])
    redacted = _fold(job_id, [*((_redacted(e), t) for e, t in recorded), *((e, at) for e in erased)])

    assert erased == [events.JobErased("asked", "key:k1")]
    assert redacted == whole
    assert (whole.payload, whole.metadata, whole.result, whole.error, whole.progress, whole.artifacts) == (
        None, {}, None, None, None, (),
    )
    assert whole.erased_at == at and whole.status == job.status and whole.version == job.version + 1
    assert all(p.result is None and p.error is None for p in whole.phases)
    assert decide(whole, commands.EraseJob(), at) == []  # erased once: nothing more to erase


def test_redact_takes_out_only_the_jobs_data():
    created = events.JobCreated(
        job_type="t", tenant="acme", payload={"ssn": "1"}, metadata={"user": "42"}, phases=("a",), priority=1,
        max_attempts=1, run_at=None, expires_at=None, idempotency_key="k", message="hi",
    ).to_data()

    redacted = erasure.redact("JobCreated", created)

    assert {k: redacted[k] for k in ("payload", "metadata", "idempotency_key", "message")} == {
        "payload": None, "metadata": {}, "idempotency_key": None, "message": None,
    }
    assert {k: v for k, v in redacted.items() if k not in erasure.ERASED_FIELDS["JobCreated"]} == {
        k: v for k, v in created.items() if k not in erasure.ERASED_FIELDS["JobCreated"]
    }
    assert erasure.redact("JobCreated", redacted) is None  # nothing left to take
    assert erasure.redact("LeaseExtended", {"lease_expires_at": "2024-01-01T00:00:00+00:00"}) is None


def test_an_erased_job_cannot_be_retried():
    job_id, recorded = next(h for h in map(history, SEEDS) if _fold(*h).status.value == "failed")
    job = _fold(job_id, recorded)
    at = recorded[-1][1]
    erased = _fold(job_id, [*recorded, *((e, at) for e in decide(job, commands.EraseJob(), at))])

    with pytest.raises(errors.IllegalTransition, match="erased"):
        decide(erased, commands.RetryJob("ops"), at)


"""Event codec: to_data/decode round trips, through orjson as the store does."""

import dataclasses
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from jobledger.domain import events, schedule_events, webhook_events

AT = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
KOLKATA = timezone(timedelta(hours=5, minutes=30))

SAMPLES = [
    events.JobCreated(
        job_type="report",
        tenant="acme",
        payload={"pages": [1, 2, {"x": None}], "title": "Q3 ünïcode"},
        metadata={"source": "crm", "tags": ["a", "b"]},
        phases=("research", "audit"),
        priority=-3,
        max_attempts=4,
        run_at=datetime(2024, 5, 1, 18, 30, tzinfo=KOLKATA),
        expires_at=AT + timedelta(hours=24),
        idempotency_key="idem-1",
        request_hash="abc123",
        retry_base_seconds=2.5,
        retry_max_seconds=600.0,
        message="waiting for upload",
    ),
    events.JobCreated(
        job_type="bare",
        tenant="default",
        payload=None,
        metadata={},
        phases=(),
        priority=0,
        max_attempts=1,
        run_at=None,
        expires_at=AT,
    ),
    events.JobStarted(attempt=2, worker_id="w-7", lease_token_hash="tok", lease_expires_at=AT + timedelta(seconds=30)),
    events.JobStarted(attempt=1),
    events.PhaseStarted(phase="research"),
    events.ProgressReported(percent=33.3, message="a third", details={"done": 1, "of": 3}),
    events.ProgressReported(percent=None),
    events.PhaseCompleted(phase="research", result=[{"k": 1.5}], confidence=0.875),
    events.PhaseFailed(phase="audit", error={"code": "timeout", "after_s": 30}),
    events.JobCompleted(result={"url": "s3://bucket/out.pdf"}),
    events.JobCompleted(),
    events.JobFailed(error="plain string error"),
    events.JobCancelled(reason="duplicate", cancelled_by="alice"),
    events.JobCancelled(),
    events.JobExpired(expires_at=AT),
    events.LeaseExtended(lease_expires_at=datetime(2024, 5, 1, 18, 31, 7, 5, tzinfo=KOLKATA)),
    events.LeaseExpired(worker_id="w-7", attempt=2),
    events.LeaseExpired(worker_id=None, attempt=1),
    events.JobReleased(worker_id="w-7", attempt=2, reason="shutting down"),
    events.JobReleased(worker_id=None, attempt=1),
    events.RetryScheduled(attempt=1, run_at=AT + timedelta(seconds=1.5), error={"code": "lease_expired", "attempt": 1}),
    events.RetryScheduled(attempt=3, run_at=AT, error="boom", manual=True, requested_by="ops"),
    events.CancellationRequested(reason="customer asked", cancelled_by="bob"),
    events.CancellationRequested(),
    events.ArtifactAdded(name="summary", content_type="application/json", data={"rows": [1, 2.5, None]}, size=24),
    events.ArtifactAdded(name="out.txt", content_type="text/plain; charset=utf-8", data="héllo ✓", size=10),
    events.JobErased(reason="the customer asked", erased_by="key:k1"),
    events.JobErased(),
    events.JobCreated(
        job_type="child",
        tenant="acme",
        payload=None,
        metadata={},
        phases=(),
        priority=0,
        max_attempts=1,
        run_at=None,
        expires_at=AT,
        depends_on=({"job": "00000000-0000-4000-8000-000000000001", "on_failure": "cancel"},),
    ),
    events.ChildAdded(child="00000000-0000-4000-8000-000000000002", on_failure="run"),
    events.DependencyResolved(parent="00000000-0000-4000-8000-000000000001", status="completed"),
    events.DependenciesMet(),
    events.TypeDefined(tenant="acme", name="report", config={"max_attempts": 3, "phases": ["a", "b"]}),
    events.TypePaused(tenant="acme", name="report", reason="the mail API is down"),
    events.TypePaused(tenant="acme", name="report"),
    events.TypeResumed(tenant="acme", name="report"),
    schedule_events.ScheduleCreated(tenant="acme", name="nightly", config={"cron": "0 2 * * *", "job": {"type": "r"}}, next_fire_at=AT),
    schedule_events.ScheduleUpdated(tenant="acme", name="nightly", config={"cron": "0 3 * * *"}, next_fire_at=AT),
    schedule_events.SchedulePaused(tenant="acme", name="nightly", reason="holidays"),
    schedule_events.ScheduleResumed(tenant="acme", name="nightly", next_fire_at=AT),
    schedule_events.ScheduleDeleted(tenant="acme", name="nightly"),
    schedule_events.ScheduleFired(
        tenant="acme", name="nightly", fire_at=AT, job_id="9c1d4e5f-2a3b-5c6d-8e7f-0a1b2c3d4e5f",
        next_fire_at=AT + timedelta(days=1), late=True, cancelled_job_id="0b7e2c3a-51d4-5e0f-8a6b-3f1c9d2e7a40",
    ),
    schedule_events.ScheduleFireSkipped(tenant="acme", name="nightly", fire_at=AT, reason="overlap", next_fire_at=AT),
    schedule_events.ScheduleFiresMissed(tenant="acme", name="nightly", first=AT, last=AT, next_fire_at=AT),
    webhook_events.WebhookCreated("acme", "wh_1", "https://app.example/h", ["JobCompleted"], None, "done", "sec_1"),
    webhook_events.WebhookUpdated("acme", "wh_1", "https://app.example/h2", None, ["report"], None),
    webhook_events.WebhookSecretRotated("acme", "wh_1", "sec_2", "sec_1", AT + timedelta(days=1)),
    webhook_events.WebhookDisabled("acme", "wh_1", "delivery msg_1 failed on every attempt", "msg_1"),
    webhook_events.WebhookDisabled("acme", "wh_1"),
    webhook_events.WebhookEnabled("acme", "wh_1"),
    webhook_events.WebhookDeleted("acme", "wh_1"),
    webhook_events.WebhookResendRequested("acme", "wh_1", "msg_1"),
]


def _ids(event: events.Event) -> str:
    return event.type


def _datetime_fields(event: events.Event) -> list[str]:
    return [f.name for f in fields(event) if isinstance(getattr(event, f.name), datetime)]


def test_every_event_type_has_a_sample():
    declared = {
        cls for module in (events, schedule_events, webhook_events) for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, events.Event)
    }  # fmt: skip
    assert set(events.STORED_TYPES.values()) == declared - {events.Event}
    kinds = (events.EVENT_TYPES, events.TYPE_EVENT_TYPES, events.SCHEDULE_EVENT_TYPES, events.WEBHOOK_EVENT_TYPES)
    assert set().union(*(k.values() for k in kinds)) == set(events.STORED_TYPES.values())
    assert sum(len(k) for k in kinds) == len(events.STORED_TYPES)  # a job's, a type's, a schedule's and a webhook's events are apart
    assert {type(e) for e in SAMPLES} == set(events.STORED_TYPES.values())
    assert all(events.STORED_TYPES[cls.type] is cls for cls in events.STORED_TYPES.values())


@pytest.mark.parametrize("event", SAMPLES, ids=_ids)
def test_decode_of_to_data_is_the_event(event: events.Event):
    assert events.decode(event.type, event.to_data()) == event


@pytest.mark.parametrize("event", SAMPLES, ids=_ids)
def test_round_trip_through_orjson(event: events.Event):
    data = orjson.loads(orjson.dumps(event.to_data()))
    decoded = events.decode(event.type, data)
    assert decoded == event
    assert type(decoded) is type(event)
    for name in _datetime_fields(event):
        assert getattr(decoded, name).utcoffset() == getattr(event, name).utcoffset()


@pytest.mark.parametrize("event", SAMPLES, ids=_ids)
def test_to_data_is_plain_json(event: events.Event):
    data = event.to_data()
    absent = {"depends_on"} if getattr(event, "depends_on", ()) is None else set()  # a job without parents, stored as before
    assert list(data) == [f.name for f in fields(event) if f.name not in absent]  # in field order: the stored bytes depend on it
    assert orjson.loads(orjson.dumps(data)) == data
    for name in _datetime_fields(event):
        assert data[name] == getattr(event, name).isoformat()


def test_job_created_keeps_its_retry_settings():
    decoded = events.decode("JobCreated", orjson.loads(orjson.dumps(SAMPLES[0].to_data())))
    assert (decoded.retry_base_seconds, decoded.retry_max_seconds) == (2.5, 600.0)


def test_a_job_created_before_v4_has_no_message():
    v3 = {k: v for k, v in SAMPLES[0].to_data().items() if k != "message"}
    assert events.JobCreated.schema_version == 4
    assert events.decode("JobCreated", v3, schema_version=3) == dataclasses.replace(SAMPLES[0], message=None)
    assert events.decode("JobCreated", SAMPLES[0].to_data(), schema_version=4).message == "waiting for upload"


def test_job_started_stores_the_hash_of_the_lease_token():
    assert SAMPLES[2].to_data()["lease_token_hash"] == "tok"
    assert "lease_token" not in SAMPLES[2].to_data()


def test_phases_are_stored_as_a_list_and_read_back_as_a_tuple():
    created = SAMPLES[0]
    assert created.to_data()["phases"] == ["research", "audit"]
    assert events.decode("JobCreated", {**created.to_data()}).phases == ("research", "audit")


def test_to_data_does_not_change_the_event():
    created = SAMPLES[0]
    data = created.to_data()
    data["phases"].append("extra")
    data["expires_at"] = "changed"
    assert created.phases == ("research", "audit")
    assert created.expires_at == AT + timedelta(hours=24)


def test_events_are_immutable():
    with pytest.raises(AttributeError):
        SAMPLES[4].phase = "other"


def test_decode_rejects_an_unknown_type():
    with pytest.raises(KeyError):
        events.decode("JobTeleported", {})

"""The stats read model: one document per job with its waits and durations, and the
aggregation `GET /stats` answers from (counts by status, p50/p95/max per type); and one group
document per tenant's job type with its last estimates.KEEP queue waits and completed runs,
which job estimates read (projections/estimates.py)."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson

from jobledger.domain import events
from jobledger.projections.estimates import KEEP, History
from jobledger.projections.framework import Contribution, Docs, Fact, Projection

NAME = "stats"


def _seconds(later: datetime, earlier: str | None) -> float | None:
    return None if earlier is None else round((later - datetime.fromisoformat(earlier)).total_seconds(), 6)


def _created(docs: Docs, f: Fact) -> None:
    e: events.JobCreated = f.event
    queued_at = max(e.run_at, f.recorded_at) if e.run_at else f.recorded_at
    docs[str(f.job_id)] = {
        "tenant": e.tenant, "user": e.user, "type": e.job_type, "status": "waiting" if e.depends_on else "queued",
        "queued_at": queued_at.isoformat(),
        "started_at": None, "waits": [], "run_seconds": None, "finished_at": None, "phases": {}, "phase_started": {},
    }


def type_key(tenant: str, job_type: str) -> str:
    """The key of a tenant's job type's group document (a job's key is its id: never alike)."""
    return "type:" + orjson.dumps([tenant, job_type]).decode()


def _contribution(doc: dict, kind: str, seconds: float) -> Contribution:
    tenant = doc.get("tenant", "default")  # documents older than tenants are the default's
    return type_key(tenant, doc["type"]), (tenant, doc["type"], kind, seconds)


def _started(docs: Docs, f: Fact) -> Contribution:
    doc = docs[str(f.job_id)]
    wait = max(_seconds(f.recorded_at, doc["queued_at"]), 0.0)
    doc["waits"].append([f.recorded_at.isoformat(), wait])
    doc.update(status="running", started_at=f.recorded_at.isoformat())
    return _contribution(doc, "waits", wait)


def _retried(docs: Docs, f: Fact) -> None:
    doc = docs[str(f.job_id)]
    doc.update(status="queued", queued_at=max(f.event.run_at, f.recorded_at).isoformat(), finished_at=None)


def _released(docs: Docs, f: Fact) -> None:  # given back unfinished, or its parents done: waiting for a worker from now
    docs[str(f.job_id)].update(status="queued", queued_at=f.recorded_at.isoformat())


def _phase_started(docs: Docs, f: Fact) -> None:
    docs[str(f.job_id)]["phase_started"][f.event.phase] = f.recorded_at.isoformat()


def _phase_ended(docs: Docs, f: Fact) -> None:
    doc = docs[str(f.job_id)]
    seconds = _seconds(f.recorded_at, doc["phase_started"].get(f.event.phase))
    if seconds is not None:
        doc["phases"][f.event.phase] = [f.recorded_at.isoformat(), seconds]


def _ended(status: str):
    def handle(docs: Docs, f: Fact) -> Contribution | None:
        doc = docs[str(f.job_id)]
        doc.update(status=status, finished_at=f.recorded_at.isoformat(), run_seconds=_seconds(f.recorded_at, doc["started_at"]))
        if status == "completed" and doc["run_seconds"] is not None:  # a failed run says little of a good one's length
            return _contribution(doc, "runs", doc["run_seconds"])
        return None

    return handle


def _fold_groups(docs: Docs, contributions: list[Contribution]) -> None:
    for key, (tenant, job_type, kind, seconds) in contributions:
        group = docs.setdefault(key, {"group": "type", "tenant": tenant, "type": job_type, "waits": [], "runs": []})
        group[kind] = [*group[kind][-(KEEP - 1):], seconds]


def history(group: dict | None) -> History | None:
    """A group document's durations, or None for none."""
    return None if group is None else History(tuple(group["waits"]), tuple(group["runs"]))


projection = Projection(
    NAME,
    {
        events.JobCreated: _created,
        events.JobStarted: _started,
        events.RetryScheduled: _retried,
        events.JobReleased: _released,
        events.DependenciesMet: _released,
        events.PhaseStarted: _phase_started,
        events.PhaseCompleted: _phase_ended,
        events.PhaseFailed: _phase_ended,
        events.JobCompleted: _ended("completed"),
        events.JobFailed: _ended("failed"),
        events.JobCancelled: _ended("cancelled"),
        events.JobExpired: _ended("expired"),
    },
    creates=frozenset({events.JobCreated}),
    ends=frozenset({events.JobCompleted, events.JobFailed, events.JobCancelled, events.JobExpired}),
    fold_groups=_fold_groups,
)


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731 (nearest rank)
    return {"count": len(ordered), "p50": pick(0.5), "p95": pick(0.95), "max": ordered[-1]}


def _window(docs: list[dict], since: datetime | None) -> dict[str, Any]:
    def recent(at: str | None) -> bool:
        return since is None or (at is not None and datetime.fromisoformat(at) >= since)

    waits = [s for d in docs for at, s in d["waits"] if recent(at)]
    runs = [d["run_seconds"] for d in docs if d["run_seconds"] is not None and recent(d["finished_at"])]
    phases: dict[str, list[float]] = {}
    for d in docs:
        for name, (at, seconds) in d["phases"].items():
            if recent(at):
                phases.setdefault(name, []).append(seconds)
    finished = [d["status"] for d in docs if d["finished_at"] is not None and recent(d["finished_at"])]
    return {
        "finished": {s: finished.count(s) for s in sorted(set(finished))},
        "queue_wait_seconds": _summary(waits),
        "run_seconds": _summary(runs),
        "phase_seconds": {name: _summary(v) for name, v in sorted(phases.items())},
    }


def summarize(
    docs: list[dict], now: datetime, sees: Callable[[str, str, str | None], bool] = lambda _tenant, _type, _user: True
) -> dict[str, Any]:
    """Per job type: counts by status, and the jobs finished (throughput) and durations, over all
    time and over the last hour; of the jobs whose (tenant, type, user) `sees` accepts."""
    by_type: dict[str, list[dict]] = {}
    for doc in docs:
        if "group" in doc:  # a job type's group document: its jobs' own are counted
            continue
        # documents older than tenants are the default's; older than users, nobody's
        if sees(doc.get("tenant", "default"), doc["type"], doc.get("user")):
            by_type.setdefault(doc["type"], []).append(doc)
    hour_ago = now - timedelta(hours=1)
    return {
        t: {
            "counts": {s: sum(1 for d in ds if d["status"] == s) for s in sorted({d["status"] for d in ds})},
            "all_time": _window(ds, None),
            "last_hour": _window(ds, hour_ago),
        }
        for t, ds in sorted(by_type.items())
    }

"""When will a job finish: its remaining time, from its type's recent queue waits and run
durations (the stats projection's type documents) and from its own progress.

Pure: the job's times, the type's history and `now` are passed in; nothing is read.

- queued: the type's median wait, counted from when the job became claimable (its `run_at`,
  else when it was created, else, after a release, its last change), then its median run;
- running: the median run minus the time it has run so far (never below 0); once the job
  reports a percent `p`, its own pace `elapsed * (100 - p) / p` is blended in with weight
  `p / 100`, so a job that says it is nearly done is believed more than the history;
- finished (completed, failed, cancelled, expired): no estimate (null).

No estimate (null) either until the type has MIN_SAMPLES completed runs and queue waits in
the tenant's history. Statistics are medians of the last KEEP of each.
"""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MIN_SAMPLES = 5  #: completed runs (and queue waits) of a type before its jobs get an estimate
KEEP = 50  #: the most recent waits and runs of a type that the estimate looks at


@dataclass(frozen=True, slots=True)
class History:
    """A tenant's job type's recent durations, oldest first, in seconds."""

    waits: tuple[float, ...]
    runs: tuple[float, ...]

    @property
    def enough(self) -> bool:
        return len(self.runs) >= MIN_SAMPLES and len(self.waits) >= MIN_SAMPLES


@dataclass(frozen=True, slots=True)
class Times:
    """What the estimate needs of a job."""

    status: str
    created_at: datetime
    run_at: datetime | None
    started_at: datetime | None
    updated_at: datetime
    attempts: int
    percent: float | None


def times_of(doc: dict[str, Any]) -> Times:
    """A job document's times (the API's document, or its stored text parsed)."""
    progress = doc.get("progress")
    return Times(
        doc["status"], _time(doc["created_at"]), _time(doc["run_at"]), _time(doc["started_at"]),
        _time(doc["updated_at"]), doc["attempts"], progress and progress.get("percent"),
    )


def _time(value: str | datetime | None) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def estimate(job: Times, history: History | None, now: datetime) -> dict[str, Any] | None:
    """`{remaining_seconds, finishes_at, basis, samples}`, or None: a finished job, or not enough history."""
    if job.status not in ("queued", "running") or history is None or not history.enough:
        return None
    run = statistics.median(history.runs)
    basis = "history"
    if job.status == "queued":
        since = job.run_at or (job.created_at if job.attempts == 0 else job.updated_at)
        starts = max(since + timedelta(seconds=statistics.median(history.waits)), now)
        remaining = (starts - now).total_seconds() + run
    else:
        elapsed = max((now - (job.started_at or now)).total_seconds(), 0.0)
        remaining = max(run - elapsed, 0.0)
        if job.percent is not None and job.percent > 0:
            percent = min(job.percent, 100.0)
            pace = elapsed * (100 - percent) / percent
            remaining = percent / 100 * pace + (1 - percent / 100) * remaining
            basis = "history+progress"
    remaining = round(remaining, 3)
    return {
        "remaining_seconds": remaining,
        "finishes_at": (now + timedelta(seconds=remaining)).isoformat(),
        "basis": basis,
        "samples": len(history.runs),
    }

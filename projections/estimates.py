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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

MIN_SAMPLES = 5  #: completed runs (and queue waits) of a type before its jobs get an estimate
KEEP = 50  #: the most recent waits and runs of a type that the estimate looks at


@dataclass(frozen=True, slots=True)
class History:
    """A tenant's job type's recent durations, oldest first, in seconds."""

    waits: tuple[float, ...]
    runs: tuple[float, ...]
    enough: bool = field(init=False)  #: MIN_SAMPLES of each
    wait: float = field(init=False)  #: the median wait (made once: a page of jobs uses it for each)
    run: float = field(init=False)  #: the median run

    def __post_init__(self) -> None:
        enough = len(self.runs) >= MIN_SAMPLES and len(self.waits) >= MIN_SAMPLES
        object.__setattr__(self, "enough", enough)
        object.__setattr__(self, "wait", statistics.median(self.waits) if enough else 0.0)
        object.__setattr__(self, "run", statistics.median(self.runs) if enough else 0.0)


@dataclass(frozen=True, slots=True)
class Times:
    """What the estimate needs of a job: its status, and since when it is claimable (queued) or
    running, and its percent."""

    status: str
    since: datetime | None
    percent: float | None = None


def waiting_since(created_at: str | datetime, run_at: str | datetime | None, updated_at: str | datetime, attempts: int):
    """When a queued job became claimable: its run_at, else its creation, else (released) its last change."""
    return run_at or (created_at if attempts == 0 else updated_at)


def times_of(doc: dict[str, Any]) -> Times:
    """A job document's times (its stored text parsed): only the one its status needs is read."""
    status = doc["status"]
    if status == "queued":
        since = waiting_since(doc["created_at"], doc["run_at"], doc["updated_at"], doc["attempts"])
    else:
        since = doc["started_at"]
    progress = doc["progress"]
    return Times(status, since and datetime.fromisoformat(since), progress and progress["percent"])


def estimate(job: Times, history: History | None, now: datetime) -> dict[str, Any] | None:
    """`{remaining_seconds, finishes_at, basis, samples}`, or None: a finished job, or not enough history."""
    if job.status not in ("queued", "running") or history is None or not history.enough:
        return None
    run = history.run
    basis = "history"
    if job.status == "queued":
        starts = max((job.since or now) + timedelta(seconds=history.wait), now)
        remaining = (starts - now).total_seconds() + run
    else:
        elapsed = max((now - (job.since or now)).total_seconds(), 0.0)
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

"""A schedule's decide and evolve, as a table: each status and command, the events or the error."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from jobledger.domain import errors, schedule, schedule_events
from jobledger.domain.status import ScheduleStatus

AT = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
CONFIG = {"cron": "* * * * *", "timezone": "UTC", "job": {"type": "r"}, "overlap": "allow"}


def state(status: ScheduleStatus, **more) -> schedule.ScheduleState:
    return schedule.ScheduleState("acme", "s", 3, status, CONFIG, None, AT, 1, **more)


@pytest.mark.parametrize(
    ("status", "trigger", "args", "expected"),
    [
        (ScheduleStatus.NEW, "create", {"config": CONFIG, "next_fire_at": AT}, [schedule_events.ScheduleCreated]),
        (ScheduleStatus.DELETED, "create", {"config": CONFIG, "next_fire_at": AT}, [schedule_events.ScheduleCreated]),
        (ScheduleStatus.ACTIVE, "create", {"config": CONFIG, "next_fire_at": AT}, errors.ScheduleExists),
        (ScheduleStatus.PAUSED, "update", {"config": {**CONFIG, "cron": "0 * * * *"}, "next_fire_at": AT}, [schedule_events.ScheduleUpdated]),
        (ScheduleStatus.ACTIVE, "update", {"config": CONFIG, "next_fire_at": AT}, []),  # the same definition again
        (ScheduleStatus.ACTIVE, "pause", {"reason": "x"}, [schedule_events.SchedulePaused]),
        (ScheduleStatus.PAUSED, "pause", {}, []),
        (ScheduleStatus.PAUSED, "resume", {"next_fire_at": AT}, [schedule_events.ScheduleResumed]),
        (ScheduleStatus.ACTIVE, "resume", {"next_fire_at": AT}, []),
        (ScheduleStatus.PAUSED, "delete", {}, [schedule_events.ScheduleDeleted]),
        (ScheduleStatus.DELETED, "delete", {}, errors.ScheduleNotFound),
        (ScheduleStatus.NEW, "pause", {}, errors.ScheduleNotFound),
        (ScheduleStatus.ACTIVE, "update", {"config": CONFIG}, errors.InvalidCommand),  # an expression that never fires
    ],
)
def test_decide(status, trigger, args, expected):
    if isinstance(expected, type):
        with pytest.raises(expected):
            schedule.decide(state(status), trigger, **args)
        return
    decided = schedule.decide(state(status), trigger, **args)
    assert [type(e) for e in decided] == expected
    folded = schedule.fold(state(status), decided)
    assert folded.version == 3 + len(decided)


@pytest.mark.parametrize(
    ("overlap", "running", "creates", "cancels", "event"),
    [
        ("skip", True, False, None, schedule_events.ScheduleFireSkipped),
        ("skip", False, True, None, schedule_events.ScheduleFired),
        ("allow", True, True, None, schedule_events.ScheduleFired),
        ("cancel_previous", True, True, "prev", schedule_events.ScheduleFired),
        ("cancel_previous", False, True, None, schedule_events.ScheduleFired),
    ],
)
def test_a_fire_by_its_overlap_policy(overlap, running, creates, cancels, event):
    active = replace(state(ScheduleStatus.ACTIVE, last_job_id="prev"), config={**CONFIG, "overlap": overlap})

    fire = schedule.fire(active, AT, AT, "new", running)

    assert (fire.creates, fire.cancels, type(fire.event)) == (creates, cancels, event)
    assert schedule.evolve(active, fire.event).last_job_id == ("new" if creates else "prev")


@pytest.mark.parametrize(
    ("policy", "on_time", "missed", "expected"),
    [
        ({"catch_up": "none"}, [], [1, 2, 3], ([], [])),
        ({"catch_up": "latest"}, [], [1, 2, 3], ([3], [])),
        ({"catch_up": "latest"}, [4], [1, 2, 3], ([], [4])),
        ({"catch_up": "all", "catch_up_limit": 2}, [4], [1, 2, 3], ([2, 3], [4])),
    ],
)
def test_catch_up(policy, on_time, missed, expected):
    assert schedule.catch_up(policy, on_time, missed) == expected

"""The states of a job, of its phases, and of a job type."""

from enum import Enum


class Status(str, Enum):
    WAITING = "waiting"  #: its parents (depends_on) have not all completed: no claim takes it yet
    QUEUED = "queued"  #: accepted, waiting to be started
    RUNNING = "running"  #: an attempt is in progress
    COMPLETED = "completed"  #: finished with a result (terminal)
    FAILED = "failed"  #: finished with an error and no retry left (terminal)
    CANCELLED = "cancelled"  #: stopped on request (terminal)
    EXPIRED = "expired"  #: not finished before its deadline (terminal)

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.EXPIRED})


class PhaseStatus(str, Enum):
    PENDING = "pending"  #: not started in this attempt
    RUNNING = "running"  #: started, not finished
    COMPLETED = "completed"  #: finished with a result
    FAILED = "failed"  #: finished with an error
    INTERRUPTED = "interrupted"  #: running when its attempt ended unfinished (failed, retried, released, cancelled, expired)


class TypeStatus(str, Enum):
    ACTIVE = "active"  #: claims give out its jobs
    PAUSED = "paused"  #: creates still queue its jobs; claims leave them until it resumes


class ScheduleStatus(str, Enum):
    NEW = "new"  #: before its first event (or never created)
    ACTIVE = "active"  #: fires at its times
    PAUSED = "paused"  #: fires nothing until it resumes (its missed times are not caught up)
    DELETED = "deleted"  #: gone from lists and fires nothing; its history stays in the log


class WebhookStatus(str, Enum):
    ACTIVE = "active"  #: deliveries are sent
    DISABLED = "disabled"  #: nothing is sent until it is enabled again
    DELETED = "deleted"  #: gone: nothing is sent, nothing changes it

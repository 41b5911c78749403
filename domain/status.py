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

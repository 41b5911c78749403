"""The job, phase, job type and schedule state machines: declarative tables built once at import.

Each `transitions.Machine` is the definition. Building one costs ~190 µs and firing a
trigger on it ~13 µs (behind a lock, since a claim may decide in a database thread),
so at import every trigger is fired once from every state on the built machine, and
`job_next`/`phase_next` answer from the resulting (state, trigger) -> state table.
"""

from enum import Enum

from transitions import Machine, MachineError

from jobledger.domain.status import PhaseStatus, ScheduleStatus, Status, TypeStatus, WebhookStatus

W = Status.WAITING
Q, R, C, F, X, E = Status.QUEUED, Status.RUNNING, Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.EXPIRED

JOB_TRANSITIONS = [
    {"trigger": "start", "source": Q, "dest": R},  # tracked start, or a worker's claim
    {"trigger": "progress", "source": Q, "dest": Q},  # a message while it waits (a slot, an upload): still queued
    {"trigger": "progress", "source": R, "dest": R},
    {"trigger": "report", "source": R, "dest": R},  # phases, artifacts: only while an attempt runs
    {"trigger": "heartbeat", "source": R, "dest": R},
    {"trigger": "complete", "source": R, "dest": C},
    {"trigger": "fail", "source": R, "dest": F},  # or back to queued when a retry is left
    {"trigger": "lose_lease", "source": R, "dest": Q},  # or failed/cancelled, see decide
    {"trigger": "release", "source": R, "dest": Q},  # the worker gives the job back; or cancelled, see decide
    {"trigger": "cancel", "source": [W, Q, R], "dest": X},  # a leased job: at the worker's next call
    {"trigger": "expire", "source": [W, Q, R], "dest": E},
    {"trigger": "requeue", "source": F, "dest": Q},  # a retry by hand
    {"trigger": "erase", "source": [C, F, X, E], "dest": "="},  # a finished job's data (domain/erasure.py)
    # dependencies (domain/dependencies.py): a job gains children until it ends; a waiting job's parents end
    {"trigger": "adopt", "source": [W, Q, R], "dest": "="},
    {"trigger": "resolve", "source": W, "dest": W},  # a parent ended and others remain
    {"trigger": "unblock", "source": W, "dest": Q},  # its last parent ended
]

PHASE_TRANSITIONS = [
    {"trigger": "start", "source": PhaseStatus.PENDING, "dest": PhaseStatus.RUNNING},
    {"trigger": "complete", "source": PhaseStatus.RUNNING, "dest": PhaseStatus.COMPLETED},
    {"trigger": "fail", "source": PhaseStatus.RUNNING, "dest": PhaseStatus.FAILED},
]

# A job type's definition (domain/job_type.py): claims give out its jobs only while it is active.
TYPE_TRANSITIONS = [
    {"trigger": "define", "source": [TypeStatus.ACTIVE, TypeStatus.PAUSED], "dest": "="},  # a pause outlives a new definition
    {"trigger": "pause", "source": TypeStatus.ACTIVE, "dest": TypeStatus.PAUSED},
    {"trigger": "resume", "source": TypeStatus.PAUSED, "dest": TypeStatus.ACTIVE},
]

# A schedule (domain/schedule.py): only an active one fires; a deleted name may be created again.
_SN, _SA, _SP, _SD = ScheduleStatus.NEW, ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED, ScheduleStatus.DELETED
SCHEDULE_TRANSITIONS = [
    {"trigger": "create", "source": [_SN, _SD], "dest": _SA},
    {"trigger": "update", "source": [_SA, _SP], "dest": "="},  # a pause outlives a new definition
    {"trigger": "pause", "source": _SA, "dest": _SP},
    {"trigger": "resume", "source": _SP, "dest": _SA},
    {"trigger": "delete", "source": [_SA, _SP], "dest": _SD},
    {"trigger": "fire", "source": _SA, "dest": _SA},  # a fire time handled: fired, skipped or missed
]

# A webhook endpoint (domain/webhook.py): deliveries are sent only while it is active.
_W = WebhookStatus
WEBHOOK_TRANSITIONS = [
    {"trigger": "update", "source": [_W.ACTIVE, _W.DISABLED], "dest": "="},
    {"trigger": "rotate", "source": [_W.ACTIVE, _W.DISABLED], "dest": "="},
    {"trigger": "resend", "source": [_W.ACTIVE, _W.DISABLED], "dest": "="},
    {"trigger": "disable", "source": _W.ACTIVE, "dest": _W.DISABLED},
    {"trigger": "enable", "source": _W.DISABLED, "dest": _W.ACTIVE},
    {"trigger": "delete", "source": [_W.ACTIVE, _W.DISABLED], "dest": _W.DELETED},
]


class _Probe:
    state: str


def _build(states, table, initial):
    probe = _Probe()
    machine = Machine(
        model=probe,
        states=[s.value for s in states],
        transitions=[{**t, "source": _values(t["source"]), "dest": _values(t["dest"])} for t in table],
        initial=initial.value,
        auto_transitions=False,
    )
    return machine, probe


def _values(source):
    if source == "=":
        return source  # the same state: a reflexive transition
    return [s.value for s in source] if isinstance(source, list) else source.value


_job_machine, _job_probe = _build(Status, JOB_TRANSITIONS, Status.QUEUED)
_phase_machine, _phase_probe = _build(PhaseStatus, PHASE_TRANSITIONS, PhaseStatus.PENDING)
_type_machine, _type_probe = _build(TypeStatus, TYPE_TRANSITIONS, TypeStatus.ACTIVE)
_schedule_machine, _schedule_probe = _build(ScheduleStatus, SCHEDULE_TRANSITIONS, ScheduleStatus.NEW)
_webhook_machine, _webhook_probe = _build(WebhookStatus, WEBHOOK_TRANSITIONS, WebhookStatus.ACTIVE)

JOB_TRIGGERS = tuple(dict.fromkeys(t["trigger"] for t in JOB_TRANSITIONS))
PHASE_TRIGGERS = tuple(dict.fromkeys(t["trigger"] for t in PHASE_TRANSITIONS))
TYPE_TRIGGERS = tuple(dict.fromkeys(t["trigger"] for t in TYPE_TRANSITIONS))
SCHEDULE_TRIGGERS = tuple(dict.fromkeys(t["trigger"] for t in SCHEDULE_TRANSITIONS))
WEBHOOK_TRIGGERS = tuple(dict.fromkeys(t["trigger"] for t in WEBHOOK_TRANSITIONS))


def _table(machine: Machine, probe: _Probe, states: type[Enum], triggers: tuple[str, ...]) -> dict:
    """Every (state, trigger) -> next state that `machine` allows, found by firing each trigger from each state."""
    table = {}
    for state in states:
        for trigger in triggers:
            machine.set_state(state.value, model=probe)
            try:
                probe.trigger(trigger)
            except MachineError:
                continue
            table[state, trigger] = states(probe.state)
    return table


JOB_NEXT: dict[tuple[Status, str], Status] = _table(_job_machine, _job_probe, Status, JOB_TRIGGERS)
PHASE_NEXT: dict[tuple[PhaseStatus, str], PhaseStatus] = _table(
    _phase_machine, _phase_probe, PhaseStatus, PHASE_TRIGGERS
)

TYPE_NEXT: dict[tuple[TypeStatus, str], TypeStatus] = _table(_type_machine, _type_probe, TypeStatus, TYPE_TRIGGERS)
SCHEDULE_NEXT: dict[tuple[ScheduleStatus, str], ScheduleStatus] = _table(
    _schedule_machine, _schedule_probe, ScheduleStatus, SCHEDULE_TRIGGERS
)
WEBHOOK_NEXT: dict[tuple[WebhookStatus, str], WebhookStatus] = _table(
    _webhook_machine, _webhook_probe, WebhookStatus, WEBHOOK_TRIGGERS
)


class Refused(Exception):
    """The machine has no such transition from this state (caught inside domain/)."""


def job_next(status: Status, trigger: str) -> Status:
    """The job status after `trigger`, or `Refused`."""
    try:
        return JOB_NEXT[status, trigger]
    except KeyError:
        raise Refused(status.value, trigger) from None


def phase_next(status: PhaseStatus, trigger: str) -> PhaseStatus:
    """The phase status after `trigger`, or `Refused`."""
    try:
        return PHASE_NEXT[status, trigger]
    except KeyError:
        raise Refused(status.value, trigger) from None


def type_next(status: TypeStatus, trigger: str) -> TypeStatus:
    """The job type's status after `trigger`, or `Refused`."""
    try:
        return TYPE_NEXT[status, trigger]
    except KeyError:
        raise Refused(status.value, trigger) from None


def schedule_next(status: ScheduleStatus, trigger: str) -> ScheduleStatus:
    """The schedule's status after `trigger`, or `Refused`."""
    try:
        return SCHEDULE_NEXT[status, trigger]
    except KeyError:
        raise Refused(status.value, trigger) from None


def webhook_next(status: WebhookStatus, trigger: str) -> WebhookStatus:
    """The webhook endpoint's status after `trigger`, or `Refused`."""
    try:
        return WEBHOOK_NEXT[status, trigger]
    except KeyError:
        raise Refused(status.value, trigger) from None

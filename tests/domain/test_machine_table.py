"""The tables `job_next` and `phase_next` answer from say exactly what the transitions Machines say."""

import itertools

import pytest
from transitions import Machine, MachineError

from jobledger.domain import machine
from jobledger.domain.status import PhaseStatus, Status

MACHINES = {
    "job": (machine.job_next, machine._job_machine, Status),
    "phase": (machine.phase_next, machine._phase_machine, PhaseStatus),
}


class _Model:
    state: str


def _machine_answer(built: Machine, state: str, trigger: str) -> str | None:
    """The state the built Machine moves a fresh model in `state` to, or None if it refuses."""
    model = _Model()
    built.add_model(model, initial=state)
    try:
        model.trigger(trigger)
    except MachineError:
        return None
    finally:
        built.remove_model(model)
    return model.state


def _disagreements(kind: str) -> list[tuple[str, str]]:
    """The (state, trigger) pairs, over every state and every trigger the Machine knows, where the table differs."""
    next_state, built, states = MACHINES[kind]
    wrong = []
    for state, trigger in itertools.product(states, built.events):
        try:
            ours = next_state(state, trigger).value
        except machine.Refused:
            ours = None
        if ours != _machine_answer(built, state.value, trigger):
            wrong.append((state.value, trigger))
    return wrong


@pytest.mark.parametrize("kind", list(MACHINES))
def test_the_table_is_what_the_machine_answers(kind: str):
    assert _disagreements(kind) == []


def test_the_machines_know_the_triggers_the_tables_were_built_from():
    assert tuple(machine._job_machine.events) == machine.JOB_TRIGGERS
    assert tuple(machine._phase_machine.events) == machine.PHASE_TRIGGERS


Q, R, C = Status.QUEUED, Status.RUNNING, Status.COMPLETED
P_RUNNING, P_COMPLETED = PhaseStatus.RUNNING, PhaseStatus.COMPLETED

WRONG_ENTRIES = {  # (state, trigger) -> a wrong answer; None: the entry is missing
    "job transition missing": ("job", (R, "complete"), None),
    "job self-transition missing": ("job", (Q, "progress"), None),
    "job self-transition too many": ("job", (Q, "report"), Q),
    "job transition too many": ("job", (C, "start"), R),
    "job wrong destination": ("job", (R, "release"), C),
    "phase transition missing": ("phase", (P_RUNNING, "fail"), None),
    "phase transition too many": ("phase", (P_COMPLETED, "start"), P_RUNNING),
}


@pytest.mark.parametrize("wrong", list(WRONG_ENTRIES))
def test_a_wrong_table_would_be_caught(monkeypatch, wrong: str):
    kind, (state, trigger), answer = WRONG_ENTRIES[wrong]
    name = "JOB_NEXT" if kind == "job" else "PHASE_NEXT"
    table = dict(getattr(machine, name))
    if answer is None:
        del table[state, trigger]
    else:
        table[state, trigger] = answer
    monkeypatch.setattr(machine, name, table)
    assert _disagreements(kind) == [(state.value, trigger)]

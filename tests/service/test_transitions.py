"""Illegal transitions answer 409 with the job's status, the transition and its version, and write nothing."""

import pytest

from tests.service.helpers import error_of

ACTIONS = {
    "start": ("start", None),
    "progress": ("progress", {"percent": 50}),
    "start phase": ("phases/research/start", None),
    "complete phase": ("phases/research/complete", {"result": 1}),
    "fail phase": ("phases/research/fail", {"error": "x"}),
    "complete": ("complete", {"result": 1}),
    "fail": ("fail", {"error": "x"}),
    "cancel": ("cancel", None),
}
TERMINAL = ["completed", "failed", "cancelled"]
ILLEGAL = (
    [("queued", t) for t in ["start phase", "complete phase", "fail phase", "complete", "fail"]]
    + [("running", "start"), ("phase_running", "start")]
    + [(state, t) for state in TERMINAL for t in ACTIONS]
)


@pytest.mark.parametrize(("state", "transition"), ILLEGAL)
async def test_illegal_transition_answers_409_and_writes_nothing(job_in, send, unchanged, state, transition):
    job = await job_in(state)
    action, body = ACTIONS[transition]

    async with unchanged():
        details = await error_of(await send(job, action, body), 409, "illegal_transition")

    assert details["job_id"] == job["id"]
    assert details["status"] == job["status"]
    assert details["transition"] == transition
    assert details["version"] == job["version"]


@pytest.mark.parametrize("state", TERMINAL)
async def test_delete_on_a_finished_job_answers_409(client, job_in, unchanged, state):
    job = await job_in(state)

    async with unchanged():
        details = await error_of(await client.delete(f"/jobs/{job['id']}"), 409, "illegal_transition")

    assert (details["status"], details["transition"], details["version"]) == (state, "cancel", job["version"])


@pytest.mark.parametrize(
    ("state", "action", "phase", "phase_status"),
    [
        ("running", "phases/audit/start", "audit", "pending"),  # research has not completed
        ("running", "phases/research/complete", "research", "pending"),
        ("running", "phases/research/fail", "research", "pending"),
        ("phase_running", "phases/research/start", "research", "running"),
    ],
)
async def test_illegal_phase_transition_names_the_phase(job_in, send, unchanged, state, action, phase, phase_status):
    job = await job_in(state)
    body = {"error": "x"} if action.endswith("fail") else None

    async with unchanged():
        details = await error_of(await send(job, action, body), 409, "illegal_transition")

    assert (details["status"], details["version"]) == ("running", job["version"])
    assert (details["phase"], details["phase_status"]) == (phase, phase_status)


async def test_a_completed_phase_cannot_run_again(job_in, send, unchanged):
    job = await job_in("phase_running")
    assert (await send(job, "phases/research/complete")).status == 200

    async with unchanged():
        details = await error_of(await send(job, "phases/research/start"), 409, "illegal_transition")

    assert (details["phase"], details["phase_status"], details["version"]) == ("research", "completed", 4)


async def test_complete_while_a_phase_runs_answers_409(job_in, send, unchanged):
    job = await job_in("phase_running")

    async with unchanged():
        details = await error_of(await send(job, "complete", {"result": 1}), 409, "illegal_transition")

    assert (details["status"], details["transition"], details["phase"]) == ("running", "complete", "research")
    assert details["version"] == job["version"]

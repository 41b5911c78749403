"""Phases a job type declares: its jobs get them, and a handler that opens a phase its job does not
have fails the job at once (undeclared_phase), not after spending every attempt; over HTTP and
in-process, on both backends."""

from jobledger.worker import UndeclaredPhase
from tests.sdk.helpers import create, history, types, wait_for


async def _register(client, **config) -> None:
    response = await client.put("/types/report", json=config)
    assert response.status == 200, await response.text()


async def test_a_types_declared_phases_reach_the_handler_and_complete(client, make_worker):
    await _register(client, phases=["research", "audit"])
    job = await create(client)  # no phases named: the type's
    worker = make_worker()

    @worker.handler("report")
    async def handle(doc, ctx):
        for name in ("research", "audit"):
            async with ctx.phase(name):
                pass
        return "done"

    make_worker.start(worker)
    done = await wait_for(client, job["id"])

    assert done["status"] == "completed"
    assert [(p["name"], p["status"]) for p in done["phases"]] == [("research", "completed"), ("audit", "completed")]


async def test_an_undeclared_phase_fails_the_job_at_its_first_attempt(client, make_worker):
    await _register(client, phases=["research"], max_attempts=3, retry_base_seconds=0)
    job = await create(client)
    worker = make_worker()
    raised = []

    @worker.handler("report")
    async def handle(doc, ctx):
        async with ctx.phase("research"):
            pass
        try:
            async with ctx.phase("audit"):
                pass
        except UndeclaredPhase as exc:
            raised.append(exc)
            raise

    make_worker.start(worker)
    done = await wait_for(client, job["id"])

    assert (done["status"], done["attempts"]) == ("failed", 1)  # not 3: no attempt would find the phase
    assert done["error"]["code"] == "undeclared_phase"
    assert "'audit'" in done["error"]["message"] and "'research'" in done["error"]["message"]
    assert raised and raised[0].details == {"phase": "audit", "phases": ["research"]}
    assert types(await history(client, job["id"])) == [
        "JobCreated", "JobStarted", "PhaseStarted", "PhaseCompleted", "JobFailed",
    ]  # nothing was sent for the undeclared phase

"""A tracked job's commands on one instance while another instance changes the job.

An instance keeps the running jobs it last wrote, tracked ones too, and decides their
next command without reading them first. These tests make sure that what it answers is
what the log says, not what it remembers: A started the job (and remembers it), then B
moves it on.
"""

from tests.workers.helpers import error_of, get_job, history, log_length, ok


async def _started_on_a(service_with, **job):
    """Instances A and B (neither sweeps) and a tracked job started on A: (a, b, job id)."""
    a = await service_with(sweep_interval=3600)
    b = await service_with(sweep_interval=3600)
    created = await ok(await a.post("/jobs", json={"type": "task", **job}), 201)
    await ok(await a.post(f"/jobs/{created['id']}/start"))
    return a, b, created["id"]


async def test_a_report_after_another_instances_report_follows_it(service_with):
    a, b, job = await _started_on_a(service_with)
    await ok(await a.post(f"/jobs/{job}/progress", json={"percent": 10}))

    await ok(await b.post(f"/jobs/{job}/progress", json={"percent": 20, "message": "from b"}))
    doc = await ok(await a.post(f"/jobs/{job}/progress", json={"percent": 30}))

    assert (doc["version"], doc["progress"]["percent"]) == (5, 30)
    assert [e["data"].get("percent") for e in await history(b, job)][2:] == [10, 20, 30]


async def test_if_match_is_checked_against_the_log_not_the_remembered_job(service_with):
    a, b, job = await _started_on_a(service_with)  # A remembers version 2
    await ok(await b.post(f"/jobs/{job}/progress", json={"percent": 20}))  # version 3
    before = await log_length(a)

    stale = await a.post(f"/jobs/{job}/progress", json={"percent": 30}, headers={"If-Match": "2"})
    details = await error_of(stale, 409, "version_conflict")
    fresh = await ok(await a.post(f"/jobs/{job}/progress", json={"percent": 40}, headers={"If-Match": "3"}))

    assert details["current_version"] == 3
    assert await log_length(a) == before + 1
    assert (fresh["version"], fresh["progress"]["percent"]) == (4, 40)


async def test_a_job_another_instance_cancelled_refuses_a_report(service_with):
    a, b, job = await _started_on_a(service_with)

    await ok(await b.post(f"/jobs/{job}/cancel", json={"reason": "withdrawn"}))
    before = await log_length(a)
    refused = await a.post(f"/jobs/{job}/progress", json={"percent": 50})

    details = await error_of(refused, 409, "illegal_transition")
    assert details["status"] == "cancelled"
    assert await log_length(a) == before
    assert (await get_job(a, job))["status"] == "cancelled"


async def test_a_job_another_instance_completed_is_not_completed_again(service_with):
    a, b, job = await _started_on_a(service_with)

    await ok(await b.post(f"/jobs/{job}/complete", json={"result": "from b"}))
    before = await log_length(a)
    again = await a.post(f"/jobs/{job}/complete", json={"result": "from a"})

    await error_of(again, 409, "illegal_transition")
    assert await log_length(a) == before
    assert (await get_job(a, job))["result"] == "from b"

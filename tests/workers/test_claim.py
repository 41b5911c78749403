"""POST /workers/claim: what a claim takes, in which order, what it records, and bad claims."""

import asyncio
import time
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
import pytest

from tests.live.processes import Service
from tests.ops.helpers import moved, scrape
from tests.workers.helpers import WAIT, WOKEN, error_of, get_job, history, ok, seconds_between


async def test_a_claim_records_job_started_with_attempt_worker_and_lease(client, create_job, claim):
    job = await create_job(max_attempts=3)

    [doc] = await claim("worker-7", lease_seconds=45)

    events = await history(client, job)
    started = events[-1]
    assert [e["type"] for e in events] == ["JobCreated", "JobStarted"]
    assert started["data"]["attempt"] == 1
    assert started["data"]["worker_id"] == "worker-7"
    assert started["data"]["lease_expires_at"] == doc["lease_expires_at"]
    assert seconds_between(started["recorded_at"], doc["lease_expires_at"]) == pytest.approx(45, abs=0.01)
    assert (started["metadata"]["actor"], started["metadata"]["worker_id"]) == ("api", "worker-7")
    assert (doc["id"], doc["status"], doc["attempts"], doc["worker_id"]) == (job["id"], "running", 1, "worker-7")
    assert doc["version"] == 2 and doc["position"] == started["position"]


async def test_each_claimed_job_gets_its_own_lease_token_which_is_never_shown_again(client, create_job, claim):
    for _ in range(3):
        await create_job()

    docs = await claim(limit=3)

    tokens = [d["lease_token"] for d in docs]
    assert len(docs) == 3 and len(set(tokens)) == 3 and all(len(t) >= 16 for t in tokens)
    paths = ["/events", "/jobs", *(f"/jobs/{d['id']}{tail}" for d in docs for tail in ("", "/events"))]
    shown = [await (await client.get(path)).text() for path in paths]
    assert not [token for token in tokens for text in shown if token in text]


async def test_a_claim_takes_at_most_limit_jobs_and_leaves_the_rest_queued(client, create_job, claim):
    jobs = [await create_job() for _ in range(5)]

    docs = await claim(limit=3)

    assert [d["id"] for d in docs] == [j["id"] for j in jobs[:3]]
    statuses = [(await get_job(client, j))["status"] for j in jobs]
    assert statuses == ["running"] * 3 + ["queued"] * 2


async def test_an_empty_queue_answers_an_empty_list_at_once(claim):
    started = time.monotonic()

    assert await claim(limit=10) == []
    assert time.monotonic() - started < 1


async def test_higher_priority_first_then_oldest(create_job, claim):
    for n, priority in enumerate([1, 5, -2, 5, 3, 1]):
        await create_job(priority=priority, metadata={"n": n})

    one_by_one = [(await claim())[0]["metadata"]["n"] for _ in range(3)]
    rest = [d["metadata"]["n"] for d in await claim(limit=10)]

    assert one_by_one == [1, 3, 4]
    assert rest == [0, 5, 2]


async def test_a_job_scheduled_first_but_due_later_waits_behind_the_jobs_due_before_it(create_job, claim):
    run_at = datetime.now(UTC) + timedelta(seconds=2)  # room for the next create on a loaded machine
    scheduled = await create_job(run_at=run_at.isoformat())
    now_job = await create_job()
    assert now_job["created_at"] < scheduled["run_at"]

    await asyncio.sleep(max(0.0, (run_at - datetime.now(UTC)).total_seconds()) + 0.05)
    docs = await claim(limit=10)

    assert [d["id"] for d in docs] == [now_job["id"], scheduled["id"]]


async def test_a_job_retried_by_hand_queues_behind_the_jobs_due_before_it(claimed, create_job, claim, send):
    retried = await claimed(max_attempts=1)
    await ok(await send(retried, "fail", {"error": "broken input", "lease_token": retried["lease_token"]}))
    waiting = await create_job()
    await ok(await send(retried, "retry"))

    docs = await claim(limit=10)

    assert [d["id"] for d in docs] == [waiting["id"], retried["id"]]


async def test_a_released_job_keeps_its_place_in_the_queue(claimed, create_job, claim, send):
    released = await claimed()
    waiting = await create_job()
    await ok(await send(released, "release", {"lease_token": released["lease_token"]}))

    docs = await claim(limit=10)

    assert [d["id"] for d in docs] == [released["id"], waiting["id"]]


async def test_a_run_at_in_the_past_does_not_jump_the_queue(create_job, claim):
    first = await create_job()
    backdated = await create_job(run_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat())

    docs = await claim(limit=10)

    assert [d["id"] for d in docs] == [first["id"], backdated["id"]]


async def test_jobs_not_due_at_a_higher_priority_leave_the_due_ones_to_the_claim(create_job, claim):
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for _ in range(3):
        await create_job(priority=10, run_at=later)
    due = [await create_job(priority=p) for p in (0, 5, 0)]

    docs = await claim(limit=10)

    assert [d["id"] for d in docs] == [due[1]["id"], due[0]["id"], due[2]["id"]]


@pytest.mark.parametrize("types", [None, ["task"]], ids=["of-any-type", "of-a-type"])
async def test_due_jobs_below_many_priorities_of_waiting_jobs_come_in_claim_order(create_job, claim, types):
    """More priorities than a claim reads one at a time (eight): below those, one scan."""
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for priority in range(100, 79, -1):
        await create_job(priority=priority, run_at=later)
    due = {p: await create_job(priority=p) for p in (10, 90, 0, 50, 95)}

    docs = await claim(limit=10, **({"types": types} if types else {}))

    assert [d["id"] for d in docs] == [due[p]["id"] for p in (95, 90, 50, 10, 0)]


async def test_a_claim_takes_only_the_types_it_names(create_job, claim):
    await create_job(type="pdf")
    wanted = [await create_job(type=t) for t in ("email", "sms", "email")]

    docs = await claim(types=["email", "sms"], limit=10)

    assert [d["id"] for d in docs] == [j["id"] for j in wanted]
    assert [d["type"] for d in await claim(limit=10)] == ["pdf"]


async def test_a_delayed_job_is_not_claimable_before_run_at(client, create_job, claim):
    run_at = datetime.now(UTC) + timedelta(seconds=1.5)  # room for two creates and a claim on a loaded machine
    job = await create_job(run_at=run_at.isoformat())
    now_job = await create_job(priority=-5)

    early = await claim(limit=10)
    assert [d["id"] for d in early] == [now_job["id"]]
    assert (await get_job(client, job))["status"] == "queued"

    await asyncio.sleep(max(0.0, (run_at - datetime.now(UTC)).total_seconds()) + 0.05)
    [late] = await claim(limit=10)

    assert late["id"] == job["id"]
    assert (await history(client, job))[-1]["recorded_at"] >= run_at.isoformat()


@pytest.mark.parametrize(("offset_hours", "due"), [(-5, False), (5, True)])
async def test_run_at_in_another_time_zone_is_compared_as_an_instant(create_job, claim, offset_hours, due):
    zone = timezone(timedelta(hours=offset_hours))
    run_at = datetime.now(UTC) + timedelta(hours=-1 if due else 1)
    job = await create_job(run_at=run_at.astimezone(zone).isoformat())

    docs = await claim()

    assert [d["id"] for d in docs] == ([job["id"]] if due else [])


async def test_a_job_past_its_deadline_is_not_handed_to_a_worker_even_before_the_sweep(service_with):
    client = await service_with(sweep_interval=3600)
    job = await ok(await client.post("/jobs", json={"type": "task", "expires_in": 0.2}), 201)
    await asyncio.sleep(0.3)

    docs = (await ok(await client.post("/workers/claim", json={"worker_id": "w", "lease_seconds": 30})))["jobs"]

    assert docs == []
    assert "JobStarted" not in [e["type"] for e in await history(client, job)]


async def test_a_long_poll_answers_as_soon_as_a_job_is_created(client, create_job, claim, woken_only):
    async def create_later():
        await asyncio.sleep(0.3)
        return await create_job(type="late")

    started = time.monotonic()
    docs, job = await asyncio.gather(claim(types=["late"], wait_seconds=WAIT), create_later())

    assert [d["id"] for d in docs] == [job["id"]]
    assert 0.3 <= time.monotonic() - started < WOKEN  # woken by the create


async def test_a_long_poll_answers_when_a_delayed_job_comes_due(create_job, claim):
    run_at = datetime.now(UTC) + timedelta(seconds=0.4)
    job = await create_job(run_at=run_at.isoformat())

    docs = await claim(wait_seconds=8)
    answered = datetime.now(UTC)

    assert [d["id"] for d in docs] == [job["id"]]
    # claimed once due, not before (however long the create took), and soon after
    assert run_at <= datetime.fromisoformat(docs[0]["started_at"]) <= answered < run_at + timedelta(seconds=4)


async def test_a_long_poll_with_no_job_answers_empty_after_wait_seconds(create_job, claim):
    await create_job(type="other")

    started = time.monotonic()
    docs = await claim(types=["nothing-here"], wait_seconds=0.5)
    elapsed = time.monotonic() - started

    assert docs == []
    assert 0.5 <= elapsed < 10  # after its wait, not before, and not held on


async def test_a_long_poll_is_not_woken_by_progress_reports(client, claimed, claim, send):
    busy = await claimed(type="busy")
    before = await scrape(client)

    async def report_meanwhile():
        await asyncio.sleep(0.2)
        for n in range(60):
            await ok(await send(busy, "progress", {"percent": n, "lease_token": busy["lease_token"]}))

    docs, _ = await asyncio.gather(claim(types=["idle"], wait_seconds=2.5), report_meanwhile())

    assert docs == []
    reads = moved(before, await scrape(client), "jobledger_claim_reads_total")
    # its first read, one a second for jobs coming due, and its last: not one a report
    assert 1 <= reads <= 5, reads


async def test_a_long_poll_is_not_woken_by_jobs_of_other_types(client, claimed, claim, send):
    before = await scrape(client)
    others = 20

    async def other_jobs_meanwhile():
        await asyncio.sleep(0.2)
        for _ in range(others):  # each queued, then ended: a wake-up for claims of its type
            job = await claimed(type="busy")
            await ok(await send(job, "complete", {"lease_token": job["lease_token"]}))

    docs, _ = await asyncio.gather(claim(types=["idle"], wait_seconds=2.5), other_jobs_meanwhile())

    assert docs == []
    reads = moved(before, await scrape(client), "jobledger_claim_reads_total") - others  # the busy claims'
    # its first read, one a second for jobs coming due, and its last: not two a job of another type
    assert 1 <= reads <= 5, reads


async def test_a_long_poll_for_any_type_is_woken_by_a_job_of_any_type(client, create_job, claim, woken_only):
    async def create_later():
        await asyncio.sleep(0.3)
        return await create_job(type="anything")

    started = time.monotonic()
    docs, job = await asyncio.gather(claim(wait_seconds=WAIT), create_later())

    assert [d["id"] for d in docs] == [job["id"]]
    assert time.monotonic() - started < WOKEN


async def test_a_long_poll_gets_a_job_of_a_full_type_once_a_running_one_ends(client, create_job, claim, send, woken_only):
    await ok(await client.put("/types/gpu", json={"max_running": 1}))
    await create_job(type="gpu")
    waiting = await create_job(type="gpu")
    [running] = await claim(types=["gpu"])

    async def complete_later():
        await asyncio.sleep(0.3)
        await ok(await send(running, "complete", {"lease_token": running["lease_token"]}))

    started = time.monotonic()
    docs, _ = await asyncio.gather(claim(types=["gpu"], wait_seconds=WAIT), complete_later())

    assert [d["id"] for d in docs] == [waiting["id"]]
    assert time.monotonic() - started < WOKEN  # woken by the running job's end


async def test_two_long_polls_and_one_new_job_one_winner(client, create_job, claim):
    async def create_later():
        await asyncio.sleep(0.2)
        return await create_job(type="single")

    first, second, job = await asyncio.gather(
        claim("a", types=["single"], wait_seconds=1.0), claim("b", types=["single"], wait_seconds=1.0), create_later()
    )

    assert sorted([len(first), len(second)]) == [0, 1]
    assert (first or second)[0]["id"] == job["id"]
    assert [e["type"] for e in await history(client, job)] == ["JobCreated", "JobStarted"]


async def test_a_long_poll_whose_client_went_away_claims_nothing(db_url, tmp_path):
    """A worker that hung up mid long-poll must not take the next job: nobody would run it, and
    its lease running out would cost the job an attempt. A real `jobledger serve`: unlike the
    test server, it does not cancel a handler whose client went away."""
    body = {"worker_id": "gone", "types": ["ghost"], "lease_seconds": 30, "wait_seconds": 10}
    service = await Service(db_url, tmp_path).start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as gone:
            with pytest.raises(TimeoutError):
                await gone.post(f"{service.url}/workers/claim", json=body)  # the handler goes on waiting
        async with aiohttp.ClientSession(service.url) as http:
            async with http.post("/jobs", json={"type": "ghost"}) as resp:
                job = await ok(resp, 201)
            await asyncio.sleep(0.5)  # time enough for the waiting handler to wake and (wrongly) claim
            async with http.get(f"/jobs/{job['id']}/events") as resp:
                assert [e["type"] for e in (await ok(resp))["events"]] == ["JobCreated"]
            async with http.post("/workers/claim", json={**body, "worker_id": "here", "wait_seconds": 0}) as resp:
                [doc] = (await ok(resp))["jobs"]
    finally:
        await service.stop()
    assert (doc["id"], doc["attempts"], doc["worker_id"]) == (job["id"], 1, "here")


async def test_finished_running_and_cancelled_jobs_are_not_claimed(client, create_job, claim, send):
    running = await create_job()
    await claim()
    done = await create_job()
    await ok(await send(done, "start"))
    await ok(await send(done, "complete"))
    cancelled = await create_job()
    await ok(await send(cancelled, "cancel"))

    assert await claim(limit=10) == []
    assert (await get_job(client, running))["attempts"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit": 1}, "worker_id"),
        ({"worker_id": ""}, "worker_id"),
        ({"worker_id": "w", "limit": 0}, "limit"),
        ({"worker_id": "w", "limit": 1001}, "limit"),
        ({"worker_id": "w", "lease_seconds": 0}, "lease_seconds"),
        ({"worker_id": "w", "wait_seconds": 61}, "wait_seconds"),
        ({"worker_id": "w", "wait_seconds": -1}, "wait_seconds"),
        ({"worker_id": "w", "types": []}, "types"),
        ({"worker_id": "w", "types": "task"}, "types"),
        ({"worker_id": "w", "surprise": 1}, "surprise"),
    ],
)
async def test_a_bad_claim_is_400_naming_the_field_and_claims_nothing(client, create_job, log_unchanged, body, field):
    job = await create_job()

    async with log_unchanged():
        details = await error_of(await client.post("/workers/claim", json=body), 400, "invalid_request")

    assert field in [f["field"] for f in details["fields"]]
    assert (await get_job(client, job))["status"] == "queued"

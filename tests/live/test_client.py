"""Point 7: the Python live client follows events across reconnections and waits for jobs to finish;
a refusal retrying cannot mend (401, 403, 404, 400) raises at once with the service's code and message."""

import asyncio
import contextlib
import time

import pytest

from jobledger import client as live_client
from jobledger.web.live import LAGGING
from tests.live.processes import Service
from tests.security.conftest import bearer, make_key  # noqa: F401 (a fixture)

FAST = live_client.Backoff(first=0.01, most=0.2)


async def _collect(events, count: int) -> list[live_client.Event]:
    received = []
    async with contextlib.aclosing(events) as stream:
        async for event in stream:
            received.append(event)
            if len(received) == count:
                return received
    return received


def _url(client) -> str:
    return str(client.make_url("")).rstrip("/")


async def test_subscribe_yields_the_events_of_its_jobs(client, api):
    a, b = await api.create(), await api.create()
    reader = asyncio.create_task(_collect(live_client.subscribe(_url(client), jobs=[a["id"]]), 2))
    await asyncio.sleep(0.3)  # let it subscribe
    for job in (b, a):
        await api.post(job["id"], "start")
    await api.post(a["id"], "complete", {"result": {"ok": True}})
    events = await asyncio.wait_for(reader, 10)
    assert [(e.event, e.job_id, e.version) for e in events] == [("JobStarted", a["id"], 2), ("JobCompleted", a["id"], 3)]
    assert events[-1].job == await api.get(a["id"])
    assert events[-1].data == {"result": {"ok": True}}


async def test_subscribe_with_after_replays_first(client, api):
    job = await api.create(type="ocr")
    await api.post(job["id"], "start")
    await api.create(type="llm")
    events = await asyncio.wait_for(_collect(live_client.subscribe(_url(client), job_types=["ocr"], after=0), 2), 10)
    assert [e.event for e in events] == ["JobCreated", "JobStarted"]


async def test_subscribe_to_metadata_follows_the_matching_jobs(client, api):
    mine = await api.create(metadata={"user_id": "42"})
    await api.create(metadata={"user_id": "7"})
    reader = asyncio.create_task(_collect(live_client.subscribe(_url(client), metadata={"user_id": "42"}, after=0), 3))
    later = await api.create(metadata={"user_id": "42", "document": "d-1"})
    await api.post(later["id"], "start")
    events = await asyncio.wait_for(reader, 10)
    assert [(e.event, e.job_id) for e in events] == [
        ("JobCreated", mine["id"]), ("JobCreated", later["id"]), ("JobStarted", later["id"])
    ]


async def test_subscribe_resumes_without_gap_when_the_service_drops_it(client, api, hub):
    jobs = [await api.create() for _ in range(4)]
    start = (await api.log())[-1]["position"]
    total = 4 + 4 * 30
    reader = asyncio.create_task(
        _collect(live_client.subscribe(_url(client), all=True, after=start, backoff=FAST), total)
    )

    async def disrupt() -> None:
        while not reader.done():
            await asyncio.sleep(0.05)
            hub.disconnect(LAGGING, "lagging")

    async def write(job) -> None:
        await api.post(job["id"], "start")
        for i in range(30):
            await api.progress(job["id"], i)

    disruptor = asyncio.create_task(disrupt())
    await asyncio.gather(*(write(job) for job in jobs))
    events = await asyncio.wait_for(reader, 30)
    disruptor.cancel()
    assert [e.position for e in events] == [e["position"] for e in await api.log(start)]


async def test_subscribe_resumes_across_a_service_restart(db_url, tmp_path):
    service = await Service(db_url, tmp_path).start()
    try:
        async with live_client.aiohttp.ClientSession() as http:

            async def create(count: int) -> None:
                for _ in range(count):
                    async with http.post(f"{service.url}/jobs", json={"type": "t"}) as resp:
                        assert resp.status == 201

            reader = asyncio.create_task(_collect(live_client.subscribe(service.url, all=True, backoff=FAST), 10))
            await asyncio.sleep(0.5)
            await create(5)
            await service.stop()  # the service closes the socket with GOING_AWAY
            await service.start()
            await create(5)
            events = await asyncio.wait_for(reader, 30)
            async with http.get(f"{service.url}/events", params={"after": 0}) as resp:
                log = (await resp.json())["events"]
        assert [e.position for e in events] == [e["position"] for e in log][-10:]
        assert len({e.job_id for e in events}) == 10
    finally:
        await service.stop()


async def test_wait_for_returns_the_final_document(client, api):
    job = await api.create()
    waiter = asyncio.create_task(live_client.wait_for(_url(client), job["id"], timeout=10))
    await asyncio.sleep(0.2)
    await api.post(job["id"], "start")
    await api.post(job["id"], "fail", {"error": "boom"})
    assert await waiter == await api.get(job["id"])


async def test_wait_for_a_finished_job_returns_at_once(client, api):
    job = await api.create()
    await api.post(job["id"], "cancel")
    assert (await live_client.wait_for(_url(client), job["id"], timeout=5))["status"] == "cancelled"


async def test_wait_for_an_unknown_job_is_refused_and_a_slow_one_times_out(client, api):
    with pytest.raises(live_client.Refused) as refused:
        await live_client.wait_for(_url(client), "6f1f0a9e-3b7d-4a55-9e1e-2f6ad3b1c0aa", timeout=5)
    assert (refused.value.code, refused.value.status) == ("job_not_found", 404)
    assert refused.value.message == "no job with this id"
    job = await api.create()
    with pytest.raises(TimeoutError):
        await live_client.wait_for(_url(client), job["id"], timeout=0.3)


async def test_wait_for_survives_dropped_connections(client, api, hub):
    job = await api.create()
    waiter = asyncio.create_task(live_client.wait_for(_url(client), job["id"], timeout=10, backoff=FAST))
    for _ in range(5):
        await asyncio.sleep(0.1)
        hub.disconnect(LAGGING, "lagging")
    await api.post(job["id"], "cancel")
    assert (await waiter)["status"] == "cancelled"


async def test_an_invalid_subscription_is_refused(client):
    with pytest.raises(live_client.Refused) as refused:
        await _collect(live_client.subscribe(_url(client), job_types=[""]), 1)
    assert refused.value.code == "invalid_request" and refused.value.message.startswith("job_types.0: ")


QUICK = 2.0  #: seconds: well within the service's 5 s wait for a socket's `auth` message


@pytest.fixture
async def secure(serve, settings):
    return await serve(settings.model_copy(update={"auth": "required", "auth_cache_seconds": 0}))


async def _refused(call) -> live_client.Refused:
    """The Refused that `call` raises, within QUICK seconds (it used to retry until its timeout, or forever)."""
    started = time.monotonic()
    with pytest.raises(live_client.Refused) as refused:
        await asyncio.wait_for(call, 10)
    assert time.monotonic() - started < QUICK
    return refused.value


async def test_without_the_key_a_service_requires_both_calls_raise_at_once(secure, make_key):
    url, key = _url(secure), await make_key("client")
    job = await (await secure.post("/jobs", json={"type": "report"}, headers=bearer(key))).json()
    for call in (live_client.wait_for(url, job["id"], timeout=30), _collect(live_client.subscribe(url, all=True), 1)):
        refused = await _refused(call)
        assert (refused.code, refused.status) == ("unauthorized", None), refused
        assert "auth" in refused.message


@pytest.mark.parametrize(
    ("role", "status", "code", "message"),
    [
        (None, 401, "unauthorized", "unknown or revoked API key"),
        ("operator", 403, "forbidden", "the role operator may not do this (read)"),
    ],
)
async def test_a_key_the_service_refuses_raises_its_code_and_message(secure, make_key, role, status, code, message):
    url = _url(secure)
    key = await make_key(role) if role else "jl_0123456789ab_unknown"
    job_id = "6f1f0a9e-3b7d-4a55-9e1e-2f6ad3b1c0aa"
    for call in (
        live_client.wait_for(url, job_id, timeout=30, api_key=key),
        _collect(live_client.subscribe(url, all=True, api_key=key), 1),
    ):
        refused = await _refused(call)
        assert (refused.status, refused.code, refused.message) == (status, code, message)


async def test_another_tenants_job_is_refused_as_not_found(secure, make_key):
    job = await (await secure.post("/jobs", json={"type": "report"}, headers=bearer(await make_key("client")))).json()
    other = await make_key("client", tenant="globex")
    refused = await _refused(live_client.wait_for(_url(secure), job["id"], timeout=30, api_key=other))
    assert (refused.status, refused.code, refused.message) == (404, "job_not_found", "no job with this id")

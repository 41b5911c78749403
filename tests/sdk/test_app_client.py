"""jobledger.Client and SyncClient (issue 26, point 2): an application creates, reads, lists, cancels,
retries and waits for jobs over the real HTTP API and WebSockets, on both backends, and a refusal
raises with the service's code, message, status and details."""

import asyncio
import contextlib
import uuid
from datetime import datetime

import pytest
from aiohttp import web

from jobledger import Client, Refused, SyncClient
from tests.security.conftest import bearer, make_key  # noqa: F401 (a fixture)
from tests.live.processes import blocking_service


def _url(client) -> str:
    return str(client.make_url("")).rstrip("/")


async def _finish(client, job_id: str, outcome: str = "complete") -> None:
    """What a worker would do: start the job, then complete or fail it."""
    assert (await client.post(f"/jobs/{job_id}/start")).status == 200
    body = {"result": {"ok": True}} if outcome == "complete" else {"error": "broken input"}
    assert (await client.post(f"/jobs/{job_id}/{outcome}", json=body)).status == 200


async def test_create_get_list_cancel_and_events(client):
    async with Client(_url(client)) as jobs:
        job = await jobs.create("report", {"pages": 3}, metadata={"user_id": "42"}, priority=5, idempotency_key="k-1")
        assert (job["type"], job["payload"], job["metadata"], job["priority"]) == ("report", {"pages": 3}, {"user_id": "42"}, 5)
        assert (await jobs.create("report", {"pages": 3}, metadata={"user_id": "42"}, priority=5,
                                  idempotency_key="k-1"))["id"] == job["id"]  # the same job, not a second one
        assert (await jobs.get(job["id"]))["status"] == "queued"
        more = await jobs.create_batch([{"type": "ocr", "payload": {"n": n}} for n in range(4)])
        assert [m["payload"]["n"] for m in more] == [0, 1, 2, 3]
        listed = [j["id"] async for j in jobs.list(page=2)]  # three pages, the cursor followed
        assert listed == [m["id"] for m in reversed(more)] + [job["id"]]
        assert [j["id"] async for j in jobs.list(type="report")] == [job["id"]]
        assert [j["id"] async for j in jobs.list(metadata={"user_id": "42"})] == [job["id"]]
        assert [j["id"] async for j in jobs.list(metadata={"user_id": "42", "other": "x"})] == []
        batch_time = more[0]["created_at"]  # a batch's jobs are created at one time
        assert [j["id"] async for j in jobs.list(created_after=batch_time, page=3)] == [m["id"] for m in reversed(more)]
        assert [j["id"] async for j in jobs.list(created_before=datetime.fromisoformat(batch_time))] == [job["id"]]
        cancelled = await jobs.cancel(job["id"], "no longer needed")
        assert cancelled["status"] == "cancelled"
        assert [e["type"] for e in await jobs.events(job["id"])] == ["JobCreated", "JobCancelled"]


async def test_retry_wait_for_create_and_wait_and_subscribe(client):
    async with Client(_url(client)) as jobs:
        failed = await jobs.create("report", max_attempts=1)
        await _finish(client, failed["id"], "fail")
        assert (await jobs.wait_for(failed["id"], timeout=10))["status"] == "failed"
        assert (await jobs.retry(failed["id"], "input fixed"))["status"] == "queued"

        async def worker() -> None:
            while not (listed := [j async for j in jobs.list(type="ocr", status="queued")]):
                await asyncio.sleep(0.01)
            await _finish(client, listed[0]["id"])

        done, _ = await asyncio.gather(jobs.create_and_wait("ocr", {"page": 1}, timeout=10), worker())
        assert (done["status"], done["result"]) == ("completed", {"ok": True})

        stream = jobs.subscribe(jobs=[failed["id"]], after=0)
        async with contextlib.aclosing(stream):
            seen = [(await anext(stream)).event for _ in range(4)]
        assert seen == ["JobCreated", "JobStarted", "JobFailed", "RetryScheduled"]


async def test_refusals_raise_with_the_services_code_message_and_details(client):
    async with Client(_url(client)) as jobs:
        with pytest.raises(Refused) as unknown:
            await jobs.get(uuid.uuid4())
        assert (unknown.value.status, unknown.value.code) == (404, "job_not_found")
        with pytest.raises(Refused) as invalid:
            await jobs.create("report", priority="high")
        assert (invalid.value.status, invalid.value.code) == (400, "invalid_request")
        assert [f["field"] for f in invalid.value.details["fields"]] == ["priority"]
        job = await jobs.create("report")
        await _finish(client, job["id"])
        with pytest.raises(Refused) as finished:
            await jobs.cancel(job["id"])
        assert (finished.value.status, finished.value.code) == (409, "illegal_transition")
        with pytest.raises(TimeoutError):
            await jobs.wait_for((await jobs.create("report"))["id"], timeout=0.2)


async def test_keys_go_with_every_call_and_a_missing_one_is_refused(serve, settings, make_key):
    secure = await serve(settings.model_copy(update={"auth": "required", "auth_cache_seconds": 0}))
    key = await make_key("client")
    async with Client(_url(secure)) as anonymous, Client(_url(secure), api_key=key) as jobs:
        with pytest.raises(Refused) as refused:
            await anonymous.create("report")
        assert (refused.value.status, refused.value.code) == (401, "unauthorized")
        job = await jobs.create("report")
        assert (await (await secure.get(f"/jobs/{job['id']}", headers=bearer(key))).json())["id"] == job["id"]
        await secure.post(f"/jobs/{job['id']}/cancel", headers=bearer(await make_key("admin")))
        assert (await jobs.wait_for(job["id"], timeout=10))["status"] == "cancelled"  # the socket carries the key too


async def test_an_answer_that_is_not_the_services_raises_refused_with_its_status(aiohttp_server):
    """A proxy in front of the service may answer an HTML error page: that is a Refused naming the
    status, not a JSON decoding error from inside the client."""
    async def bad_gateway(_: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>", content_type="text/html")

    proxy = web.Application()
    proxy.router.add_route("*", "/{tail:.*}", bad_gateway)
    server = await aiohttp_server(proxy)
    async with Client(str(server.make_url("")).rstrip("/")) as jobs:
        for call in (jobs.create("report"), jobs.get(uuid.uuid4())):
            with pytest.raises(Refused) as refused:
                await call
            assert (refused.value.status, refused.value.code) == (502, "http_502")


@pytest.fixture
def served(db_url, tmp_path):
    """A `jobledger serve` process, for the blocking client (no event loop may run around it)."""
    with blocking_service(db_url, tmp_path) as (url, _):
        yield url


def test_the_sync_client_makes_the_same_calls(served):
    with SyncClient(served) as jobs:
        created = [jobs.create("report", {"n": n}) for n in range(3)]
        assert [j["id"] for j in jobs.list(page=2)] == [j["id"] for j in reversed(created)]
        assert jobs.get(created[0]["id"])["payload"] == {"n": 0}
        assert jobs.cancel(created[0]["id"])["status"] == "cancelled"
        assert jobs.wait_for(created[0]["id"], timeout=10)["status"] == "cancelled"
        assert [e["type"] for e in jobs.events(created[0]["id"])] == ["JobCreated", "JobCancelled"]
        assert len(jobs.create_batch([{"type": "ocr"}, {"type": "ocr"}])) == 2
        with pytest.raises(Refused) as refused:
            jobs.retry(created[1]["id"])
        assert (refused.value.status, refused.value.code) == (409, "illegal_transition")

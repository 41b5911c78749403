"""Delivery through the HTTP API on both backends: retries on a short schedule, then the endpoint
disabled by an event; a resend by hand; a slow endpoint timed out without holding up another."""

from tests.webhooks.conftest import arrived, deliveries, make_webhook
from tests.workers.helpers import ok, wait_until


async def test_retries_run_out_then_the_endpoint_is_disabled_by_an_event_and_a_resend_delivers(hooks_client, receiver):
    receiver.status["down"] = 500
    hook = await make_webhook(hooks_client, receiver, "down", event_types=["JobCreated"])
    job = await ok(await hooks_client.post("/jobs", json={"type": "report"}), 201)

    async def disabled():
        found = await ok(await hooks_client.get(f"/webhooks/{hook['id']}"))
        return found if found["status"] == "disabled" else None

    assert "retry schedule" in (await wait_until(disabled))["disabled_reason"]
    [failed] = await wait_until(lambda: _in_state(hooks_client, hook, "failed"))
    assert [a["status_code"] for a in failed["attempts"]] == [500, 500, 500]  # the first try and two retries
    assert len(receiver.received["down"]) == 3 and failed["job_id"] == job["id"]
    history = (await ok(await hooks_client.get(f"/webhooks/{hook['id']}/events")))["events"]
    assert history[-1]["type"] == "WebhookDisabled" and history[-1]["data"]["delivery_id"] == failed["id"]
    assert history[-1]["metadata"]["actor"] == "webhook-sender"
    await ok(await hooks_client.post("/jobs", json={"type": "report"}), 201)  # while disabled: not queued

    receiver.status["down"] = 200
    await ok(await hooks_client.patch(f"/webhooks/{hook['id']}", json={"enabled": True}))
    resp = await hooks_client.post(f"/webhooks/{hook['id']}/deliveries/{failed['id']}/resend", json={})
    assert resp.status == 202

    [delivered] = await wait_until(lambda: _in_state(hooks_client, hook, "delivered"))
    assert [a["status_code"] for a in delivered["attempts"]] == [500, 500, 500, 200]
    assert receiver.received["down"][-1]["headers"]["webhook-id"] == failed["id"]  # the same message, again
    assert receiver.received["down"][-1]["verified"] == receiver.secrets["down"]
    history = (await ok(await hooks_client.get(f"/webhooks/{hook['id']}/events")))["events"]
    assert [e["type"] for e in history[-2:]] == ["WebhookEnabled", "WebhookResendRequested"]
    assert len(await deliveries(hooks_client, hook)) == 1


async def _in_state(client, hook: dict, state: str) -> list[dict] | None:
    found = await deliveries(client, hook)
    return found if found and all(d["state"] == state for d in found) else None


async def test_a_slow_endpoint_times_out_and_holds_up_no_other(hooks_client, receiver):
    receiver.delay["slow"] = 30  # far past the attempts' timeout (0.5 s)
    slow = await make_webhook(hooks_client, receiver, "slow")
    await make_webhook(hooks_client, receiver, "fast")

    jobs = [(await ok(await hooks_client.post("/jobs", json={"type": "report"}), 201))["id"] for _ in range(20)]

    assert sorted(b["job_id"] for b in await arrived(receiver, "fast", 20)) == sorted(jobs)  # while every slow one hangs

    async def timed_out():
        found = await deliveries(hooks_client, slow)
        return [a for d in found for a in d["attempts"] if a["error"]]

    attempt = (await wait_until(timed_out))[0]
    assert attempt["status_code"] is None and "no answer within 0.5 s" in attempt["error"]


async def test_a_purged_jobs_data_leaves_its_deliveries_and_a_resend_carries_none_of_it(hooks_client, receiver):
    hook = await make_webhook(hooks_client, receiver, "erased", event_types=["JobCreated", "JobCancelled"])
    secret = "ssn 123-45-6789"
    job = await ok(await hooks_client.post("/jobs", json={"type": "report", "payload": {"who": secret}}), 201)
    await ok(await hooks_client.post(f"/jobs/{job['id']}/cancel", json={"reason": secret}))
    sent = await arrived(receiver, "erased", 2)
    assert [b["type"] for b in sent] == ["JobCreated", "JobCancelled"] and secret in sent[0]["data"]["payload"]["who"]

    await ok(await hooks_client.post(f"/jobs/{job['id']}/purge", json={"reason": "asked"}))
    for delivery in await deliveries(hooks_client, hook):
        resp = await hooks_client.post(f"/webhooks/{hook['id']}/deliveries/{delivery['id']}/resend", json={})
        assert resp.status == 202
    again = await arrived(receiver, "erased", 4)

    assert {b["type"] for b in again[2:]} == {"JobCreated", "JobCancelled"}
    assert all(secret.encode() not in r["body"] for r in receiver.received["erased"][2:])  # the same messages, without it
    assert {r["headers"]["webhook-id"] for r in receiver.received["erased"][2:]} == {
        r["headers"]["webhook-id"] for r in receiver.received["erased"][:2]
    }

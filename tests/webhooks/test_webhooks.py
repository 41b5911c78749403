"""Webhooks through the HTTP API on both backends: endpoints as streams, Standard Webhooks
signatures checked by the reference library, per-job order, filters, rotation, and secrets that
no read but the create's and the rotation's answer shows."""

from tests.webhooks.conftest import arrived, make_webhook
from tests.workers.helpers import error_of, ok, wait_until

JOB_EVENTS = ["JobCreated", "JobStarted", "ProgressReported", "JobCompleted"]


async def _run_job(client, job_type: str = "report") -> str:
    job = await ok(await client.post("/jobs", json={"type": job_type}), 201)
    await ok(await client.post(f"/jobs/{job['id']}/start", json={}))
    await ok(await client.post(f"/jobs/{job['id']}/progress", json={"percent": 50}))
    await ok(await client.post(f"/jobs/{job['id']}/complete", json={"result": {"pages": 3}}))
    return job["id"]


async def test_a_jobs_events_arrive_signed_in_log_order_and_each_attempt_is_readable(hooks_client, receiver):
    made = await make_webhook(hooks_client, receiver, "all")
    assert made["secret"].startswith("whsec_") and made["status"] == "active" and made["event_types"] is None

    jobs = [await _run_job(hooks_client) for _ in range(3)]

    bodies = await arrived(receiver, "all", 12)
    assert all(r["verified"] == receiver.secrets["all"] for r in receiver.received["all"])  # the reference library
    for job_id in jobs:
        assert [b["type"] for b in bodies if b["job_id"] == job_id] == JOB_EVENTS
    positions = [b["position"] for b in bodies]
    assert len(set(positions)) == 12
    last = bodies[-1] if bodies[-1]["type"] == "JobCompleted" else next(b for b in bodies if b["type"] == "JobCompleted")
    assert last["tenant"] == "default" and last["job_type"] == "report" and last["data"]["result"] == {"pages": 3}
    headers = receiver.received["all"][0]["headers"]
    assert headers["webhook-id"].startswith("msg_") and headers["webhook-signature"].startswith("v1,")

    async def recorded():
        found = (await ok(await hooks_client.get(f"/webhooks/{made['id']}/deliveries")))["deliveries"]
        return found if {d["state"] for d in found} == {"delivered"} else None

    deliveries = await wait_until(recorded)
    assert len(deliveries) == 12 and len(receiver.received["all"]) == 12  # each sent once: one attempt each
    assert {d["id"] for d in deliveries} == {r["headers"]["webhook-id"] for r in receiver.received["all"]}
    assert all(len(d["attempts"]) == 1 and d["attempts"][0]["status_code"] == 200 for d in deliveries)


async def test_filters_send_only_the_event_and_job_types_asked_for_after_the_endpoints_creation(hooks_client, receiver):
    await _run_job(hooks_client, "render")  # before the endpoints: sent to none
    await make_webhook(hooks_client, receiver, "done", event_types=["JobCompleted", "JobFailed"])
    await make_webhook(hooks_client, receiver, "render", job_types=["render"])

    await _run_job(hooks_client, "report")
    rendered = await _run_job(hooks_client, "render")

    assert [b["job_type"] for b in await arrived(receiver, "done", 2)] == ["report", "render"]
    assert {b["type"] for b in receiver.bodies("done")} == {"JobCompleted"}
    render = await arrived(receiver, "render", 4)
    assert [b["type"] for b in render] == JOB_EVENTS and {b["job_id"] for b in render} == {rendered}


async def test_a_rotation_signs_with_both_secrets_which_no_read_but_their_answers_shows(hooks_client, receiver):
    made = await make_webhook(hooks_client, receiver, "rot")
    rotated = await ok(await hooks_client.post(f"/webhooks/{made['id']}/rotate", json={}))
    secrets = receiver.secrets["rot"] = [made["secret"], rotated["secret"]]
    job = await ok(await hooks_client.post("/jobs", json={"type": "report"}), 201)

    await arrived(receiver, "rot", 1)
    got = receiver.received["rot"][0]
    assert got["verified"] == secrets  # each secret alone verifies it, with the reference library
    assert len(got["headers"]["webhook-signature"].split(" ")) == 2
    assert receiver.bodies("rot")[0]["job_id"] == job["id"]

    reads = [
        await hooks_client.get("/webhooks"), await hooks_client.get(f"/webhooks/{made['id']}"),
        await hooks_client.get(f"/webhooks/{made['id']}/events"), await hooks_client.get("/events", params={"limit": 1000}),
        await hooks_client.get(f"/webhooks/{made['id']}/deliveries"),
    ]

    for resp in reads:
        text = await resp.text()
        assert resp.status == 200, text
        for secret in secrets:
            assert secret not in text and secret.removeprefix("whsec_") not in text
    history = (await ok(await hooks_client.get(f"/webhooks/{made['id']}/events")))["events"]
    assert [e["type"] for e in history] == ["WebhookCreated", "WebhookSecretRotated"]
    assert history[1]["data"]["previous_secret_id"] == history[0]["data"]["secret_id"]
    assert rotated["previous_secret_expires_at"] == history[1]["data"]["previous_expires_at"]
    stream = (await ok(await hooks_client.get(f"/webhooks/{made['id']}/events")))["stream_id"]
    await error_of(await hooks_client.get(f"/jobs/{stream}"), 404, "job_not_found")  # no job's stream
    await error_of(await hooks_client.get(f"/jobs/{stream}/events"), 404, "job_not_found")
    assert [j["id"] for j in (await ok(await hooks_client.get("/jobs")))["jobs"]] == [job["id"]]


async def test_update_disable_enable_and_delete_are_events_of_the_endpoints_stream(hooks_client, receiver):
    made = await make_webhook(hooks_client, receiver, "first")
    changed = await ok(await hooks_client.patch(
        f"/webhooks/{made['id']}", json={"url": receiver.to("second"), "event_types": ["JobCreated"], "description": "b"},
    ))
    assert (changed["url"], changed["event_types"], changed["description"]) == (receiver.to("second"), ["JobCreated"], "b")
    disabled = await ok(await hooks_client.patch(f"/webhooks/{made['id']}", json={"enabled": False}))
    assert disabled["status"] == "disabled"
    await ok(await hooks_client.post("/jobs", json={"type": "report"}), 201)  # not sent: disabled
    enabled = await ok(await hooks_client.patch(f"/webhooks/{made['id']}", json={"enabled": True}))
    receiver.secrets["second"] = receiver.secrets["first"]
    job = await ok(await hooks_client.post("/jobs", json={"type": "report"}), 201)

    assert [b["job_id"] for b in await arrived(receiver, "second", 1)] == [job["id"]]
    assert enabled["status"] == "active" and "first" not in receiver.received
    history = (await ok(await hooks_client.get(f"/webhooks/{made['id']}/events")))["events"]
    assert [e["type"] for e in history] == ["WebhookCreated", "WebhookUpdated", "WebhookDisabled", "WebhookEnabled"]
    assert all(e["metadata"]["actor"] for e in history)

    resp = await hooks_client.delete(f"/webhooks/{made['id']}")
    assert resp.status == 204
    await error_of(await hooks_client.get(f"/webhooks/{made['id']}"), 404, "webhook_not_found")
    assert (await ok(await hooks_client.get("/webhooks")))["webhooks"] == []


BAD = [  # (body, field, status, code): a bad field is 400; a well-formed URL this service refuses, 422
    ({"url": "ftp://example.com/x"}, "url", 400, "invalid_request"),
    ({"url": "http://"}, "url", 400, "invalid_request"),
    ({"url": "http://user:pw@127.0.0.1/x"}, "url", 422, "target_refused"),
    ({"url": f"http://{'a' * 64}.example/x"}, "url", 422, "target_refused"),  # a label no resolver takes
    ({"url": "http://127.0.0.1/x", "event_types": ["NoSuchEvent"]}, "event_types.0", 400, "invalid_request"),
    ({"url": "http://127.0.0.1/x", "event_types": ["TypeDefined"]}, "event_types.0", 400, "invalid_request"),
    ({"url": "http://127.0.0.1/x", "job_types": []}, "job_types", 400, "invalid_request"),
    ({"url": "http://127.0.0.1/x", "colour": "blue"}, "colour", 400, "invalid_request"),
    ({"url": None}, "url", 400, "invalid_request"),
]


async def test_a_bad_endpoint_or_change_is_refused_naming_the_field_and_writes_nothing(hooks_client, receiver):
    for body, field, status, code in BAD:
        details = await error_of(await hooks_client.post("/webhooks", json=body), status, code)
        assert details["fields"][0]["field"] == field, body
    assert (await ok(await hooks_client.get("/events")))["events"] == []
    made = await make_webhook(hooks_client, receiver, "x")
    changes = [*BAD[:7], ({"enabled": "perhaps"}, "enabled", 400, "invalid_request"), ({"url": None}, "url", 400, "invalid_request")]
    for body, field, status, code in changes:
        details = await error_of(await hooks_client.patch(f"/webhooks/{made['id']}", json=body), status, code)
        assert details["fields"][0]["field"] == field, body
    assert len((await ok(await hooks_client.get("/events")))["events"]) == 1

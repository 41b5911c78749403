"""Issue 25, point 7: a queued job's message goes out live like any event, with the job still queued."""

from tests.live.helpers import EVENT_KEYS, receive, receive_events, subscribe


async def test_a_queued_jobs_message_reaches_the_socket(client, api):
    job = await api.create(message="waiting for upload")
    ws = await client.ws_connect("/ws")
    await subscribe(ws, jobs=[job["id"]])

    answered = await api.post(job["id"], "progress", {"message": "waiting for a slot", "details": {"ahead": 2}})
    [message] = await receive_events(ws, 1)
    logged = (await api.stream(job["id"]))[-1]

    assert set(message) == EVENT_KEYS
    assert (message["event"], message["version"], message["position"]) == ("ProgressReported", 2, logged["position"])
    assert message["data"] == {"percent": None, "message": "waiting for a slot", "details": {"ahead": 2}}
    assert message["job"] == answered
    assert message["job"]["status"] == "queued"
    assert message["job"]["progress"]["message"] == "waiting for a slot"
    await ws.close()


async def test_the_job_socket_opens_on_the_created_message(client, api):
    job = await api.create(message="waiting for upload")
    ws = await client.ws_connect(f"/jobs/{job['id']}/ws")

    first = await receive(ws)

    assert first["job"]["status"] == "queued"
    assert first["job"]["progress"]["message"] == "waiting for upload"
    assert first["job"]["progress"]["percent"] is None
    await ws.close()

"""Dependencies through the HTTP API on both backends: a child waits for its parents, is queued in
the transaction of its last parent's completion, is cancelled (transitively) by a parent's failure
unless its edge says run, and a batch creates a whole graph in one transaction."""

import asyncio

from tests.workers.helpers import error_of, get_job, history, log_length, ok


async def _complete(client, claim, job: dict, result=None) -> dict:
    [doc] = await claim(types=[job["type"]])
    assert doc["id"] == job["id"]
    body = {"lease_token": doc["lease_token"], "result": result}
    return await ok(await client.post(f"/jobs/{job['id']}/complete", json=body))


async def _fail(client, claim, job: dict) -> dict:
    [doc] = await claim(types=[job["type"]])
    assert doc["id"] == job["id"]
    body = {"lease_token": doc["lease_token"], "error": "boom"}
    return await ok(await client.post(f"/jobs/{job['id']}/fail", json=body))


async def _types(client, job: dict) -> list[str]:
    return [e["type"] for e in await history(client, job)]


async def test_a_child_waits_for_both_parents_and_is_queued_with_the_last_completion(client, create_job, claim):
    a = await create_job(type="research")
    b = await create_job(type="upload")
    child = await create_job(type="audit", depends_on=[a["id"], {"job": b["id"], "on_failure": "cancel"}])
    assert child["status"] == "waiting"
    assert child["waiting_on"] == [a["id"], b["id"]]
    assert child["depends_on"] == [{"job": a["id"], "on_failure": "cancel"}, {"job": b["id"], "on_failure": "cancel"}]
    assert (await get_job(client, a))["children"] == 1
    assert await claim(types=["audit"]) == []  # a waiting job is never claimed

    await _complete(client, claim, a, {"sources": 3})
    assert (await get_job(client, child))["status"] == "waiting"
    assert await claim(types=["audit"]) == []

    done = await _complete(client, claim, b)
    released = await get_job(client, child)
    assert released["status"] == "queued" and released["waiting_on"] == []
    child_events = await history(client, child)
    assert [e["type"] for e in child_events] == [
        "JobCreated", "DependencyResolved", "DependencyResolved", "DependenciesMet"
    ]
    assert child_events[-1]["position"] == done["position"] + 2  # in the transaction of b's completion
    assert child_events[-2]["data"] == {"parent": b["id"], "status": "completed"}
    [claimed] = await claim(types=["audit"])
    assert claimed["id"] == child["id"]
    then = await ok(await client.get(f"/jobs/{child['id']}?at_position={child_events[1]['position']}"))
    assert (then["status"], then["waiting_on"]) == ("waiting", [b["id"]])  # time travel folds the log: waiting then


async def test_a_failed_parent_cancels_its_waiting_children_transitively_but_a_run_edge_runs(client, create_job, claim):
    root = await create_job(type="research")
    mid = await create_job(type="audit", depends_on=[root["id"]])
    leaf = await create_job(type="publish", depends_on=[mid["id"]])
    anyway = await create_job(type="cleanup", depends_on=[{"job": root["id"], "on_failure": "run"}])
    before = await log_length(client)

    failed = await _fail(client, claim, root)

    assert (await get_job(client, mid))["status"] == "cancelled"
    assert (await get_job(client, mid))["cancel_reason"] == f"parent {root['id']} failed"
    assert (await get_job(client, leaf))["cancel_reason"] == f"parent {mid['id']} cancelled"
    assert (await get_job(client, anyway))["status"] == "queued"
    assert await _types(client, anyway) == ["JobCreated", "DependencyResolved", "DependenciesMet"]
    # the claim (1), then the failure with everything it caused, in one transaction: consecutive positions
    positions = sorted([e["position"] for j in (root, mid, leaf, anyway) for e in await history(client, j)])
    assert positions[-5:] == list(range(failed["position"], failed["position"] + 5))
    assert await log_length(client) == before + 6


async def test_a_cancelled_or_expired_parent_cancels_the_child(client, create_job):
    parent = await create_job(type="research")
    child = await create_job(type="audit", depends_on=[parent["id"]])
    await ok(await client.post(f"/jobs/{parent['id']}/cancel", json={"reason": "not needed"}))
    assert (await get_job(client, child))["status"] == "cancelled"

    short = await create_job(type="research", expires_in=0.2)
    waiting = await create_job(type="audit", depends_on=[short["id"]], expires_in=3600)
    for _ in range(200):  # the sweeper expires the parent (settings.sweep_interval: 0.05 s)
        if (await get_job(client, waiting))["status"] != "waiting":
            break
        await asyncio.sleep(0.05)
    assert (await get_job(client, short))["status"] == "expired"
    assert (await get_job(client, waiting))["cancel_reason"] == f"parent {short['id']} expired"


async def test_a_parent_that_already_ended_decides_at_create(client, create_job, claim):
    done = await create_job(type="research")
    await _complete(client, claim, done, {"n": 1})
    gone = await create_job(type="research")
    await ok(await client.post(f"/jobs/{gone['id']}/cancel", json={}))

    ready = await create_job(type="audit", depends_on=[done["id"]])
    cancelled = await create_job(type="audit", depends_on=[done["id"], gone["id"]])

    assert ready["status"] == "queued"
    assert await _types(client, ready) == ["JobCreated", "DependencyResolved", "DependenciesMet"]
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == f"parent {gone['id']} cancelled"
    assert (await get_job(client, done))["children"] == 0  # no ChildAdded on a job that had ended


async def test_a_batch_creates_a_graph_in_one_transaction(client, claim):
    body = {"jobs": [
        {"type": "audit", "ref": "audit", "depends_on": ["research", {"job": "upload", "on_failure": "run"}]},
        {"type": "research", "ref": "research"},
        {"type": "upload", "ref": "upload"},
    ]}
    before = await log_length(client)
    audit, research, upload = (await ok(await client.post("/jobs/batch", json=body), 201))["jobs"]
    assert audit["status"] == "waiting"
    assert audit["depends_on"] == [
        {"job": research["id"], "on_failure": "cancel"}, {"job": upload["id"], "on_failure": "run"}
    ]
    assert research["children"] == 1 and upload["children"] == 1
    assert await log_length(client) == before + 5  # 3 JobCreated, 2 ChildAdded

    graph = await ok(await client.get(f"/jobs/{research['id']}/graph"))
    assert graph == {
        "job": {"id": research["id"], "type": "research", "status": "queued", "waiting_on": []},
        "parents": [],
        "children": [{"id": audit["id"], "type": "audit", "status": "waiting", "on_failure": "cancel"}],
    }
    await _complete(client, claim, research, {"sources": 2})
    await _fail(client, claim, upload)
    graph = await ok(await client.get(f"/jobs/{audit['id']}/graph"))
    assert graph["job"] == {"id": audit["id"], "type": "audit", "status": "queued", "waiting_on": []}
    assert graph["parents"] == [
        {"id": research["id"], "type": "research", "status": "completed", "on_failure": "cancel",
         "result": {"sources": 2}},
        {"id": upload["id"], "type": "upload", "status": "failed", "on_failure": "run", "result": None},
    ]


BAD_GRAPHS = [  # (jobs, field, reason): a cycle, a job depending on itself, an unknown ref, an unknown id, a ref twice
    ([{"type": "a", "ref": "x", "depends_on": ["y"]}, {"type": "b", "ref": "y", "depends_on": ["x"]}],
     "jobs.0.depends_on", "the dependencies make a cycle: jobs.0 -> jobs.1 -> jobs.0"),
    ([{"type": "a", "ref": "x", "depends_on": ["x"]}], "jobs.0.depends_on",
     "the dependencies make a cycle: jobs.0 -> jobs.0"),
    ([{"type": "a", "depends_on": ["nobody"]}], "jobs.0.depends_on.0",
     "no job of the batch has this ref, and it is not a job id"),
    ([{"type": "a", "depends_on": ["00000000-0000-4000-8000-000000000099"]}], "jobs.0.depends_on.0",
     "no job with this id"),
    ([{"type": "a", "ref": "x"}, {"type": "b", "ref": "x"}], "jobs", "jobs 0 and 1 have the same ref"),
]


async def test_a_bad_graph_answers_400_naming_the_field_and_writes_nothing(client):
    before = await log_length(client)
    for jobs, field, reason in BAD_GRAPHS:
        details = await error_of(await client.post("/jobs/batch", json={"jobs": jobs}), 400, "invalid_request")
        assert details["fields"] == [{"field": field, "reason": reason}]
    assert await log_length(client) == before


async def test_an_unknown_parent_answers_400_and_writes_nothing(client, create_job):
    parent = await create_job()
    before = await log_length(client)
    unknown = {"type": "task", "depends_on": [parent["id"], "00000000-0000-4000-8000-000000000099"]}
    details = await error_of(await client.post("/jobs", json=unknown), 400, "invalid_request")
    assert details["fields"] == [{"field": "depends_on.1", "reason": "no job with this id"}]
    for depends_on, field in (
        (["not-an-id"], "depends_on.0.id"),
        ([{"job": parent["id"], "on_failure": "ignore"}], "depends_on.0.edge.on_failure"),
        ([parent["id"], {"job": parent["id"]}], "depends_on"),
    ):
        resp = await client.post("/jobs", json={"type": "task", "depends_on": depends_on})
        details = await error_of(resp, 400, "invalid_request")
        assert [f["field"] for f in details["fields"]] == [field]
    assert await log_length(client) == before
    assert (await get_job(client, parent))["children"] == 0

"""The read models triggers on the log keep (job_edges, schedules, webhooks): damaged, each is made
again from the log by `jobledger projections rebuild NAME`, equal to the live table and to what
the API answered; a rebuild while their writers append loses none of their events."""

import asyncio
import subprocess
import sys

import pytest

from jobledger.eventlog import trigger_models
from tests.projections.helpers import query
from tests.service.helpers import ok

CLI = [sys.executable, "-c", "from jobledger.cli.commands import main; main()"]
NOWHERE = "http://127.0.0.1:9"  # loopback, allowed below; sent nothing (only JobFailed is asked for)
ORDER = {"job_edges": "parent, child", "schedules": "tenant, name", "webhooks": "webhook_id"}


@pytest.fixture
async def client(serve, settings):
    return await serve(settings.model_copy(update={"webhook_allow_private": "loopback"}))


async def dump(db_url: str, table: str) -> list[tuple]:
    return await query(db_url, f"SELECT * FROM {table} ORDER BY {ORDER[table]}")


async def _made_through_the_api(client) -> dict:
    """Edges, schedules and webhooks with a history each; what the API shows of them."""
    parent = await ok(await client.post("/jobs", json={"type": "report"}), 201)
    child = await ok(await client.post("/jobs", json={"type": "report", "depends_on": [
        {"job": parent["id"], "on_failure": "run"}]}), 201)
    for name in ("nightly", "hourly"):
        await ok(await client.post("/schedules", json={
            "name": name, "cron": "0 * * * *", "timezone": "Europe/Berlin", "job": {"type": "report"}}), 201)
    await ok(await client.post("/schedules/hourly/pause", json={"reason": "holidays"}))
    await ok(await client.put("/schedules/nightly", json={"cron": "30 2 * * *", "timezone": "UTC", "job": {"type": "ocr"}}))
    hooks = [await ok(await client.post("/webhooks", json={"url": f"{NOWHERE}/{n}", "event_types": ["JobFailed"]}), 201)
             for n in ("a", "b")]
    await ok(await client.patch(f"/webhooks/{hooks[0]['id']}", json={"description": "billing", "job_types": ["ocr"]}))
    await ok(await client.post(f"/webhooks/{hooks[0]['id']}/rotate", json={}))
    await ok(await client.patch(f"/webhooks/{hooks[1]['id']}", json={"enabled": False}))
    return await _shown(client, child["id"], [h["id"] for h in hooks])


async def _shown(client, child: str, hooks: list[str]) -> dict:
    return {
        "graph": await ok(await client.get(f"/jobs/{child}/graph")),
        "schedules": await ok(await client.get("/schedules")),
        "webhooks": [await ok(await client.get(f"/webhooks/{h}")) for h in hooks],
    }


async def test_damaged_tables_are_made_again_from_the_log_as_they_were(client, db_url, store):
    shown = await _made_through_the_api(client)
    live = {table: await dump(db_url, table) for table in trigger_models.MODELS}
    assert all(live.values())
    await query(db_url, "DELETE FROM job_edges")
    await query(db_url, "UPDATE schedules SET status = 'deleted', config = '{}'")
    await query(db_url, "DELETE FROM webhooks WHERE url LIKE '%/b'")
    await query(db_url, "UPDATE webhooks SET url = 'https://attacker.example/steal'")  # deliveries would go there
    assert {table: await dump(db_url, table) for table in trigger_models.MODELS} != live

    result = subprocess.run([*CLI, "projections", "rebuild", "schedules", "--db", db_url], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rebuilt schedules: 2 rows"
    assert await store.projections.rebuild_table(trigger_models.MODELS["job_edges"]) == 1
    assert await store.projections.rebuild_table(trigger_models.MODELS["webhooks"]) == 2

    assert {table: await dump(db_url, table) for table in trigger_models.MODELS} == live
    assert await _shown(client, shown["graph"]["job"]["id"], [h["id"] for h in shown["webhooks"]]) == shown


async def test_a_rebuild_while_the_tables_writers_append_loses_none_of_their_events(client, db_url, store):
    hook = await ok(await client.post("/webhooks", json={"url": f"{NOWHERE}/a", "event_types": ["JobFailed"]}), 201)
    changes = 20

    async def change() -> None:
        for n in range(changes):
            await ok(await client.patch(f"/webhooks/{hook['id']}", json={"description": f"change {n}"}))
            row = await ok(await client.get(f"/webhooks/{hook['id']}"))  # the table, as each change left it
            assert (row["version"], row["description"]) == (n + 2, f"change {n}")

    async def rebuild() -> int:
        count = 0
        while not writer.done():
            await store.projections.rebuild_table(trigger_models.MODELS["webhooks"])
            count += 1
        return count

    writer = asyncio.ensure_future(change())
    rebuilds = await asyncio.gather(writer, rebuild())
    assert rebuilds[1] >= 2  # several rebuilds overlapped the changes

    after = await ok(await client.get(f"/webhooks/{hook['id']}"))
    assert (after["version"], after["description"]) == (1 + changes, f"change {changes - 1}")
    live = await dump(db_url, "webhooks")
    await store.projections.rebuild_table(trigger_models.MODELS["webhooks"])
    assert await dump(db_url, "webhooks") == live

"""Several service instances on one PostgreSQL share one tree: under concurrent appends to both,
with both issuing checkpoints as fast as they can, no two checkpoints of one size ever have
different roots, every root is the log's, and every checkpoint extends the one before."""

import asyncio
import base64
import random

import pytest
from aiohttp.test_utils import TestClient, TestServer

from jobledger.eventlog import merkle
from jobledger.proof import merkle as offline
from jobledger.proof import note
from jobledger.web import keys
from jobledger.web.app import create_app
from jobledger.web.config import Settings
from tests.audit.conftest import log_leaves
from tests.service.helpers import ok

JOBS = 120


@pytest.fixture
async def two_instances(pg_url, signer):
    settings = Settings(
        db=pg_url, sweep_interval=0.05, signing_key=signer.signer_key(), log_origin="test.jobledger/log",
        checkpoint_interval=0.01,
    )
    clients = [TestClient(TestServer(create_app(settings))) for _ in range(2)]
    for client in clients:
        await client.start_server()
    yield clients
    for client in clients:
        await client.close()


async def _append(client, n: int) -> None:
    for i in range(n):
        job = await ok(await client.post("/jobs", json={"type": "report", "payload": {"i": i}}), 201)
        if i % 3 == 0:
            await ok(await client.post(f"/jobs/{job['id']}/cancel", json={}))


async def _issue(clients, seen: list[str], stop: asyncio.Event) -> None:
    rng = random.Random(1)
    while not stop.is_set():
        client = rng.choice(clients)
        resp = await (client.post("/checkpoint") if rng.random() < 0.5 else client.get("/checkpoint"))
        assert resp.status == 200, await resp.text()
        seen.append(await resp.text())


async def test_two_instances_never_sign_two_roots_for_one_size(two_instances, signer):
    key = note.parse_verifier_key(signer.verifier_key())
    seen: list[str] = []
    stop = asyncio.Event()
    issuers = [asyncio.create_task(_issue(two_instances, seen, stop)) for _ in range(2)]
    await asyncio.gather(*(_append(client, JOBS // 4) for client in two_instances for _ in range(2)))
    stop.set()
    await asyncio.gather(*issuers)
    for client in two_instances:
        seen.append(await (await client.post("/checkpoint")).text())

    stores = two_instances[0].server.app[keys.stores_key]  # one instance's: the database is the same
    leaves = await log_leaves(stores)
    roots: dict[int, bytes] = {}
    for text in seen:
        checkpoint = note.verify_checkpoint(text, key)
        assert roots.setdefault(checkpoint.size, checkpoint.root) == checkpoint.root, checkpoint.size
    assert max(roots) == len(leaves) and len(roots) > 2
    assert await stores.tree.leaf_hashes(0, 10_000) == leaves
    sizes = sorted(roots)
    for size in sizes:
        assert roots[size] == merkle.root(leaves[:size])
    for first, second in zip(sizes, sizes[1:]):
        proof = await ok(await two_instances[1].get("/proofs/consistency", params={"first": first, "second": second}))
        path = [base64.b64decode(h) for h in proof["proof"]]
        if first:
            offline.verify_consistency(first, second, path, roots[first], roots[second])

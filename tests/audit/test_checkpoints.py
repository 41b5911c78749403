"""Signed checkpoints and proofs over HTTP, on both backends: issued when the log grows (at most
once per interval) and on demand, listed, signed with the configured key, proofs that verify in
the offline verifier, and a tree that resumes where it was after a restart."""

import asyncio
import base64
import sqlite3
import time

import asyncpg
import pytest

from jobledger.eventlog import merkle
from jobledger.proof import merkle as offline
from jobledger.proof import note
from tests.audit.conftest import log_leaves
from tests.service.helpers import bad_fields, error_of, ok

WAIT = 10.0  # seconds a test waits for the builder


async def make_events(client, jobs: int = 3) -> list[str]:
    """`jobs` jobs, every other one cancelled: 1 or 2 events each."""
    ids = []
    for i in range(jobs):
        ids.append((await ok(await client.post("/jobs", json={"type": "report", "payload": {"n": i}}), 201))["id"])
        if i % 2:
            await ok(await client.post(f"/jobs/{ids[-1]}/cancel", json={"reason": "test"}))
    return ids


async def checkpoint(client, **headers) -> tuple[note.Checkpoint, str]:
    resp = await client.get("/checkpoint", headers=headers)
    text = await resp.text()
    assert resp.status == 200, text
    assert resp.content_type == "text/plain" and resp.charset == "utf-8"
    return note.parse_checkpoint(text.split("\n\n", 1)[0] + "\n"), text


async def wait_for_size(client, size: int) -> str:
    deadline = time.monotonic() + WAIT
    while True:
        parsed, text = await checkpoint(client)
        if parsed.size >= size or time.monotonic() > deadline:
            assert parsed.size == size
            return text
        await asyncio.sleep(0.02)


def verified(text: str, signer) -> note.Checkpoint:
    return note.verify_checkpoint(text, note.parse_verifier_key(signer.verifier_key()))


async def test_a_checkpoint_is_issued_when_the_log_grows_signed_with_the_configured_key(serve, audit_settings, signer, store):
    client = await serve(audit_settings)
    await make_events(client, 5)
    leaves = await log_leaves(store)
    assert len(leaves) == 7
    text = await wait_for_size(client, 7)
    signed = verified(text, signer)
    assert signed.origin == "test.jobledger/log"
    assert signed.root == merkle.root(leaves)
    assert text.split("\n")[2] == base64.b64encode(merkle.root(leaves)).decode()


async def test_checkpoints_come_at_most_once_per_interval_and_at_once_on_demand(serve, audit_settings, signer, store):
    client = await serve(audit_settings.model_copy(update={"checkpoint_interval": 3600}))
    first = verified(await wait_for_size(client, 0), signer)  # the first, at start: the empty tree
    assert first.root == merkle.EMPTY_ROOT
    await make_events(client, 2)
    await asyncio.sleep(0.3)
    assert (await checkpoint(client))[0].size == 0  # the interval has not passed
    resp = await client.post("/checkpoint")
    text = await resp.text()
    assert resp.status == 200 and resp.content_type == "text/plain"
    assert verified(text, signer).size == 3 and verified(text, signer).root == merkle.root(await log_leaves(store))
    assert (await checkpoint(client))[1] == text
    again = await client.post("/checkpoint")  # the tree did not grow: the same checkpoint
    assert await again.text() == text


async def test_checkpoints_are_kept_and_listed_ascending(serve, audit_settings, signer, store):
    client = await serve(audit_settings.model_copy(update={"checkpoint_interval": 3600}))
    sizes = [verified(await wait_for_size(client, 0), signer).size]  # the first, at start
    for _ in range(3):
        await make_events(client, 2)
        sizes.append(verified(await (await client.post("/checkpoint")).text(), signer).size)
    leaves = await log_leaves(store)
    listed = await ok(await client.get("/checkpoints"))
    assert [c["tree_size"] for c in listed] == sizes == [0, 3, 6, 9]
    for c in listed:
        assert base64.b64decode(c["root_hash"]) == merkle.root(leaves[: c["tree_size"]])
        assert verified(c["note"], signer).size == c["tree_size"] and c["issued_at"]
    page = await ok(await client.get("/checkpoints", params={"after": 3, "limit": 1}))
    assert [c["tree_size"] for c in page] == [6]


async def test_inclusion_and_consistency_proofs_verify_offline(serve, audit_settings, store):
    client = await serve(audit_settings.model_copy(update={"checkpoint_interval": 3600}))
    await make_events(client, 3)
    await client.post("/checkpoint")
    await make_events(client, 4)
    await client.post("/checkpoint")
    leaves = await log_leaves(store)
    n = len(leaves)
    for size in (4, n):
        for index in range(size):
            proof = await ok(await client.get("/proofs/inclusion", params={"leaf_index": index, "tree_size": size}))
            assert proof["leaf_index"] == index and proof["tree_size"] == size
            assert base64.b64decode(proof["leaf_hash"]) == leaves[index]
            path = [base64.b64decode(h) for h in proof["proof"]]
            offline.verify_inclusion(leaves[index], index, size, path, merkle.root(leaves[:size]))
    for first in range(n + 1):
        proof = await ok(await client.get("/proofs/consistency", params={"first": first, "second": n}))
        assert (proof["first"], proof["second"]) == (first, n)
        path = [base64.b64decode(h) for h in proof["proof"]]
        assert merkle.verify_consistency(first, n, merkle.root(leaves[:first]), merkle.root(leaves), path)
        if first:
            offline.verify_consistency(first, n, path, merkle.root(leaves[:first]), merkle.root(leaves))


async def test_proofs_across_stored_and_rehashed_subtrees_verify_offline(serve, audit_settings, store):
    """Subtrees of 64 leaves and up are stored, smaller ones hashed again from their leaves (docs/auditing.md):
    proofs at sizes around those blocks' edges, leaves at their edges, verify against the log's own hashes."""
    client = await serve(audit_settings.model_copy(update={"checkpoint_interval": 3600}))
    await make_events(client, 100)  # 150 leaves: two stored blocks of 64 and a partial one
    await client.post("/checkpoint")
    leaves = await log_leaves(store)
    n = len(leaves)
    assert n == 150
    for size in (1, 63, 64, 65, 127, 128, 129, n):
        root = merkle.root(leaves[:size])
        for index in sorted({0, 1, 31, 62, 63, 64, 65, 127, 128, size - 1} & set(range(size))):
            proof = await ok(await client.get("/proofs/inclusion", params={"leaf_index": index, "tree_size": size}))
            assert base64.b64decode(proof["leaf_hash"]) == leaves[index]
            offline.verify_inclusion(leaves[index], index, size, [base64.b64decode(h) for h in proof["proof"]], root)
        for first in sorted({1, 2, 63, 64, 65, 100, size} & set(range(1, size + 1))):
            proof = await ok(await client.get("/proofs/consistency", params={"first": first, "second": size}))
            path = [base64.b64decode(h) for h in proof["proof"]]
            offline.verify_consistency(first, size, path, merkle.root(leaves[:first]), root)


async def test_bad_proof_queries_are_refused_naming_the_field(serve, audit_settings, store):
    client = await serve(audit_settings.model_copy(update={"checkpoint_interval": 3600}))
    await make_events(client, 2)
    await client.post("/checkpoint")
    size = len(await log_leaves(store))
    cases = [
        ("/proofs/inclusion", {"tree_size": size}, "leaf_index"),
        ("/proofs/inclusion", {"leaf_index": 0}, "tree_size"),
        ("/proofs/inclusion", {"leaf_index": 0, "tree_size": 0}, "tree_size"),
        ("/proofs/inclusion", {"leaf_index": "x", "tree_size": size}, "leaf_index"),
        ("/proofs/consistency", {"first": -1, "second": 1}, "first"),
        ("/checkpoints", {"limit": 0}, "limit"),
    ]
    for path, params, field in cases:
        assert field in await bad_fields(await client.get(path, params=params)), (path, params)


async def test_a_proof_the_tree_cannot_give_yet_answers_404_naming_the_field(serve, audit_settings, store):
    """The OpenAPI document allows any size: a well-formed query past the tree is a proof that does
    not exist (yet), 404, never a 400 that would call a valid request invalid (issue 22, point 9)."""
    client = await serve(audit_settings.model_copy(update={"checkpoint_interval": 3600}))
    await make_events(client, 2)
    await client.post("/checkpoint")
    size = len(await log_leaves(store))
    cases = [
        ("/proofs/inclusion", {"leaf_index": size, "tree_size": size}, "leaf_index"),
        ("/proofs/inclusion", {"leaf_index": 0, "tree_size": size + 1}, "tree_size"),
        ("/proofs/inclusion", {"leaf_index": 0, "tree_size": 2**63 - 1}, "tree_size"),
        ("/proofs/consistency", {"first": 2, "second": 1}, "first"),
        ("/proofs/consistency", {"first": 0, "second": size + 1}, "second"),
    ]
    for path, params, field in cases:
        details = await error_of(await client.get(path, params=params), 404, "proof_not_found")
        assert details["field"] == field and details["reason"], (path, params, details)
    assert (await client.get("/proofs/inclusion", params={"leaf_index": size - 1, "tree_size": size})).status == 200
    assert (await client.get("/proofs/consistency", params={"first": 1, "second": size})).status == 200


async def test_the_tree_resumes_from_its_size_after_a_restart(serve, audit_settings, signer, store):
    settings = audit_settings.model_copy(update={"checkpoint_interval": 3600})
    first = await serve(settings)
    await make_events(first, 3)
    before = verified(await (await first.post("/checkpoint")).text(), signer)
    await first.close()
    second = await serve(settings)
    await make_events(second, 3)
    after = verified(await (await second.post("/checkpoint")).text(), signer)
    leaves = await log_leaves(store)
    assert after.size == len(leaves) == 2 * before.size
    assert await store.tree.leaf_hashes(0, 1000) == leaves  # no leaf written twice, none left out
    proof = await ok(await second.get("/proofs/consistency", params={"first": before.size, "second": after.size}))
    path = [base64.b64decode(h) for h in proof["proof"]]
    offline.verify_consistency(before.size, after.size, path, before.root, after.root)


async def execute(db_url: str, sql: str) -> None:
    """One statement straight on the database, as someone with access to it would run it."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=10)
        with conn:
            conn.execute(sql)
        conn.close()
        return
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.mark.parametrize(("jobs", "size", "table", "column", "where"), [
    (2, 3, "merkle_leaves", "hashes", "block = 0"),  # the leaf hashes (one block of 3), below the stored subtrees
    (44, 66, "merkle_nodes", "hash", "level = 6 AND idx = 0"),  # a stored subtree of 64 leaves
])
async def test_a_damaged_tree_is_never_signed(serve, audit_settings, signer, db_url, store, jobs, size, table, column, where):
    """Defends against signing a tree that does not extend the last checkpoint (a leaf hash or a
    stored subtree edited in the database): the root is recomputed and checked before each signature."""
    client = await serve(audit_settings.model_copy(update={"checkpoint_interval": 3600}))
    await make_events(client, jobs)
    assert verified(await (await client.post("/checkpoint")).text(), signer).size == size
    length = 32 * (size if table == "merkle_leaves" else 1)
    zeros = "X'" + "00" * length + "'" if db_url.startswith("sqlite") else "'\\x" + "00" * length + "'::bytea"
    await execute(db_url, f"UPDATE {table} SET {column} = {zeros} WHERE {where}")
    await make_events(client, 2)
    await error_of(await client.post("/checkpoint"), 500, "tree_inconsistent")
    assert [c.tree_size for c in await store.tree.list_checkpoints(-1, 100)][-1] == size

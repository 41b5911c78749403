"""Each event's leaf hash is worked out at append and stored with it (migration 0016); the tree's
builder reads it instead of the event's body. On both backends, over HTTP: the stored leaves are
the events' leaf hashes, events stored without one (older or imported) are hashed by the builder,
and a stored leaf that is not its event's (edited before the tree reached it) is found by
`jobledger audit verify`, which hashes every event's bytes itself."""

from jobledger.application import storage
from jobledger.eventlog import merkle
from tests.audit.conftest import log_leaves
from tests.audit.test_checkpoints import checkpoint
from tests.audit.test_tamper import Log, a_finished_job, sql
from tests.audit.test_witness import TREE


async def _stored(db_url: str) -> tuple[list[bytes | None], list[bytes]]:
    """The leaf column of every event, and the tree's leaf hashes."""
    stores = await storage.open_stores(db_url)
    try:
        rows = await stores.log.leaf_rows(after=0, limit=1000)
        return [leaf for _, _, leaf in rows], await stores.tree.leaf_hashes(0, 1000)
    finally:
        await stores.close()


async def _log_leaves(db_url: str) -> list[bytes]:
    stores = await storage.open_stores(db_url)
    try:
        return await log_leaves(stores)
    finally:
        await stores.close()


async def _signed(serve, audit_settings, signer, db_url, tmp_path) -> Log:
    log = Log(await serve(audit_settings), signer, db_url, tmp_path / "witness")
    log.jobs = [await a_finished_job(log.client) for _ in range(3)]
    assert (await log.client.post("/checkpoint")).status == 200
    return log


async def _rebuilt(serve, audit_settings, log: Log, *edits) -> None:
    """The service stopped, the database edited and the tree emptied, the service started again:
    it builds the tree anew from the log and signs it."""
    await log.client.close()
    await sql(log.db_url, *edits, *[(f"DELETE FROM {t}", ()) for t in TREE])
    log.client = await serve(audit_settings)
    assert (await log.client.post("/checkpoint")).status == 200


async def test_the_tree_is_built_from_the_leaves_stored_at_append(serve, audit_settings, signer, db_url, tmp_path):
    await _signed(serve, audit_settings, signer, db_url, tmp_path)
    stored, tree = await _stored(db_url)
    assert len(stored) == 12 and stored == await _log_leaves(db_url)  # each event's own leaf hash
    assert tree == stored


async def test_events_stored_without_a_leaf_are_hashed_by_the_builder(serve, audit_settings, signer, db_url, tmp_path):
    """A log from before migration 0016 (or imported): the same tree, the same root."""
    log = await _signed(serve, audit_settings, signer, db_url, tmp_path)
    before = (await checkpoint(log.client))[0]
    await _rebuilt(serve, audit_settings, log, ("UPDATE events SET leaf = NULL", ()))
    stored, tree = await _stored(db_url)
    assert stored == [None] * 12 and tree == await _log_leaves(db_url)
    after = (await checkpoint(log.client))[0]
    assert (after.size, after.root) == (before.size, before.root)
    verified = await log.verify()
    assert verified.code == 0 and "ok: 12 events verified" in verified.out, verified.err


async def test_a_forged_stored_leaf_is_found_by_verify(serve, audit_settings, signer, db_url, tmp_path):
    log = await _signed(serve, audit_settings, signer, db_url, tmp_path)
    await _rebuilt(serve, audit_settings, log, ("UPDATE events SET leaf = $1 WHERE position = $2", (b"\x07" * 32, 5)))
    ran = await log.verify()
    assert ran.code == 1 and "leaf 4 differs from the leaf the tree recorded" in ran.err, ran.err


async def test_an_event_edited_before_the_tree_reached_it_is_found_by_verify(serve, audit_settings, signer, db_url, tmp_path):
    """The tree holds the leaf stored at append, the event says otherwise: verify hashes the event."""
    log = await _signed(serve, audit_settings, signer, db_url, tmp_path)
    edited = ("UPDATE events SET data = $1 WHERE position = $2", ('{"percent":99}', 3))
    await _rebuilt(serve, audit_settings, log, edited)
    ran = await log.verify()
    assert ran.code == 1 and "leaf 2 differs from the leaf the tree recorded" in ran.err, ran.err

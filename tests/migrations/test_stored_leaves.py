"""Migration 0016: events get their leaf hash stored at append, and the tree's leaves are kept
in blocks of 64. A tree from before it is converted leaf for leaf (and back by a downgrade); a
log from before it (leaves NULL) is hashed by the tree's builder into the tree it would have had;
a downgrade drops the column and gives back 0009's jobledger_append, on both backends."""

from uuid import uuid4

from jobledger.application import storage
from jobledger.application.checkpoints import Checkpoints
from jobledger.eventlog.records import AppendRequest
from tests.audit.conftest import log_leaves
from tests.eventlog.test_contract import new_events
from tests.migrations.test_tenant_types import _on, _to


async def _appended(db_url: str, count: int) -> None:
    stores = await storage.open_stores(db_url, migrate=False)
    try:
        await stores.log.append_all([AppendRequest(uuid4(), 0, new_events(count))])
    finally:
        await stores.close()


async def _tree(db_url: str) -> tuple[list, list, list]:
    """Each event's stored leaf, the tree's leaves once built, and the leaves hashed from the log."""
    stores = await storage.open_stores(db_url, migrate=False)
    try:
        await Checkpoints(stores, None, "test.jobledger/log").build()
        rows = await stores.log.leaf_rows(after=0, limit=1000)
        return [leaf for _, _, leaf in rows], await stores.tree.leaf_hashes(0, 1000), await log_leaves(stores)
    finally:
        await stores.close()


async def test_a_log_and_tree_from_before_0016_get_the_tree_they_would_have_had(db_url):
    await storage.migrate(db_url)
    await _on(db_url, _to("0015", downgrade=True))  # 0009's jobledger_append, no leaf column
    await _on(db_url, _to("head"))
    await _appended(db_url, 70)
    assert (await _tree(db_url))[1] == (await _tree(db_url))[2]  # 70 leaves: a full block and 6
    await _on(db_url, _to("0015", downgrade=True))  # the stored leaves go with the column, the tree becomes rows
    await _on(db_url, _to("head"))  # and blocks again
    await _appended(db_url, 100)
    stored, tree, hashed = await _tree(db_url)
    assert stored[:70] == [None] * 70 and stored[70:] == hashed[70:]
    assert tree == hashed and len(tree) == 170

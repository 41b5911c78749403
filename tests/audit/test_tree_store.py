"""The tree's storage concern (Stores.tree), the same contract on both backends: a builder's step
writes only onto the size it read, a checkpoint is stored once per size, leaves are found by
position and index."""

from datetime import UTC, datetime
from uuid import uuid4

from jobledger.eventlog import merkle
from jobledger.eventlog.records import Checkpoint, Leaf


def _leaves(start: int, count: int) -> list[Leaf]:
    """Leaves at positions 10, 12, 14, ...: positions have gaps, leaf indexes none."""
    job = uuid4()
    return [Leaf(i, 10 + 2 * i, job, merkle.leaf_hash(b"%d" % i)) for i in range(start, start + count)]


async def test_a_step_writes_only_onto_the_size_it_read(store):
    first = _leaves(0, 3)
    nodes = merkle.extend(0, [], [leaf.hash for leaf in first])
    assert await store.tree.extend_tree(0, first, nodes)
    assert await store.tree.tree_state() == (3, 14)
    assert not await store.tree.extend_tree(0, first, nodes)  # another builder got there first: nothing written
    second = _leaves(3, 2)
    peaks = await store.tree.tree_nodes(merkle.peaks(3))
    more = merkle.extend(3, [peaks[k] for k in merkle.peaks(3)], [leaf.hash for leaf in second])
    assert await store.tree.extend_tree(3, second, more)
    every = first + second
    assert await store.tree.leaf_hashes(0, 100) == [leaf.hash for leaf in every]
    stored = await store.tree.tree_nodes(merkle.peaks(5))
    assert merkle.fold([stored[k] for k in merkle.peaks(5)]) == merkle.root([leaf.hash for leaf in every])
    assert await store.tree.leaves_at([12, 18, 99]) == {12: every[1], 18: every[4]}
    assert await store.tree.leaf(4) == every[4] and await store.tree.leaf(5) is None


async def test_a_checkpoint_is_stored_once_per_size(store):
    at = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
    first = Checkpoint(5, b"\x01" * 32, "note one\n", at)
    assert await store.tree.put_checkpoint(first) == first
    assert await store.tree.put_checkpoint(Checkpoint(5, b"\x02" * 32, "note two\n", at)) == first
    assert await store.tree.put_checkpoint(Checkpoint(0, merkle.EMPTY_ROOT, "empty\n", at))
    assert [c.tree_size for c in await store.tree.list_checkpoints(-1, 10)] == [0, 5]
    assert [c.tree_size for c in await store.tree.list_checkpoints(0, 10)] == [5]
    assert (await store.tree.latest_checkpoint()) == first

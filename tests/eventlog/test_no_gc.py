"""codec.no_gc: the collector is off while a rebuild folds, and what it made is not left young."""

import gc

from jobledger.eventlog import codec


def test_no_gc_pauses_the_collector_and_hands_what_was_made_to_the_oldest_generation():
    assert gc.isenabled()
    with codec.no_gc():
        assert not gc.isenabled()
        made = [[k] for k in range(5000)]  # a fold's drafts, in small (lists: always tracked)
    assert gc.isenabled()
    # left in the youngest generation, they would all be walked by the next collection
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert all(id(d) in oldest for d in made)


def test_no_gc_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with codec.no_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_no_gc_leaves_what_the_process_froze_frozen():
    """`jobledger serve` freezes its start-up heap; a rebuild in such a process must not thaw it."""
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with codec.no_gc():
            [[k] for k in range(100)]
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()

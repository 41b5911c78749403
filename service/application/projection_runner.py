"""Keeps asynchronous projections caught up with the log, and rebuilds them beside the live one."""

import asyncio
import collections
import contextlib
import itertools
import logging
from collections.abc import Callable

from jobledger.domain import errors
from jobledger.eventlog import codec
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import RecordedEvent
from jobledger.projections import stats
from jobledger.projections.framework import Fact, Projection
from jobledger.application.jobs import utcnow

log = logging.getLogger("jobledger.projections")

PROJECTIONS: dict[str, Projection] = {stats.NAME: stats.projection}
PAGE = 2000
MIN_PASS_INTERVAL = 0.05  # seconds: under load, passes come no closer (each costs round trips whatever it reads)
RECENT_DOCS = 10_000  # documents a runner keeps from its own passes (a stats document takes about 1 KB)


class Recent:
    """The documents one runner's passes last saved or read (but those of keys a pass ended:
    Projection.ends), with the checkpoint they are true at.

    They stand for the stored documents only while the checkpoint is still where this
    runner's last save left it: the save's compare-and-set on the checkpoint proves that no
    other runner wrote in between. Anything else (another runner moved it, a failed save,
    another generation) empties them.
    """

    def __init__(self, limit: int = RECENT_DOCS) -> None:
        self.limit = limit
        self.generation: int | None = None
        self.position: int | None = None
        self.docs: dict[str, dict] = {}

    def valid_at(self, generation: int, position: int) -> dict[str, dict]:
        if (self.generation, self.position) != (generation, position):
            self.generation, self.position, self.docs = generation, None, {}
        return self.docs

    def changing(self) -> None:
        """The documents are about to change in place: true again only once saved (not if that fails)."""
        self.position = None

    def saved(self, position: int, docs: dict[str, dict], ended: list[str]) -> None:
        """The pass that left `docs` is saved at `position`; the documents of `ended` keys are not kept."""
        self.position = position
        kept, ended = self.docs, set(ended)
        for key, doc in docs.items():
            kept.pop(key, None)  # to the young end
            if key not in ended:
                kept[key] = doc
        while len(kept) > self.limit:
            del kept[next(iter(kept))]


async def generations(stores: Stores, name: str) -> dict[int, tuple[int, bool]]:
    """generation -> (position, active) for one projection."""
    return {g: (pos, active) for p, g, pos, active in await stores.projections.projection_checkpoints() if p == name}


async def active(stores: Stores, name: str) -> tuple[int, int] | None:
    """(generation, position) that reads use, or None."""
    return next(((g, pos) for g, (pos, on) in (await generations(stores, name)).items() if on), None)


class Feed:
    """The events this instance's log follower handed on, kept for the runner's next pass: a
    stretch of the log with nothing missing after `start` (the follower hands on every settled
    event once, in order), so a pass whose checkpoint lies in it reads nothing itself."""

    def __init__(self, start: int, limit: int = 4 * PAGE) -> None:
        self.start = start  # the position the kept events follow on from
        self.limit = limit
        self.events: collections.deque[RecordedEvent] = collections.deque()
        self.moved = asyncio.Event()

    def add(self, batch: list[RecordedEvent]) -> None:
        """The follower's next batch (its subscriber)."""
        self.events.extend(batch)
        while len(self.events) > self.limit:  # a runner far behind reads the log instead
            self.start = self.events.popleft().position
        self.moved.set()

    def after(self, position: int, limit: int) -> list[RecordedEvent] | None:
        """Up to `limit` events after `position`, or None if what is kept does not reach back there."""
        events = self.events
        while events and events[0].position <= position:  # a checkpoint only moves on: those are done
            self.start = events.popleft().position
        if position < self.start:
            return None
        return list(itertools.islice(events, limit))


async def catch_up(
    stores: Stores, projection: Projection, generation: int, progress: Callable[[int], None] | None = None,
    recent: Recent | None = None, feed: Feed | None = None,
) -> int | None:
    """Apply the log to `generation` from its checkpoint up to the head (as the last read found
    it, or as far as `feed` reaches); the position reached, or None if the generation was
    replaced meanwhile. With `recent`, documents this runner saved last are not read again."""
    while True:
        current = (await generations(stores, projection.name)).get(generation)
        if current is None:
            return None
        position = current[0]
        batch = feed.after(position, PAGE) if feed is not None else None
        if batch is None:
            batch = await stores.log.read_all(after=position, limit=PAGE)
        if not batch:
            return position
        facts = _facts(projection, batch)
        touches = projection.touches(facts)
        known = recent.valid_at(generation, position) if recent is not None else {}
        docs = {k: known[k] for k in touches.reads if k in known}
        if missing := [k for k in touches.reads if k not in docs]:
            docs.update(await stores.projections.load_projection_rows(projection.name, generation, missing))
        if recent is not None:
            recent.changing()
        contributions: list = []
        changed = projection.apply(docs, facts, contributions)  # in place: `docs` then holds every document of the batch
        if groups := list(dict.fromkeys(key for key, _ in contributions)):
            docs.update({k: known[k] for k in groups if k in known})
            if missing := [k for k in groups if k not in docs]:
                docs.update(await stores.projections.load_projection_rows(projection.name, generation, missing))
            changed.update(projection.groups(docs, contributions))
        saved = await stores.projections.save_projection(
            projection.name, generation, changed, position, batch[-1].position, utcnow()
        )
        if not saved:
            continue  # another runner moved the checkpoint first: read it again
        if recent is not None:
            recent.saved(batch[-1].position, docs, touches.ended)
        if progress is not None:
            progress(len(batch))
        if len(batch) < PAGE:  # the head when read: what commits later wakes the next pass
            return batch[-1].position


def _facts(projection: Projection, batch: list[RecordedEvent]) -> list[Fact]:
    """The batch's events that the projection handles (the others are not decoded)."""
    types = projection.event_types
    return [Fact(r.stream_id, r.position, r.recorded_at, codec.domain_event(r)) for r in batch if r.type in types]


async def rebuild(stores: Stores, name: str, progress: Callable[[int], None] | None = None) -> int:
    """Build a new generation from position 0 beside the live one, catch up, then swap it in."""
    projection = PROJECTIONS[name]
    await stores.projections.ensure_projection(name, utcnow())
    generation = await stores.projections.start_generation(name, active=False, now=utcnow())
    await catch_up(stores, projection, generation, progress)
    position = await catch_up(stores, projection, generation)  # what arrived during the long pass
    await stores.projections.activate_generation(name, generation)
    return position


async def run(stores: Stores, feed: Feed, interval: float = 1.0) -> None:
    """Follow the log forever, keeping each projection's active generation caught up, from
    what the instance's follower hands on (`feed`) where it reaches, else from the log.

    A pass starts when the log moves (or every `interval`), but no sooner than
    MIN_PASS_INTERVAL after the previous one: under load, one pass takes in many commits."""
    moved = feed.moved
    loop = asyncio.get_running_loop()
    last = -MIN_PASS_INTERVAL
    recent = {name: Recent() for name in PROJECTIONS}
    while True:
        if (wait := last + MIN_PASS_INTERVAL - loop.time()) > 0:
            await asyncio.sleep(wait)
        last = loop.time()
        moved.clear()  # what commits from here on wakes the next pass
        try:
            for name, projection in PROJECTIONS.items():
                current = await active(stores, name)
                if current is None:  # inside the loop: a store out of reach at start must not end the runner
                    await stores.projections.ensure_projection(name, utcnow())
                    current = await active(stores, name)
                await catch_up(stores, projection, current[0], recent=recent[name], feed=feed)
        except errors.StoreUnavailable as exc:
            log.warning("projections paused: %s", exc)
        except Exception:
            log.exception("projection runner failed; retrying")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):  # not wait_for: on 3.11 it can swallow a cancellation
                await moved.wait()


async def lags(stores: Stores) -> dict[str, dict[str, int]]:
    """Each projection's checkpoint and how far behind the log's head it is."""
    head = await stores.log.head()
    report = {"job_status": {"position": head, "lag": 0}}  # written in the append's transaction
    for name in PROJECTIONS:
        current = await active(stores, name)
        position = current[1] if current else 0
        report[name] = {"position": position, "lag": head - position}
    return report

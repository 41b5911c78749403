"""Webhook delivery from the log: a dispatcher queues deliveries, a sender sends them.

The dispatcher is a projection with a checkpoint: it reads the log after webhook_checkpoint (from
what the instance's follower hands on, else from the log), makes one delivery per event and
matching endpoint, and writes them with the moved checkpoint in one transaction. Its deliveries'
ids come from (endpoint, position), so whichever instance writes a batch, nothing is queued twice.

The sender claims due deliveries under a lease (one instance each; SKIP LOCKED on PostgreSQL), the
first still pending of each job for each endpoint only, so a job's events arrive in log order.
Each attempt runs in a task of its own with a timeout; at most `per_endpoint` at once go to one
endpoint, so a slow or dead one holds up no other. A failed attempt is tried again after the next
step of the schedule (with up to 25% jitter, later, never sooner); when the schedule (about 41 h
by default) has run out, the delivery fails and the endpoint is disabled: WebhookDisabled in
its stream. Attempts are stored in batches, one transaction for all those finished meanwhile.
"""

import asyncio
import bisect
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import orjson

from jobledger.domain import errors, events, webhook as stream
from jobledger.domain.status import WebhookStatus
from jobledger.application import erasure, projection_runner
from jobledger.eventlog import codec
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import Delivery, RecordedEvent, WebhookRow

log = logging.getLogger("jobledger.webhooks")

#: seconds before each retry: exponential (x3 from 5 s), about 41 h in all before an endpoint is disabled
DEFAULT_SCHEDULE = tuple(5.0 * 3**k for k in range(10))
_NAMESPACE = uuid.UUID("5c0a3e2d-7b14-5e8f-a6d2-91c4e7b3f028")
# Every change of an endpoint is an event of the log: the dispatcher reads the endpoints again at
# once when its batch holds one, or when another instance moved the checkpoint (past events it
# did not see); this is only a backstop. (Read every second, 5,000 endpoints of other tenants
# cost each second a pause of the loop: bench/webhooks.py --others.)
_HOOKS_SECONDS = 60.0

#: sends a body: (url, headers, body, timeout seconds) -> the status answered (web/webhook_sender.py)
Post = Callable[[str, dict[str, str], bytes, float], Awaitable[int]]


@dataclass(frozen=True)
class DeliverySettings:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    timeout: float = 10.0  #: seconds an attempt may take
    allowed: frozenset[str] = frozenset()  #: kinds of non-global addresses that may be targets
    per_endpoint: int = 32  #: attempts at once to one endpoint (of in_flight: a slow one leaves the rest to others)
    in_flight: int = 256  #: attempts at once from this instance
    poll: float = 0.5  #: seconds between looks for deliveries queued or due elsewhere
    jitter: Callable[[], float] = field(default=random.random)


def parse_schedule(text: str) -> tuple[float, ...]:
    """A comma-separated list of seconds (empty: DEFAULT_SCHEDULE); ValueError if one is not > 0."""
    if not text.strip():
        return DEFAULT_SCHEDULE
    steps = tuple(float(part) for part in text.split(","))
    if not all(step > 0 for step in steps):
        raise ValueError("every step of the retry schedule must be a number of seconds above 0")
    return steps


def delivery_id(webhook_id: str, position: int) -> str:
    """The `webhook-id` of the event at `position` sent to `webhook_id`: the same on every instance and attempt."""
    return "msg_" + uuid.uuid5(_NAMESPACE, f"{webhook_id}:{position}").hex


def body(event: RecordedEvent, job_type: str) -> str:
    """What is POSTed: the event, its job and where it is in the log."""
    return orjson.dumps({
        "type": event.type, "timestamp": event.recorded_at.isoformat(), "job_id": str(event.stream_id),
        "tenant": event.metadata.get("tenant", "default"), "job_type": job_type, "position": event.position,
        "version": event.version, "data": event.data,
    }).decode()


def matches(hook: stream.WebhookState, event: RecordedEvent, job_type: str) -> bool:
    """Whether `hook`, as it was just before `event`, asks for it."""
    return (
        hook.status is WebhookStatus.ACTIVE
        and hook.tenant == event.metadata.get("tenant", "default")
        and (hook.event_types is None or event.type in hook.event_types)
        and (hook.job_types is None or job_type in hook.job_types)
    )


class Endpoints:
    """Every endpoint as it was at any position of the log: its stream's events folded up to there.
    A dispatcher reading the log behind its head must not use today's row: an endpoint disabled,
    changed or deleted since gets what its state then asked for, and one made later nothing."""

    def __init__(self, stores: Stores):
        self.stores = stores
        self._states: dict[str, tuple[int, list[int], list[stream.WebhookState]]] = {}  # id -> (version, positions, states)
        self._of_tenant: dict[str, list[str]] = {}  # tenant -> its endpoints' ids: an event is matched against its tenant's only
        self._read_at = -_HOOKS_SECONDS

    async def refresh(self, changed: bool) -> None:
        """Read the rows again if `changed` (the batch holds webhook events) or they are old; a
        stream whose version moved is read and folded again."""
        if not changed and time.monotonic() - self._read_at <= _HOOKS_SECONDS:
            return
        rows = await self.stores.webhooks.list_webhooks(None)  # after the batch's events: it sees them
        self._read_at = time.monotonic()
        states, of_tenant = {}, {}
        for row in rows:
            kept = self._states.get(row.webhook_id)
            states[row.webhook_id] = kept if kept and kept[0] == row.version else await self._history(row)
            of_tenant.setdefault(row.tenant, []).append(row.webhook_id)
        self._states, self._of_tenant = states, of_tenant

    async def _history(self, row: WebhookRow) -> tuple[int, list[int], list[stream.WebhookState]]:
        recorded = await self.stores.log.read_stream(stream.stream_id(row.webhook_id))
        state, positions, states = stream.WebhookState(row.tenant, row.webhook_id), [], []
        for event in recorded:
            state = stream.evolve(state, codec.domain_event(event))
            positions.append(event.position)
            states.append(state)
        return len(recorded), positions, states

    def of(self, tenant: str) -> bool:
        """Whether the tenant has (or had) an endpoint."""
        return tenant in self._of_tenant

    def at(self, position: int, tenant: str | None = None) -> list[stream.WebhookState]:
        """Each endpoint (of `tenant`, or of any) as it was just before `position` (those that
        existed then): another tenant's endpoints cost an event nothing, however many they are."""
        ids = self._states if tenant is None else self._of_tenant.get(tenant, ())
        found = []
        for webhook_id in ids:
            _, positions, states = self._states[webhook_id]
            index = bisect.bisect_left(positions, position)
            if index:
                found.append(states[index - 1])
        return found


class Taker(Protocol):
    """What a dispatcher hands the deliveries it leases as it queues them to (webhook_sender.Sender)."""

    def queued(self) -> None:
        """Deliveries were queued that only a claim hands out."""

    def room(self, webhook_ids: set[str]) -> dict[str, int]: ...

    def lease_until(self) -> datetime: ...

    def take(self, deliveries: list[Delivery]) -> None: ...


class Dispatcher:
    """Queues the deliveries of the log's job events, from its checkpoint on. Those it may (the
    first still pending of their job, for their endpoint) it leases to this instance's sender in
    the same transaction and hands over at once: no claim stands between the log and the POST."""

    def __init__(self, stores: Stores, feed: projection_runner.Feed, sender: Taker, clock):
        self.stores, self.feed, self.sender, self.clock = stores, feed, sender, clock
        self._position: int | None = None  # the checkpoint as this dispatcher last moved it
        self.endpoints = Endpoints(stores)
        self._types: dict[uuid.UUID, str] = {}

    async def catch_up(self) -> None:
        """Queue every event's deliveries up to the head as read."""
        while True:
            # a checkpoint read from the store, not moved by this dispatcher itself, may have been
            # moved past endpoint events it never saw (another instance's): read the endpoints again
            moved_elsewhere = self._position is None
            position = self._position if self._position is not None else await self.stores.webhooks.dispatched()
            batch = self.feed.after(position, projection_runner.PAGE)
            if batch is None:
                batch = await self.stores.log.read_all(after=position, limit=projection_runner.PAGE)
            if not batch:
                self._position = position
                return
            deliveries = await self._deliveries(batch, moved_elsewhere)
            room = self.sender.room({d.webhook_id for d in deliveries})
            self._position = None
            taken = await self.stores.webhooks.enqueue(
                position, batch[-1].position, deliveries, self.clock(), self.sender.lease_until(), room, erasure.delivery_body
            )
            if taken is None:
                continue  # another instance's dispatcher moved the checkpoint first: read it again
            self._position = batch[-1].position
            self.sender.take(taken)
            if len(taken) < len(deliveries):
                self.sender.queued()

    async def _deliveries(self, batch: list[RecordedEvent], moved_elsewhere: bool) -> list[Delivery]:
        await self.endpoints.refresh(moved_elsewhere or any(e.type in events.WEBHOOK_EVENT_TYPES for e in batch))
        jobs = [e for e in batch if e.type in events.EVENT_TYPES]
        if not any(self.endpoints.of(e.metadata.get("tenant", "default")) for e in jobs):
            return []
        for e in jobs:
            if e.type == "JobCreated":
                self._types[e.stream_id] = e.data["job_type"]
        if unknown := list({e.stream_id for e in jobs} - self._types.keys()):
            self._types.update(await self.stores.webhooks.job_types(unknown))
        found = []
        for e in jobs:
            job_type = self._types.get(e.stream_id, "")
            for hook in self.endpoints.at(e.position, e.metadata.get("tenant", "default")):
                if matches(hook, e, job_type):
                    found.append(Delivery(delivery_id(hook.webhook_id, e.position), hook.webhook_id, e.stream_id,
                                          e.position, e.type, body(e, job_type)))
        if len(self._types) > 100_000:
            self._types.clear()
        return found

    async def run(self, interval: float = 1.0) -> None:
        """Follow the log forever: a pass whenever the follower hands something on (or every `interval`)."""
        while True:
            self.feed.moved.clear()
            try:
                await self.catch_up()
            except errors.StoreUnavailable as exc:
                log.warning("webhook dispatch paused: %s", exc)
            except Exception:
                log.exception("webhook dispatch failed; retrying")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self.feed.moved.wait()

"""Live updates: one hub per instance follows the log and fans each event out to WebSocket listeners.

The hub subscribes to the instance's LogFollower, so it sees every committed event once, in
position order, whichever instance appended it. For each event that someone listens to it folds
the event onto a small cache of job states, serialises the message once and frames it once, then
writes the same bytes to every matching socket. A socket whose send buffer is over its bound is
closed with 4008 "lagging" instead of slowing the others; its client resumes with `after`.

Every `key_check` seconds the hub reads which API keys are still active and closes the sockets
of any other (4001, after an `error` message): a key revoked by any instance or by
`jobledger keys revoke` stops streaming within that time, on every instance, on both backends.
The check reads the registry itself, not the Authenticator's cache, and costs one query per
tick only while a socket with a key is open. The same tick closes (4001) the sockets whose
JWT has expired (its `exp`, plus the configured leeway): a token is never streamed to past it.
"""

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from aiohttp import WSCloseCode, web
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


from jobledger.domain import errors
from jobledger.domain.events import EVENT_TYPES
from jobledger.domain.job import Job
from jobledger.eventlog import metadata
from jobledger.eventlog.follower import LogFollower
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import RecordedEvent
from jobledger.application.jobs import Scope
from jobledger.application.estimates import Estimates, times_of_job
from jobledger.application.live_messages import TERMINAL, JobStates, message
from jobledger.application.tenant_limits import PerTenant
from jobledger.projections import estimates
from jobledger.web.live_socket import (  # noqa: F401 - one socket's side, named here as before
    LAGGING, REVOKED, KeyRevoked, Listener, TokenExpired, TooManySubscriptions, text_frame,
)

log = logging.getLogger("jobledger.live")



class LiveSettings(BaseSettings):
    """WebSocket settings (environment variables JOBLEDGER_WS_*)."""

    model_config = SettingsConfigDict(env_prefix="JOBLEDGER_WS_", extra="ignore")

    heartbeat: float = 30.0  #: seconds between protocol pings; no pong within half of it closes the socket
    send_buffer_bytes: int = 512 * 1024  #: per socket: unsent bytes allowed before 4008 "lagging"
    job_cache: int = 10_000  #: job states kept to build messages without reading the store
    close_timeout: float = 5.0  #: seconds a closing peer gets before its connection is dropped
    max_message_bytes: int = 256 * 1024  #: largest message a client may send
    max_subscriptions: int = 1000  #: jobs + job types one socket may follow at once
    max_sockets_per_key: int = 100  #: open sockets per API key
    auth_timeout: float = 5.0  #: seconds a socket without an Authorization header has to send its `auth` message
    key_check: float = Field(1.0, gt=0, le=1.0)  #: seconds between checks that each socket's API key is active


class Hub:
    """Follows the log and fans each event out to the listeners it matches."""

    def __init__(self, stores: Stores, follower: LogFollower, settings: LiveSettings):
        self.stores = stores
        self.settings = settings
        self.position = follower.position  # every event up to here has been fanned out
        self.serialized = 0  # messages built: one per event that someone listens to, however many listen
        self._states = JobStates(stores, settings.job_cache)
        self.estimates: Estimates | None = None  # set by the app: live messages carry job estimates
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)  # the app's clock, for estimates
        #: open sockets an API key may hold, by its tenant (the app gives tenants their own: JOBLEDGER_TENANT_LIMITS)
        self.sockets_per_key = PerTenant(settings.max_sockets_per_key, "JOBLEDGER_WS_MAX_SOCKETS_PER_KEY")
        self._by_job: dict[UUID, set[Listener]] = {}
        self._by_type: dict[str, set[Listener]] = {}
        self._by_pair: dict[tuple[str, str], set[Listener]] = {}  # a metadata filter's first pair -> its sockets
        self._everyone: set[Listener] = set()
        self._sockets: weakref.WeakSet[Listener] = weakref.WeakSet()
        self._inbox: deque[list[RecordedEvent]] = deque()
        self._moved = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._unsubscribe = follower.subscribe(self._received)
        self._task = asyncio.create_task(self._run(), name="jobledger-live-hub")
        self._keys_task = asyncio.create_task(self._check_keys(), name="jobledger-live-keys")

    def listener(
        self, ws: web.WebSocketResponse, request: web.Request, scope: Scope, *, close_on_terminal: bool = False
    ) -> Listener:
        listener = Listener(self, ws, request.transport, scope, close_on_terminal)
        self._sockets.add(listener)
        return listener

    def open_sockets(self) -> int:
        return sum(1 for listener in self._sockets if not listener.closing)

    def watched(self) -> int:
        """How many sockets are listening to something."""
        return len(self._everyone.union(*self._by_job.values(), *self._by_type.values(), *self._by_pair.values()))

    def watch(
        self, listener: Listener, jobs: Iterable[UUID], types: Iterable[str], everything: bool, since: int,
        filters: Iterable[metadata.Pairs] = (),
    ) -> None:
        """Send `listener` the events of these jobs, of these job types, of the jobs whose metadata
        holds one of these filters' pairs, or all, from now on."""
        for job_id in jobs:
            listener.jobs[job_id] = min(listener.jobs.get(job_id, since), since)
            self._by_job.setdefault(job_id, set()).add(listener)
        for job_type in types:
            listener.types[job_type] = min(listener.types.get(job_type, since), since)
            self._by_type.setdefault(job_type, set()).add(listener)
        for pairs in filters:
            listener.metadata[pairs] = min(listener.metadata.get(pairs, since), since)
            self._by_pair.setdefault(min(pairs), set()).add(listener)
        if everything:
            listener.all_from = min(listener.all_from if listener.all_from is not None else since, since)
            self._everyone.add(listener)

    def unwatch(self, listener: Listener, jobs=None, types=None, everything: bool = True, filters=None) -> None:
        """Stop sending `listener` these jobs, types, metadata filters, or all (by default: anything)."""
        for job_id in list(listener.jobs) if jobs is None else jobs:
            listener.jobs.pop(job_id, None)
            _discard(self._by_job, job_id, listener)
        for job_type in list(listener.types) if types is None else types:
            listener.types.pop(job_type, None)
            _discard(self._by_type, job_type, listener)
        for pairs in list(listener.metadata) if filters is None else filters:
            listener.metadata.pop(pairs, None)
            if all(min(other) != min(pairs) for other in listener.metadata):
                _discard(self._by_pair, min(pairs), listener)
        if everything:
            listener.all_from = None
            self._everyone.discard(listener)

    def remember(self, job: Job) -> None:
        """A job state that a socket just read: saves the hub reading it again for the next event."""
        self._states.offer(job)

    def forget(self, listener: Listener) -> None:
        """The socket is done: send it nothing more."""
        listener.closing = True
        self.unwatch(listener)

    def spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def disconnect(self, code: int, reason: str) -> None:
        """Close every socket (in the background)."""
        for listener in list(self._sockets):
            listener.close(code, reason)

    async def close(self, code: int = WSCloseCode.GOING_AWAY, reason: str = "server shutdown") -> None:
        """Close every socket (GOING_AWAY on shutdown), then stop following the log."""
        self.disconnect(code, reason)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.settings.close_timeout + 1)
        self._unsubscribe()
        for task in (self._task, self._keys_task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _check_keys(self) -> None:
        """Close, every `key_check` seconds, the sockets whose API key is no longer active or whose JWT expired."""
        while True:
            await asyncio.sleep(self.settings.key_check)
            self._close_expired(time.time())
            held = {key_id for listener in self._sockets if (key_id := _key_id(listener)) is not None}
            if not held:
                continue
            try:
                active = {key.key_id for key in await self.stores.registry.list_keys() if key.revoked_at is None}
            except errors.StoreUnavailable as exc:  # checked again next tick; until then nothing new is trusted
                log.warning("could not check the API keys of open sockets: %s", exc)
                continue
            for listener in list(self._sockets):
                if _key_id(listener) in held - active:
                    listener.revoke()

    def _close_expired(self, now: float) -> None:
        for listener in list(self._sockets):
            expires_at = getattr(listener.scope, "expires_at", None)
            if expires_at is not None and expires_at <= now and not listener.closing:
                listener.revoke(TokenExpired())

    def _received(self, batch: list[RecordedEvent]) -> None:
        self._inbox.append(batch)
        self._moved.set()

    async def _run(self) -> None:
        outbox: dict[Listener, list[tuple[int, bytes, bool]]] = {}
        while True:
            await self._moved.wait()
            self._moved.clear()
            while self._inbox:  # batches that arrived while the last ones were sent go out together
                for event in self._inbox.popleft():
                    try:
                        await self._publish(event, outbox)
                    except Exception:  # a bug, not the store: those listeners must resume from the log
                        log.exception("live update of event %s failed", event.position)
                        self._states.forget(event.stream_id)
                        for listener in self._by_job.get(event.stream_id, set()) | self._everyone | self._typed() | self._filtered():
                            listener.close(WSCloseCode.INTERNAL_ERROR, "internal error")
                    self.position = event.position
            self._send(outbox)

    @staticmethod
    def _send(outbox: dict[Listener, list]) -> None:
        for listener, items in outbox.items():
            listener.deliver(items)
        outbox.clear()

    def _typed(self) -> set[Listener]:
        return set().union(*self._by_type.values())

    def _filtered(self) -> set[Listener]:
        return set().union(*self._by_pair.values())

    async def _publish(self, event: RecordedEvent, outbox: dict[Listener, list]) -> None:
        job_id = event.stream_id
        if event.type not in EVENT_TYPES:  # a job type's own stream (domain/job_type.py): no job's event
            return
        if not (job_id in self._by_job or self._by_type or self._everyone or self._by_pair):
            self._states.forget(job_id)  # nobody listens: keep no state that would go stale
            return
        job = self._states.fold(event)
        if job is None:
            # Frames already computed go out before waiting: a socket's subscription may change meanwhile,
            # and it must have been sent what it was promised.
            self._send(outbox)
            job = await self._states.load(event)
        # Targets are looked up after any wait: a socket that registered meanwhile gets this event.
        targets = self._targets(job)
        if not targets:
            return
        terminal = job.status in TERMINAL
        items = {}  # whole errors, or their code and message only (a client's socket): each made once
        for listener in targets:
            details = listener.scope.sees_details
            if details not in items:
                estimate = self.estimate(job, event.recorded_at)
                items[details] = (event.position, text_frame(message(event, job, details, estimate)), terminal)
                self.serialized += 1
            outbox.setdefault(listener, []).append(items[details])

    def estimate(self, job: Job, at: datetime) -> dict[str, Any] | None:
        """The job's estimate as of `at`, from its type's durations as last read (never waits on a read)."""
        if self.estimates is None or job.status in TERMINAL:
            return None
        return estimates.estimate(times_of_job(job), self.estimates.kept(job.tenant, job.type), at)

    async def estimate_now(self, job: Job) -> dict[str, Any] | None:
        """The job's estimate now, its type's durations read if need be (a subscription's first message)."""
        return None if self.estimates is None else (await self.estimates.of_jobs([job], self.now()))[0]

    def _targets(self, job: Job) -> list[Listener]:
        """The sockets that listen to this job and may see it."""
        groups = [g for g in (self._by_job.get(job.id), self._by_type.get(job.type), self._everyone) if g]
        if self._by_pair and job.metadata:
            groups.append(self._matching(metadata.pairs(job.metadata)))
        if not any(groups):
            return []
        listeners = groups[0] if len(groups) == 1 else set().union(*groups)
        return [listener for listener in listeners if listener.scope.sees(job.tenant, job.type, job.user)]


    def _matching(self, pairs: metadata.Pairs) -> set[Listener]:
        """The sockets with a metadata filter that a job of these pairs holds."""
        found = set()
        for pair in pairs:
            for listener in self._by_pair.get(pair, ()):
                if listener not in found and any(f <= pairs for f in listener.metadata):
                    found.add(listener)
        return found


def _key_id(listener: Listener) -> str | None:
    """The API key an open socket acts for (None: the open mode, a JWT, or already closing)."""
    if listener.closing or getattr(listener.scope, "from_token", False):
        return None
    return getattr(listener.scope, "key_id", None)


def _discard(index: dict, key, listener: Listener) -> None:
    group = index.get(key)
    if group is not None:
        group.discard(listener)
        if not group:
            del index[key]

"""The application layer: load a job, let the domain decide, append, answer.

Used by the HTTP routes, the sweeper and the CLI alike; it holds no rule of its own.
"""

import asyncio
import contextlib
import functools
import hashlib
import random
import secrets
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import orjson

from jobledger.domain import commands, decide, errors
from jobledger.domain.job import Job, fold
from jobledger.domain.status import Status
from jobledger.eventlog import codec
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import AppendRequest, AppendsRefused, ClaimQuery, RecordedEvent, StatusRow, Written
from jobledger.projections import job_status
from jobledger.application import children, keyed_lock, tracing
from jobledger.application.snapshot import Snapshot, replay
from jobledger.application.metrics import Metrics

_IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:jobledger:idempotency-key")
_CONFLICT_RETRIES = 20
_CLAIM_RECHECK_SECONDS = 1.0  # a long poll also looks again this often, for delayed jobs coming due
_LOG_SCAN_PAGES = 10  # a tenant's page of the log reads at most this many pages of the whole log
_RECENT_JOBS = 1024  # running jobs whose last write this instance keeps, to decide their next command without a read
_RECENT_DOC_BYTES = 64 * 1024  # a job whose document is bigger is read each time instead
DEFAULT_TENANT = "default"


class Scope(Protocol):
    """What a caller may see (jobledger.web.auth.Principal)."""

    def sees(self, tenant: str, job_type: str, user: str | None) -> bool: ...


def utcnow() -> datetime:
    return datetime.now(UTC)


@functools.lru_cache(maxsize=4096)  # a worker sends its token with every call while it holds the job
def token_hash(token: str) -> str:
    """Leases are checked against a hash: the token itself is only ever shown to its worker."""
    return hashlib.sha256(token.encode()).hexdigest()


def request_hash(body: Any) -> str:
    """A stable digest of a request body, to tell a replay from a different request."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class Claimed:
    snapshot: Snapshot
    lease_token: str


class Jobs:
    def __init__(
        self, stores: Stores, clock: Callable[[], datetime] = utcnow, jitter: Callable[[], float] = random.random,
        metrics: Metrics | None = None,
    ):
        self.stores = stores
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.jitter = jitter
        # waiting claims by (tenant, type); None for a claim of any tenant (in-process) or any type
        self._waiting: dict[tuple[str | None, str | None], set[asyncio.Event]] = {}
        self._job_locks = keyed_lock.KeyedLock()  # commands on one job take turns in this instance: no wasted conflicts
        self._recent: dict[UUID, Snapshot] = {}  # see _remember

    @contextlib.contextmanager
    def waiting(self, types: Iterable[str] | None, tenant: str | None = None) -> Iterator[asyncio.Event]:
        """An event set whenever a claim of `types` (None: any type) for `tenant` (None: any)
        may find a job it could not before. A long poll clears it before each read of the
        queue, so what commits during the read wakes it again."""
        woken = asyncio.Event()
        keys = [(tenant, None)] if types is None else [(tenant, type_) for type_ in dict.fromkeys(types)]
        for key in keys:
            self._waiting.setdefault(key, set()).add(woken)
        try:
            yield woken
        finally:
            for key in keys:
                waiters = self._waiting[key]
                waiters.discard(woken)
                if not waiters:
                    del self._waiting[key]

    def rows_written(self, written: Written | None) -> None:
        """Status rows were written, here or by another instance (the store's listener; None:
        not known which). Wake the claims waiting for a tenant's type with a job that is now
        queued (created, released, retried) or has ended (the type's max_running has room
        again), and those waiting for any type or any tenant. Claims, progress reports,
        heartbeats and phases leave their jobs running, most of a busy log: they wake none."""
        waiting = self._waiting
        if not waiting:
            return
        if written is None:
            woken = set(waiting)
        else:
            woken = set()
            for tenant, type_, status in written:
                if status != Status.RUNNING.value:
                    woken.update(((tenant, type_), (tenant, None), (None, type_), (None, None)))
            if not woken:
                return
        for key in woken:
            for event in waiting.get(key, ()):
                event.set()

    async def create(self, command: commands.CreateJob, meta: dict[str, Any]) -> tuple[Snapshot, bool]:
        """Create a job; with an idempotency key, a replay returns the first job and False."""
        key = command.idempotency_key
        job_id = new_job_id(command)
        now = self.clock()
        new_events = decide.create(job_id, command, now)
        job = fold(None, new_events, now, job_id)
        try:
            recorded, doc = await self._append(None, new_events, job, now, meta)
        except errors.VersionConflict:
            if key is None:
                raise
            return await self.replayed(job_id, command), False
        return Snapshot(job, recorded[-1].position, doc), True

    async def create_many(
        self, commands_: list[commands.CreateJob], meta: dict[str, Any]
    ) -> list[tuple[Snapshot, bool]]:
        """Create jobs together: every new one is written in one transaction, or none is.
        A command whose idempotency key was used before is a replay, answered as create
        answers it (the first job, and False); its key used with another body writes nothing.
        The caller gives each key once (two appends to one job cannot share a transaction)."""
        now = self.clock()
        planned = []  # (job id, its events, the job they make), in the commands' order
        for command in commands_:
            job_id = new_job_id(command)
            new_events = decide.create(job_id, command, now)
            planned.append((job_id, new_events, fold(None, new_events, now, job_id)))
        answers: dict[int, tuple[Snapshot, bool]] = {}
        for _ in range(_CONFLICT_RETRIES):
            todo = [i for i in range(len(planned)) if i not in answers]
            requests = []
            for i in todo:
                job_id, new_events, job = planned[i]
                requests.append(append_request(job_id, 0, new_events, job, now, meta))
            try:
                outcomes = await self.stores.log.append_all(requests) if requests else []
            except AppendsRefused as refused:  # jobs of these keys exist: replays, answered as they are
                index = {planned[i][0]: i for i in todo}
                for conflict in refused.conflicts:
                    i = index[conflict.stream_id]
                    if commands_[i].idempotency_key is None:
                        raise
                    try:
                        answers[i] = (await self.replayed(conflict.stream_id, commands_[i]), False)
                    except errors.IdempotencyKeyReused as exc:
                        raise errors.IdempotencyKeyReused(**{**exc.details, "index": i}) from None
                continue
            for i, recorded, request in zip(todo, outcomes, requests, strict=True):
                job = planned[i][2]
                self.metrics.appended(recorded, None, job)
                answers[i] = (Snapshot(job, recorded[-1].position, request.state["doc"]), True)
            return [answers[i] for i in range(len(planned))]
        raise errors.VersionConflict(planned[0][0], 0, None, reason="the jobs kept changing; try again")

    async def replayed(self, job_id: UUID, command: commands.CreateJob) -> Snapshot:
        history = await self.stores.log.read_stream(job_id)
        if history[0].data.get("request_hash") != command.request_hash:
            raise errors.IdempotencyKeyReused(idempotency_key=command.idempotency_key, job_id=str(job_id))
        return await self.load(job_id)

    async def execute(
        self, job_id: UUID, command: commands.Command, meta: dict[str, Any], expected_version: int | None = None,
        scope: Scope | None = None,
    ) -> Snapshot:
        """Decide `command` on the job's current state and append what it records.

        With `expected_version` (If-Match), a job that moved on is a VersionConflict;
        without it, a concurrent change is retried on the fresh state. A job that `scope`
        does not see is not found.
        """
        await self._job_locks.acquire(job_id)
        try:
            known = self._recent.pop(job_id, None)
            if known is not None:
                done = await self._execute_on(_seen(known, scope), command, meta, expected_version)
                if done is not None:
                    return done
            for _ in range(_CONFLICT_RETRIES):
                try:
                    return await self._execute_once(job_id, command, meta, expected_version, scope)
                except errors.VersionConflict:  # another instance changed the job first
                    if expected_version is not None:
                        raise
        finally:
            self._job_locks.release(job_id)
        raise errors.VersionConflict(job_id, expected_version or 0, None, reason="the job kept changing; try again")

    async def _execute_on(self, known: Snapshot, command, meta, expected_version) -> Snapshot | None:
        """Decide `command` on the job as this instance last wrote it, or None to decide on the
        recorded job instead. Only an accepted append is kept: it proves `known` was the job's
        current state (its version was the log's). A refusal, a no-op or a conflict may come
        from a state since moved on (another instance wrote), so it is decided again, on a read."""
        job = known.job
        if expected_version is not None and expected_version != job.version:
            return None
        now = self.clock()
        try:
            new_events = decide.decide(job, command, now)
        except errors.JobServiceError:
            return None
        if not new_events:
            return None
        new_job = fold(job, new_events, now)
        try:
            recorded, doc = await self._append(job, new_events, new_job, now, meta)
        except errors.VersionConflict:
            return None
        return self._remember(Snapshot(new_job, recorded[-1].position, doc), len(doc))

    async def _execute_once(self, job_id, command, meta, expected_version, scope) -> Snapshot:
        current = await self.load(job_id, scope)
        job = current.job
        if expected_version is not None and expected_version != job.version:
            raise errors.VersionConflict(job_id, expected_version, job.version, status=job.status.value)
        now = self.clock()
        new_events = decide.decide(job, command, now)
        if not new_events:
            return current
        new_job = fold(job, new_events, now)
        recorded, doc = await self._append(job, new_events, new_job, now, meta)
        return self._remember(Snapshot(new_job, recorded[-1].position, doc), len(doc))

    def _remember(self, snapshot: Snapshot, doc_bytes: int = 0) -> Snapshot:
        """Keep a running job's snapshot after this instance wrote it: its next command (a
        worker's heartbeat, report or finish; a tracked job's progress, phase or finish) is
        then decided without reading the job first. At most `_RECENT_JOBS` are kept (the
        oldest written leaves first); a job is kept only while this instance writes it
        (`execute` takes it out) and while it runs."""
        job = snapshot.job
        if job.status is not Status.RUNNING or doc_bytes > _RECENT_DOC_BYTES:
            return snapshot
        recent = self._recent
        recent[job.id] = snapshot
        if len(recent) > _RECENT_JOBS:
            del recent[next(iter(recent))]
        return snapshot

    async def claim(
        self, worker_id: str, types: tuple[str, ...] | None, limit: int, lease_seconds: float,
        meta: dict[str, Any], wait_seconds: float = 0, max_running: dict[str, int] | None = None,
        tenant: str | None = None, gone: Callable[[], bool] = lambda: False,
        paused: Callable[[], Awaitable[frozenset[str]]] | None = None,
    ) -> list[Claimed]:
        """Claim up to `limit` due jobs (of `tenant`), highest priority then oldest first; long-poll up to `wait_seconds`.
        `gone()` tells that the claimer hung up: then nothing is claimed (nobody would run the jobs, and their
        leases running out would cost them an attempt). `paused()`: the types left queued, asked before each read."""
        deadline = asyncio.get_running_loop().time() + wait_seconds
        with self.waiting(types, tenant) as woken:
            while True:
                if gone():
                    return []
                woken.clear()
                held = await paused() if paused is not None else frozenset()
                query = ClaimQuery(types, self.clock(), limit, max_running or {}, tenant, held)
                claimed = await self._claim_once(query, worker_id, lease_seconds, meta)
                remaining = deadline - asyncio.get_running_loop().time()
                if claimed:
                    self.metrics.claim_wait.observe(wait_seconds - remaining)
                if claimed or remaining <= 0:
                    return claimed
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(remaining, _CLAIM_RECHECK_SECONDS)):  # not wait_for (3.11 cancel race)
                        await woken.wait()

    async def _claim_once(self, query: ClaimQuery, worker_id, lease_seconds, meta) -> list[Claimed]:
        now = query.now
        planned: dict[UUID, tuple[Job, str, str, int]] = {}  # job id -> (claimed job, its document, token, size)

        def plan(rows: list[StatusRow]) -> list[AppendRequest]:
            requests = []
            for row in rows:
                job = job_status.job_from_document(codec.loads(row.doc))
                token = secrets.token_urlsafe(24)
                new_events = decide.decide(job, commands.ClaimJob(worker_id, token_hash(token), lease_seconds), now)
                new_job = fold(job, new_events, now)
                requests.append(append_request(job.id, job.version, new_events, new_job, now, meta))
                planned[job.id] = (new_job, requests[-1].state["doc"], token, len(row.doc))
            return requests

        self.metrics.claim_reads.inc()
        recorded = await self.stores.queue.claim(query, plan)
        claimed = []
        for events_ in recorded:
            job, doc, token, size = planned[events_[0].stream_id]
            self.metrics.appended(events_, None, job)
            claimed.append(Claimed(self._remember(Snapshot(job, events_[-1].position, doc), size), token))
        return claimed

    async def append_decided_together(self, decided: list[tuple[Job, list, Job]], now: datetime, meta: dict[str, Any]) -> None:
        """Append events decided on jobs as they were read, all in one transaction of their own:
        AppendsRefused (and nothing written) if one of the jobs has moved on since."""
        requests = [append_request(new_job.id, job.version, new_events, new_job, now, meta) for job, new_events, new_job in decided]
        outcomes = await children.append_all(self.stores, requests, decided, now, meta, self.metrics, append_request)
        for (job, _, new_job), recorded in zip(decided, outcomes, strict=True):
            self.metrics.appended(recorded, job, new_job)

    async def append_decided(self, job: Job, new_events, new_job: Job, now: datetime, meta: dict[str, Any]) -> Snapshot:
        """Append events decided on `job` as it was read (a bulk action's listed job): VersionConflict
        if the job has moved on since."""
        recorded, doc = await self._append(job, new_events, new_job, now, meta)
        return Snapshot(new_job, recorded[-1].position, doc)

    async def _append(self, job: Job | None, new_events, new_job: Job, now, meta) -> tuple[list[RecordedEvent], str]:
        """Append; the recorded events, and the new job's document as JSON (made once, for its status row)."""
        request = append_request(new_job.id, job.version if job else 0, new_events, new_job, now, meta)
        with tracing.appending(request.stream_id, request.expected_version, len(request.events)):
            recorded = await children.append(self.stores, request, job, new_job, now, meta, self.metrics, append_request)
        self.metrics.appended(recorded, job, new_job)
        return recorded, request.state["doc"]

    async def load(self, job_id: UUID, scope: Scope | None = None) -> Snapshot:
        """The job's current state: from the status read model, else folded from the log.
        A job that `scope` does not see is not found, exactly like a job that does not exist."""
        row = await self.stores.status.get_status(job_id)
        if row is not None:
            snapshot = Snapshot(job_status.job_from_document(codec.loads(row.doc)), row.last_position)
        else:
            history = await self.stores.log.read_stream(job_id)
            if not history:
                raise errors.JobNotFound(job_id=str(job_id))
            snapshot = Snapshot(replay(history), history[-1].position)
        return _seen(snapshot, scope)

    async def log_page(self, after: int, limit: int, tenant: str) -> tuple[list[RecordedEvent], int]:
        """Up to `limit` of `tenant`'s events past `after`, and the position to read on from.

        The log is read in position order and filtered by the tenant each event's metadata
        names; at most `_LOG_SCAN_PAGES` pages are read per call, so a page may be short (even
        empty) while the returned position still moves on.
        """
        page: list[RecordedEvent] = []
        cursor = after
        for _ in range(_LOG_SCAN_PAGES):
            batch = await self.stores.log.read_all(after=cursor, limit=limit)
            for event in batch:
                cursor = event.position
                if event.metadata.get("tenant", DEFAULT_TENANT) == tenant:
                    page.append(event)
                    if len(page) == limit:
                        return page, cursor
            if len(batch) < limit:
                break
        return page, cursor

    async def load_past(
        self, job_id: UUID, as_of: datetime | None, at_position: int | None, scope: Scope | None = None
    ) -> Snapshot:
        """The job as it was at a time and/or log position, folded from its log (never guessed)."""
        history = [
            e for e in await self.stores.log.read_stream(job_id)
            if (as_of is None or e.recorded_at <= as_of) and (at_position is None or e.position <= at_position)
        ]
        if not history:
            raise errors.JobNotFound("the job did not exist then", job_id=str(job_id))
        return _seen(Snapshot(replay(history), history[-1].position), scope)


def new_job_id(command: commands.CreateJob) -> UUID:
    """A job's id: made from its tenant, user and idempotency key (a replay finds the same job), else random.
    Each user has keys of its own: one user's key never answers with another user's job."""
    key = command.idempotency_key
    if not key:
        return uuid4()
    scope = command.tenant if command.user is None else f"{command.tenant}\x00{command.user}"
    return uuid5(_IDEMPOTENCY_NAMESPACE, f"{scope}\x00{key}")


def append_request(job_id, version, new_events, new_job, now, meta) -> AppendRequest:
    """The append of `new_events` after `version`, with the job's status row after them.
    Every event's metadata names the job's tenant: the log can be read per tenant."""
    meta = {**meta, "tenant": new_job.tenant}
    return AppendRequest(job_id, version, [codec.new_event(e, now, meta) for e in new_events], job_status.row(new_job))


def _seen(snapshot: Snapshot, scope: Scope | None) -> Snapshot:
    job = snapshot.job
    if scope is not None and not scope.sees(job.tenant, job.type, job.user):
        raise errors.JobNotFound(job_id=str(job.id))
    return snapshot

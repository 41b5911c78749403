"""The worker protocol in-process: the store opened here, and the same application layer,
request bodies and commands as the HTTP routes (service.jobs, service.schemas,
service.routes.lease), so no rule exists twice."""

import asyncio
import contextlib
import functools
import itertools
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import orjson

from domain import commands, errors
from jobledger._transport import Claimed, ServiceError, service_error
from jobledger.worker import _first
from service import schemas, storage, sweeper
from service.jobs import Jobs, Snapshot
from service.routes import lease
from service.types import TypeRegistry

_RECHECK_SECONDS = 1.0  # a waiting claim looks again this often: another process's SQLite commits go unheard


@dataclass(frozen=True, slots=True)
class SnapshotAnswer:
    snapshot: Snapshot

    @property
    def status(self) -> str:
        return self.snapshot.job.status.value

    @property
    def document(self) -> dict[str, Any]:
        return self.snapshot.document


def _body(model, body: dict[str, Any]):
    try:
        return schemas.parse_body(model, orjson.dumps(body))
    except TypeError as exc:
        raise ServiceError("invalid_request", f"not JSON: {exc}") from None
    except errors.JobServiceError as exc:
        raise service_error(exc.code, exc.message, exc.details) from None


class InProcessTransport:
    claim_heeds_stop = True  # a waiting claim ends when the worker stops; one that is writing is never cut short

    def __init__(self, db: str, *, worker_id: str, sweep_interval: float | None = 1.0):
        self.db = db
        self._actor = f"worker:{worker_id}"
        self._sweep_interval = sweep_interval
        self._sweeper: asyncio.Task | None = None
        self.store = None
        self.jobs: Jobs | None = None
        self._calls_prefix, self._calls = uuid4().hex[:12], itertools.count(1)

    async def open(self) -> None:
        try:
            self.store = await storage.open_store(self.db)
        except errors.JobServiceError as exc:
            raise service_error(exc.code, exc.message, exc.details) from None
        self.jobs = Jobs(self.store)
        self.types = TypeRegistry(self.store)
        await self.store.listen(self.jobs.rows_written)
        if self._sweep_interval:  # leases of crashed workers expire even with no service running
            self._sweeper = asyncio.create_task(sweeper.run(self.jobs, self._sweep_interval))

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self.store is not None:
            await self.store.close()

    def _meta(self) -> dict[str, Any]:
        # a call's id: unique per transport (a random prefix and a counter), cheaper than a uuid4 a call
        request_id = f"{self._calls_prefix}-{next(self._calls)}"
        return {"actor": self._actor, "request_id": request_id, "correlation_id": request_id}

    async def _execute(self, job_id: str, command: commands.Command) -> SnapshotAnswer:
        try:
            return SnapshotAnswer(await self.jobs.execute(_job_uuid(job_id), command, self._meta()))
        except errors.JobServiceError as exc:
            raise service_error(exc.code, exc.message, exc.details) from None

    async def claim(self, worker_id, types, limit, lease_seconds, wait_seconds, stop) -> list[Claimed]:
        body = _body(
            schemas.ClaimBody, {"worker_id": worker_id, "types": types, "limit": limit, "lease_seconds": lease_seconds}
        )
        max_running, lease_seconds = await self.types.claim_limits(tuple(body.types), body.lease_seconds)
        meta = {**self._meta(), "actor": f"worker:{worker_id}"}
        deadline = asyncio.get_running_loop().time() + wait_seconds
        with self.jobs.waiting(body.types) as woken:
            while True:
                woken.clear()
                try:  # never cancelled midway: a claim that committed must reach its worker
                    claimed = await self.jobs.claim(
                        worker_id, tuple(body.types), body.limit, lease_seconds, meta, 0, max_running
                    )
                except errors.JobServiceError as exc:
                    raise service_error(exc.code, exc.message, exc.details) from None
                remaining = deadline - asyncio.get_running_loop().time()
                if claimed or remaining <= 0 or stop.is_set():
                    return [Claimed(c.snapshot.document, c.lease_token) for c in claimed]
                await _first(woken, stop, timeout=min(remaining, _RECHECK_SECONDS))

    async def _report(self, job_id: str, token: str, model, body: dict[str, Any], make) -> SnapshotAnswer:
        parsed = _body(model, {**body, "lease_token": token})
        return await self._execute(job_id, make(parsed, lease(parsed)))

    async def heartbeat(self, job_id, token, lease_seconds):
        body = {"lease_seconds": lease_seconds}
        return await self._report(
            job_id, token, schemas.HeartbeatBody, body, lambda b, k: commands.Heartbeat(b.lease_seconds, **k)
        )

    async def progress(self, job_id, token, percent, message, details):
        body = {"percent": percent, "message": message, "details": details}
        return await self._report(
            job_id,
            token,
            schemas.ProgressBody,
            body,
            lambda b, k: commands.ReportProgress(b.percent, b.message, b.details, **k),
        )

    async def start_phase(self, job_id, token, phase):
        return await self._report(job_id, token, schemas.LeaseBody, {}, lambda b, k: commands.StartPhase(phase, **k))

    async def complete_phase(self, job_id, token, phase, result, confidence):
        body = {"result": result, "confidence": confidence}
        return await self._report(
            job_id,
            token,
            schemas.PhaseCompleteBody,
            body,
            lambda b, k: commands.CompletePhase(phase, b.result, b.confidence, **k),
        )

    async def fail_phase(self, job_id, token, phase, error):
        body = {"error": error}
        return await self._report(
            job_id, token, schemas.ErrorBody, body, lambda b, k: commands.FailPhase(phase, b.error, **k)
        )

    async def add_artifact(self, job_id, token, name, data, content_type):
        raw = orjson.dumps({"name": name, "content_type": content_type, "data": data, "lease_token": token})
        body = _body(schemas.ArtifactBody, orjson.loads(raw))
        size = schemas.artifact_size(body)
        return await self._execute(
            job_id, commands.AddArtifact(body.name, body.content_type, body.data, size, **lease(body))
        )

    async def complete(self, job_id, token, result):
        body = {"result": result}
        return await self._report(
            job_id, token, schemas.CompleteBody, body, lambda b, k: commands.CompleteJob(b.result, **k)
        )

    async def fail(self, job_id, token, error, retryable):
        body = {"error": error, "retryable": retryable}
        return await self._report(
            job_id,
            token,
            schemas.FailBody,
            body,
            lambda b, k: commands.FailJob(b.error, b.retryable, self.jobs.jitter(), **k),
        )

    async def release(self, job_id, token, reason):
        body = {"reason": reason}
        return await self._report(
            job_id, token, schemas.ReleaseBody, body, lambda b, k: commands.ReleaseJob(b.reason, **k)
        )


@functools.lru_cache(maxsize=4096)  # a job's id comes with each of its calls, as text
def _job_uuid(job_id: str) -> UUID:
    return UUID(job_id)

"""The application layer in one process with its caller: the one interface through which the
SDK's in-process workers reach the server.

It opens the stores, runs the sweeper, and takes the worker protocol's calls as plain values:
each body is parsed by the same models (application.bodies) and becomes the same command as
over HTTP, so no rule exists twice. Refusals are JobServiceError, with the codes the HTTP API
answers.
"""

import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import Any
from uuid import UUID

import orjson

from jobledger.application import bodies, graph, storage, sweeper, tracing
from jobledger.application.jobs import DEFAULT_TENANT, Claimed, Jobs
from jobledger.application.snapshot import Snapshot
from jobledger.application.tracing import carried
from jobledger.application.types import TypeRegistry
from jobledger.domain import commands
from jobledger.domain.errors import InvalidCommand, JobServiceError

__all__ = ["Claimed", "Embedded", "JobServiceError", "Snapshot", "carried"]

RECHECK_SECONDS = 1.0  # a waiting claim looks again this often: another process's SQLite commits go unheard


def _body(model: type[bodies.M], body: dict[str, Any]) -> bodies.M:
    try:
        raw = orjson.dumps(body)
    except TypeError as exc:
        raise InvalidCommand(fields=[{"field": "body", "reason": f"not JSON: {exc}"}]) from None
    return bodies.parse_body(model, raw)


async def _woken_or_stopped(woken: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.ensure_future(woken.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


class Embedded:
    """The stores of a database URL, the application layer over them, and the sweeper."""

    def __init__(self, stores: Any, jobs: Jobs, types: TypeRegistry):
        self.stores = stores
        self.jobs = jobs
        self.types = types
        self._sweeper: asyncio.Task | None = None

    @classmethod
    async def open(cls, db: str, *, sweep_interval: float | None = 1.0) -> "Embedded":
        """Open (and migrate) the database at `db`; with `sweep_interval`, leases of crashed
        workers expire even with no service running."""
        stores = await storage.open_stores(db)
        jobs = Jobs(stores)
        embedded = cls(stores, jobs, TypeRegistry(stores))
        await stores.log.listen(jobs.rows_written)
        if sweep_interval:
            embedded._sweeper = asyncio.create_task(sweeper.run(jobs, sweep_interval))
        return embedded

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.stores.close()

    async def claim(
        self, body: dict[str, Any], wait_seconds: float, stop: asyncio.Event, meta: dict[str, Any]
    ) -> list[Claimed]:
        """Claim as POST /jobs/claim does, waiting up to `wait_seconds` for a job, or until `stop`
        is set (one more read is made then). A claim that committed always reaches the caller."""
        parsed = _body(bodies.ClaimBody, body)
        # in-process workers claim jobs of any tenant, under the tenant "default"'s types (those of the
        # types file): its lease_seconds, max_running and pauses, the running jobs counted across tenants
        max_running, lease_seconds = await self.types.claim_limits(
            DEFAULT_TENANT, tuple(parsed.types), parsed.lease_seconds
        )
        deadline = asyncio.get_running_loop().time() + wait_seconds
        with self.jobs.waiting(parsed.types) as woken:
            while True:
                woken.clear()
                claimed = await self.jobs.claim(
                    parsed.worker_id, tuple(parsed.types), parsed.limit, lease_seconds, meta, 0, max_running,
                    paused=lambda: self.types.paused(DEFAULT_TENANT),
                )
                remaining = deadline - asyncio.get_running_loop().time()
                if claimed or remaining <= 0 or stop.is_set():
                    return claimed
                await _woken_or_stopped(woken, stop, min(remaining, RECHECK_SECONDS))

    async def traceparents(self, claimed: list[Claimed], worker_id: str) -> list[str | None]:
        """The traceparent each claimed job was created with (README, Traces); a claimed span in its trace."""
        with tracing.claiming(worker_id):
            parents = await tracing.claimed(self.stores.log, [c.snapshot.job for c in claimed], worker_id)
        return [parents[c.snapshot.job.id] for c in claimed]

    async def _report(
        self, job_id: str, token: str, model: type[bodies.M], body: dict[str, Any],
        make: Callable[[bodies.M, dict[str, Any]], commands.Command], meta: dict[str, Any],
    ) -> Snapshot:
        parsed = _body(model, {**body, "lease_token": token})
        return await self.jobs.execute(_job_uuid(job_id), make(parsed, bodies.lease(parsed)), meta)

    async def heartbeat(self, job_id: str, token: str, lease_seconds: float | None, meta) -> Snapshot:
        return await self._report(
            job_id, token, bodies.HeartbeatBody, {"lease_seconds": lease_seconds},
            lambda b, k: commands.Heartbeat(b.lease_seconds, **k), meta,
        )

    async def progress(self, job_id: str, token: str, percent, message, details, meta) -> Snapshot:
        return await self._report(
            job_id, token, bodies.ProgressBody, {"percent": percent, "message": message, "details": details},
            lambda b, k: commands.ReportProgress(b.percent, b.message, b.details, **k), meta,
        )

    async def start_phase(self, job_id: str, token: str, phase: str, meta) -> Snapshot:
        return await self._report(
            job_id, token, bodies.LeaseBody, {}, lambda b, k: commands.StartPhase(phase, **k), meta
        )

    async def complete_phase(self, job_id: str, token: str, phase: str, result, confidence, meta) -> Snapshot:
        return await self._report(
            job_id, token, bodies.PhaseCompleteBody, {"result": result, "confidence": confidence},
            lambda b, k: commands.CompletePhase(phase, b.result, b.confidence, **k), meta,
        )

    async def fail_phase(self, job_id: str, token: str, phase: str, error, meta) -> Snapshot:
        return await self._report(
            job_id, token, bodies.ErrorBody, {"error": error}, lambda b, k: commands.FailPhase(phase, b.error, **k), meta
        )

    async def add_artifact(self, job_id: str, token: str, name, data, content_type, meta) -> Snapshot:
        raw = orjson.dumps({"name": name, "content_type": content_type, "data": data, "lease_token": token})
        body = _body(bodies.ArtifactBody, orjson.loads(raw))
        command = commands.AddArtifact(
            body.name, body.content_type, body.data, bodies.artifact_size(body), **bodies.lease(body)
        )
        return await self.jobs.execute(_job_uuid(job_id), command, meta)

    async def complete(self, job_id: str, token: str, result, meta) -> Snapshot:
        return await self._report(
            job_id, token, bodies.CompleteBody, {"result": result}, lambda b, k: commands.CompleteJob(b.result, **k), meta
        )

    async def fail(self, job_id: str, token: str, error, retryable: bool, meta) -> Snapshot:
        return await self._report(
            job_id, token, bodies.FailBody, {"error": error, "retryable": retryable},
            lambda b, k: commands.FailJob(b.error, b.retryable, self.jobs.jitter(), **k), meta,
        )

    async def release(self, job_id: str, token: str, reason, meta) -> Snapshot:
        return await self._report(
            job_id, token, bodies.ReleaseBody, {"reason": reason}, lambda b, k: commands.ReleaseJob(b.reason, **k), meta
        )

    async def graph(self, job_id: str) -> dict[str, Any]:
        """The job's parents and children with their statuses, as GET /jobs/{id}/graph answers."""
        return await graph.read(self.jobs, _job_uuid(job_id), None)


@functools.lru_cache(maxsize=4096)  # a job's id comes with each of its calls, as text
def _job_uuid(job_id: str) -> UUID:
    return UUID(job_id)

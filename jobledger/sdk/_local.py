"""The worker protocol in-process: calls go to the application layer through its one public
interface (jobledger.application.embedded), which parses them and decides them exactly as the
HTTP routes do. This module only speaks the SDK's transport: answers and errors."""

import asyncio
import itertools
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from jobledger.application import embedded
from jobledger.sdk._transport import Claimed, service_error


@dataclass(frozen=True, slots=True)
class SnapshotAnswer:
    snapshot: embedded.Snapshot

    @property
    def status(self) -> str:
        return self.snapshot.job.status.value

    @property
    def document(self) -> dict[str, Any]:
        return self.snapshot.document


class InProcessTransport:
    claim_heeds_stop = True  # a waiting claim ends when the worker stops; one that is writing is never cut short

    def __init__(self, db: str, *, worker_id: str, sweep_interval: float | None = 1.0):
        self.db = db
        self._actor = f"worker:{worker_id}"
        self._sweep_interval = sweep_interval
        self.app: embedded.Embedded | None = None
        self._calls_prefix, self._calls = uuid4().hex[:12], itertools.count(1)

    @property
    def jobs(self):
        """The application layer's Jobs (tests read its metrics)."""
        return self.app.jobs

    async def open(self) -> None:
        try:
            self.app = await embedded.Embedded.open(self.db, sweep_interval=self._sweep_interval)
        except embedded.JobServiceError as exc:
            raise service_error(exc.code, exc.message, exc.details) from None

    async def close(self) -> None:
        if self.app is not None:
            await self.app.close()

    def _meta(self, actor: str | None = None) -> dict[str, Any]:
        # a call's id: unique per transport (a random prefix and a counter), cheaper than a uuid4 a call
        request_id = f"{self._calls_prefix}-{next(self._calls)}"
        return {"actor": actor or self._actor, "request_id": request_id, "correlation_id": request_id, **embedded.carried()}

    async def _answer(self, call: Awaitable[embedded.Snapshot]) -> SnapshotAnswer:
        # try/except, not a context manager: this runs for every report of every job
        try:
            return SnapshotAnswer(await call)
        except embedded.JobServiceError as exc:
            raise service_error(exc.code, exc.message, exc.details) from None

    async def claim(self, worker_id, types, limit, lease_seconds, wait_seconds, stop: asyncio.Event) -> list[Claimed]:
        body = {"worker_id": worker_id, "types": types, "limit": limit, "lease_seconds": lease_seconds}
        try:
            claimed = await self.app.claim(body, wait_seconds, stop, self._meta(f"worker:{worker_id}"))
        except embedded.JobServiceError as exc:
            raise service_error(exc.code, exc.message, exc.details) from None
        traces = await self.app.traceparents(claimed, worker_id) if claimed else []
        return [Claimed(c.snapshot.document, c.lease_token, trace) for c, trace in zip(claimed, traces, strict=True)]

    async def heartbeat(self, job_id, token, lease_seconds) -> SnapshotAnswer:
        return await self._answer(self.app.heartbeat(job_id, token, lease_seconds, self._meta()))

    async def progress(self, job_id, token, percent, message, details) -> SnapshotAnswer:
        return await self._answer(self.app.progress(job_id, token, percent, message, details, self._meta()))

    async def start_phase(self, job_id, token, phase) -> SnapshotAnswer:
        return await self._answer(self.app.start_phase(job_id, token, phase, self._meta()))

    async def complete_phase(self, job_id, token, phase, result, confidence) -> SnapshotAnswer:
        return await self._answer(self.app.complete_phase(job_id, token, phase, result, confidence, self._meta()))

    async def fail_phase(self, job_id, token, phase, error) -> SnapshotAnswer:
        return await self._answer(self.app.fail_phase(job_id, token, phase, error, self._meta()))

    async def add_artifact(self, job_id, token, name, data, content_type) -> SnapshotAnswer:
        return await self._answer(self.app.add_artifact(job_id, token, name, data, content_type, self._meta()))

    async def complete(self, job_id, token, result) -> SnapshotAnswer:
        return await self._answer(self.app.complete(job_id, token, result, self._meta()))

    async def fail(self, job_id, token, error, retryable) -> SnapshotAnswer:
        return await self._answer(self.app.fail(job_id, token, error, retryable, self._meta()))

    async def release(self, job_id, token, reason) -> SnapshotAnswer:
        return await self._answer(self.app.release(job_id, token, reason, self._meta()))

    async def graph(self, job_id, token) -> dict[str, Any]:
        try:
            return await self.app.graph(job_id)
        except embedded.JobServiceError as exc:
            raise service_error(exc.code, exc.message, exc.details) from None

"""The worker SDK: a handler per job type; the Worker claims, heartbeats and reports.

    worker = Worker(url="http://127.0.0.1:8080")  # or Worker(db="postgresql://...")

    @worker.handler("report")
    async def handle(job, ctx):
        await ctx.progress(50, "half way")
        return {"pages": 12}  # completes the job; an exception fails it (retried by default)

    worker.run_forever()  # until SIGTERM/SIGINT, or: await worker.run()

Over HTTP the Worker speaks the public worker protocol; in-process it opens the store
itself and calls the service's own application layer. Either way the service decides.
"""

import asyncio
import contextlib
import inspect
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jobledger.sdk._job import (
    RUNNING, Handler, JobContext, JobStopped, Parent, PermanentError, Run, Spec, UndeclaredPhase, error_of, handling,
    lease_of, record_failure,
)
from jobledger.sdk._transport import Answer, Claimed, LeaseLost, ServiceError, Transport, Unavailable

__all__ = [
    "JobContext", "JobStopped", "LeaseLost", "Parent", "PermanentError", "ServiceError", "UndeclaredPhase", "Unavailable",
    "Worker",
]

log = logging.getLogger("jobledger.worker")

_SHUTDOWN = "shutdown"
_RETRY_PAUSE = (0.05, 2.0)  # first and longest pause between tries of a call the service could not take
_MOST_PER_CLAIM = 1000  # the service's limit on one claim


@dataclass
class Worker:
    """Runs registered handlers on claimed jobs, `concurrency` at a time."""

    url: str | None = None  #: the service, e.g. http://127.0.0.1:8080 (HTTP transport)
    db: str | None = None  #: or a database URL: the in-process transport
    api_key: str | None = field(default_factory=lambda: os.environ.get("JOBLEDGER_API_KEY"))  #: HTTP: a worker key
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{os.urandom(2).hex()}")
    concurrency: int = 10  #: jobs in flight at once
    claim_batch: int | None = None  #: most jobs per claim (default: concurrency)
    lease_seconds: float | None = None  #: default: the job type's lease, else the service's (30 s)
    wait_seconds: float = 5.0  #: how long one claim waits for a job (long poll)
    shutdown_grace: float = 30.0  #: seconds in-flight jobs get to finish after SIGTERM
    sweep_interval: float | None = 1.0  #: in-process only: expire leases and jobs this often (None: never)
    handlers: dict[str, Spec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.transport: Transport | None = None
        self._runs: dict[str, Run] = {}
        self._stop = asyncio.Event()
        self._hurry = asyncio.Event()  # a second signal: do not wait for the grace period
        self._slot_freed = asyncio.Event()
        self._beat_due = asyncio.Event()  # a heartbeat is due before the beat loop would wake
        self._next_beat = float("inf")

    def handler(self, job_type: str, *, retryable: bool = True) -> Callable[[Handler], Handler]:
        """Decorator: handle jobs of `job_type`; `retryable=False` fails them at the first exception."""

        def register(fn: Handler) -> Handler:
            if not inspect.iscoroutinefunction(fn):
                raise TypeError(f"the handler of {job_type!r} must be an async function: async def handle(job, ctx)")
            self.handlers[job_type] = Spec(fn, retryable)
            return fn

        return register

    def stop(self, *, grace: float | None = None) -> None:
        """Stop claiming; in-flight jobs get `grace` seconds (default shutdown_grace) to finish."""
        if grace is not None:
            self.shutdown_grace = grace
        if grace == 0 or self._stop.is_set():
            self._hurry.set()
        self._stop.set()

    def stop_on_signals(self) -> None:
        """From now on SIGTERM and SIGINT stop the worker, also before its loop runs (a stop
        asked while it starts is a clean stop, not a kill): the first gracefully, a second at
        once. run_forever's loop takes the signals over once it runs."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _sig, _frame: self.stop())

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT (a second one stops without waiting for the grace period)."""
        self.stop_on_signals()
        asyncio.run(self.run(handle_signals=True))

    async def run(self, *, handle_signals: bool = False) -> None:
        """Claim and run jobs until `stop()`; then finish or release the jobs in flight."""
        if not self.handlers:
            raise ValueError("no handlers registered: use @worker.handler(job_type)")
        self.transport = self._transport()
        await self.transport.open()
        signals = self._install_signals() if handle_signals else []
        where = self.url or "in-process"
        log.info(
            "worker %s: %s via %s, %d at a time",
            self.worker_id,
            ", ".join(sorted(self.handlers)),
            where,
            self.concurrency,
        )
        beats = asyncio.create_task(self._beat_loop(), name="jobledger-heartbeats")
        try:
            claims = asyncio.create_task(self._claim_loop(), name="jobledger-claims")
            await _first(self._hurry, claims)
            if not claims.done() and not getattr(self.transport, "claim_heeds_stop", False):
                claims.cancel()  # a hurried stop does not wait out an HTTP long poll
            with contextlib.suppress(asyncio.CancelledError):
                await claims
            await self._drain()
        finally:
            beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beats
            for sig in signals:
                asyncio.get_running_loop().remove_signal_handler(sig)
            await self.transport.close()
            self._stop, self._hurry = asyncio.Event(), asyncio.Event()  # it may run again

    def _transport(self) -> Transport:
        if (self.url is None) == (self.db is None):
            raise ValueError("give the Worker either url= (HTTP) or db= (in-process), not both or neither")
        if self.url is not None:
            from jobledger.sdk._http import HttpTransport

            return HttpTransport(
                self.url, worker_id=self.worker_id, connections=2 * self.concurrency + 2, api_key=self.api_key
            )
        from jobledger.sdk._local import InProcessTransport

        return InProcessTransport(self.db, worker_id=self.worker_id, sweep_interval=self.sweep_interval)

    def _install_signals(self) -> list[int]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        return [signal.SIGTERM, signal.SIGINT]

    def _on_signal(self, sig: int) -> None:
        hurry = self._stop.is_set()
        log.info(
            "%s: %s", signal.Signals(sig).name, "stopping now" if hurry else f"stopping (grace {self.shutdown_grace}s)"
        )
        self.stop(grace=0 if hurry else None)

    # ------------------------------------------------------------ claiming

    async def _claim_loop(self) -> None:
        types = sorted(self.handlers)
        batch = min(self.claim_batch or self.concurrency, _MOST_PER_CLAIM)
        pause = _RETRY_PAUSE[0]
        while not self._stop.is_set():
            free = self.concurrency - len(self._runs)
            if free <= 0:
                self._slot_freed.clear()
                await _first(self._slot_freed, self._stop)
                continue
            sent = asyncio.get_running_loop().time()
            try:
                claimed = await self.transport.claim(
                    self.worker_id, types, min(free, batch), self.lease_seconds, self.wait_seconds, self._stop
                )
            except Exception as exc:  # the loop must outlive any failure; the next claim may work
                message = f"{exc.message} ({exc.code})" if isinstance(exc, ServiceError) else repr(exc)
                log.warning(
                    "claim failed: %s; trying again in %.2fs",
                    message,
                    pause,
                    exc_info=not isinstance(exc, ServiceError),
                )
                await _first(self._stop, timeout=pause)
                pause = min(pause * 2, _RETRY_PAUSE[1])
                continue
            pause = _RETRY_PAUSE[0]
            for job in claimed:
                self._start(job, sent)

    def _start(self, claimed: Claimed, sent: float) -> None:
        spec = self.handlers[claimed.document["type"]]
        lease = lease_of(claimed.document)
        run = Run(claimed.document, claimed.lease_token, lease, sent + lease, spec, traceparent=claimed.traceparent)
        self._runs[run.token] = run  # by lease: a job lost and claimed again is a second run
        run.task = asyncio.create_task(self._execute(run), name=f"jobledger-job-{run.job_id}")

    # ------------------------------------------------------------ one job

    async def _execute(self, run: Run) -> None:
        self._schedule_beat(run)
        try:
            with handling(run.document, run.traceparent):  # its reports, and the completion, are its children
                await self._handle(run)
        finally:
            self._cancel_beat(run)
            del self._runs[run.token]
            self._slot_freed.set()

    async def _handle(self, run: Run) -> None:
        try:
            result = await run.spec.fn(run.document, JobContext(run, self._report))
        except asyncio.CancelledError:
            run.handling = False
            if run.reason is None:
                raise  # not ours to handle: the worker itself is being torn down
            await self._stopped(run)
        except Exception as exc:  # noqa: BLE001 - a handler's exception fails its job
            run.handling = False
            await self._failed(run, exc)
        else:
            run.handling = False
            if run.reason is None:
                await self._final(run, "complete", result)
            else:  # the handler swallowed its cancellation
                await self._stopped(run)

    async def _stopped(self, run: Run) -> None:
        if run.task.cancelling():  # our own cancel was delivered: later awaits must not see it again
            run.task.uncancel()
        self._cancel_beat(run)
        if run.reason != _SHUTDOWN:
            log.info("job %s stopped: %s", run.job_id, run.reason)
            return
        log.warning("job %s did not finish within the shutdown grace: giving it back", run.job_id)
        try:  # queued again at once; the attempt does not count
            await self._report(run, "release", (f"worker {self.worker_id} shut down before the job finished",))
        except ServiceError as exc:  # the lease was lost meanwhile, or the service is gone: its lease runs out
            log.warning("job %s: could not release it: %s", run.job_id, exc.message)

    async def _failed(self, run: Run, exc: Exception) -> None:
        retryable = run.spec.retryable and not isinstance(exc, PermanentError)
        record_failure(exc)
        log.warning(
            "job %s failed (%s): %r", run.job_id, "will retry" if retryable else "permanently", exc, exc_info=exc
        )
        await self._final(run, "fail", error_of(exc), retryable)

    async def _final(self, run: Run, method: str, *args: Any) -> None:
        """Complete or fail the job; a result the service refuses fails it instead."""
        self._cancel_beat(run)
        try:
            answer = await self._report(run, method, args)
        except LeaseLost as exc:
            log.warning("job %s: could not %s it: %s", run.job_id, method, exc.message)
            return
        except ServiceError as exc:
            if exc.code == "invalid_request" and not (method == "fail" and args[0].get("code") == "invalid_report"):
                error = {"code": "invalid_report", "message": f"{method}: {exc.message}", "details": exc.details}
                retryable = method == "fail" and args[1]  # e.g. a result that is not JSON: no retry
                return await self._final(run, "fail", error, retryable)
            log.error("job %s: could not %s it: %s (%s)", run.job_id, method, exc.message, exc.code)
            return
        if method == "complete" and answer.status != "completed":
            log.info("job %s ended %s instead of completed", run.job_id, answer.status)

    async def _report(self, run: Run, method: str, args: tuple) -> Answer:
        call = getattr(self.transport, method)
        return await self._persist(run, lambda: call(run.job_id, run.token, *args))

    async def _persist(self, run: Run, call: Callable[[], Awaitable[Answer]]) -> Answer:
        """Make `call`, trying again while the service is unavailable and the lease may still hold."""
        loop = asyncio.get_running_loop()
        pause = _RETRY_PAUSE[0]
        while True:
            try:
                return await call()
            except Unavailable as exc:
                if loop.time() + pause >= run.lease_deadline:
                    raise
                log.warning("job %s: service unavailable (%s); trying again in %.2fs", run.job_id, exc.message, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RETRY_PAUSE[1])

    # ------------------------------------------------------------ heartbeats

    # One task starts every heartbeat that is due: a timer per job would put one entry per
    # job into the event loop's heap (and leave it there, cancelled, when the job ends first).

    def _schedule_beat(self, run: Run, delay: float | None = None) -> None:
        delay = run.lease_seconds / 3 if delay is None else delay
        run.beat_at = asyncio.get_running_loop().time() + delay
        if run.beat_at < self._next_beat:
            self._beat_due.set()

    def _cancel_beat(self, run: Run) -> None:
        run.beat_at = None
        if run.beat is not None:
            run.beat.cancel()
            run.beat = None

    async def _beat_loop(self) -> None:
        """Start the heartbeats that are due, then sleep until the next one (or an earlier one is scheduled)."""
        loop = asyncio.get_running_loop()
        while True:
            now, soonest = loop.time(), float("inf")
            for run in self._runs.values():
                at = run.beat_at
                if at is None:
                    continue
                if at <= now:
                    run.beat_at = None
                    run.beat = loop.create_task(self._heartbeat(run), name=f"jobledger-heartbeat-{run.job_id}")
                elif at < soonest:
                    soonest = at
            self._next_beat = soonest
            self._beat_due.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None if soonest == float("inf") else soonest - now):
                    await self._beat_due.wait()

    async def _heartbeat(self, run: Run) -> None:
        loop = asyncio.get_running_loop()
        sent = loop.time()
        try:
            answer = await self.transport.heartbeat(run.job_id, run.token, run.lease_seconds)
        except Unavailable as exc:
            if loop.time() >= run.lease_deadline:  # another worker may hold the job by now
                run.stop("lease_lost")
            else:
                log.warning("job %s: heartbeat failed: %s", run.job_id, exc.message)
                self._schedule_beat(run, min(run.lease_seconds / 3, 1.0))
            return
        except ServiceError as exc:
            run.stop("lease_lost" if isinstance(exc, LeaseLost) else exc.code)
            return
        if answer.status != RUNNING:
            run.stop(answer.status)
            return
        run.lease_deadline = sent + run.lease_seconds
        self._schedule_beat(run)

    # ------------------------------------------------------------ shutdown

    async def _drain(self) -> None:
        """Let jobs in flight finish within the grace period, then give the rest back (JobReleased)."""
        tasks = [run.task for run in self._runs.values()]
        if not tasks:
            return
        log.info("waiting up to %ss for %d job(s) in flight", self.shutdown_grace, len(tasks))
        await _first(self._hurry, *tasks, timeout=self.shutdown_grace, all_tasks=True)
        for run in list(self._runs.values()):
            run.stop(_SHUTDOWN)
        await asyncio.gather(*tasks, return_exceptions=True)


async def _first(
    *waitables: asyncio.Event | asyncio.Task, timeout: float | None = None, all_tasks: bool = False
) -> None:
    """Wait until an event is set or a task ends (with `all_tasks`: all the tasks end), or `timeout`."""
    events = [asyncio.ensure_future(w.wait()) for w in waitables if isinstance(w, asyncio.Event)]
    tasks = [w for w in waitables if not isinstance(w, asyncio.Event)]
    done_when = [*events, asyncio.ensure_future(asyncio.wait(tasks))] if all_tasks and tasks else [*events, *tasks]
    try:
        await asyncio.wait(done_when, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for helper in done_when:
            if helper not in tasks:
                helper.cancel()

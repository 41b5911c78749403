"""One instance's Prometheus metrics, in a registry of its own (tests run many apps in one process).

Counters and histograms count what *this* instance did, so summing them over replicas is
right. Gauges of shared state (jobs by status, projection lag) are read from the store at
scrape time (see service/metrics_routes.py), so every replica reports the same values.
"""

import gc
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from jobledger.domain.job import Job
from jobledger.domain.status import Status
from jobledger.eventlog.records import RecordedEvent

_PAUSES = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


class Metrics:
    """The metrics one instance exposes at `GET /metrics`."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.events = Counter(
            "jobledger_events_appended", "Events this instance appended, by event type", ["type"], registry=registry
        )
        self.claim_wait = Histogram(
            "jobledger_claim_wait_seconds", "How long a claim that got jobs waited for them", buckets=_SECONDS,
            registry=registry,
        )
        self.claim_reads = Counter(
            "jobledger_claim_reads", "Times a claim read the queue (a long poll reads it again each time it is "
            "woken)", registry=registry,
        )
        self.job_run = Histogram(
            "jobledger_job_run_seconds", "From JobStarted to the event that ended the job, for the jobs this "
            "instance ended", ["type", "status"], buckets=_SECONDS, registry=registry,
        )
        self.http = Histogram(
            "jobledger_http_request_duration_seconds", "HTTP requests by route (WebSockets excluded)",
            ["method", "route", "status"], registry=registry,
        )
        self.jobs = Gauge("jobledger_jobs", "Jobs in the status read model", ["type", "status"], registry=registry)
        self.paused = Gauge(
            "jobledger_type_paused", "1 for each paused job type: claims leave its jobs queued", ["tenant", "type"],
            registry=registry,
        )
        self.sockets = Gauge(
            "jobledger_websockets_open", "Open WebSocket connections on this instance", registry=registry
        )
        self.projection_lag = Gauge(
            "jobledger_projection_lag_events", "Log head position minus the projection's checkpoint", ["projection"],
            registry=registry,
        )

        self.gc_pauses = Histogram(
            "jobledger_gc_pause_seconds", "CPython's cyclic garbage collections in this process, by generation: "
            "the event loop stands still meanwhile", ["generation"], buckets=_PAUSES, registry=registry,
        )
        self.gc_frozen = Gauge(
            "jobledger_gc_frozen_objects", "Objects moved out of the collector's reach at start-up (gc.freeze)",
            registry=registry,
        )
        self.gc_frozen.set_function(gc.get_freeze_count)
        self._gc_started = 0.0
        self._http_series: dict[tuple[str, str, int], Histogram] = {}
        self._event_series: dict[str, Counter] = {}  # labels() takes a lock and builds a key each call

    def http_series(self, method: str, route: str, status: int) -> Histogram:
        """The request histogram's series of (method, route, status), made once: labels() costs more than observe()."""
        key = (method, route, status)
        series = self._http_series.get(key)
        if series is None:
            series = self._http_series[key] = self.http.labels(method, route, str(status))
        return series

    def watch_gc(self) -> None:
        """Time every collection from now on (`unwatch_gc` stops it; tests run many apps in one process)."""
        gc.callbacks.append(self._gc)

    def unwatch_gc(self) -> None:
        gc.callbacks.remove(self._gc)

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses.labels(str(info["generation"])).observe(time.perf_counter() - self._gc_started)

    def appended(self, recorded: list[RecordedEvent], before: Job | None, after: Job) -> None:
        """Count events this instance appended; time the run they ended, if they ended one."""
        counters = self._event_series
        for event in recorded:
            counter = counters.get(event.type)
            if counter is None:
                counter = counters[event.type] = self.events.labels(event.type)
            counter.inc()
        if before is not None and before.status is Status.RUNNING and after.status.terminal:
            seconds = (recorded[-1].recorded_at - before.started_at).total_seconds()
            self.job_run.labels(after.type, after.status.value).observe(seconds)

    def set_jobs(self, counts: dict[tuple[str, str], int]) -> None:
        """Every status of every job type present, zeros included (a series must not vanish at 0)."""
        self.jobs.clear()
        for job_type in {t for t, _ in counts}:
            for status in Status:
                self.jobs.labels(job_type, status.value).set(counts.get((job_type, status.value), 0))

    def set_paused(self, paused: list[tuple[str, str, str | None]]) -> None:
        """The paused types now: a resumed one's series goes."""
        self.paused.clear()
        for tenant, name, _ in paused:
            self.paused.labels(tenant, name).set(1)

    def set_lags(self, lags: dict[str, dict[str, int]]) -> None:
        for name, state in lags.items():
            self.projection_lag.labels(name).set(state["lag"])

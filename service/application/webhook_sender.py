"""The sender of webhook deliveries (see webhook_delivery.py for the whole design): claims due
deliveries under a lease, sends each in a task of its own, and stores the attempts in batches."""

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta

from jobledger.domain import errors, webhook as stream
from jobledger.application import webhook_targets
from jobledger.application.webhook_delivery import DeliverySettings, Post
from jobledger.application.webhooks import SENDER_ACTOR, Webhooks
from jobledger.eventlog.records import Attempt, Delivery, WebhookRow

log = logging.getLogger("jobledger.webhooks")
_LEASE_MARGIN = 30.0  # seconds a lease outlasts an attempt's timeout: a claim never outlives its sender's try
_ERROR_CHARS = 500
_HOOK_SECONDS = 1.0  # an endpoint's row and secrets are read again after this: a rotation or disable shows within it


def next_state(delivery: Delivery, attempt: int, ok: bool, now: datetime, settings: DeliverySettings) -> tuple[str, datetime]:
    """The delivery's state after attempt number `attempt`, and when to try next."""
    if ok:
        return "delivered", now
    step = attempt - delivery.schedule_from  # retries since the schedule (re)started
    if step > len(settings.schedule):
        return "failed", now
    delay = settings.schedule[step - 1] * (1 + 0.25 * settings.jitter())
    return "pending", now + timedelta(seconds=delay)


class Sender:
    def __init__(self, webhooks: Webhooks, post: Post, settings: DeliverySettings, clock):
        self.webhooks, self.stores = webhooks, webhooks.stores
        self.post, self.settings, self.clock = post, settings, clock
        self.wake = asyncio.Event()
        self._backlog = True  # a claim may find something: not known otherwise since the last empty claim
        self._in_flight: dict[str, int] = {}
        self._tasks: set[asyncio.Task] = set()
        self._results: list[tuple[Attempt, str, datetime]] = []
        self._flushed = asyncio.Event()
        self._flusher: asyncio.Task | None = None
        self._hooks: dict[str, tuple[float, WebhookRow | None, dict[str, str]]] = {}

    async def run(self) -> None:
        """Claim and send forever; woken when this instance queues deliveries, a slot frees, or a retry is due."""
        while True:
            self.wake.clear()
            try:
                claimed = await self._claim()
            except errors.StoreUnavailable as exc:
                log.warning("webhook sending paused: %s", exc)
                claimed = []
            except Exception:
                log.exception("webhook claim failed; retrying")
                claimed = []
            for delivery in claimed:
                self._start(delivery)
            if claimed:
                continue  # there may be more
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.poll):
                    await self.wake.wait()

    def lease_until(self) -> datetime:
        """When a lease taken now runs out: after the attempt's timeout, with a margin."""
        return self.clock() + timedelta(seconds=self.settings.timeout + _LEASE_MARGIN)

    def room(self, webhook_ids: set[str]) -> dict[str, int]:
        """How many more attempts may start now to each of these endpoints."""
        free = self.settings.in_flight - sum(self._in_flight.values())
        return {w: max(0, min(free, self.settings.per_endpoint - self._in_flight.get(w, 0))) for w in webhook_ids}

    def queued(self) -> None:
        """Deliveries were queued that only a claim hands out (a later one of a job, a resend)."""
        self._backlog = True
        self.wake.set()

    def take(self, deliveries: list[Delivery]) -> None:
        """Send deliveries leased to this instance (by the dispatcher, as it queued them)."""
        for delivery in deliveries:
            self._start(delivery)

    async def _claim(self) -> list[Delivery]:
        room = self.settings.in_flight - sum(self._in_flight.values())
        if room <= 0:
            return []
        busy = [w for w, n in self._in_flight.items() if n >= self.settings.per_endpoint]
        claimed = await self.stores.webhooks.claim_deliveries(self.clock(), self.lease_until(), room, busy)
        if not claimed and not self._in_flight:  # nothing waits behind an attempt still out
            self._backlog = False  # until the dispatcher, a resend or a retry's time says otherwise
        return claimed

    def _start(self, delivery: Delivery) -> None:
        self._in_flight[delivery.webhook_id] = self._in_flight.get(delivery.webhook_id, 0) + 1
        task = asyncio.create_task(self._send(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, delivery: Delivery) -> None:
        try:
            attempt = await self._attempt(delivery)
            now = self.clock()
            state, due = next_state(delivery, attempt.attempt, attempt.status_code is not None and 200 <= attempt.status_code < 300, now, self.settings)
            self._results.append((attempt, state, due))
            if self._flusher is None:
                self._flusher = asyncio.create_task(self._flush())
            if state == "pending":
                asyncio.get_running_loop().call_later((due - now).total_seconds(), self.queued)
            elif state == "failed":
                await self._give_up(delivery)
        except Exception:
            log.exception("webhook delivery %s: attempt not recorded", delivery.delivery_id)  # its lease runs out: sent again
        finally:
            self._in_flight[delivery.webhook_id] -= 1
            if not self._in_flight[delivery.webhook_id]:
                del self._in_flight[delivery.webhook_id]

    async def _attempt(self, delivery: Delivery) -> Attempt:
        started, at = time.perf_counter(), self.clock()
        status, error = None, None
        try:
            hook, found = await self._hook(delivery.webhook_id)
            if hook is None or hook.status != "active":
                raise webhook_targets.TargetRefused("the endpoint is no longer active")
            state = stream.WebhookState(hook.tenant, hook.webhook_id, secret_id=hook.secret_id,
                                        previous_secret_id=hook.previous_secret_id, previous_expires_at=hook.previous_expires_at)
            ids = stream.signing_secrets(state, at)
            body = delivery.body.encode()
            headers = webhook_targets.headers([found[i] for i in ids if i in found], delivery.delivery_id, int(at.timestamp()), body)
            await webhook_targets.check_target(hook.url, self.settings.allowed)  # again: DNS may have changed
            async with asyncio.timeout(self.settings.timeout):
                status = await self.post(hook.url, headers, body, self.settings.timeout)
        except TimeoutError:
            error = f"no answer within {self.settings.timeout:g} s"
        except errors.StoreUnavailable:
            raise
        except Exception as exc:
            error = (f"{type(exc).__name__}: {exc}")[:_ERROR_CHARS]
        return Attempt(delivery.delivery_id, delivery.attempts + 1, at, status, error, (time.perf_counter() - started) * 1000)

    async def _hook(self, webhook_id: str) -> tuple[WebhookRow | None, dict[str, str]]:
        """The endpoint's row and its secrets (current and previous), read at most every _HOOK_SECONDS."""
        cached = self._hooks.get(webhook_id)
        if cached is not None and time.monotonic() - cached[0] < _HOOK_SECONDS:
            return cached[1], cached[2]
        hook = await self.stores.webhooks.get_webhook(webhook_id)
        ids = [i for i in (hook.secret_id, hook.previous_secret_id) if i] if hook else []
        found = await self.stores.webhooks.secrets(webhook_id, ids) if ids else {}
        if len(self._hooks) > 10_000:
            self._hooks.clear()
        self._hooks[webhook_id] = (time.monotonic(), hook, found)
        return hook, found

    async def _flush(self) -> None:
        """Store every attempt finished so far in one transaction, until none is left."""
        try:
            while self._results:
                batch, self._results = self._results, []
                try:
                    await self.stores.webhooks.record_attempts(batch)
                except Exception:
                    log.exception("webhook attempts not recorded; their leases run out and they are sent again")
                if self._backlog:
                    self.wake.set()  # the next deliveries of these jobs are claimable now
        finally:
            self._flusher = None

    async def _give_up(self, delivery: Delivery) -> None:
        hook = await self.stores.webhooks.get_webhook(delivery.webhook_id)
        if hook is None:
            return
        reason = f"delivery {delivery.delivery_id} failed on every attempt of the retry schedule"
        await self.webhooks.change(hook.tenant, hook.webhook_id, "disable", self.clock(), SENDER_ACTOR,
                                   reason=reason, delivery_id=delivery.delivery_id)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

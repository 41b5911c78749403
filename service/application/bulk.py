"""Acting on many jobs at once (`POST /jobs/cancel`, `/jobs/retry`, `/jobs/purge`): the jobs a
filter selects, each given its own event, a page at a time.

- Selection: the list's filters (status, type, metadata, creation time) within the caller's
  scope, narrowed to the statuses the action applies to (cancel: queued and running; retry:
  failed and expired; purge: the finished ones), read page by page newest first, as GET /jobs
  reads them.
- Writing: each selected job's command is decided on its listed state and appended with that
  version, every job of a page at once: the group committer shares transactions between them,
  and no transaction holds more than its batch. A job that moved on since it was listed is
  decided again on a fresh read, and one the command no longer applies to is left alone.
- Recording: each event's metadata carries the actor and `bulk`: the action, its filter and
  its `as_of`.
- Resuming: only jobs already selected at `as_of` are taken: created before it (cancel), or
  finished before it (retry, purge). A job acted on leaves the selection (cancelled; or
  retried, and if it fails again it finishes after `as_of`) or is left as it is (an erased job
  is not erased again), so the same request sent again with the answer's `as_of`, after a crash
  in the middle, acts on the rest and never twice on one job. A purge rewrites each page's
  events after its JobErased appends (application/erasure.py), erased jobs of the page again
  included: a crash between the two is made good by the resumed request.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobledger.application import erasure
from jobledger.application.bulk_bodies import BulkBody, CancelManyBody, PurgeManyBody, RetryManyBody
from jobledger.application.jobs import Jobs, Scope, utcnow
from jobledger.domain import commands, decide, errors
from jobledger.domain.job import Job, fold
from jobledger.eventlog import codec
from jobledger.eventlog.records import JobFilter
from jobledger.projections import job_status

PAGE = 500  #: jobs selected, then written, at a time


@dataclass(frozen=True)
class Action:
    name: str
    statuses: tuple[str, ...]  # what the action applies to
    command: Any  # (reason, actor) -> the command
    body: type[BulkBody]  # its request body, whose filter.status takes only `statuses`
    finished: bool  # it takes finished jobs: a resumed run is bound by when they finished, else by their creation
    after_page: Callable[[Jobs, list[Job]], Awaitable[Any]] | None = None  # run on each page once its events are in

    def bound(self, body: BulkBody, as_of: datetime) -> dict[str, datetime]:
        """The JobFilter bound that keeps a resumed run off the jobs it already acted on."""
        if self.finished:
            return {"finished_before": as_of, "created_before": body.filter.created_before}
        before = body.filter.created_before
        return {"created_before": as_of if before is None else min(before, as_of)}


async def _redact_page(jobs: Jobs, page: list[Job]) -> None:
    for job in page:  # one at a time: each is a read and a transaction, and the page's appends are done
        await erasure.redact(jobs.stores, job.id)


ACTIONS = {
    "cancel": Action(
        "cancel", ("waiting", "queued", "running"), lambda reason, actor: commands.CancelJob(reason, actor), CancelManyBody, False
    ),
    "retry": Action(
        "retry", ("failed", "expired"), lambda _reason, actor: commands.RetryJob(requested_by=actor), RetryManyBody,
        True,
    ),
    "purge": Action(
        "purge", ("completed", "failed", "cancelled", "expired"), lambda reason, actor: commands.EraseJob(reason, actor),
        PurgeManyBody, True, _redact_page,
    ),
}


def statuses(action: Action, body: BulkBody) -> tuple[str, ...]:
    """The statuses to select: the filter's (its body allows only those the action applies to), or all of those."""
    wanted = body.filter.status
    return action.statuses if wanted is None else (wanted.value,)


async def run(jobs: Jobs, action: Action, body: BulkBody, scope: Scope, meta: dict[str, Any]) -> dict[str, Any]:
    """Select and act (or, with dry_run, count); the answer of the bulk route."""
    as_of = body.as_of or utcnow()
    wanted = statuses(action, body)
    recorded = {
        "action": action.name, "as_of": as_of.isoformat(), "filter": body.filter.model_dump(mode="json", exclude_none=True),
    }  # fmt: skip
    command = action.command(body.reason, meta["actor"])
    meta = {**meta, "bulk": recorded}
    selected = acted = 0
    for status in wanted:
        async for rows in _pages(jobs, action, body, scope, status, as_of):
            selected += len(rows)
            if not body.dry_run:
                page = [job_status.job_from_document(codec.loads(doc)) for _, _, doc in rows]
                acted += await _act_on_page(jobs, page, command, meta)
                if action.after_page is not None:
                    await action.after_page(jobs, page)
    return {"action": action.name, "dry_run": body.dry_run, "as_of": as_of.isoformat(), "selected": selected,
            "acted": acted}  # fmt: skip


async def _pages(jobs: Jobs, action: Action, body: BulkBody, scope: Scope, status: str, as_of: datetime):
    """The selected jobs' rows (created_position, last_position, document) of one status, a page
    at a time, newest first (the cursor follows the list's order: a job acted on leaves the
    status, the pages after it do not move)."""
    f = body.filter

    def page_after(before: int | None):
        query = JobFilter(
            status=status, type=f.type, tenant=scope.tenant, types=scope.types, before=before, limit=PAGE,
            metadata=tuple(f.metadata.items()), created_after=f.created_after, user=getattr(scope, "user", None),
            **action.bound(body, as_of),
        )
        return jobs.stores.status.list_status(query)

    rows = await page_after(None)
    while rows:
        # the next page is read while this one is written: the cursor, not the statuses, orders them
        reading = asyncio.ensure_future(page_after(rows[-1][0])) if len(rows) == PAGE else None
        try:
            yield rows
        except BaseException:
            if reading is not None:
                reading.cancel()
            raise
        rows = await reading if reading is not None else []


async def _act_on_page(jobs: Jobs, page: list[Job], command, meta: dict[str, Any]) -> int:
    """How many jobs of the page were acted on: the page's events in one transaction, decided on
    the jobs as listed; if one of them moved on meanwhile, each job on its own (below)."""
    now = jobs.clock()  # one time a page: its events are recorded together
    decided = []
    for job in page:
        try:
            new_events = decide.decide(job, command, now)
        except errors.JobServiceError:
            return sum(await asyncio.gather(*(_act(jobs, j, command, meta, now) for j in page)))
        if new_events:
            decided.append((job, new_events, fold(job, new_events, now)))
    try:
        await jobs.append_decided_together(decided, now, meta)
    except errors.VersionConflict:  # AppendsRefused: nothing was written
        return sum(await asyncio.gather(*(_act(jobs, j, command, meta, now) for j in page)))
    return len(decided)


async def _act(jobs: Jobs, job: Job, command, meta: dict[str, Any], now: datetime) -> bool:
    """Whether the job was acted on: decided on its listed state, else (it moved on) on a fresh read."""
    try:
        new_events = decide.decide(job, command, now)
        if not new_events:
            return False
        await jobs.append_decided(job, new_events, fold(job, new_events, now), now, meta)
        return True
    except errors.VersionConflict:
        pass
    except errors.JobServiceError:  # it no longer applies (a race with another change): left alone
        return False
    try:
        before = (await jobs.load(job.id)).job.version
        return (await jobs.execute(job.id, command, meta)).job.version > before
    except errors.JobServiceError:
        return False

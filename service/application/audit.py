"""Verification of the log and of what is derived from it (the API's `/jobs/{id}/verify` and
`jobledger audit verify`). Every broken job is reported, not only the first:

- chains: each job's hash chain and versions (eventlog/chain.py);
- the status read model: each job folded from its events, field by field against its row
  (a forged row, a deleted tail, a row without events, events without a row);
- the tree: the Merkle tree recomputed from the log against its stored leaves and against every
  stored checkpoint, whose signatures are checked with the log's verifier key when one is given.
"""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from jobledger.application import audit_rows, audit_tree
from jobledger.domain import errors
from jobledger.eventlog.chain import Break, RawEvent, Verifier
from jobledger.eventlog.protocols import Stores
from jobledger.projections import job_status
from jobledger.proof import merkle, note

PAGE = 5000
CAP = 100  #: problems a report lists; it counts them all


@dataclass(frozen=True)
class Problem:
    """One thing found broken: its kind (chain, row, tree, checkpoint), the job where there is one, and what."""

    kind: str
    detail: str
    job_id: UUID | None = None
    version: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "job_id": self.job_id and str(self.job_id), "version": self.version,
                "detail": self.detail}  # fmt: skip

    def __str__(self) -> str:
        where = "" if self.job_id is None else f"job {self.job_id}" + (f" at version {self.version}" if self.version else "")
        return f"{where}: {self.detail}" if where else self.detail


@dataclass
class Report:
    """What a verification found: events checked, checkpoints compared, and every problem (the first CAP listed)."""

    checked: int = 0
    checkpoints: int = 0
    count: int = 0
    problems: list[Problem] = field(default_factory=list)
    first_break: Break | None = None  #: the first broken chain link, as the API has always answered

    @property
    def ok(self) -> bool:
        return self.count == 0

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.problems) < CAP:
            self.problems.append(problem)

    def add_chains(self, verifier: Verifier) -> None:
        self.first_break = self.first_break or verifier.first_break
        for b in verifier.breaks:
            self.add(Problem("chain", b.reason, b.job_id, b.version))


def finished_before(retention_seconds: float, now: datetime) -> datetime | None:
    """Jobs finished before this may have lost their status row to retention (0 keeps every row)."""
    return now - timedelta(seconds=retention_seconds) if retention_seconds > 0 else None


async def verify_job(stores: Stores, job_id: UUID, finished_before: datetime | None = None) -> Report:
    """Check one job: its chain, its status row against the fold of its events, its leaves in the tree.
    Raises JobNotFound when the job has neither events nor a row."""
    row = await _row(stores, job_id)  # first: the log read after it can only be longer
    history = await stores.log.raw_stream(job_id)
    if row is None and not history:
        raise errors.JobNotFound(job_id=str(job_id))
    verifier, fold = Verifier(), audit_rows.Fold()
    for e in history:
        verifier.add(e)
        if row is None or e.version <= row["version"]:  # the row saw the log up to its version
            fold.add(e)
    if row is not None:
        verifier.check_head(job_id, row["version"])
    report = Report(checked=verifier.checked)
    report.add_chains(verifier)
    if not verifier.breaks:
        _check_row(report, fold, job_id, row, finished_before)
    await _check_leaves(report, stores, history)
    return report


async def verify_log(
    stores: Stores, progress=None, key: note.VerifierKey | None = None, finished_before: datetime | None = None
) -> Report:
    """Check the whole log, read once in position order, then every status row and checkpoint."""
    checkpoints = await audit_tree.stored_checkpoints(stores)
    verifier, fold, tree = Verifier(), audit_rows.Fold(), audit_tree.TreeCheck(stores, checkpoints)
    async for page in _pages(stores):
        canonicals = audit_tree.canonicals_of(page)  # once an event: its chain and its leaf hash them
        for event, canonical in zip(page, canonicals, strict=True):
            verifier.add(event, hashlib.sha256(canonical).digest())
        fold.add_page(page)
        await tree.add_page(page, [merkle.leaf_hash(c) for c in canonicals])
        if progress is not None:
            progress(verifier.checked)
    tree.finish()
    report = Report(checked=verifier.checked, checkpoints=len(checkpoints))
    report.add_chains(verifier)
    for problem in [audit_tree.check_signature(c, key) for c in checkpoints] + tree.problems:
        if problem:
            report.add(Problem("tree" if problem.startswith(("leaf", "the log")) else "checkpoint", problem))
    for job_id in await _check_rows(report, stores, fold, verifier, finished_before):
        _merge(report, await verify_job(stores, job_id, finished_before))
    return report


async def _pages(stores: Stores) -> AsyncIterator[list[RawEvent]]:
    """The settled log page by page in position order, the next page read while this one is checked."""
    reading = asyncio.ensure_future(stores.log.raw_all(after=0, limit=PAGE))
    try:
        while page := await reading:
            reading = asyncio.ensure_future(stores.log.raw_all(after=page[-1].position, limit=PAGE))
            await asyncio.sleep(0)  # the read is sent before this page's hashing holds the loop
            yield page
    finally:
        reading.cancel()


async def _check_rows(report: Report, stores: Stores, fold: audit_rows.Fold, verifier: Verifier, finished_before) -> list[UUID]:
    """Compare every status row with its fold; the jobs whose row is ahead of the log read (an
    append since, or a deleted tail) are returned, to be checked again one by one."""
    broken, seen, ahead, after = {b.job_id for b in verifier.breaks}, set(), [], None
    while rows := await stores.status.status_rows(after, PAGE):
        for row in rows:
            job_id = after = row["job_id"]
            seen.add(job_id)
            if job_id in broken:
                continue
            if row["version"] > fold.version(job_id) and job_id not in fold.unreadable:
                ahead.append(job_id)
            else:
                _check_row(report, fold, job_id, row, finished_before)
    for job_id in fold.drafts.keys() - seen - broken:
        _check_row(report, fold, job_id, None, finished_before)
    return ahead


def _check_row(report: Report, fold: audit_rows.Fold, job_id: UUID, row: dict | None, finished_before) -> None:
    if job_id in fold.unreadable:
        return report.add(Problem("chain", fold.unreadable[job_id], job_id))
    if row is None:
        if job_id in fold.drafts and job_status.retained(fold.drafts[job_id], finished_before):
            report.add(Problem("row", "the job has events but no status row: the row was deleted", job_id))
        return None
    if row["version"] < fold.version(job_id):
        return report.add(Problem(
            "row", f"the status row says version {row['version']} but the log holds {fold.version(job_id)}", job_id
        ))
    if differs := audit_rows.differences(row, fold.expected_row(job_id)):
        report.add(Problem("row", f"the status row differs from the fold of its events in: {', '.join(differs)}", job_id))
    return None


async def _check_leaves(report: Report, stores: Stores, history: list[RawEvent]) -> None:
    """Each of the job's events against the leaf the tree recorded for its position, if it has one yet."""
    recorded = await stores.tree.leaves_at([e.position for e in history])
    for e in history:
        leaf = recorded.get(e.position)
        if leaf is not None and (leaf.hash != audit_tree.leaf_of(e) or leaf.job_id != e.stream_id):
            detail = f"leaf {leaf.leaf_index} (position {e.position}) differs from the leaf the tree recorded: the event was changed"
            return report.add(Problem("tree", detail, e.stream_id, e.version))
    return None


async def _row(stores: Stores, job_id: UUID) -> dict[str, Any] | None:
    rows = await stores.status.status_rows(UUID(int=job_id.int - 1) if job_id.int else None, 1)
    return rows[0] if rows and rows[0]["job_id"] == job_id else None


def _merge(report: Report, other: Report) -> None:
    report.first_break = report.first_break or other.first_break
    for problem in other.problems:
        report.add(problem)

"""Erasing finished jobs' data (`POST /jobs/{id}/purge`, `POST /jobs/purge`): JobErased recorded in
the job's stream, then its events rewritten without the job's data (domain/erasure.py), the log
keeping the commitments of what they were (eventlog Erasure), so verification and proofs hold.

Its webhook deliveries' bodies are rewritten too (and a dispatcher behind the log queues none
with the data: Webhooks.enqueue). The two steps are not one transaction: a crash between them leaves an erased job whose events
still hold its data; erasing it again (the same request) rewrites them, and records nothing new.
"""

from typing import Any
from uuid import UUID

from jobledger.domain import commands, erasure, events
from jobledger.eventlog import chain, codec
from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.records import Redaction
from jobledger.application.jobs import Jobs, Scope
from jobledger.application.snapshot import Snapshot


async def purge(
    jobs: Jobs, job_id: UUID, reason: str | None, meta: dict[str, Any], if_match: int | None = None, scope: Scope | None = None
) -> Snapshot:
    """Erase one finished job's data; the job as it is after (erased once, whatever is asked again)."""
    snapshot = await jobs.execute(job_id, commands.EraseJob(reason, meta["actor"]), meta, if_match, scope)
    await redact(jobs.stores, job_id)
    return snapshot


async def redact(stores: Stores, job_id: UUID) -> int:
    """Rewrite an erased job's events without its data; how many were rewritten (0: none held any,
    or the job is not erased)."""
    history = await stores.log.raw_stream(job_id)
    if not any(e.type == events.JobErased.type for e in history):
        return 0
    redactions = []
    for e in history:
        data = erasure.redact(e.type, codec.loads(e.data))
        if data is not None:  # the commitments of its bytes as they were, as its append worked them out
            digest, leaf = chain.digest_and_leaf(
                str(e.stream_id), e.version, e.type, e.schema_version, chain.canonical_time(e.recorded_at), e.data, e.metadata
            )
            redactions.append(Redaction(e.position, codec.dumps(data), digest, leaf))
    await stores.erasure.erase(job_id, redactions)  # the metadata index rows go even when no event changes
    await _redact_deliveries(stores, job_id)
    return len(redactions)


async def _redact_deliveries(stores: Stores, job_id: UUID) -> None:
    """The webhook deliveries of the job's events, sent or still to send, keep none of its data
    either: a pending one (or one sent again by hand) goes without it. A dispatcher that read an
    event before the rewrite queues it without the data as well (Webhooks.enqueue, delivery_body)."""
    await stores.webhooks.redact_bodies(job_id, delivery_body)


def delivery_body(event_type: str, body: str) -> str | None:
    """A webhook delivery's body (webhook_delivery.body) without its erased job's data; None if it holds none."""
    sent = codec.loads(body)
    data = erasure.redact(event_type, sent.get("data") or {})
    return None if data is None else codec.dumps({**sent, "data": data})

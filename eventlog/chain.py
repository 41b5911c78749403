"""Tamper evidence: every event's hash chains its job's previous hash with its own digest.

digest = sha256 over the event's canonical bytes: job id, version, type, schema version,
recorded time (UTC, microseconds) and the exact stored JSON text of data and metadata.
hash = sha256(previous hash + digest), the first event's previous hash being empty.
Editing, deleting or reordering a stored event breaks the chain from there on.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A stored event as its bytes are: what verification hashes."""

    position: int
    stream_id: UUID
    version: int
    type: str
    schema_version: int
    data: str
    metadata: str
    recorded_at: datetime
    hash: str


@dataclass(frozen=True, slots=True)
class Break:
    """The first broken link of a job's chain (a Verifier keeps one per broken job)."""

    job_id: UUID
    version: int
    reason: str

    def as_json(self) -> dict:
        return {"job_id": str(self.job_id), "version": self.version, "reason": self.reason}


def digest(stream_id: UUID, version: int, type_: str, schema_version: int, recorded_at: datetime, data: str, metadata: str) -> bytes:
    return digest_text(str(stream_id), version, type_, schema_version, canonical_time(recorded_at), data, metadata)


def canonical_time(recorded_at: datetime) -> str:
    """The recorded time as the digest covers it: UTC, to the microsecond."""
    return recorded_at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_bytes(stream: str, version: int, type_: str, schema_version: int, at: str, data: str, metadata: str) -> bytes:
    """An event's canonical bytes (docs/auditing.md): what its digest and its Merkle leaf hash."""
    return f"{stream}\n{version}\n{type_}\n{schema_version}\n{at}\n{data}\n{metadata}".encode()


def digest_text(stream: str, version: int, type_: str, schema_version: int, at: str, data: str, metadata: str) -> bytes:
    """`digest` from its parts as text (an append's events share the job id, and often the time)."""
    return hashlib.sha256(canonical_bytes(stream, version, type_, schema_version, at, data, metadata)).digest()


def digest_and_leaf(stream: str, version: int, type_: str, schema_version: int, at: str, data: str, metadata: str) -> tuple[bytes, bytes]:
    """`digest_text`, and the event's Merkle leaf hash (sha256 of 0x00 and the same canonical bytes,
    RFC 6962): both worked out at append, the leaf stored with the event for the tree's builder."""
    canonical = canonical_bytes(stream, version, type_, schema_version, at, data, metadata)
    return hashlib.sha256(canonical).digest(), hashlib.sha256(b"\x00" + canonical).digest()


def link(previous_hash: str, event_digest: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(previous_hash) + event_digest).hexdigest()


class Verifier:
    """Checks chains incrementally, events given in position order (one job or the whole log)."""

    def __init__(self) -> None:
        self._heads: dict[UUID, tuple[int, str]] = {}  # job id -> (version, hash) of its last event
        self.checked = 0
        self.first_break: Break | None = None
        self.breaks: list[Break] = []  # every broken job's first break, in the order found
        self._broken: set[UUID] = set()

    def add(self, e: RawEvent, event_digest: bytes | None = None) -> None:
        """Check the next event of its job; `event_digest` is its digest where the caller has it
        (the SHA-256 of its canonical bytes, docs/auditing.md), else it is computed here."""
        if e.stream_id in self._broken:
            return
        self.checked += 1
        version, previous = self._heads.get(e.stream_id, (0, ""))
        if e.version != version + 1:
            return self._fail(e.stream_id, version + 1, f"expected version {version + 1} next, found {e.version}")
        if event_digest is None:
            event_digest = digest(e.stream_id, e.version, e.type, e.schema_version, e.recorded_at, e.data, e.metadata)
        expected = link(previous, event_digest)
        if e.hash != expected:
            return self._fail(e.stream_id, e.version, "hash mismatch: this event (or its place in the chain) was altered")
        self._heads[e.stream_id] = (e.version, e.hash)

    def check_head(self, job_id: UUID, version: int) -> None:
        """The read model saw `version` (read before the log was): the log must still reach it,
        so a deleted tail shows here. The log may be further on: appends go on meanwhile."""
        if job_id in self._broken:
            return
        have = self._heads.get(job_id, (0, ""))[0]
        if have < version:
            self._fail(job_id, have + 1, f"the log ends at version {have} but version {version} was recorded")

    def _fail(self, job_id: UUID, version: int, reason: str) -> None:
        self._broken.add(job_id)
        self.breaks.append(Break(job_id, version, reason))
        if self.first_break is None:
            self.first_break = self.breaks[0]

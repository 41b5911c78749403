"""One run of the witness (`jobledger audit watch`): the log's newest checkpoint against the one it
kept, and, with a database, against the events themselves.

Over HTTP it checks what the log signs: the signature, and that the new tree extends the kept one
(a rewrite, reordering or truncation of the tree fails the consistency proof). An edit of the
events that leaves the tree alone shows only against the events: with `--db` the witness
recomputes every leaf and, where the root differs, asks consistency proofs from prefixes of its
own to find the first leaf that differs from what was signed (a binary search).
"""

import json
import os
from pathlib import Path

import aiohttp

from jobledger.application import audit_tree, storage
from jobledger.eventlog.chain import RawEvent
from jobledger.proof import ProofError, merkle, note, witness

STATE_FILE = "checkpoint"


class WitnessAlert(Exception):
    """The log is not what was signed before."""


class Log:
    """The log's HTTP routes the witness reads."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session, self.url = session, url.rstrip("/")

    async def get(self, path: str, **params: int) -> bytes:
        async with self.session.get(self.url + path, params=params) as resp:
            body = await resp.read()
        if resp.status != 200:
            raise WitnessAlert(f"GET {path} answered {resp.status}: {body[:300].decode(errors='replace')}")
        return body

    async def consistency(self, first: int, second: int) -> list[bytes]:
        answer = _json(await self.get("/proofs/consistency", first=first, second=second))
        if (answer.get("first"), answer.get("second")) != (first, second):
            raise WitnessAlert(f"asked a consistency proof from {first} to {second}, got another")
        return [note.b64decode(h, "a proof hash") for h in answer.get("proof", [])]


async def check_once(url: str, key: note.VerifierKey, state: Path, api_key: str | None, db: str | None) -> str:
    """Check the log's newest checkpoint; keep it in `state` if it verified. The message says what was checked."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=60)) as session:
        log = Log(session, url)
        new = _verified((await log.get("/checkpoint")).decode(), key, "the log's checkpoint")
        old_path = state / STATE_FILE
        old = _verified(old_path.read_text(), key, f"the kept checkpoint ({old_path})") if old_path.exists() else None
        failures = []
        if old is not None:
            failures += await _growth(log, old, new)
        if db is not None:
            failures += await _events(log, new, db)
    if failures:
        raise WitnessAlert("; ".join(failures))
    _keep(old_path, new.note)
    since = f"extends the kept one of size {old.size}" if old else "kept (the first this witness saw)"
    checked = " and matches the database's events" if db else ""
    return f"ok: checkpoint of size {new.size} of {new.origin} {since}{checked}"


def _verified(text: str, key: note.VerifierKey, what: str) -> note.Checkpoint:
    try:
        return note.verify_checkpoint(text, key)
    except ProofError as exc:
        raise WitnessAlert(f"{what} does not verify with the key {key.name}: {exc}") from None


async def _growth(log: Log, old: note.Checkpoint, new: note.Checkpoint) -> list[str]:
    proof = await log.consistency(old.size, new.size) if 0 < old.size < new.size else []
    try:
        witness.check_growth(old, new, proof)
    except ProofError as exc:
        return [str(exc)]
    return []


async def _events(log: Log, signed: note.Checkpoint, db: str) -> list[str]:
    """The database's events against the signed checkpoint: the first leaf that differs, and any missing."""
    events, erased = await _read_events(db, signed.size)
    events = events[: signed.size]
    leaves = audit_tree.hashes_of(events, erased)[1]  # an erased event's leaf: the one the log kept of its bytes
    failures = []
    first = await _first_difference(log, leaves, signed)
    if first is not None:
        e = events[first]
        failures.append(
            f"leaf {first} (position {e.position}, job {e.stream_id} version {e.version}) is not what was signed "
            f"at size {signed.size}: that event, or the order of the events before it, changed"
        )
    if len(events) < signed.size:
        failures.append(f"the log holds {len(events)} events but the checkpoint signs {signed.size}: "
                        f"leaves {len(events)}..{signed.size - 1} were deleted or truncated")  # fmt: skip
    return failures


async def _first_difference(log: Log, leaves: list[bytes], signed: note.Checkpoint) -> int | None:
    """The first of the database's leaves where its prefix stops being a prefix of the signed tree
    (a binary search with consistency proofs), or None if all of them are."""

    async def agrees(k: int) -> bool:
        if k == 0 or k == signed.size:
            return k == 0 or merkle.root(leaves) == signed.root
        proof = await log.consistency(k, signed.size)
        try:
            merkle.verify_consistency(k, signed.size, proof, merkle.root(leaves[:k]), signed.root)
        except ProofError:
            return False
        return True

    low, high = 0, len(leaves)  # prefix `low` agrees; prefix `high` does not
    if await agrees(high):
        return None
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if await agrees(middle) else (low, middle)
    return low


async def _read_events(db: str, limit: int) -> tuple[list[RawEvent], audit_tree.Erased]:
    """The log's first `limit` events, and the commitments kept of its erased ones."""
    stores = await storage.open_stores(db, migrate=False)  # a witness reads; it never changes the schema
    try:
        events, erased, after = [], {}, 0
        while len(events) < limit and (page := await stores.log.raw_all(after=after, limit=5000)):
            events += page
            erased.update(await stores.erasure.erased(page[0].position, page[-1].position))
            after = page[-1].position
        return events, erased
    finally:
        await stores.close()


def _keep(path: Path, text: str) -> None:
    """Replace the kept checkpoint in one step: a crash leaves the old one or the new one."""
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    os.replace(partial, path)


def _json(body: bytes) -> dict:
    try:
        answer = json.loads(body)
    except ValueError:
        raise WitnessAlert("the log answered something that is not JSON") from None
    if not isinstance(answer, dict):
        raise WitnessAlert("the log answered something that is not a JSON object")
    return answer

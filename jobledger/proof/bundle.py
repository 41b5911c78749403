"""A job's audit bundle (`jobledger-audit-bundle/1`), checked offline with the log's public key.

A bundle holds a signed checkpoint and, for each of one job's events, its canonical bytes, the
event as people read it, its leaf index and its inclusion proof. It verifies when the checkpoint's
signature verifies with the given key, every event's leaf hash reaches the checkpoint's root with
its proof, every `event` says what its canonical bytes say, and the versions run 1..n.

An event of a job whose data was erased has no canonical bytes any more: it carries `erased: true`
and its `leaf_hash`, whose inclusion is proven; its `event` shows what remains, unproven. The
count of such events is in `Verified.erased`.

What it does not prove: that the job has no events after the last one shown (a bundle can stop
early); a witness or `audit verify` answers that.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobledger.proof import merkle, note
from jobledger.proof.errors import ProofError

FORMAT = "jobledger-audit-bundle/1"
FIELDS = ("job_id", "version", "type", "schema_version", "recorded_at", "data", "metadata")


def canonical_bytes(
    job_id: str, version: int, type_: str, schema_version: int, recorded_at: str, data: str, metadata: str
) -> bytes:
    """The bytes a leaf commits to (stable across versions): UTF-8 of the seven fields, one a line;
    `recorded_at` in UTC to the microsecond with `+00:00`, data and metadata as the stored JSON text."""
    return f"{job_id}\n{version}\n{type_}\n{schema_version}\n{recorded_at}\n{data}\n{metadata}".encode()


@dataclass(frozen=True)
class Verified:
    """What a bundle proved."""

    checkpoint: note.Checkpoint
    job_id: str
    events: int
    erased: int = 0  # events whose leaf is proven and whose bytes were erased


def verify_bundle(bundle: dict[str, Any], key: note.VerifierKey) -> Verified:
    """Check a bundle (parsed JSON) against the log's verifier key; raise ProofError naming what failed."""
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise ProofError(f"not a {FORMAT} bundle")
    checkpoint = note.verify_checkpoint(_field(bundle, "checkpoint", str), key)
    if checkpoint.origin != bundle.get("origin") or checkpoint.size != bundle.get("tree_size"):
        raise ProofError("the bundle's origin or tree size is not its checkpoint's")
    job_id, events = _field(bundle, "job_id", str), _field(bundle, "events", list)
    if not events:
        raise ProofError("the bundle holds no events")
    last_leaf, last_position, erased = -1, None, 0
    for version, item in enumerate(events, start=1):
        where = f"event {version} (leaf {item.get('leaf_index') if isinstance(item, dict) else '?'})"
        if isinstance(item, dict) and item.get("erased") is True:
            _check_erased(item, job_id, version, checkpoint, where)
            erased += 1
        else:
            _check_event(item, job_id, version, checkpoint, where)
        if item["leaf_index"] <= last_leaf or (last_position is not None and item["position"] <= last_position):
            raise ProofError(f"{where}: events are not in log order")
        last_leaf, last_position = item["leaf_index"], item["position"]
    return Verified(checkpoint, job_id, len(events), erased)


def _field(d: dict[str, Any], name: str, kind: type) -> Any:
    value = d.get(name) if isinstance(d, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ProofError(f"the bundle's {name} is missing or not a {kind.__name__}")
    return value


def _check_event(item: dict[str, Any], job_id: str, version: int, checkpoint: note.Checkpoint, where: str) -> None:
    leaf_index, position = _field(item, "leaf_index", int), _field(item, "position", int)
    canonical = note.b64decode(_field(item, "canonical", str), f"{where}: canonical")
    parts = _parts(canonical, where)
    if parts["job_id"] != job_id:
        raise ProofError(f"{where}: belongs to job {parts['job_id']}, not {job_id}")
    if parts["version"] != str(version):
        raise ProofError(f"{where}: has version {parts['version']}, expected {version} (versions run 1..n)")
    _check_shown(_field(item, "event", dict), parts, position, where)
    proof = [note.b64decode(h, f"{where}: a proof hash") for h in _field(item, "inclusion_proof", list)]
    try:
        merkle.verify_inclusion(merkle.leaf_hash(canonical), leaf_index, checkpoint.size, proof, checkpoint.root)
    except ProofError as exc:
        raise ProofError(f"{where}: {exc}") from None


def _check_erased(item: dict[str, Any], job_id: str, version: int, checkpoint: note.Checkpoint, where: str) -> None:
    """An erased event: its leaf hash is in the tree; its shown job, version and position must agree."""
    leaf_index, position = _field(item, "leaf_index", int), _field(item, "position", int)
    leaf = note.b64decode(_field(item, "leaf_hash", str), f"{where}: leaf_hash")
    shown = _field(item, "event", dict)
    if (str(shown.get("job_id")), shown.get("version"), shown.get("position")) != (job_id, version, position):
        raise ProofError(f"{where}: its event's job, version or position is not the bundle's")
    proof = [note.b64decode(h, f"{where}: a proof hash") for h in _field(item, "inclusion_proof", list)]
    try:
        merkle.verify_inclusion(leaf, leaf_index, checkpoint.size, proof, checkpoint.root)
    except ProofError as exc:
        raise ProofError(f"{where}: {exc}") from None


def _parts(canonical: bytes, where: str) -> dict[str, str]:
    try:
        values = canonical.decode().split("\n")
    except UnicodeDecodeError:
        raise ProofError(f"{where}: canonical bytes are not UTF-8") from None
    if len(values) != len(FIELDS):
        raise ProofError(f"{where}: canonical bytes are not the seven fields of an event")
    return dict(zip(FIELDS, values, strict=True))


def _check_shown(shown: dict[str, Any], parts: dict[str, str], position: int, where: str) -> None:
    """The event shown to people must say what the proven bytes say."""
    if shown.get("position") != position:
        raise ProofError(f"{where}: its event shows position {shown.get('position')}, the bundle says {position}")
    for name in ("job_id", "version", "type", "schema_version"):
        if str(shown.get(name)) != parts[name]:
            raise ProofError(f"{where}: its event's {name} is not what the proven bytes say")
    if _instant(shown.get("recorded_at"), where) != _instant(parts["recorded_at"], where):
        raise ProofError(f"{where}: its event's recorded_at is not what the proven bytes say")
    for name in ("data", "metadata"):
        if _json(shown.get(name)) != _json(_loads(parts[name], where)):
            raise ProofError(f"{where}: its event's {name} is not what the proven bytes say")


def _instant(text: Any, where: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ProofError(f"{where}: recorded_at is not an ISO-8601 time") from None
    if at.tzinfo is None:
        raise ProofError(f"{where}: recorded_at has no time zone")
    return at


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ProofError(f"{where}: data or metadata is not JSON") from None


def _json(value: Any) -> str:
    # json.dumps tells true from 1 and 1.0 from 1, where Python's == does not
    return json.dumps(value, sort_keys=True, separators=(",", ":"))

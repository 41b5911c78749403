"""How a claim chooses its jobs, alike on every backend: what each limited type may still
take, which candidate scans run, and in which order the candidates are taken."""

from collections.abc import Sequence
from typing import Any

from jobledger.eventlog.records import ClaimQuery, StatusRow


def claim_allowance(query: ClaimQuery, running: dict[str, int]) -> dict[str, int]:
    """How many more jobs of each limited type may start now."""
    return {t: max(0, limit - running.get(t, 0)) for t, limit in query.max_running.items()}


def candidate_scans(query: ClaimQuery, allowance: dict[str, int]) -> list[tuple[str | None, list[str], int]]:
    """(a type, or None for any, types to leave out, limit) of each candidate query a claim
    runs, each read in claim order off a queue index: one per named type (or one across
    types, leaving the limited and the paused ones out), and one per limited type with room
    left, so a type at its limit never crowds the others out of a claim. A paused type is
    never scanned."""
    paused = query.paused
    if query.types is None:
        scans = [(None, [*allowance, *sorted(paused.difference(allowance))], query.limit)]
    else:
        scans = [(t, [], query.limit) for t in dict.fromkeys(query.types) if t not in allowance and t not in paused]
    for type_, room in allowance.items():
        if room > 0 and type_ not in paused and (query.types is None or type_ in query.types):
            scans.append((type_, [], min(room, query.limit)))
    return scans


def in_claim_order(rows: Sequence[Any], limit: int) -> list[Any]:
    """The first `limit` of a claim's candidate rows, gathered from its scans (read by column
    name: type, job_id, version, last_position, doc, priority, due_at, created_position), in
    claim order: highest priority, then longest due, then first logged."""
    return sorted(rows, key=lambda r: (-r["priority"], r["due_at"], r["created_position"]))[:limit]


def trim_to_allowance(rows: list[tuple[str, StatusRow]], allowance: dict[str, int]) -> list[StatusRow]:
    """Keep rows in order, dropping those past their type's allowance."""
    taken: dict[str, int] = {}
    kept = []
    for type_, row in rows:
        if type_ in allowance and taken.get(type_, 0) >= allowance[type_]:
            continue
        taken[type_] = taken.get(type_, 0) + 1
        kept.append(row)
    return kept

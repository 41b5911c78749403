"""The status read model's counts: the same SQL and the same reading on both backends (given their `fetch`)."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

Fetch = Callable[[str], Awaitable[Sequence[Any]]]  #: a backend's Database.fetch: rows read by column name


async def by_status(fetch: Fetch) -> dict[str, int]:
    rows = await fetch("SELECT status, count(*) AS jobs FROM job_status GROUP BY status")
    return {r["status"]: r["jobs"] for r in rows}


async def by_type_and_status(fetch: Fetch) -> dict[tuple[str, str], int]:
    rows = await fetch("SELECT type, status, count(*) AS jobs FROM job_status GROUP BY type, status")
    return {(r["type"], r["status"]): r["jobs"] for r in rows}

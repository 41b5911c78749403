"""Fire times of a cron expression in an IANA time zone, read by `cronsim` (healthchecks.io's,
which handles daylight-saving changes as Debian's cron does: a time in the hour skipped in spring
fires once, right after the change; a time of the hour repeated in autumn fires once, the first
time; an expression with a wildcard hour fires in both repeated hours).

Five fields (minute hour day month weekday), or six with seconds first. Times go in and come out
as UTC; the zone decides which UTC instants the expression names.
"""

import functools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from jobledger.domain import errors

MAX_EXPRESSION = 200  #: characters in a cron expression
_TICK = timedelta(microseconds=1)


class BadCron(ValueError):
    """The expression or the zone cannot be read; `field` names which."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field = field


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; BadCron naming `timezone` if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadCron("timezone", f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None


def check(expression: str, timezone: str, now: datetime) -> datetime:
    """The first fire time after `now`; InvalidCommand naming `cron` or `timezone` if either is
    unreadable, or if the expression never fires (e.g. on February 30)."""
    try:
        zone(timezone)
        if len(expression) > MAX_EXPRESSION:
            raise BadCron("cron", f"longer than {MAX_EXPRESSION} characters")
        first = after(expression, timezone, now)
    except BadCron as exc:
        raise errors.InvalidCommand(f"{exc.field}: {exc}", fields=[{"field": exc.field, "reason": str(exc)}]) from None
    return first


def _sim(expression: str, timezone: str, start: datetime, reverse: bool = False) -> CronSim:
    try:
        return CronSim(expression, start.astimezone(zone(timezone)), reverse=reverse)
    except CronSimError as exc:
        raise BadCron("cron", f"not a cron expression: {exc}") from None


def _utc(sim: CronSim) -> datetime:
    try:
        return next(sim).astimezone(UTC)
    except (StopIteration, CronSimError):  # no such date in the years cronsim looks through
        raise BadCron("cron", "the expression never fires") from None


def after(expression: str, timezone: str, start: datetime) -> datetime:
    """The first fire time strictly after `start`."""
    return _utc(_sim(expression, timezone, start))


def between(expression: str, timezone: str, first: datetime, last: datetime, limit: int) -> list[datetime]:
    """Fire times from `first` (included) to `last` (included), oldest first, at most `limit`."""
    found = []
    sim = _sim(expression, timezone, first - _TICK)
    while len(found) < limit:
        at = _utc(sim)
        if at > last:
            break
        found.append(at)
    return found


def latest(expression: str, timezone: str, first: datetime, before: datetime, count: int) -> list[datetime]:
    """The last `count` fire times from `first` (included) to `before` (excluded), oldest first."""
    found: list[datetime] = []
    sim = _sim(expression, timezone, before, reverse=True)
    for _ in range(count):
        at = _utc(sim)
        if at < first:
            break
        found.append(at)
    return found[::-1]

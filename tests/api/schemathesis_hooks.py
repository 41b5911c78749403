"""schemathesis hooks for tests/api/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS)."""

import schemathesis

MOST_WAIT = 0.2  #: seconds: a claim may long-poll for 60 s; the run keeps each below this


@schemathesis.hook
def map_body(ctx, body):
    """Shorten a claim's valid `wait_seconds` (0 to 60); an invalid one is left invalid."""
    wait = body.get("wait_seconds") if isinstance(body, dict) else None
    if isinstance(wait, int | float) and not isinstance(wait, bool) and 0 <= wait <= 60:
        body["wait_seconds"] = min(wait, MOST_WAIT)
    return body


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """Every phase (the coverage phase's boundary values do not pass through map_body): a claim's
    wait is kept short as above, and a bulk cancel or retry with a valid body runs as a dry run,
    so that one generated request does not cancel every job the other operations act on (then
    every claim would long-poll to its end)."""
    body = case.body
    if not isinstance(body, dict):
        return
    map_body(ctx, body)
    if case.path in ("/jobs/cancel", "/jobs/retry") and isinstance(body.get("dry_run", False), bool):
        body["dry_run"] = True
    if case.path in ("/schedules", "/schedules/{name}"):
        schedule(body)


def schedule(body: dict) -> None:
    """A schedule's cron expression and time zone as the service reads them: any text is valid to
    the document, few texts are a cron expression or an IANA zone (an invalid one, not text, is
    left invalid)."""
    if isinstance(body.get("cron"), str) and 0 < len(body["cron"]) <= 200:
        body["cron"] = "*/5 * * * *"
    if isinstance(body.get("timezone"), str) and 0 < len(body["timezone"]) <= 100:
        body["timezone"] = "Europe/Berlin"

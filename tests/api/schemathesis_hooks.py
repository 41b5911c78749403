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

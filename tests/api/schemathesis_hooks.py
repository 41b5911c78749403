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

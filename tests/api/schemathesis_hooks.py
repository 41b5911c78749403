"""schemathesis hooks for tests/api/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS)."""

import re

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
    wait is kept short as above, and a bulk cancel, retry or purge with a valid body runs as a
    dry run, so that one generated request does not act on every job the other operations act
    on (then every claim would long-poll to its end; a purge of them all, rewriting each job's
    events and webhook deliveries, outlasted the run's 10 s request timeout on a loaded machine)."""
    body = case.body
    if not isinstance(body, dict):
        return
    map_body(ctx, body)
    map_parents(case.path, body)
    if case.path in ("/jobs/cancel", "/jobs/retry", "/jobs/purge") and isinstance(body.get("dry_run", False), bool):
        body["dry_run"] = True
    if case.path in ("/schedules", "/schedules/{name}"):
        schedule(body)
    if case.path in ("/webhooks", "/webhooks/{webhook_id}"):
        webhook(body)


_WEBHOOK_URL = re.compile(r"^https?://[^\x00-\x20\x7f]+$")  # webhook_bodies.Url's pattern


def webhook(body: dict) -> None:
    """An endpoint's URL as the service can take it: the document's pattern allows any http(s) URL,
    and the service refuses a name that does not resolve or an address that is not global
    (422 target_refused, README Webhooks). A valid one becomes the loopback address the run's
    service allows (JOBLEDGER_WEBHOOK_ALLOW_PRIVATE=loopback; nothing listens there); an invalid
    one, or null, is left as it is."""
    url = body.get("url")
    if isinstance(url, str) and 0 < len(url) <= 2000 and _WEBHOOK_URL.match(url):
        body["url"] = "http://127.0.0.1:9/hook"


def schedule(body: dict) -> None:
    """A schedule's cron expression and time zone as the service reads them: any text is valid to
    the document, few texts are a cron expression or an IANA zone (an invalid one, not text, is
    left invalid)."""
    if isinstance(body.get("cron"), str) and 0 < len(body["cron"]) <= 200:
        body["cron"] = "*/5 * * * *"
    if isinstance(body.get("timezone"), str) and 0 < len(body["timezone"]) <= 100:
        body["timezone"] = "Europe/Berlin"


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _edge(item, name_ok) -> bool:
    if isinstance(item, str):
        return name_ok(item)
    return (isinstance(item, dict) and set(item) <= {"job", "on_failure"} and isinstance(item.get("job"), str)
            and name_ok(item["job"]) and item.get("on_failure", "cancel") in ("cancel", "run"))


def _valid(depends_on, name_ok) -> bool:
    return isinstance(depends_on, list) and len(depends_on) <= 100 and all(_edge(i, name_ok) for i in depends_on)


_PRINTABLE = re.compile("^[^\x00-\x1f\x7f-\x9f]*$")  # graph_bodies.Ref's pattern


def _ref_ok(ref) -> bool:
    return isinstance(ref, str) and 0 < len(ref) <= 200 and bool(_PRINTABLE.match(ref))


def map_parents(path: str, body: dict) -> None:
    """A valid depends_on made of ids schemathesis invents names no job: the service answers 400 (README,
    Dependencies), which is right, but not what a valid body gets. So POST /jobs's is emptied, and a
    batch's jobs each depend on the one before (refs r0, r1, ...): a valid graph, created for real."""
    if path == "/jobs" and _valid(body.get("depends_on"), lambda s: bool(_UUID.match(s))):
        body["depends_on"] = []
    jobs = body.get("jobs") if path == "/jobs/batch" else None
    if not isinstance(jobs, list) or not all(isinstance(j, dict) for j in jobs):
        return
    if all(_valid(j.get("depends_on", []), _ref_ok) and (j.get("ref") is None or _ref_ok(j["ref"])) for j in jobs):
        for i, job in enumerate(jobs):
            job["ref"] = f"r{i}"
            job["depends_on"] = [f"r{i - 1}"] if i else []

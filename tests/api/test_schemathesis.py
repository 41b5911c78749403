"""Schemathesis tests every documented operation of a running `jobledger serve`, in the open mode
on SQLite and with keys required on PostgreSQL: every check, in its coverage, fuzzing and stateful
phases, positive and negative data (the spec and the server must agree exactly: what the
document allows is accepted, what it forbids is refused).

The schema is the service's own /openapi.json (which says, in the open mode, that a key is
optional). A 5xx, or an error the service logs, fails. Generation is deterministic, so a run is
repeatable; tests/api/schemathesis.toml configures the checks.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)

from tests.live.processes import blocking_service
from tests.test_cli import CLI

CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 5  #: per operation and phase: a run takes about a minute
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ROOT = Path(__file__).parents[2]


@pytest.fixture
def running(db_url, tmp_path, request, monkeypatch):
    """A service that requires keys (or, parametrized "open", does not) and the headers of an admin
    key for it, allowed to send webhooks to loopback (schemathesis_hooks.webhook); fails on any
    error it logs."""
    monkeypatch.setenv("JOBLEDGER_WEBHOOK_ALLOW_PRIVATE", "loopback")
    headers, args = {}, []
    if getattr(request, "param", "keys") == "keys":
        admin = subprocess.run(
            [*CLI, "keys", "create", "--role", "admin", "--db", db_url], capture_output=True, text=True, check=True
        ).stdout.strip()
        headers, args = {"Authorization": f"Bearer {admin}"}, ["--auth", "required"]
    with blocking_service(db_url, tmp_path, *args) as (url, log_path):
        yield url, headers
    errors = [line for line in log_path.read_text().splitlines() if '"level":"error"' in line]
    assert not errors, "\n".join(errors)


# Each mode runs on one backend (the open mode on SQLite, keys required on PostgreSQL): both
# backends and both modes are fuzzed, in half the time of every pairing (CI's budget).
@pytest.mark.parametrize(("backend", "running"), [("sqlite", "open"), ("postgres", "keys")], indirect=["running"])
def test_every_operation_answers_as_documented(running, tmp_path):
    url, headers = running
    created = requests.post(f"{url}/jobs", json={"type": "report", "phases": ["research"]}, headers=headers)
    assert created.status_code == 201, created.text
    command = [
        str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
        "--checks", "all", "--exclude-checks", "use_after_free", "--phases", "examples,coverage,fuzzing,stateful", "--mode", "all",
        "--max-examples", str(EXAMPLES), "--generation-deterministic", "--workers", "1", "--no-color",
        "--request-timeout", "10", *(f"--header={name}: {value}" for name, value in headers.items()),
    ]
    started = time.monotonic()
    hooks = {"SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env={**os.environ, **hooks})
    print(f"schemathesis: {time.monotonic() - started:.1f} s\n{run.stdout[-1500:]}")
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5000:]


def test_a_whole_job_life_answers_as_documented(running, db_url):
    """The answers fuzzing rarely reaches (a leased job, artifacts, a 304, the brief health) meet the document too."""
    url, admin = running
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    session = requests.Session()

    def call(method: str, path: str, status: int, headers: dict | None = None, **case) -> dict | str | None:
        operation = schema[path][method]
        response = operation.Case(**case).call_and_validate(
            base_url=url, session=session, headers={**admin, **(headers or {})}, checks=CHECKS, timeout=10
        )
        assert response.status_code == status, response.text
        try:
            return response.json()
        except ValueError:  # the text artifact, the metrics, a 304
            return response.text

    call("PUT", "/types/{name}", 200, path_parameters={"name": "ocr"}, body={"max_attempts": 2, "max_running": 5})
    job = call("POST", "/jobs", 201, body={"type": "ocr", "phases": ["scan"]}, headers={"Idempotency-Key": "k"})
    assert call("POST", "/jobs", 200, body={"type": "ocr", "phases": ["scan"]}, headers={"Idempotency-Key": "k"})
    lease = call("POST", "/workers/claim", 200, body={"worker_id": "w1", "types": ["ocr"]})["jobs"][0]["lease_token"]
    at = {"path_parameters": {"id": job["id"]}}
    phase = {"path_parameters": {"id": job["id"], "phase": "scan"}}
    call("POST", "/jobs/{id}/heartbeat", 200, body={"lease_token": lease}, **at)
    call("POST", "/jobs/{id}/phases/{phase}/start", 200, body={"lease_token": lease}, **phase)
    call("POST", "/jobs/{id}/progress", 200, body={"percent": 50, "lease_token": lease}, **at)
    call("POST", "/jobs/{id}/phases/{phase}/complete", 200, body={"lease_token": lease, "confidence": 0.5}, **phase)
    for name, data, content_type in [("j", {"n": 1}, "application/json"), ("t", "# hi", "text/markdown")]:
        body = {"name": name, "data": data, "content_type": content_type, "lease_token": lease}
        call("POST", "/jobs/{id}/artifacts", 200, body=body, **at)
        got = call("GET", "/jobs/{id}/artifacts/{name}", 200, path_parameters={"id": job["id"], "name": name})
        assert got == data
    call("GET", "/jobs/{id}/artifacts", 200, **at)
    done = call("POST", "/jobs/{id}/complete", 200, body={"result": {"ok": True}, "lease_token": lease}, **at)
    call("GET", "/jobs/{id}", 304, headers={"If-None-Match": f'"{done["version"]}"'}, **at)
    call("POST", "/jobs/{id}/retry", 409, body={}, **at)
    call("GET", "/jobs/{id}/events", 200, **at)
    assert call("GET", "/jobs/{id}/verify", 200, **at)["ok"]
    call("GET", "/events", 200, query={"after": 0, "limit": 2})
    assert call("GET", "/jobs", 200, query={"limit": 1})["next_cursor"] is None
    for _ in range(100):  # the stats projection follows the log: wait until it has caught up
        stats = call("GET", "/stats", 200)
        if stats["projection"]["lag"] == 0:
            break
        time.sleep(0.05)
    assert stats["types"]["ocr"]["counts"] == {"completed": 1}
    operator = subprocess.run(
        [*CLI, "keys", "create", "--role", "operator", "--db", db_url], capture_output=True, text=True, check=True
    ).stdout.strip()
    as_operator = {"Authorization": f"Bearer {operator}"}  # counts across tenants are not a tenant admin's
    assert "queues" in call("GET", "/health", 200, headers=as_operator)
    assert "queues" not in call("GET", "/health", 200)
    assert "queues" not in call("GET", "/health", 200, headers={"Authorization": None})
    assert "jobledger_jobs" in call("GET", "/metrics", 200, headers=as_operator)

"""Schemathesis fuzzes every documented operation of a running `jobledger serve` on each backend.

The schema is read from the service's own /openapi.json. Every answer must be documented
(status, content type, headers, body schema); a 5xx, or an error the service logs, fails.
Generation is derandomized (a fixed seed per operation and mode), so a run is repeatable.
"""

import subprocess
import time

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)

from tests.test_cli import CLI, free_port

CHECKS = [
    not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 20  # per operation and mode: the whole run stays under a minute per backend


@pytest.fixture
def running(db_url, tmp_path):
    """A `jobledger serve` process that requires keys, and an admin key for it; fails on any error it logs."""
    admin = subprocess.run(
        [*CLI, "keys", "create", "--role", "admin", "--db", db_url], capture_output=True, text=True, check=True
    ).stdout.strip()
    port, log_path = free_port(), tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*CLI, "serve", "--db", db_url, "--port", str(port), "--auth", "required"], stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, process, log_path)
        yield url, {"Authorization": f"Bearer {admin}"}
    finally:
        process.terminate()
        process.wait(15)
    errors = [line for line in log_path.read_text().splitlines() if '"level":"error"' in line]
    assert not errors, "\n".join(errors)


def _wait(url: str, process: subprocess.Popen, log_path) -> None:
    for _ in range(400):
        assert process.poll() is None, log_path.read_text()
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError(log_path.read_text())


def _short_wait(case):
    """A claim's long poll may wait 60 s for a job; the fuzzer keeps it below a second."""
    if isinstance(case.body, dict) and isinstance(case.body.get("wait_seconds"), int | float):
        case.body["wait_seconds"] = min(case.body["wait_seconds"], 0.2)
    return case


def _fuzz(operation, strategy, url: str, session: requests.Session, headers: dict[str, str]) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=strategy.map(_short_wait))
    def run(case):
        case.call_and_validate(base_url=url, session=session, headers=dict(headers), checks=CHECKS, timeout=10)

    run()


def test_every_operation_answers_as_documented(running):
    url, headers = running
    session = requests.Session()
    created = session.post(f"{url}/jobs", json={"type": "report", "phases": ["research"]}, headers=headers)
    assert created.status_code == 201, created.text
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures, started = [], time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        takes_input = any((operation.path_parameters, operation.query, operation.headers, operation.body))
        modes = GenerationMode if takes_input else [GenerationMode.POSITIVE]  # nothing to make invalid
        strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
        if "{id}" in operation.path:  # also a job that exists, so commands reach the domain
            strategies.append(operation.as_strategy(path_parameters={"id": created.json()["id"]}))
        for strategy in strategies:
            try:
                _fuzz(operation, strategy, url, session, headers)
            except (Exception, FailureGroup) as exc:  # noqa: BLE001 (collect every operation's failures, then fail)
                failures.append(f"{operation.label}: {exc}")
    print(f"schemathesis: {len(list(schema.get_all_operations()))} operations in {time.monotonic() - started:.1f} s")
    assert not failures, "\n\n".join(failures)


def test_a_whole_job_life_answers_as_documented(running):
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
    assert "queues" in call("GET", "/health", 200)
    assert "queues" not in call("GET", "/health", 200, headers={"Authorization": None})
    assert "jobledger_jobs" in call("GET", "/metrics", 200)

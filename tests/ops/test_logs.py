"""Structured logs of a real `jobledger serve` process: JSON lines with request id, job id and
tenant; the console format for people; the level and format settings."""

import asyncio
import os
import subprocess

import aiohttp
import orjson
import pytest

from jobledger.application import signing
from jobledger.web import logs
from tests.live.processes import Service
from tests.test_cli import CLI

BASE_KEYS = {"timestamp", "level", "logger", "message"}


def _env(**settings: str) -> dict[str, str]:
    return {**os.environ, **settings}


async def _served(db: str, log_dir, **settings: str) -> list[str]:
    """Run a service, send it a few requests (see _requests), stop it; its output lines."""
    service = await Service(db, log_dir, env=_env(**settings)).start()
    try:
        await _requests(service.url)
        await _malformed_request(service.port)
    finally:
        await service.stop()
    return service.log_path.read_text().splitlines()


async def _requests(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/jobs", json={"type": "ocr"}, headers={"X-Request-Id": "req-42"}) as resp:
            assert resp.status == 201 and resp.headers["X-Request-Id"] == "req-42"
            job = await resp.json()
        async with session.post(f"{url}/jobs/{job['id']}/start", headers={"X-Request-Id": "no spaces allowed"}) as resp:
            generated = resp.headers["X-Request-Id"]
            assert resp.status == 200 and generated != "no spaces allowed"
        async with session.get(f"{url}/jobs/{job['id']}/events") as resp:
            events = (await resp.json())["events"]
        assert [e["metadata"]["request_id"] for e in events] == ["req-42", generated]  # one id, logs and log alike
        async with session.get(f"{url}/nowhere", headers={"X-Request-Id": "req-404"}) as resp:
            assert resp.status == 404 and resp.headers["X-Request-Id"] == "req-404"


async def _malformed_request(port: int) -> None:
    """aiohttp's own stdlib logger reports a request it cannot parse, at debug level, with a traceback."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert b" 400 Bad Request" in (await reader.read()).split(b"\r\n")[0]
    writer.close()


def _access(lines: list[dict], **fields) -> dict:
    [line] = [e for e in lines if e["logger"] == "jobledger.access" and fields.items() <= e.items()]
    return line


async def test_every_line_is_json_with_request_job_and_tenant(db_url, tmp_path):
    lines = [orjson.loads(line) for line in await _served(db_url, tmp_path)]
    assert all(BASE_KEYS <= set(line) for line in lines), lines
    serving = next(line for line in lines if line["message"] == "serving")
    assert serving["level"] == "info" and serving["db"] == db_url

    created = _access(lines, request_id="req-42")
    assert (created["method"], created["path"], created["status"]) == ("POST", "/jobs", 201)
    assert created["tenant"] == "default"
    started = _access(lines, path=f"/jobs/{created['job_id']}/start")
    assert started["job_id"] == created["job_id"] and started["request_id"] != "no spaces allowed"
    assert started["tenant"] == "default" and started["status"] == 200 and started["duration_ms"] >= 0
    assert "job_id" not in _access(lines, request_id="req-404")
    assert _access(lines, method="UNKNOWN")["status"] == 400  # aiohttp refused it before any middleware
    assert any(line["logger"].startswith("alembic") for line in lines)  # a stdlib logger, rendered alike


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_console_format_is_for_people(db_url, tmp_path):
    lines = await _served(db_url, tmp_path, JOBLEDGER_LOG_FORMAT="console")
    assert lines
    for line in lines:
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(line)
    [created] = [line for line in lines if "request_id=req-42" in line]
    assert "[info" in created and "request" in created and "status=201" in created and "tenant=default" in created


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_level_drops_lines_below_it(db_url, tmp_path):
    key = signing.Signer.generate("logs-test").signer_key()  # without one, a warning says checkpoints can't be verified
    assert await _served(db_url, tmp_path, JOBLEDGER_LOG_LEVEL="warning", JOBLEDGER_SIGNING_KEY=key) == []


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_service_without_a_signing_key_warns_once_that_its_checkpoints_cannot_be_verified(db_url, tmp_path):
    lines = [orjson.loads(line) for line in await _served(db_url, tmp_path, JOBLEDGER_LOG_LEVEL="warning")]
    assert [line["level"] for line in lines] == ["warning"] and "no signing key configured" in lines[0]["message"]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_debug_lines_of_stdlib_loggers_are_json_with_their_traceback(db_url, tmp_path):
    lines = [orjson.loads(line) for line in await _served(db_url, tmp_path, JOBLEDGER_LOG_LEVEL="debug")]
    [refused] = [line for line in lines if line["logger"] == "aiohttp.server"]
    assert refused["level"] == "debug" and "BadHttpMethod" in refused["exception"]


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--log-format", "xml"], {}, "--log-format"),
        (["--log-level", "loud"], {}, "--log-level"),
        ([], {"JOBLEDGER_LOG_FORMAT": "xml"}, "log_format"),
        ([], {"JOBLEDGER_LOG_LEVEL": "loud"}, "log_level"),
    ],
)
def test_a_bad_log_setting_is_refused_by_name(args, env, named, tmp_path):
    result = subprocess.run(
        [*CLI, "serve", "--db", "sqlite:///:memory:", *args], env=_env(**env), cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert named in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://jobledger:s3cr:et@db:5432/jobledger", "postgresql://jobledger:***@db:5432/jobledger"),
        ("postgresql://postgres@127.0.0.1/x", "postgresql://postgres@127.0.0.1/x"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
    ],
)
def test_a_logged_database_url_hides_its_password(url, shown):
    assert logs.redact(url) == shown

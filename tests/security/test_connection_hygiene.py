"""Connection hygiene: a slow body cannot hold a connection, an encoded body is refused, and what a
client does (hang up, send garbage, have its socket refused) is logged and counted as the client's
doing, never as a 500 of ours. Logs and metrics are read from a real `jobledger serve` process."""

import asyncio
import gzip
import os
import time
import zlib

import aiohttp
import orjson
import pytest

from tests.live.processes import Service
from tests.security.conftest import bearer

BODY_TIMEOUT = 0.5  # seconds: small, so that the test is quick
# The tests that read a real process's logs run on SQLite alone: what they check happens at the
# HTTP edge, before any store is reached (and a process takes seconds to start on a busy machine).
EDGE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
MALFORMED = [
    b"GET /health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",  # a space in a header's name
    b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GET /health HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 9000 + b"\r\n\r\n",  # a line too long
    b"POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Encoding: br\r\nContent-Length: 2\r\n\r\n{}",  # unknown to aiohttp
]
REQUESTS = "jobledger_http_request_duration_seconds_count"


@pytest.fixture
async def serving(db_url, tmp_path):
    """serving(**env) -> a running `jobledger serve` on the test database; stopped after the test."""
    started: list[Service] = []

    async def start(**env: str) -> Service:
        env = {**os.environ, "JOBLEDGER_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT), **env}
        started.append(await Service(db_url, tmp_path, env=env).start())
        return started[-1]

    yield start
    for service in started:
        await service.stop()


async def _raw(service: Service, request: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    writer.write(request)
    await writer.drain()
    return reader, writer


def _head(service: Service, length: int, **headers: str) -> bytes:
    lines = ["POST /jobs HTTP/1.1", f"Host: 127.0.0.1:{service.port}", "Content-Type: application/json",
             f"Content-Length: {length}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _metrics(service: Service, **headers: str) -> list[str]:
    async with aiohttp.ClientSession() as session, session.get(f"{service.url}/metrics", headers=headers) as resp:
        assert resp.status == 200
        return [line for line in (await resp.text()).splitlines() if line.startswith(REQUESTS)]


def _log(service: Service) -> list[dict]:
    return [orjson.loads(line) for line in service.log_path.read_text().splitlines()]


def _no_errors_logged(service: Service) -> None:
    errors = [line for line in _log(service) if line["level"] in ("error", "critical") or "exception" in line]
    assert errors == []


async def _logged(service: Service, predicate, count: int = 1) -> list[dict]:
    for _ in range(100):  # the process writes its log line a moment after the client sees the close
        found = [line for line in _log(service) if predicate(line)]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no such line in {service.log_path.read_text()}")


@EDGE_ONLY
async def test_a_slow_body_is_answered_408_and_its_connection_cut_within_the_bound(serving):
    """Defends against a client that never finishes its body holding a connection (and a handler) for minutes."""
    service = await serving()
    started = time.monotonic()
    reader, writer = await _raw(service, _head(service, 100) + b'{"type": "rep')

    answer = await asyncio.wait_for(reader.read(), timeout=10)  # read() returns at EOF: the connection was cut
    elapsed = time.monotonic() - started

    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"code":"request_timeout"' in answer
    assert BODY_TIMEOUT <= elapsed < BODY_TIMEOUT + 3, elapsed


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "GZIP", "identity, gzip"])
async def test_an_encoded_body_is_refused_415_naming_content_encoding(client, encoding):
    """Defends against a 500 on an encoded body, and against a gzip bomb expanding past max_body_bytes."""
    body = orjson.dumps({"type": "report"})
    packed = zlib.compress(body) if encoding == "deflate" else gzip.compress(body)
    resp = await client.post("/jobs", data=packed, headers={"Content-Type": "application/json", "Content-Encoding": encoding})

    error = (await resp.json())["error"]
    assert (resp.status, error["code"]) == (415, "unsupported_media_type")
    assert error["details"]["fields"][0]["field"] == "Content-Encoding" and "Content-Encoding" in error["message"]
    assert (await (await client.get("/jobs")).json())["jobs"] == []


async def test_a_gzip_bomb_is_never_expanded(client):
    """Defends memory: 20 KB that would expand to 20 MB, far past max_body_bytes, is refused unread."""
    bomb = gzip.compress(b"{" + b" " * 20_000_000 + b"}", compresslevel=9)
    resp = await client.post("/jobs", data=bomb, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert resp.status == 415


@EDGE_ONLY
async def test_a_client_hanging_up_mid_body_is_logged_and_counted_499_not_500(serving):
    """Defends the error rate and the error log: anyone, without a key, could make us report 500s."""
    service = await serving()
    _, writer = await _raw(service, _head(service, 100) + b'{"type"')
    await asyncio.sleep(0.1)
    writer.close()

    [line] = await _logged(service, lambda line: "client closed the connection" in line["message"])

    assert line["level"] == "info"
    series = await _metrics(service)
    assert not [s for s in series if 'status="500"' in s], series
    assert [s for s in series if 'route="/jobs"' in s and 'status="499"' in s], series
    _no_errors_logged(service)


@EDGE_ONLY
async def test_a_websocket_refused_after_its_upgrade_is_no_500(serving, make_key):
    """Defends the error rate and the error log against sockets that send a bad key (no key needed to try)."""
    service = await serving(JOBLEDGER_AUTH="required")
    operator = bearer(await make_key("operator"))  # /metrics: figures across tenants
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{service.url}/ws") as ws:
            await ws.send_str('{"type": "auth", "token": "jl_nobody_wrong"}')
            while (await ws.receive(timeout=10)).type == aiohttp.WSMsgType.TEXT:
                pass  # an error message may come first
            assert ws.close_code == 4001
        async with session.ws_connect(f"{service.url}/ws"):
            pass  # hangs up before its auth message

    await _logged(service, lambda line: "refused after the upgrade" in line["message"] and line["level"] == "info")
    assert not [s for s in await _metrics(service, **operator) if 'status="500"' in s]
    _no_errors_logged(service)


@EDGE_ONLY
async def test_requests_aiohttp_cannot_parse_are_info_lines_without_a_traceback(serving):
    """Defends the error log: a malformed request is the client's doing, not our error with a traceback."""
    service = await serving()
    for request_bytes in MALFORMED:
        reader, writer = await _raw(service, request_bytes)
        assert (await asyncio.wait_for(reader.read(), timeout=10)).split(b"\r\n")[0].endswith(b" 400 Bad Request")
        writer.close()

    lines = await _logged(service, lambda line: line["logger"] == "aiohttp.server", count=len(MALFORMED))

    assert all(line["level"] == "info" and "malformed request" in line["message"] for line in lines), lines
    assert not [line for line in lines if "exception" in line]
    _no_errors_logged(service)

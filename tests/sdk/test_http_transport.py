"""The HTTP transport's own HTTP/1.1: connections kept and limited, answers however they are
framed, and every way a call can go wrong an Unavailable (or the service's error), against
real sockets: aiohttp servers, and plain TCP servers that answer bytes written out here."""

import asyncio
import contextlib

import orjson
import pytest
from aiohttp import web

from jobledger._http import HttpTransport
from jobledger._transport import LeaseLost, ServiceError, Unavailable

DOC = {"id": "j1", "status": "running"}
JOB = "0b6c3f1e-1111-4222-8333-444455556666"


@contextlib.asynccontextmanager
async def transport(url: str, **options):
    http = HttpTransport(url, worker_id="w1", **options)
    await http.open()
    try:
        yield http
    finally:
        await http.close()


@contextlib.asynccontextmanager
async def bytes_service(answer: bytes, *, then_close: bool = False):
    """A TCP server answering each request (head and Content-Length body read) with `answer`."""
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                seen.append(head + await reader.readexactly(length))
                writer.write(answer)
                await writer.drain()
                if then_close:
                    break
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        server.close()


def answer(body: bytes, *fields: str, status: str = "200 OK") -> bytes:
    head = "".join(f"{field}\r\n" for field in fields)
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


async def app_service(aiohttp_server, handler, **options):
    """An aiohttp server answering every POST with `handler`; counts the connections it saw."""
    peers: set = set()

    async def counted(request: web.Request) -> web.StreamResponse:
        peers.add(request.transport.get_extra_info("peername"))
        return await handler(request)

    app = web.Application()
    app.router.add_post("/{tail:.*}", counted)
    server = await aiohttp_server(app, **options)
    return str(server.make_url("")).rstrip("/"), peers


async def document(_request: web.Request) -> web.Response:
    return web.json_response(DOC)


async def test_a_request_is_one_post_with_the_workers_headers(aiohttp_server):
    requests = []

    async def record(request: web.Request) -> web.Response:
        requests.append((request.method, request.path, dict(request.headers), await request.json()))
        return web.json_response(DOC)

    url, _ = await app_service(aiohttp_server, record)
    async with transport(url, api_key="jl_k_secret") as http:
        answer_ = await http.progress(JOB, "tok", 50, "half way", {"n": 1})
    assert answer_.document == DOC and answer_.status == "running"
    [(method, path, headers, body)] = requests
    assert (method, path) == ("POST", f"/jobs/{JOB}/progress")
    assert headers["X-Actor"] == "worker:w1" and headers["Authorization"] == "Bearer jl_k_secret"
    assert headers["Content-Type"] == "application/json" and headers["Host"] == url.removeprefix("http://")
    assert body == {"percent": 50, "message": "half way", "details": {"n": 1}, "lease_token": "tok"}


async def test_calls_in_turn_share_one_connection(aiohttp_server):
    url, peers = await app_service(aiohttp_server, document)
    async with transport(url) as http:
        for _ in range(5):
            await http.complete(JOB, "tok", None)
    assert len(peers) == 1


async def test_no_more_connections_at_once_than_allowed(aiohttp_server):
    in_flight, most = 0, 0

    async def slow(_request: web.Request) -> web.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return web.json_response(DOC)

    url, peers = await app_service(aiohttp_server, slow)
    async with transport(url, connections=2) as http:
        await asyncio.gather(*(http.complete(JOB, "tok", None) for _ in range(10)))
    assert most == 2 and len(peers) == 2


async def test_a_connection_the_service_closed_while_idle_is_not_reused(aiohttp_server):
    url, peers = await app_service(aiohttp_server, document, keepalive_timeout=0.1)
    async with transport(url) as http:
        await http.complete(JOB, "tok", None)
        await asyncio.sleep(0.5)  # the service closes the idle connection
        assert (await http.complete(JOB, "tok", None)).document == DOC
    assert len(peers) == 2


async def test_a_chunked_answer(aiohttp_server):
    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        raw = orjson.dumps(DOC)
        await response.write(raw[:5])
        await response.write(raw[5:])
        await response.write_eof()
        return response

    url, peers = await app_service(aiohttp_server, chunked)
    async with transport(url) as http:
        assert (await http.complete(JOB, "tok", None)).document == DOC
        assert (await http.complete(JOB, "tok", None)).document == DOC
    assert len(peers) == 1


@pytest.mark.parametrize(
    "raw",
    [
        answer(b"", "Transfer-Encoding: chunked") + b"4;ext=1\r\n" + orjson.dumps(DOC)[:4] + b"\r\n"
        + f"{len(orjson.dumps(DOC)) - 4:x}\r\n".encode() + orjson.dumps(DOC)[4:] + b"\r\n0\r\nX-Trailer: t\r\n\r\n",
        answer(b"", status="100 Continue") + answer(orjson.dumps(DOC), f"Content-Length: {len(orjson.dumps(DOC))}"),
        answer(orjson.dumps(DOC), f"content-length: {len(orjson.dumps(DOC))}", "Connection: keep-alive"),
    ],
    ids=["chunks with an extension and a trailer", "after 100 Continue", "lower-case field names"],
)
async def test_answers_framed_each_way_keep_the_connection(raw):
    async with bytes_service(raw) as (url, seen), transport(url) as http:
        for _ in range(2):
            assert (await http.complete(JOB, "tok", None)).document == DOC
    assert len(seen) == 2


async def test_an_answer_that_ends_with_its_connection():
    async with bytes_service(answer(orjson.dumps(DOC), "Connection: close"), then_close=True) as (url, seen):
        async with transport(url) as http:
            for _ in range(2):  # a new connection for the second
                assert (await http.complete(JOB, "tok", None)).document == DOC
    assert len(seen) == 2


async def test_the_services_errors_keep_their_codes(aiohttp_server):
    async def refuse(request: web.Request) -> web.Response:
        code = "lease_lost" if "complete" in request.path else "invalid_request"
        return web.json_response({"error": {"code": code, "message": "no", "details": {"k": 1}}}, status=409)

    url, _ = await app_service(aiohttp_server, refuse)
    async with transport(url) as http:
        with pytest.raises(LeaseLost):
            await http.complete(JOB, "tok", None)
        with pytest.raises(ServiceError) as refused:
            await http.fail(JOB, "tok", "e", False)
    assert (refused.value.code, refused.value.message, refused.value.details) == ("invalid_request", "no", {"k": 1})


@pytest.mark.parametrize(
    "raw",
    [
        answer(b'{"error": {"code": "x"}}', "Content-Length: 24", status="503 Service Unavailable"),
        answer(b"<html>", "Content-Length: 6", status="502 Bad Gateway"),
        b"SSH-2.0-OpenSSH\r\n\r\n",
        answer(b"{}", "Content-Length: 99"),  # the connection ends first (then_close)
        answer(b"{}", "Content-Length: 2") + b"extra",
        answer(b"", "Transfer-Encoding: chunked") + b"zz\r\n",
    ],
    ids=["503", "502 not JSON", "not HTTP", "cut short", "bytes past the answer", "bad chunk size"],
)
async def test_anything_but_an_answer_or_an_error_is_unavailable(raw):
    async with bytes_service(raw, then_close=True) as (url, _), transport(url) as http:
        with pytest.raises(Unavailable):
            await http.complete(JOB, "tok", None)


async def test_no_service_is_unavailable():
    async with bytes_service(b"") as (url, _):
        pass  # closed: nothing listens there now
    async with transport(url) as http:
        with pytest.raises(Unavailable):
            await http.complete(JOB, "tok", None)


async def test_a_call_past_its_timeout_is_unavailable_and_its_late_answer_is_not_taken_for_the_next(aiohttp_server):
    calls = 0

    async def first_slow(_request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.5)
        return web.json_response({"call": calls})

    url, peers = await app_service(aiohttp_server, first_slow)
    async with transport(url) as http:
        with pytest.raises(Unavailable, match="TimeoutError"):
            await http._post("/workers/claim", {}, timeout=0.1)
        assert await http._post("/workers/claim", {}) == {"call": 2}
    assert len(peers) == 2


async def test_a_cancelled_call_leaves_no_answer_behind(aiohttp_server):
    calls = 0

    async def numbered(_request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2 if calls == 1 else 0)
        return web.json_response({"call": calls})

    url, _ = await app_service(aiohttp_server, numbered)
    async with transport(url) as http:
        call = asyncio.create_task(http._post("/workers/claim", {}))
        await asyncio.sleep(0.05)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await http._post("/workers/claim", {}) == {"call": 2}


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("http://127.0.0.1:8080/prefix", {}),
        ("ftp://127.0.0.1:8080", {}),
        ("http://127.0.0.1:8080", {"api_key": "jl_x\r\nX-Evil: 1"}),
    ],
)
async def test_a_url_or_header_it_cannot_send_is_refused_at_open(url, options):
    http = HttpTransport(url, worker_id="w1", **options)
    with pytest.raises(ValueError):
        await http.open()

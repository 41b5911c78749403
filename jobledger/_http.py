"""The worker protocol over HTTP: what a worker in any language does (see README, Workers).

Every call is one small JSON POST, so the transport speaks just that much HTTP/1.1 itself,
on asyncio's transports: kept-alive connections (at most `connections` at once, one call
on each at a time), a total timeout per call, answers framed by Content-Length, by chunks
or by the connection's end. aiohttp's ClientSession, made for every use (cookies,
redirects, proxies, tracing, URL joining, header merging), took 2.7 times the instructions
a call (472,000 against 173,000, counted by callgrind), and as much more CPU.
"""

import asyncio
import base64
import ssl
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import orjson

from jobledger._transport import Claimed, DocumentAnswer, ServiceError, Unavailable, service_error

_CALL_TIMEOUT = 30.0  # seconds for one call; a claim adds its long-poll wait
_MAX_HEAD = 64 * 1024  # bytes of an answer's status line and header fields
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"  # what a path keeps as is (RFC 3986); quote() encodes the rest


class HttpTransport:
    def __init__(self, url: str, *, worker_id: str, connections: int = 100, api_key: str | None = None):
        self.url = url.rstrip("/")
        self._headers = {"Content-Type": "application/json", "X-Actor": f"worker:{worker_id}"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._connections = connections
        self._pool: _Pool | None = None

    async def open(self) -> None:
        self._pool = _Pool(self.url, self._headers, self._connections)

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    async def _post(self, path: str, body: dict[str, Any], timeout: float = _CALL_TIMEOUT) -> Any:
        try:
            data = orjson.dumps(body)
        except TypeError as exc:
            raise ServiceError("invalid_request", f"not JSON: {exc}") from None
        try:
            status, raw = await self._pool.post(path, data, timeout)
        except (OSError, TimeoutError) as exc:  # ConnectionError (BadAnswer too) is an OSError
            raise Unavailable("unavailable", f"{type(exc).__name__}: {exc}") from exc
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError:
            answer = None
        if status < 300 and answer is not None:
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if status >= 500 or not isinstance(error, dict):
            raise Unavailable("unavailable", f"HTTP {status} from POST {path}")
        raise service_error(error.get("code", "error"), error.get("message", ""), error.get("details"))

    async def _report(self, job_id: str, action: str, token: str, body: dict[str, Any]) -> DocumentAnswer:
        return DocumentAnswer(await self._post(f"/jobs/{job_id}/{action}", {**body, "lease_token": token}))

    async def claim(self, worker_id, types, limit, lease_seconds, wait_seconds, stop) -> list[Claimed]:
        # Not cut short on `stop`: the service may claim jobs for a poll the worker walked away from.
        body = {"worker_id": worker_id, "types": types, "limit": limit, "wait_seconds": wait_seconds}
        if lease_seconds is not None:
            body["lease_seconds"] = lease_seconds
        answer = await self._post("/workers/claim", body, timeout=wait_seconds + _CALL_TIMEOUT)
        return [Claimed(doc, doc.pop("lease_token")) for doc in answer["jobs"]]

    async def heartbeat(self, job_id, token, lease_seconds):
        return await self._report(job_id, "heartbeat", token, {"lease_seconds": lease_seconds})

    async def progress(self, job_id, token, percent, message, details):
        return await self._report(
            job_id, "progress", token, {"percent": percent, "message": message, "details": details}
        )

    async def start_phase(self, job_id, token, phase):
        return await self._report(job_id, _phase(phase, "start"), token, {})

    async def complete_phase(self, job_id, token, phase, result, confidence):
        return await self._report(
            job_id, _phase(phase, "complete"), token, {"result": result, "confidence": confidence}
        )

    async def fail_phase(self, job_id, token, phase, error):
        return await self._report(job_id, _phase(phase, "fail"), token, {"error": error})

    async def add_artifact(self, job_id, token, name, data, content_type):
        body = {"name": name, "content_type": content_type, "data": data}
        return await self._report(job_id, "artifacts", token, body)

    async def complete(self, job_id, token, result):
        return await self._report(job_id, "complete", token, {"result": result})

    async def fail(self, job_id, token, error, retryable):
        return await self._report(job_id, "fail", token, {"error": error, "retryable": retryable})

    async def release(self, job_id, token, reason):
        return await self._report(job_id, "release", token, {"reason": reason})


def _phase(name: str, action: str) -> str:
    return f"phases/{quote(name, safe='')}/{action}"


class BadAnswer(ConnectionError):
    """The service's answer was not HTTP/1.x this client reads, or the connection ended before it did."""


class _Pool:
    """Kept-alive connections to the service: at most `limit` at once, one call on each at a time."""

    def __init__(self, url: str, headers: dict[str, str], limit: int):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the service URL must be http:// or https:// and name a host, not {url!r}")
        if parts.path or parts.query or parts.fragment:
            raise ValueError(f"the service URL takes no path or query, only scheme, host and port: {url!r}")
        self._address = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        self._ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self._head = _head_fields(parts, headers)
        self._slots = asyncio.Semaphore(limit)
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()

    async def post(self, path: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        """POST `body` (JSON) to `path`; the answer's status and body. Raises OSError or TimeoutError."""
        request = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
            quote(path, safe=_PATH_SAFE).encode(), self._head, len(body), body,
        )
        async with asyncio.timeout(timeout), self._slots:
            connection = await self._connection()
            try:
                answer = await connection.exchange(request)
            except BaseException:  # a timeout or cancellation too: an answer may still come on it
                connection.close()
                raise
            if connection.reusable:
                self._idle.append(connection)
            else:
                connection.close()
            return answer

    async def _connection(self) -> "_Connection":
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable:  # else the service closed it while it was idle
                return connection
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(lambda: _Connection(self._open), *self._address, ssl=self._ssl)
        return connection

    def close(self) -> None:
        for connection in list(self._open):
            connection.close()
        self._idle.clear()


def _head_fields(parts, headers: dict[str, str]) -> bytes:
    """The header fields of every request, as sent (Host, ours, no compression asked for)."""
    fields = {"Host": parts.netloc.rpartition("@")[2], **headers, "Accept": "application/json"}
    fields["Accept-Encoding"] = "identity"
    if parts.username is not None and "Authorization" not in fields:  # http://user:password@host
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        fields["Authorization"] = f"Basic {base64.b64encode(credentials).decode()}"
    if any(c in text for text in fields.values() for c in "\r\n"):
        raise ValueError("a header value (worker id, API key) must not contain line breaks")
    return "".join(f"{name}: {value}\r\n" for name, value in fields.items()).encode()


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: sends a request, reads its answer as the bytes come."""

    def __init__(self, open_connections: set["_Connection"]):
        self._open = open_connections
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future | None = None
        self._buffer = bytearray()
        self._head: _Head | None = None  # the answer's, once its header fields are in
        self.reusable = False  # connected, and no answer outstanding or half read

    def connection_made(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._open.add(self)
        self.reusable = True

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.reusable = False
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._answer

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._answer is None or self._answer.done():
            self._fail(BadAnswer("bytes the service sent unasked"))
            return
        try:
            answer = self._read()
        except ValueError as exc:
            self._fail(BadAnswer(f"not an HTTP answer: {exc}"))
            return
        if answer is not None:
            self._answer.set_result(answer)

    def eof_received(self) -> None:
        self.reusable = False
        head = self._head
        if head is not None and head.until_closed and self._answer is not None and not self._answer.done():
            self._answer.set_result((head.status, bytes(self._buffer[head.size :])))
        # returning None closes the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._open.discard(self)
        self._fail(exc or BadAnswer("the service closed the connection before it answered"))

    def close(self) -> None:
        self.reusable = False
        if self._transport is not None:
            self._transport.abort()

    def _fail(self, exc: Exception) -> None:
        self.close()
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)

    def _read(self) -> tuple[int, bytes] | None:
        """The whole answer (status, body) once its last byte is in, else None."""
        if self._head is None:
            self._head = _Head.parse(self._buffer)
            if self._head is None:
                return None
            if self._head.interim:  # 100 Continue, 103 Early Hints: the answer follows
                del self._buffer[: self._head.size]
                self._head = None
                return self._read()
        head = self._head
        framed = _dechunk(self._buffer, head.size) if head.chunked else head.body(self._buffer)
        if framed is None:
            return None
        body, end = framed
        if end != len(self._buffer):
            raise ValueError("bytes past the end of the answer")
        self._buffer.clear()
        self._head = None
        self.reusable = head.keep_alive
        return head.status, body


class _Head:
    """An answer's status line and the header fields that frame its body."""

    __slots__ = ("status", "size", "length", "chunked", "keep_alive")

    def __init__(self, status: int, size: int, fields: dict[str, str], http11: bool):
        self.status = status
        self.size = size  # bytes of the head, the blank line included
        self.chunked = "chunked" in fields.get("transfer-encoding", "").lower()
        no_body = self.interim or status in (204, 304)
        self.length = 0 if no_body else None if self.chunked else _length(fields.get("content-length"))
        connection = fields.get("connection", "").lower()
        persistent = "close" not in connection if http11 else "keep-alive" in connection
        self.keep_alive = persistent and not self.until_closed

    @classmethod
    def parse(cls, buffer: bytearray) -> "_Head | None":
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > _MAX_HEAD:
                raise ValueError(f"no end to its header fields in {_MAX_HEAD} bytes")
            return None
        status_line, *lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise ValueError(f"status line {status_line[:100]!r}")
        fields: dict[str, str] = {}
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon:
                raise ValueError(f"header line {line[:100]!r}")
            name, value = name.strip().lower(), value.strip()
            fields[name] = f"{fields[name]}, {value}" if name in fields else value
        return cls(int(rest[:3]), end + 4, fields, version == "HTTP/1.1")

    @property
    def interim(self) -> bool:
        return 100 <= self.status < 200

    @property
    def until_closed(self) -> bool:
        """The body is whatever comes until the service closes the connection (no length, no chunks)."""
        return self.length is None and not self.chunked

    def body(self, buffer: bytearray) -> tuple[bytes, int] | None:
        if self.length is None or len(buffer) < self.size + self.length:
            return None
        end = self.size + self.length
        return bytes(buffer[self.size : end]), end


def _length(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise ValueError(f"Content-Length {value[:50]!r}")
    return int(value)


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """A chunked body from `start`, and where it ends; None until its last chunk and trailer are in."""
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", start)
        if line_end < 0:
            return None
        size_text = bytes(buffer[start:line_end]).split(b";", 1)[0].strip()
        if not size_text or size_text.strip(b"0123456789abcdefABCDEF"):
            raise ValueError(f"chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:  # the last chunk: then trailer fields, if any, and a blank line
            end = buffer.find(b"\r\n\r\n", line_end)
            return (bytes(body), end + 4) if end >= 0 else None
        data_start = line_end + 2
        if len(buffer) < data_start + size + 2:
            return None
        body += buffer[data_start : data_start + size]
        start = data_start + size + 2

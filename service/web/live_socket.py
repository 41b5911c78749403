"""One live socket: what it listens to, and its bounded send buffer (its hub is jobledger.web.live).

A socket is sent frames that the hub serialised and framed once for every socket; it writes them
straight to its transport, whose unsent bytes are its send buffer, and is closed with 4008
"lagging" rather than let one slow peer hold the hub back.
"""

import asyncio
import contextlib
import struct
from typing import Any, Protocol
from uuid import UUID

import orjson
from aiohttp import WSCloseCode, web

from jobledger.application.jobs import Scope
from jobledger.domain import errors
from jobledger.eventlog import metadata



class Hub(Protocol):
    """What a socket asks of its hub (jobledger.web.live.Hub)."""

    settings: Any  # LiveSettings: send_buffer_bytes, close_timeout

    def unwatch(self, listener: "Listener") -> None: ...

    def spawn(self, coro) -> None: ...

LAGGING = 4008  #: close code: the listener fell behind its send buffer; reconnect with `after`
REVOKED = 4001  #: close code: the socket's API key was revoked (as an unknown key is refused: 401)


class KeyRevoked(errors.JobServiceError):
    """This API key was revoked."""

    code = "unauthorized"  # what the same key is answered over HTTP from now on


class TokenExpired(errors.JobServiceError):
    """This socket's JWT has expired; connect again with a fresh one."""

    code = "unauthorized"  # what the same token is answered over HTTP from now on


class TooManySubscriptions(errors.JobServiceError):
    """This socket follows as many jobs and job types as it may; unsubscribe some first."""

    code = "too_many_subscriptions"


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked, uncompressed text frame (RFC 6455, 5.2): identical for every socket."""
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + payload
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class Listener:
    """One socket: what it listens to, and its bounded send buffer.

    Live frames go straight to the socket's transport, whose unsent bytes are the send
    buffer. While a subscription replays the log, live frames wait in `pending`, which
    counts towards the same bound.
    """

    __slots__ = (
        "__weakref__",
        "_buffering",
        "_floor",
        "_pending",
        "_pending_bytes",
        "_transport",
        "all_from",
        "at_terminal",
        "close_on_terminal",
        "closing",
        "hub",
        "jobs",
        "last_position",
        "metadata",
        "scope",
        "types",
        "ws",
    )

    def __init__(
        self, hub: "Hub", ws: web.WebSocketResponse, transport: asyncio.Transport | None, scope: Scope,
        close_on_terminal: bool,
    ):
        self.hub = hub
        self.ws = ws
        self.scope = scope  # the socket is sent only jobs this sees
        self.jobs: dict[UUID, int] = {}  # job id -> position from which its events were all sent
        self.types: dict[str, int] = {}
        self.metadata: dict[metadata.Pairs, int] = {}  # metadata filter -> position from which its events were all sent
        self.all_from: int | None = None
        self.close_on_terminal = close_on_terminal
        self.closing = False
        self.last_position = 0
        self.at_terminal = False
        self._floor = 0  # events up to here were sent (or covered by the first message): skip them
        self._transport = transport
        self._pending: list[tuple[int, bytes, bool]] = []  # a list: an empty deque costs 600 bytes a socket
        self._pending_bytes = 0
        self._buffering = False

    def buffer(self) -> None:
        """Hold live frames back until `go_live` (a subscription is replaying the log)."""
        self._buffering = True

    def go_live(self, sent_up_to: int) -> None:
        """Send the held-back frames past `sent_up_to`, then live frames past it as they come."""
        self._floor = max(self._floor, sent_up_to)
        pending, self._pending, self._pending_bytes, self._buffering = self._pending, [], 0, False
        self.deliver(pending)
        self._end_if_finished()

    def deliver(self, items: list[tuple[int, bytes, bool]]) -> None:
        """Send events' frames (position, frame, terminal) in one write, or hold them back while replaying.

        Never waits. One write per socket per batch of events: the system call, not the
        serialisation, is what a fan-out to many sockets spends its time on.
        """
        if self.closing:
            return
        if self._buffering:
            self._pending.extend(items)
            self._pending_bytes += sum(len(frame) for _, frame, _ in items)
            if self._pending_bytes > self.hub.settings.send_buffer_bytes:
                self.close(LAGGING, "lagging")
            return
        frames, last = [], None
        for item in items:
            if item[0] > self._floor:
                frames.append(item[1])
                last = item
                if item[2] and self.close_on_terminal:
                    break
        if last is not None and self.write(frames[0] if len(frames) == 1 else b"".join(frames)):
            self._floor = last[0]
            self.note(last[0], last[2])
            self._end_if_finished()

    def write(self, frame: bytes) -> bool:
        """Write a frame now, unless the unsent bytes would pass the bound (then close 4008)."""
        if self.closing or self.ws.closed or self._transport is None or self._transport.is_closing():
            return False
        unsent = self._transport.get_write_buffer_size()
        if unsent and unsent + len(frame) > self.hub.settings.send_buffer_bytes:
            self.close(LAGGING, "lagging")
            return False
        self._transport.write(frame)
        return True

    def note(self, position: int, terminal: bool) -> None:
        """Record what was sent: whether the newest of it left the job finished."""
        if position >= self.last_position:
            self.last_position, self.at_terminal = position, terminal

    def _end_if_finished(self) -> None:
        if self.at_terminal and self.close_on_terminal:  # a per-job socket ends after a terminal event
            self.close(WSCloseCode.OK, "")

    def revoke(self, reason: errors.JobServiceError | None = None) -> None:
        """The socket's key was revoked, or its token expired: say so, then close (4001)."""
        reason = reason or KeyRevoked()
        self.write(text_frame(orjson.dumps({"type": "error", "error": reason.as_json()})))
        self.close(REVOKED, reason.message)

    def close(self, code: int, reason: str) -> None:
        """Stop sending and close the socket in the background (a slow peer must not block the hub)."""
        if self.closing:
            return
        self.closing = True
        self.hub.unwatch(self)
        self.hub.spawn(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(self.hub.settings.close_timeout):  # not wait_for: it can swallow a cancel on 3.11
                await self.ws.close(code=code, message=reason.encode(), drain=False)
        if self._transport is not None:  # closing flushes what is buffered; a peer that never reads is dropped
            asyncio.get_running_loop().call_later(self.hub.settings.close_timeout, _abort_if_stuck, self._transport)


def _abort_if_stuck(transport: asyncio.Transport) -> None:
    if transport.get_write_buffer_size():
        transport.abort()

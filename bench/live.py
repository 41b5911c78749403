"""Live updates on PostgreSQL: latency from commit to receipt, delivery rate, misses and memory.

    python bench/live.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--seconds 20] [--rate 500]
                         [--jobs 1000] [--all 100] [--metadata 0] [--idle 10000] [--via http|store]

Each part runs in its own process (the listeners never share one with the service):

1. baseline, the machine's own limit: a bare aiohttp server pushes one pre-serialized
   message (`--message-bytes`, carrying its send time) to `--all` sockets, `--rate` times a
   second for `--seconds`; the listeners' process measures send -> receipt.
2. appends without listeners: `--rate` progress events/s for `--quiet` seconds into a
   `jobledger serve` process on a scratch database, round robin over `--jobs` running jobs.
3. the live run: the listeners' process connects one /jobs/{id}/ws per job and `--all`
   /ws sockets subscribed to all jobs, then `--rate` events/s are appended for `--seconds`.
   With `--metadata N`, N more /ws sockets each subscribe to one user's jobs by metadata
   (`{"user_id": "u<k>"}`, the jobs created with those user ids round robin), checked and timed
   apart (issue 25's target: p99 <= 25 ms with 1,000 of them, nothing missed).
   Each receipt is timed against the event's `recorded_at` (taken by the service just
   before the append's transaction, so it includes the commit) and against the moment the
   appender got its acknowledgement. Every socket's events are checked against the log:
   missed, duplicated, extra, out of order.
4. idle sockets: `--idle` per-job sockets (spread over the jobs) on a fresh instance: its
   resident memory; then `--quiet` seconds of appends with them connected.

Throughout: the append latency the appender sees, the service's resident memory
(/proc), and the CPU each process used (and the whole machine, other users included).
The listeners use a lean RFC 6455 client that parses frames as they arrive, so that their
process measures the service rather than itself. `--via http` (default) appends through
the service's HTTP API; `--via store` appends through the benchmark's own store, as a
second instance would (the service then learns of each commit by LISTEN/NOTIFY). Needs a
local PostgreSQL and a role that can create databases; the scratch database is dropped at
the end. Exit status 1 if any event was missed, duplicated, extra or out of order; a
missed latency or memory target is reported, not an error.
"""

import argparse
import asyncio
import base64
import contextlib
import os
import resource
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import asyncpg
import orjson
from aiohttp import web

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
TARGET_P99_MS = 25.0
TARGET_IDLE_MB = 300.0
RAISE_NOFILE = "import resource as r; s, h = r.getrlimit(r.RLIMIT_NOFILE); r.setrlimit(r.RLIMIT_NOFILE, (h, h)); "


def raise_nofile() -> int:
    """Raise the open-file limit to the hard limit (each socket is a file descriptor)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory (now and peak) of a process, in MB."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, stolen) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    ticks = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / ticks, steal / ticks


def postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError):
            if entry.isdigit() and Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                pids.append(int(entry))
    return pids


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


class CpuMeter:
    """CPU used by some processes, and by the whole machine, between start() and stop()."""

    def __init__(self, pids: dict[str, int]):
        self.pids = {name: [pid] for name, pid in pids.items()}

    def start(self) -> None:
        self.pids["postgres (all)"] = postgres_pids()
        self._start = {name: _cpu(pids) for name, pids in self.pids.items()}
        self._machine, self._wall = machine_busy(), time.monotonic()

    def stop(self) -> dict[str, float]:
        """Cores used on average: per process, and by the machine (all processes, other users' included)."""
        wall = time.monotonic() - self._wall
        used = {name: (_cpu(pids) - self._start[name]) / wall for name, pids in self.pids.items()}
        busy, stolen = machine_busy()
        used["machine"] = (busy - self._machine[0]) / wall
        used["stolen by the host"] = (stolen - self._machine[1]) / wall
        return used


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def ms(values: list[float]) -> str:
    return f"p50 {percentile(values, 50) * 1000:7.2f} ms   p99 {percentile(values, 99) * 1000:7.2f} ms   max {max(values, default=0) * 1000:7.1f} ms"


# ---------------------------------------------------------------- child processes


class Child:
    """A child process driven by lines on stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process, name: str):
        self.process, self.name = process, name

    @classmethod
    async def start(cls, name: str, *args: str, **kwargs) -> "Child":
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, **kwargs
        )
        return cls(process, name)

    async def ask(self, line: str, timeout: float = 600) -> dict:
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        return await self.answer(timeout)

    async def answer(self, timeout: float = 600) -> dict:
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            raise RuntimeError(f"{self.name} exited ({await self.process.wait()})")
        return orjson.loads(raw)

    async def stop(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), 2)
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_service(db: str, port: int) -> asyncio.subprocess.Process:
    env = {**os.environ, "JOBLEDGER_LOG_LEVEL": "WARNING"}
    code = RAISE_NOFILE + "from jobledger.cli.commands import main; main()"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, "serve", "--db", db, "--port", str(port), env=env,
        stdout=asyncio.subprocess.DEVNULL, cwd=str(Path(__file__).resolve().parents[1]),
    )
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if process.returncode is not None:
                raise RuntimeError("the service exited")
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.get(f"http://127.0.0.1:{port}/health") as resp:
                    if resp.status == 200:
                        return process
            await asyncio.sleep(0.05)
    raise RuntimeError("the service never answered")


# ---------------------------------------------------------------- role: bare aiohttp server (baseline)


def bare_server(port: int) -> None:
    """A bare aiohttp server: sockets register on /ws; GET /push?rate&seconds&size pushes to all."""
    raise_nofile()
    sockets: set[web.WebSocketResponse] = set()

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        sockets.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            sockets.discard(ws)
        return ws

    async def push(request: web.Request) -> web.Response:
        rate, seconds, size = (float(request.query[k]) for k in ("rate", "seconds", "size"))
        pad = "x" * int(size)
        start, sent, late = time.monotonic(), 0, 0
        while sent < rate * seconds:
            due = start + sent / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.005:
                late += 1
            message = orjson.dumps({"t": time.time(), "pad": pad})  # serialized once, sent to every socket
            for ws in list(sockets):
                await ws.send_frame(message, aiohttp.WSMsgType.TEXT)
            sent += 1
        return web.json_response({"sent": sent, "sockets": len(sockets), "late_ticks": late})

    app = web.Application()
    app.router.add_get("/ws", ws_handler)
    app.router.add_get("/push", push)
    web.run_app(app, host="127.0.0.1", port=port, print=None, backlog=4096)


# ---------------------------------------------------------------- role: listeners


class RawSocket(asyncio.Protocol):
    """A lean WebSocket client (RFC 6455): frames are parsed as they arrive and recorded at once,
    with no task switch per message, so that the listeners' process measures the service, not itself."""

    def __init__(self, owner: "Listeners", path: str, host: str):
        self.owner, self.path, self.host = owner, path, host
        self.positions: list[int] = []
        self.times: list[float] = []
        self.buffer = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.first = asyncio.get_running_loop().create_future()  # the first text message
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.close_code: int | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def send_text(self, text: str) -> None:
        """A masked text frame, as a client must send."""
        payload, mask = text.encode(), os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        size = len(payload)
        header = struct.pack("!BB", 0x81, 0x80 | size) if size < 126 else struct.pack("!BBH", 0x81, 0xFE, size)
        self.transport.write(header + mask + masked)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buffer += data
        if not self.upgraded.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:end]).split(b"\r\n")[0]
            del self.buffer[: end + 4]
            if b" 101 " not in status:
                self.upgraded.set_exception(RuntimeError(status.decode()))
                return
            self.upgraded.set_result(True)
        self._frames(now)

    def _frames(self, now: float) -> None:
        buffer, at = self.buffer, 0
        while len(buffer) - at >= 2:
            opcode, size = buffer[at] & 0x0F, buffer[at + 1] & 0x7F
            head = 2
            if size == 126:
                if len(buffer) - at < 4:
                    break
                size, head = struct.unpack_from("!H", buffer, at + 2)[0], 4
            elif size == 127:
                if len(buffer) - at < 10:
                    break
                size, head = struct.unpack_from("!Q", buffer, at + 2)[0], 10
            if len(buffer) - at < head + size:
                break
            payload = bytes(buffer[at + head : at + head + size])
            at += head + size
            self._message(opcode, payload, now)
        del buffer[:at]

    def _message(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == 0x8:  # close
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.transport.close()
            return
        if opcode == 0x9:  # ping: answer with a masked pong
            self.transport.write(struct.pack("!BB", 0x8A, 0x80 | len(payload)) + b"\0\0\0\0" + payload)
            return
        if opcode != 0x1:
            return
        self.owner.received += 1
        self.owner.sizes += len(payload)
        if payload.startswith(b'{"t":'):  # the bare baseline carries its send time
            self.owner.latencies.append(now - float(payload[5 : payload.index(b",")]))
        elif payload.startswith(b'{"type":"event"'):
            at = payload.find(b'"position":')  # cheaper than parsing the whole message
            self.positions.append(int(payload[at + 11 : payload.index(b",", at)]))
            self.times.append(now)
        if not self.first.done():
            self.first.set_result(payload)

    def connection_lost(self, exc) -> None:
        if not self.closed.done():
            self.closed.set_result(self.close_code)


class Listeners:
    """WebSocket listeners in their own process; commands on stdin, JSON answers on stdout."""

    def __init__(self) -> None:
        self.sockets: list[RawSocket] = []
        self.per_job: dict[str, RawSocket] = {}
        self.per_user: dict[str, list[RawSocket]] = {}  # --metadata: the sockets following a user's jobs
        self.everything: list[RawSocket] = []
        self.latencies: list[float] = []
        self.received = 0
        self.sizes = 0

    @property
    def closes(self) -> dict[str, int]:
        codes: dict[str, int] = {}
        for sock in self.sockets:
            if sock.closed.done():
                codes[str(sock.closed.result())] = codes.get(str(sock.closed.result()), 0) + 1
        return codes

    async def connect(self, sockets: list[tuple[str, str]], concurrency: int = 200) -> float:
        """Open one socket per (url, kind): "job" (a per-job socket), "all" (subscribes to all), "bare"."""
        loop, gate, started = asyncio.get_running_loop(), asyncio.Semaphore(concurrency), time.monotonic()

        async def one(url: str, kind: str) -> RawSocket:
            parts = urlsplit(url)
            async with gate:
                _, sock = await loop.create_connection(
                    lambda: RawSocket(self, parts.path, parts.netloc), parts.hostname, parts.port
                )
                await sock.upgraded
                if kind == "all":
                    sock.send_text('{"type": "subscribe", "all": true}')
                elif kind.startswith("user:"):  # the jobs whose metadata.user_id is this user
                    sock.send_text(orjson.dumps({"type": "subscribe", "metadata": {"user_id": kind[5:]}}).decode())
                if kind in ("all", "job") or kind.startswith("user:"):
                    await sock.first  # the acknowledgement, or the job document
            return sock

        opened = await asyncio.gather(*(one(url, kind) for url, kind in sockets))
        for (url, kind), sock in zip(sockets, opened, strict=True):
            self.sockets.append(sock)
            if kind == "job":
                self.per_job[url.split("/jobs/")[1].split("/")[0]] = sock
            elif kind.startswith("user:"):
                self.per_user.setdefault(kind[5:], []).append(sock)
            else:
                self.everything.append(sock)
        return time.monotonic() - started

    def reset(self) -> None:
        self.latencies.clear()
        self.received = self.sizes = 0
        for sock in self.sockets:
            sock.positions.clear()
            sock.times.clear()

    async def close(self) -> None:
        for sock in self.sockets:
            sock.transport.close()

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 26)  # commands carry thousands of URLs
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            command = orjson.loads(line)
            answer = await self.handle(command)
            sys.stdout.write(orjson.dumps(answer).decode() + "\n")
            sys.stdout.flush()
            if command["do"] == "quit":
                return

    async def handle(self, command: dict) -> dict:
        if command["do"] == "connect":
            seconds = await self.connect([(url, kind) for url, kind in command["sockets"]])
            return {"connected": len(command["sockets"]), "seconds": seconds}
        if command["do"] == "reset":
            self.reset()
            return {}
        if command["do"] == "count":
            return {"received": self.received, "closes": self.closes}
        if command["do"] == "report":
            with open(command["path"], "wb") as f:
                per_job = {job: (sock.positions, sock.times) for job, sock in self.per_job.items()}
                everything = [(sock.positions, sock.times) for sock in self.everything]
                users = {user: [(sock.positions, sock.times) for sock in socks] for user, socks in self.per_user.items()}
                f.write(orjson.dumps({"per_job": per_job, "all": everything, "per_user": users, "latencies": self.latencies,
                                      "received": self.received, "sizes": self.sizes, "closes": self.closes}))
            return {"written": command["path"]}
        await self.close()
        return {"quit": True}


def listeners_role() -> None:
    raise_nofile()
    asyncio.run(Listeners().serve())


# ---------------------------------------------------------------- appenders


class Appender:
    """Appends progress events at a steady rate, round robin over the jobs."""

    def __init__(self, via: str, url: str, pg: str, jobs: list[str]):
        self.via, self.url, self.pg, self.jobs = via, url, pg, jobs
        self.session: aiohttp.ClientSession | None = None
        self.store_jobs = None
        self.counter = 0

    async def open(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=128))
        if self.via == "store":
            from jobledger.application import storage
            from jobledger.application.jobs import Jobs

            self.store_jobs = Jobs(await storage.open_stores(self.pg, migrate=False))

    async def close(self) -> None:
        await self.session.close()
        if self.store_jobs is not None:
            await self.store_jobs.stores.close()

    async def one(self, latencies: list[float], acks: dict[int, float], errors: list[str]) -> None:
        i, self.counter = self.counter, self.counter + 1
        job_id = self.jobs[i % len(self.jobs)]
        body = {"percent": i % 100, "message": f"step {i}", "details": {"i": i}}
        started = time.monotonic()
        try:
            if self.store_jobs is not None:
                from jobledger.domain import commands

                command = commands.ReportProgress(body["percent"], body["message"], body["details"])
                position = (await self.store_jobs.execute(UUID(job_id), command, {"actor": "bench"})).position
            else:
                async with self.session.post(f"{self.url}/jobs/{job_id}/progress", json=body) as resp:
                    if resp.status != 200:
                        errors.append(f"{resp.status} {await resp.text()}")
                        return
                    position = (await resp.json(loads=orjson.loads))["position"]
        except Exception as exc:  # reported, not raised: the run goes on
            errors.append(repr(exc))
            return
        acks[position] = time.time()  # the commit, as acknowledged to the appender
        latencies.append(time.monotonic() - started)

    async def run(self, rate: float, seconds: float) -> dict:
        """Append `rate` events a second for `seconds`; returns what was acknowledged, when, and how fast."""
        latencies, acks, errors, tasks = [], {}, [], set()
        start, sent = time.monotonic(), 0
        while (now := time.monotonic()) - start < seconds:
            due = int((now - start) * rate) + 1
            while sent < due:
                task = asyncio.create_task(self.one(latencies, acks, errors))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - start
        return {"sent": sent, "acked": len(latencies), "errors": errors, "latencies": latencies, "acks": acks,
                "elapsed": elapsed}


# ---------------------------------------------------------------- the run


def check_local(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in LOCAL_HOSTS:
        sys.exit(f"--pg must point at a local server (127.0.0.1), not {host!r}")


def database_url(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def listener_process() -> Child:
    return await Child.start("listeners", __file__, "--role", "listeners")


async def baseline(args) -> dict:
    """The machine's own limit: a bare aiohttp server pushing one pre-serialized message to 100 sockets."""
    port = free_port()
    server = await Child.start("bare server", __file__, "--role", "bare-server", "--port", str(port))
    listeners = await listener_process()
    try:
        await asyncio.sleep(1.0)
        sockets = [[f"http://127.0.0.1:{port}/ws", "bare"] for _ in range(args.all)]
        await listeners.ask(orjson.dumps({"do": "connect", "sockets": sockets}).decode())
        async with aiohttp.ClientSession() as session:
            params = {"rate": args.rate, "seconds": args.seconds, "size": args.message_bytes}
            meter = CpuMeter({"server": server.process.pid, "listeners": listeners.process.pid})
            meter.start()
            async with session.get(f"http://127.0.0.1:{port}/push", params=params, timeout=None) as resp:
                pushed = await resp.json()
            pushed["cpu"] = meter.stop()
        await asyncio.sleep(1.0)
        report = await read_report(listeners, args)
        return {**pushed, "latencies": report["latencies"], "received": report["received"]}
    finally:
        await listeners.ask('{"do": "quit"}')
        await listeners.stop()
        await server.stop()


async def read_report(listeners: Child, args) -> dict:
    path = Path(args.tmp) / f"report-{time.monotonic_ns()}.json"
    await listeners.ask(orjson.dumps({"do": "report", "path": str(path)}).decode())
    report = orjson.loads(path.read_bytes())
    path.unlink()
    return report


def user_of(index: int, users: int) -> str | None:
    """The metadata user_id of the index-th job (--metadata: one user per socket, jobs dealt round robin)."""
    return f"u{index % users}" if users else None


async def create_jobs(url: str, count: int, users: int = 0) -> list[str]:
    """`count` running jobs, created and started over HTTP; with `users`, each with a metadata user_id."""
    gate = asyncio.Semaphore(32)
    async with aiohttp.ClientSession() as session:

        async def one(index: int) -> str:
            body = {"type": "bench", "payload": {"doc": "rfp-42.pdf"}}
            if users:
                body["metadata"] = {"user_id": user_of(index, users)}
            async with gate:
                async with session.post(f"{url}/jobs", json=body) as r:
                    job_id = (await r.json())["id"]
                async with session.post(f"{url}/jobs/{job_id}/start") as r:
                    assert r.status == 200, await r.text()
                return job_id

        return await asyncio.gather(*(one(i) for i in range(count)))


async def wait_delivered(listeners: Child, expected: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await listeners.ask('{"do": "count"}'))["received"] >= expected:
            return
        await asyncio.sleep(0.25)


def check_delivery(
    report: dict, log: list[tuple[int, str, float]], start: int, acks: dict[int, float], users: dict[str, str]
) -> dict:
    """Compare what each socket received with the log after `start`; latencies of each receipt
    (of the metadata subscriptions' receipts apart too). `users`: job id -> its metadata user_id."""
    by_job: dict[str, list[int]] = {}
    recorded = {}
    for position, job_id, recorded_at in log:
        by_job.setdefault(job_id, []).append(position)
        recorded[position] = recorded_at
    everything = [p for p, _, _ in log]
    missed = duplicated = disordered = extra = 0
    from_recorded, from_ack, timeline = [], [], []
    expectations = [(got, by_job.get(job_id, [])) for job_id, got in report["per_job"].items()]
    expectations += [(got, everything) for got in report["all"]]
    by_user: dict[str, list[int]] = {}
    for position, job_id, _ in log:
        if job_id in users:
            by_user.setdefault(users[job_id], []).append(position)
    filtered = [(got, by_user.get(user, [])) for user, socks in report["per_user"].items() for got in socks]
    expectations += filtered
    from_metadata = [at - recorded[p] for (positions, times), _ in filtered for p, at in zip(positions, times) if p in recorded]
    for (positions, times), want in expectations:
        got = [p for p in positions if p > start]
        missed += len(set(want) - set(got))
        extra += len(set(got) - set(want))
        duplicated += len(got) - len(set(got))
        disordered += got != sorted(got)
        for position, at in zip(positions, times, strict=True):
            if position in recorded:
                from_recorded.append(at - recorded[position])
                timeline.append((recorded[position], at - recorded[position]))
            if position in acks:
                from_ack.append(at - acks[position])
    return {"expected": sum(len(w) for _, w in expectations), "missed": missed, "extra": extra,
            "duplicated": duplicated, "sockets_out_of_order": disordered,
            "from_recorded": from_recorded, "from_metadata": from_metadata, "from_ack": from_ack, "worst_seconds": worst_seconds(timeline)}


def worst_seconds(timeline: list[tuple[float, float]], count: int = 3) -> list[tuple[int, float, float]]:
    """The seconds of the run with the highest p99 latency: (second, p50, p99), to tell a stall from a trend."""
    by_second: dict[int, list[float]] = {}
    start = min((t for t, _ in timeline), default=0)
    for at, latency in timeline:
        by_second.setdefault(int(at - start), []).append(latency)
    stats = [(s, percentile(v, 50), percentile(v, 99)) for s, v in sorted(by_second.items())]
    return sorted(stats, key=lambda x: -x[2])[:count]


async def log_after(db: str, start: int) -> list[tuple[int, str, float]]:
    conn = await asyncpg.connect(db)
    try:
        rows = await conn.fetch(
            "SELECT position, stream_id::text, extract(epoch FROM recorded_at)::float8 FROM events "
            "WHERE position > $1 ORDER BY position", start,
        )
    finally:
        await conn.close()
    return [(r[0], r[1], r[2]) for r in rows]


async def head(db: str) -> int:
    conn = await asyncpg.connect(db)
    try:
        return await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
    finally:
        await conn.close()


async def gc_pauses(url: str) -> tuple[float, float]:
    """The service's full (generation 2) garbage collections so far: (count, seconds in all), from /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as resp:
        text = await resp.text()
    found = {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples
             if s.name.startswith("jobledger_gc_pause_seconds_") and s.labels.get("generation") == "2"}
    return found.get("jobledger_gc_pause_seconds_count", 0.0), found.get("jobledger_gc_pause_seconds_sum", 0.0)


async def appends(appender: "Appender", url: str, rate: float, seconds: float) -> dict:
    """Run the appender; note the service's full collections meanwhile (they stop its event loop)."""
    count, total = await gc_pauses(url)
    phase = await appender.run(rate, seconds)
    after_count, after_total = await gc_pauses(url)
    phase["full_gc"] = (after_count - count, after_total - total)
    return phase


async def live_run(args, db: str) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = await start_service(db, port)
    listeners = await listener_process()
    appender = None
    result: dict = {}
    try:
        result["rss_started"] = rss_mb(service.pid)
        jobs = await create_jobs(url, args.jobs, args.metadata)
        users = {job: user_of(i, args.metadata) for i, job in enumerate(jobs) if args.metadata}
        appender = Appender(args.via, url, db, jobs)
        await appender.open()
        print(f"  {len(jobs)} jobs created; appending without listeners for {args.quiet} s", flush=True)
        result["quiet"] = await appends(appender, url, args.rate, args.quiet)
        result["rss_before"] = rss_mb(service.pid)

        sockets = [[f"{url}/jobs/{j}/ws", "job"] for j in jobs] + [[f"{url}/ws", "all"] for _ in range(args.all)]
        sockets += [[f"{url}/ws", f"user:{user_of(k, args.metadata)}"] for k in range(args.metadata)]
        connected = await listeners.ask(orjson.dumps({"do": "connect", "sockets": sockets}).decode())
        print(f"  {connected['connected']} listeners connected in {connected['seconds']:.1f} s; "
              f"appending {args.rate:g} events/s for {args.seconds} s", flush=True)
        await listeners.ask('{"do": "reset"}')
        result["rss_listening"] = rss_mb(service.pid)
        start = await head(db)
        meter = CpuMeter({"service": service.pid, "listeners": listeners.process.pid, "appender": os.getpid()})
        meter.start()
        result["live"] = await appends(appender, url, args.rate, args.seconds)
        result["cpu"] = meter.stop()
        result["rss_live"] = rss_mb(service.pid)
        window = await log_after(db, start)
        await wait_delivered(listeners, len(window) * (1 + args.all + (1 if args.metadata else 0)))
        report = await read_report(listeners, args)
        result["delivery"] = check_delivery(report, window, start, result["live"]["acks"], users)
        result["received"] = report["received"]
        result["message_bytes"] = report["sizes"] / max(1, report["received"])
        result["closes"] = (await listeners.ask('{"do": "count"}'))["closes"]
        result["events"] = len(window)
        await listeners.ask('{"do": "quit"}')
        await listeners.stop()

        if args.idle:  # on a fresh instance: what 10,000 idle sockets cost, not what the run left behind
            service.send_signal(signal.SIGINT)
            await asyncio.wait_for(service.wait(), 60)
            service = await start_service(db, port)
            await asyncio.sleep(1.0)
            result["rss_idle_before"] = rss_mb(service.pid)
            listeners = await listener_process()
            idle = [[f"{url}/jobs/{jobs[i % len(jobs)]}/ws", "job"] for i in range(args.idle)]
            print(f"  connecting {args.idle} idle sockets to a fresh instance", flush=True)
            connected = await listeners.ask(orjson.dumps({"do": "connect", "sockets": idle}).decode())
            await asyncio.sleep(2.0)
            result["idle_seconds"] = connected["seconds"]
            result["rss_idle"] = rss_mb(service.pid)
            print(f"  appending {args.rate:g} events/s for {args.quiet} s with them connected", flush=True)
            await appender.close()
            appender = Appender(args.via, url, db, jobs)
            await appender.open()
            result["idle_appends"] = await appends(appender, url, args.rate, args.quiet)
            await listeners.ask('{"do": "quit"}')
    finally:
        if appender is not None:
            await appender.close()
        await listeners.stop()
        service.send_signal(signal.SIGINT)
        await asyncio.wait_for(service.wait(), 60)
    return result


def summary(args, base: dict, run: dict) -> bool:
    d, live, quiet = run["delivery"], run["live"], run["quiet"]
    p99 = percentile(d["from_recorded"], 99) * 1000
    base_p99 = percentile(base["latencies"], 99) * 1000
    listeners = args.jobs + args.all
    print()
    print(f"baseline (bare aiohttp, {args.all} sockets, {base['sent']} messages of {args.message_bytes} bytes at "
          f"{args.rate:g}/s): send -> receipt {ms(base['latencies'])}   received {base['received']} / "
          f"{base['sent'] * args.all}, late ticks {base['late_ticks']}")
    phases = [("no listeners", quiet), (f"{listeners} listeners", live)]
    if args.idle:
        phases.append((f"{args.idle} per-job listeners (10 a job)", run["idle_appends"]))
    for name, phase in phases:
        print(f"appends via {args.via}, {name}: {phase['acked'] / phase['elapsed']:6.1f} events/s   "
              f"append call {ms(phase['latencies'])}   errors {len(phase['errors'])}   service's full GCs meanwhile "
              f"{phase['full_gc'][0]:.0f} ({phase['full_gc'][1] * 1000:.0f} ms in all)")
    print("  CPU (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in base["cpu"].items()))
    print(f"live: {run['events']} events -> {run['received']} messages, {run['received'] / live['elapsed']:.0f} "
          f"messages/s delivered ({run['message_bytes']:.0f} bytes each)")
    print(f"  recorded_at -> receipt (includes the commit): {ms(d['from_recorded'])}   p99 = {p99 / base_p99:.1f} x baseline")
    print(f"  append acknowledged -> receipt:              {ms(d['from_ack'])}")
    if d["from_metadata"]:
        meta_p99 = percentile(d["from_metadata"], 99) * 1000
        print(f"  metadata subscriptions ({args.metadata} sockets), recorded_at -> receipt: {ms(d['from_metadata'])}"
              f"   target p99 <= 25 ms: {'PASS' if meta_p99 <= 25 else 'FAIL'}")
    print("  worst seconds (second of the run: p50 / p99 ms): "
          + ", ".join(f"{s}: {p50 * 1000:.1f} / {p99_ * 1000:.1f}" for s, p50, p99_ in d["worst_seconds"]))
    print(f"  expected {d['expected']}, missed {d['missed']}, duplicated {d['duplicated']}, extra {d['extra']}, "
          f"sockets out of order {d['sockets_out_of_order']}; socket closes {run['closes'] or 'none'}")
    print("  CPU (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in run["cpu"].items())
          + f"  (machine: every process on its {os.cpu_count()} CPUs, other users' too)")
    rss = {k: run[k]["VmRSS"] for k in ("rss_started", "rss_before", "rss_listening", "rss_live")}
    print(f"  service RSS (MB): started {rss['rss_started']:.0f}, before listeners {rss['rss_before']:.0f}, "
          f"with {listeners} listeners {rss['rss_listening']:.0f}, after the run {rss['rss_live']:.0f} "
          f"(peak {run['rss_live']['VmHWM']:.0f})")
    ok = not (d["missed"] or d["duplicated"] or d["sockets_out_of_order"] or d["extra"])
    print(f"  target nothing missed: {'PASS' if ok else 'FAIL'};  target p99 <= {TARGET_P99_MS:g} ms "
          f"(recorded_at -> receipt): {'PASS' if p99 <= TARGET_P99_MS else 'FAIL'} ({p99:.1f} ms)")
    if args.idle:
        idle = run["rss_idle"]["VmRSS"]
        per = (idle - run["rss_idle_before"]["VmRSS"]) * 1024 / args.idle
        print(f"idle: {args.idle} per-job sockets connected in {run['idle_seconds']:.1f} s to a fresh instance "
              f"({run['rss_idle_before']['VmRSS']:.0f} MB before); service RSS {idle:.0f} MB (+{per:.1f} KB per socket);  target <= {TARGET_IDLE_MB:g} MB: {'PASS' if idle <= TARGET_IDLE_MB else 'FAIL'}")
    return ok


async def main(args) -> int:
    check_local(args.pg)
    print(f"open-file limit raised to {raise_nofile()}", flush=True)
    name = f"jobledger_bench_live_{os.getpid()}"
    db = database_url(args.pg, name)
    await admin(args.pg, f"DROP DATABASE IF EXISTS {name}")
    await admin(args.pg, f"CREATE DATABASE {name}")
    try:
        from jobledger.application import storage

        await storage.migrate(db)
        print(f"baseline: bare aiohttp server, {args.all} sockets, {args.rate:g} messages/s for {args.seconds} s", flush=True)
        base = await baseline(args)
        print("live run on a jobledger service", flush=True)
        run = await live_run(args, db)
        return 0 if summary(args, base, run) else 1
    finally:
        await admin(args.pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--quiet", type=float, default=10.0, help="seconds of appends before listeners connect")
    parser.add_argument("--rate", type=float, default=500.0, help="events appended per second")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs, each followed by its own socket")
    parser.add_argument("--all", type=int, default=100, help="sockets following all jobs")
    parser.add_argument(
        "--metadata", type=int, default=0,
        help="sockets each subscribed to one user's jobs by metadata ({\"user_id\": ...}); the jobs are dealt to them round robin",
    )
    parser.add_argument("--idle", type=int, default=10_000, help="idle sockets to measure memory with (0: skip)")
    parser.add_argument("--via", choices=("http", "store"), default="http")
    parser.add_argument("--message-bytes", type=int, default=1400, help="baseline message size")
    parser.add_argument("--tmp", default="/tmp")
    parser.add_argument("--role", choices=("bare-server", "listeners"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.role == "bare-server":
        bare_server(arguments.port)
    elif arguments.role == "listeners":
        listeners_role()
    else:
        sys.exit(asyncio.run(main(arguments)))

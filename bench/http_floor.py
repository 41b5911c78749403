"""CPU per HTTP request in the service process, beside a bare aiohttp app's from the same run.

    python bench/http_floor.py [--requests 4000] [--concurrency 64] [--backends sqlite,postgresql]
                               [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--rounds 1]
                               [--loops asyncio,uvloop] [--instructions]

The bare app is this benchmark's machine limit: an aiohttp server with no middleware, no
hook and no store, whose handlers read the JSON body (orjson) and answer a job document
of the service's size, made once. Both servers get the same requests from the same
client (this process: an aiohttp ClientSession, --concurrency requests in flight), one
kind at a time, and the CPU each server process used (Linux /proc) is divided by the
requests of that kind:

- tracked jobs: POST /jobs, GET /jobs/{id}, POST .../start, .../progress, .../complete;
- a worker's calls through the SDK's HTTP transport (jobledger._http.HttpTransport):
  claims of 100 jobs (per job claimed), progress and complete with the lease token.

`jobledger serve` runs on SQLite in a temporary directory and on a scratch PostgreSQL
database (dropped at the end), at log level WARNING as in bench/throughput.py. The
client's own CPU per request is printed too: for the SDK's calls it is the worker's cost.

CPU time on a shared machine varies by a third from run to run. With --instructions the
servers run under valgrind's callgrind (`apt-get install valgrind`; about 50 times slower:
use a few hundred requests) and the figure is the instructions each executed per request,
counted only while that kind of request ran: the same to within a percent, run after run,
whatever else loads the machine. Instructions are not time (a cache miss costs more than
an add), so use them to compare two versions of the code, and CPU time for the cost.
"""

import argparse
import asyncio
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import aiohttp
import append  # beside this file: the scratch database helpers
import orjson
import throughput  # beside this file: process helpers

from jobledger.domain import commands, decide
from jobledger.domain.job import fold
from jobledger.sdk._http import HttpTransport
from jobledger.projections import job_status

JOB_TYPE = "bench.http_floor"
CLAIM_BATCH = 100
TRACKED = ("create", "get", "start", "progress", "complete")
WORKER = ("sdk claim", "sdk progress", "sdk complete")


@dataclass
class Figures:
    """Per kind of request: (server µs, client µs) per request."""

    server: str
    per_request: dict[str, tuple[float, float]] = field(default_factory=dict)


# ---------------------------------------------------------------- the bare app (run in its own process)


def _document() -> bytes:
    """A tracked job's document after its progress report, as the service answers it (about 1.3 KB)."""
    now = datetime.now(UTC)
    job_id = uuid4()
    created = decide.create(job_id, commands.CreateJob(type=JOB_TYPE, payload={"n": 1}), now)
    job = fold(None, created, now, job_id)
    for command in (commands.StartJob(), commands.ReportProgress(50, "half way", {"n": 1})):
        job = fold(job, decide.decide(job, command, now), now)
    return orjson.dumps({**job_status.document(job), "position": 3})


def bare_app():
    from aiohttp import web

    doc = _document()
    claimed = {"lease_token": "t" * 32}

    async def post(request: web.Request) -> web.Response:
        orjson.loads(await request.read())
        return web.Response(body=doc, content_type="application/json", headers={"ETag": '"3"'})

    async def create(request: web.Request) -> web.Response:
        orjson.loads(await request.read())
        headers = {"ETag": '"1"', "Location": f"/jobs/{uuid4()}"}
        return web.Response(body=doc, status=201, content_type="application/json", headers=headers)

    async def claim(request: web.Request) -> web.Response:
        limit = orjson.loads(await request.read())["limit"]
        jobs = [{**orjson.loads(doc), "id": str(uuid4()), **claimed} for _ in range(limit)]
        return web.Response(body=orjson.dumps({"jobs": jobs}), content_type="application/json")

    async def get(request: web.Request) -> web.Response:
        return web.Response(body=doc, content_type="application/json", headers={"ETag": '"3"'})

    app = web.Application()
    app.router.add_post("/jobs", create)
    app.router.add_post("/workers/claim", claim)
    app.router.add_post("/jobs/{id}/{action}", post)
    app.router.add_get("/jobs/{id}", get)
    return app


def serve_bare(port: int, loop: str) -> None:
    from aiohttp import web

    if loop == "uvloop":
        import uvloop

        uvloop.install()
    web.run_app(bare_app(), host="127.0.0.1", port=port, print=None, access_log=None)


# ---------------------------------------------------------------- the client


class Meter:
    """CPU seconds of the server process and of this one, between `start` and `per`."""

    def __init__(self, pid: int):
        self.pid = pid

    @staticmethod
    def _own() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    async def start(self) -> None:
        self.server, self.client = await self._server(), self._own()

    async def per(self, n: int) -> tuple[float, float]:
        """Server and client figures per request since `start` (µs; for the server, see _server)."""
        server = await self._server() - self.server
        return 1e6 * server / n, 1e6 * (self._own() - self.client) / n

    async def _server(self) -> float:
        return throughput.cpu_seconds(self.pid)


class InstructionMeter(Meter):
    """Instructions the server (under callgrind, instrumenting nothing at first) executed
    between `start` and `per`; `per` answers thousands per request for the server."""

    def __init__(self, pid: int, out: Path):
        super().__init__(pid)
        self.out = out  # callgrind's --callgrind-out-file: each dump is out.1, out.2, ...

    async def start(self) -> None:
        await _callgrind("--zero", self.pid)
        await _callgrind("--instr=on", self.pid)
        self.client = self._own()

    async def per(self, n: int) -> tuple[float, float]:
        client = self._own() - self.client
        await _callgrind("--dump", self.pid)  # the counts since --zero
        await _callgrind("--instr=off", self.pid)
        dumps = sorted(self.out.parent.glob(f"{self.out.name}.*"), key=lambda p: int(p.suffix[1:]))
        summary = next(line for line in dumps[-1].read_text().splitlines() if line.startswith("summary:"))
        return int(summary.split()[1]) / 1e3 / n, 1e6 * client / n


async def _callgrind(command: str, pid: int) -> None:
    process = await asyncio.create_subprocess_exec(
        "callgrind_control", command, str(pid), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    if await process.wait():
        raise RuntimeError(f"callgrind_control {command} {pid} failed")


async def lanes(n: int, width: int, make: Callable[[int], Awaitable[None]]) -> None:
    await throughput._in_parallel(n, width, 1, lambda numbers: make(numbers.start))


async def call(session: aiohttp.ClientSession, method: str, path: str, body: dict | None, expect: int) -> dict:
    data = None if body is None else orjson.dumps(body)
    headers = None if body is None else {"Content-Type": "application/json"}
    async with session.request(method, path, data=data, headers=headers) as resp:
        raw = await resp.read()
        if resp.status != expect:
            raise RuntimeError(f"{method} {path}: {resp.status} {raw[:300]!r}")
        return orjson.loads(raw)


async def tracked(base: str, meter: Meter, n: int, width: int, figures: Figures) -> None:
    """Create n tracked jobs, read each, then start, report and complete them, one kind at a time."""
    ids: list[str] = [""] * n

    async def create(i: int) -> None:
        ids[i] = (await call(session, "POST", "/jobs", {"type": JOB_TYPE, "payload": {"n": i}}, 201))["id"]

    requests = {
        "create": create,
        "get": lambda i: call(session, "GET", f"/jobs/{ids[i]}", None, 200),
        "start": lambda i: call(session, "POST", f"/jobs/{ids[i]}/start", {}, 200),
        "progress": lambda i: call(
            session, "POST", f"/jobs/{ids[i]}/progress", {"percent": 50, "message": "half way", "details": {"n": i}},
            200,
        ),
        "complete": lambda i: call(session, "POST", f"/jobs/{ids[i]}/complete", {"result": {"n": i}}, 200),
    }
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=width)) as session:
        for kind, make in requests.items():
            await meter.start()
            await lanes(n, width, make)
            figures.per_request[kind] = await meter.per(n)


async def worker_calls(base: str, meter: Meter, n: int, width: int, figures: Figures) -> None:
    """n queued jobs (created unmeasured), claimed, reported and completed through HttpTransport."""
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=width)) as session:
        await lanes(n, width, lambda i: call(session, "POST", "/jobs", {"type": JOB_TYPE, "payload": {"n": i}}, 201))
    transport = HttpTransport(base, worker_id="bench", connections=width)
    await transport.open()
    try:
        claimed = []
        await meter.start()
        while len(claimed) < n:
            claimed += await transport.claim("bench", [JOB_TYPE], min(CLAIM_BATCH, n - len(claimed)), 60, 0, None)
        figures.per_request["sdk claim"] = await meter.per(n)
        report = {
            "sdk progress": lambda c, i: transport.progress(c.document["id"], c.lease_token, 50, "half way", {"n": i}),
            "sdk complete": lambda c, i: transport.complete(c.document["id"], c.lease_token, {"n": i}),
        }
        for kind, make in report.items():
            await meter.start()
            await lanes(n, width, lambda i, make=make: make(claimed[i], i))
            figures.per_request[kind] = await meter.per(n)
    finally:
        await transport.close()


# ---------------------------------------------------------------- servers


async def measure_bare(loop: str, options, logs: Path) -> Figures:
    port = throughput.free_port()
    args = [str(BENCH / "http_floor.py"), "--serve-bare", str(port), "--loop", loop]
    return await measure_server(f"bare aiohttp, {loop}", args, port, "/jobs/0", "bare", {}, options, logs)


async def measure_service(backend: str, db: str, loop: str, options, logs: Path) -> Figures:
    port = throughput.free_port()
    args = ["-c", "from jobledger.cli.commands import main; main()", "serve", "--db", db, "--port", str(port), "--loop", loop]
    quiet = {"JOBLEDGER_LOG_LEVEL": "WARNING"}
    label = f"jobledger serve, {backend}, {loop}"
    return await measure_server(label, args, port, "/health", f"serve-{backend}", quiet, options, logs)


async def measure_server(
    label: str, args: list[str], port: int, ready: str, name: str, env: dict[str, str], options, logs: Path
) -> Figures:
    """Start a server process, wait until `ready` answers, measure it, stop it."""
    process, meter = await start(args, logs, name, options.instructions, env)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_up(base + ready)
        return await measure(label, base, meter, options)
    finally:
        await throughput.stop([process])


async def start(args: list[str], logs: Path, name: str, instructions: bool, env: dict[str, str]):
    """A server process (python `args`), under callgrind with `instructions`, and its meter."""
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={logs}/{name}.%p"]
    command = [*(valgrind if instructions else []), sys.executable, *args]
    with open(logs / f"{name}.log", "wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=BENCH, stdout=log, stderr=asyncio.subprocess.STDOUT, env={**os.environ, **env}
        )
    meter = InstructionMeter(process.pid, logs / f"{name}.{process.pid}") if instructions else Meter(process.pid)
    return process, meter


async def wait_up(url: str) -> None:
    deadline = time.monotonic() + 300  # a server under callgrind takes a minute to start
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url):
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


async def measure(name: str, base: str, meter: Meter, options) -> Figures:
    figures = Figures(name)
    await tracked(base, meter, options.requests, options.concurrency, figures)
    await worker_calls(base, meter, options.requests, options.concurrency, figures)
    return figures


# ---------------------------------------------------------------- main


def best(runs: list[Figures]) -> list[Figures]:
    """Per server, each kind's lowest figure over the rounds: others' load on the machine only ever adds."""
    by_server: dict[str, Figures] = {}
    for run in runs:
        kept = by_server.setdefault(run.server, Figures(run.server, dict(run.per_request)))
        for kind, (server, client) in run.per_request.items():
            kept.per_request[kind] = (min(server, kept.per_request[kind][0]), min(client, kept.per_request[kind][1]))
    return list(by_server.values())


def report(runs: list[Figures], rounds: int, instructions: bool) -> None:
    kinds = TRACKED + WORKER
    server = "thousand instructions" if instructions else "µs CPU"
    print()
    print(f"Per request, lowest of {rounds} round(s): server process, {server} (client process, µs CPU);")
    print(f"sdk claim is per job claimed, in claims of {CLAIM_BATCH}")
    header = f"{'server':<38}" + "".join(f"{kind:>14}" for kind in kinds)
    print(header)
    print("-" * len(header))
    for run in runs:
        cells = "".join(f"{run.per_request[k][0]:>7,.0f} ({run.per_request[k][1]:>4,.0f})" for k in kinds)
        print(f"{run.server:<38}{cells}")
    print()
    print(f"service / the bare app on the same event loop, server {server} per request:")
    bare = {_loop(run): run for run in runs if run.server.startswith("bare")}
    for run in runs:
        if not run.server.startswith("bare"):
            base = bare[_loop(run)].per_request
            ratios = "".join(f"{_ratio(run.per_request[k][0], base[k][0]):>14}" for k in kinds)
            print(f"{run.server:<38}{ratios}")


def _ratio(value: float, bare: float) -> str:
    """`value / bare` as a ratio; a bare figure of 0 (less than one clock tick of CPU in all) has none."""
    return f"{value / bare:.1f}x" if bare else "-"


def _loop(run: Figures) -> str:
    return run.server.rsplit(", ", 1)[1]


async def main(options) -> None:
    append.check_local(options.pg)
    name = f"jobledger_bench_http_floor_{os.getpid()}"
    runs: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="jobledger_http_floor_") as tmp:
        logs = Path(tmp)
        print(f"{os.cpu_count()} CPUs; {options.requests:,} requests of each kind, {options.concurrency} in flight")
        try:
            for _ in range(options.rounds):
                for loop in options.loops:
                    runs.append(await measure_bare(loop, options, logs))
                    for backend in options.backends:
                        if backend == "sqlite":
                            db = f"sqlite:///{tmp}/events-{len(runs)}.db"
                        else:
                            db = await throughput.scratch(options.pg, name)
                        runs.append(await measure_service(backend, db, loop, options, logs))
                        print(f"  {runs[-1].server}: done", flush=True)
        finally:
            await append.admin(options.pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    report(best(runs), options.rounds, options.instructions)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg", default=append.DEFAULT_PG, help=f"admin URL of a local PostgreSQL ({append.DEFAULT_PG})"
    )
    parser.add_argument("--requests", type=int, default=4000, help="requests of each kind (default 4000)")
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight (default 64)")
    parser.add_argument(
        "--backends", type=lambda s: s.split(","), default=["sqlite", "postgresql"], help="sqlite,postgresql"
    )
    parser.add_argument("--rounds", type=int, default=1, help="times to measure every server (default 1)")
    parser.add_argument(
        "--loops", type=lambda s: s.split(","), default=["asyncio"],
        help="event loops to run every server on, in turn (asyncio,uvloop: uvloop must be installed)",
    )
    parser.add_argument("--loop", default="asyncio", help=argparse.SUPPRESS)  # of --serve-bare
    parser.add_argument(
        "--instructions", action="store_true", help="count the servers' instructions under callgrind, not CPU time"
    )
    parser.add_argument("--serve-bare", type=int, default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.instructions and not shutil.which("callgrind_control"):
        sys.exit("--instructions needs valgrind (apt-get install valgrind)")
    if options.serve_bare is not None:
        serve_bare(options.serve_bare, options.loop)
    else:
        asyncio.run(main(options))

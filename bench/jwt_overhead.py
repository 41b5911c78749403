"""JWT sign-in's cost on GET /jobs/{id}, beside the same read with an API key, in one run.

    python bench/jwt_overhead.py [--requests 4000] [--concurrency 32] [--rounds 3] [--backend sqlite|postgresql]
                        [--pg postgresql://postgres@127.0.0.1:5432/postgres]

One `jobledger serve --auth required` accepts an API key (its lookup cached, as in
bench/http_floor.py) and JWTs: HS256 with a shared secret, RS256 and ES256 with keys from a
local JWKS file. The same client (this process, --concurrency requests in flight) reads the
same jobs with each credential in turn, one token per credential (a client signs in once and
sends its token until it expires), every round; each kind's figure is the service's CPU per
request (Linux /proc), lowest over the rounds. The machine's limit is bench/http_floor.py's
bare aiohttp app answering the same GET, measured in the same run.

It also measures the trace middleware with no exporter configured (README, Traces): the
same GET with a `traceparent` header, and the tracing calls of one request timed in this
process.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
import timeit
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import aiohttp
import append  # beside this file: the scratch database helpers
import http_floor  # beside this file: the bare app, the CPU meter, starting servers
import jwt as pyjwt
import orjson
import throughput  # beside this file: process helpers
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jobledger.application import storage, tracing
from jobledger.web import auth

ISSUER, AUDIENCE, TENANT = "https://id.bench.example", "jobledger-bench", "bench"
SECRET = "s" * 40
JOBS = 100  # read round-robin
KINDS = ("api key", "api key + traceparent", "HS256", "RS256", "ES256")
TRACEPARENT = "00-" + "a1" * 16 + "-" + "b2" * 8 + "-01"


def credentials(tmp: Path) -> tuple[dict[str, str], Path]:
    """One JWT per algorithm (kind -> token), and the JWKS file holding the RS256 and ES256 public keys."""
    signers = {"RS256": rsa.generate_private_key(65537, 2048), "ES256": ec.generate_private_key(ec.SECP256R1())}
    keys = []
    for alg, private in signers.items():
        jwk = orjson.loads(pyjwt.get_algorithm_by_name(alg).to_jwk(private.public_key()))
        keys.append({**jwk, "kid": alg.lower(), "alg": alg, "use": "sig"})
    jwks = tmp / "jwks.json"
    jwks.write_bytes(orjson.dumps({"keys": keys}))
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "tenant": TENANT, "role": "client", "iat": now, "exp": now + 3600}
    tokens = {"HS256": pyjwt.encode(claims, SECRET, algorithm="HS256")}
    for alg, private in signers.items():
        tokens[alg] = pyjwt.encode(claims, private, algorithm=alg, headers={"kid": alg.lower()})
    return tokens, jwks


async def api_key(db: str) -> str:
    """An API key of the tenant, stored as `jobledger keys create` stores it."""
    stores = await storage.open_stores(db)
    try:
        key, record = auth.new_key("admin", TENANT, None, "bench", datetime.now(UTC))
        await stores.registry.put_key(record)
    finally:
        await stores.close()
    return key


async def reads(base: str, meter: http_floor.Meter, n: int, width: int, paths: list[str], headers: dict) -> float:
    """The server's CPU µs per GET of `paths` (round-robin), `width` in flight."""
    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=width), headers=headers) as session:

        async def get(i: int) -> None:
            async with session.get(paths[i % len(paths)]) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"GET {paths[i % len(paths)]}: {resp.status} {await resp.text()}")

        await get(0)  # the first answer is not measured: a JWKS read, a key cached
        await meter.start()
        await lanes(n, width, get)
        return (await meter.per(n))[0]


async def lanes(n: int, width: int, make) -> None:
    numbers = iter(range(n))

    async def lane() -> None:
        for i in numbers:
            await make(i)

    await asyncio.gather(*(lane() for _ in range(width)))


async def create_jobs(base: str, key: str) -> list[str]:
    async with aiohttp.ClientSession(base, headers={"Authorization": f"Bearer {key}"}) as session:
        ids = []
        for i in range(JOBS):
            async with session.post("/jobs", json={"type": "bench.jwt", "payload": {"n": i}}) as resp:
                assert resp.status == 201, await resp.text()
                ids.append((await resp.json())["id"])
    return [f"/jobs/{job_id}" for job_id in ids]


def trace_calls_us() -> dict[str, float]:
    """µs of a request's tracing calls, no exporter: a read's (its span and answer), and what a
    write adds (its events' metadata, an append's span); without and with a traceparent."""
    plain, traced = {"accept": "*/*"}, {"accept": "*/*", "traceparent": TRACEPARENT}
    job_id = uuid4()

    def read(headers: dict[str, str]) -> None:
        with tracing.serving("GET", "/jobs/{id}", headers) as span:
            tracing.answered(span, 200)

    def write(headers: dict[str, str]) -> None:
        with tracing.serving("POST", "/jobs/{id}/progress", headers) as span:
            tracing.carried()
            with tracing.appending(job_id, 1, 1):
                pass
            tracing.answered(span, 200)

    def us(call, headers) -> float:
        return 1e6 * min(timeit.repeat(lambda: call(headers), number=20_000, repeat=5)) / 20_000

    return {
        "a read": us(read, plain), "a read with a traceparent": us(read, traced),
        "a write": us(write, plain), "a write with a traceparent": us(write, traced),
    }  # fmt: skip


async def main(options) -> None:
    with tempfile.TemporaryDirectory(prefix="jobledger_bench_jwt_") as tmp:
        logs = Path(tmp)
        name = f"jobledger_bench_jwt_{os.getpid()}"
        if options.backend == "sqlite":
            db = f"sqlite:///{tmp}/events.db"
            await storage.migrate(db)
        else:
            append.check_local(options.pg)
            db = await throughput.scratch(options.pg, name)
        try:
            figures = await measure(db, logs, options)
        finally:
            if options.backend != "sqlite":
                await append.admin(options.pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    report(figures, options)


async def measure(db: str, logs: Path, options) -> dict[str, float]:
    tokens, jwks = credentials(logs)
    key = await api_key(db)
    env = {
        "JOBLEDGER_LOG_LEVEL": "WARNING", "JOBLEDGER_RATE_LIMIT": "1000000/second",
        "JOBLEDGER_JWT_SECRET": SECRET, "JOBLEDGER_JWT_JWKS_FILE": str(jwks),
        "JOBLEDGER_JWT_ISSUER": ISSUER, "JOBLEDGER_JWT_AUDIENCE": AUDIENCE, "JOBLEDGER_JWT_USER_CLAIM": "",
    }  # fmt: skip
    port, bare_port = throughput.free_port(), throughput.free_port()
    serve = ["-c", "from jobledger.cli.commands import main; main()", "serve", "--db", db, "--port", str(port), "--auth", "required"]
    bare = [str(BENCH / "http_floor.py"), "--serve-bare", str(bare_port)]
    service, meter = await http_floor.start(serve, logs, "serve", False, env)
    bare_process, bare_meter = await http_floor.start(bare, logs, "bare", False, {})
    base, bare_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
    headers = {
        "api key": {"Authorization": f"Bearer {key}"},
        "api key + traceparent": {"Authorization": f"Bearer {key}", "traceparent": TRACEPARENT},
        **{alg: {"Authorization": f"Bearer {token}"} for alg, token in tokens.items()},
    }
    best: dict[str, float] = {}
    try:
        await http_floor.wait_up(base + "/health")
        await http_floor.wait_up(bare_base + "/jobs/0")
        paths = await create_jobs(base, key)
        n, width = options.requests, options.concurrency
        for round_ in range(options.rounds):
            figures = {"bare aiohttp": await reads(bare_base, bare_meter, n, width, ["/jobs/0"], {})}
            for kind in KINDS:
                figures[kind] = await reads(base, meter, n, width, paths, headers[kind])
            best = {k: min(v, best.get(k, v)) for k, v in figures.items()}
            print(f"  round {round_ + 1}: " + ", ".join(f"{k} {v:,.0f}" for k, v in figures.items()), flush=True)
    finally:
        await throughput.stop([service, bare_process])
    return best


def report(best: dict[str, float], options) -> None:
    key = best["api key"]
    print()
    print(f"GET /jobs/{{id}}, {options.backend}: server CPU µs per request, lowest of {options.rounds} round(s)")
    print(f"{'credential':<24}{'µs':>8}{'/ api key':>12}{'/ bare app':>12}")
    for kind, us in best.items():
        print(f"{kind:<24}{us:>8,.0f}{us / key:>11.2f}x{us / best['bare aiohttp']:>11.1f}x")
    print()
    print("the tracing calls of one request, no exporter (timed in this process):")
    for case, us in trace_calls_us().items():
        print(f"  {case:<28}{us:>6.1f} µs = {100 * us / key:.1f}% of the api key GET")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="requests of each kind a round (default 4000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every kind (default 3)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg", default=append.DEFAULT_PG, help=f"admin URL of a local PostgreSQL ({append.DEFAULT_PG})")
    asyncio.run(main(parser.parse_args()))

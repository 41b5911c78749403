"""The TypeScript client's `subscribe` against the Python figure of bench/live.py, in one run.

    python bench/ts_live.py [--pg postgresql://postgres@127.0.0.1:5432/postgres] [--seconds 20] [--rate 500]
                            [--jobs 1000] [--all 100] [--order python,typescript|typescript,python]

On a scratch PostgreSQL database and one `jobledger serve`, with `--jobs` running jobs:

1. baseline, the machine's own limit: bench/live.py's bare aiohttp server pushing to `--all`
   sockets at `--rate` messages/s (send -> receipt).
2. Python: bench/live.py's listeners (its lean RFC 6455 client), one /jobs/{id}/ws per job;
   `--rate` progress events/s appended over HTTP for `--seconds`.
3. TypeScript: bench/ts_live.mjs in Node, one `subscribe({ jobs: [id] })` per job (each its own
   /ws socket, through clients/typescript/dist), the same appends.

Each receipt is timed against the event's `recorded_at` (so the commit is included) and every
socket's events are checked against the log (missed, duplicated, extra, out of order) by
bench/live.py's own check. Target: the TypeScript p99 within 2x the Python p99 of the same run,
nothing missed. Needs `npm ci && npm run build` in clients/typescript, Node 20+, and a local
PostgreSQL with a role that can create databases (the scratch database is dropped at the end).
Exit status 1 if an event was missed, duplicated, extra or out of order.
"""

import argparse
import asyncio
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import live  # noqa: E402  bench/live.py: its service, listeners, appender and checks

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "clients" / "typescript" / "dist" / "src" / "index.js"
TARGET_RATIO = 2.0


async def node_listeners() -> live.Child:
    node = shutil.which("node")
    if node is None or not CLIENT.exists():
        sys.exit("needs node (20+) and the built client: cd clients/typescript && npm ci && npm run build")
    major = int((await (await asyncio.create_subprocess_exec(
        node, "--version", stdout=asyncio.subprocess.PIPE)).communicate())[0].decode().lstrip("v").split(".")[0])
    flags = ["--experimental-websocket"] if major < 22 else []
    process = await asyncio.create_subprocess_exec(
        node, *flags, str(Path(__file__).with_name("ts_live.mjs")),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    return live.Child(process, "node listeners")


async def measure(name: str, listeners: live.Child, sockets: list, args, url: str, db: str, jobs: list[str]) -> dict:
    """Connect the listeners, append for --seconds, and check what each socket received."""
    connected = await listeners.ask(live.orjson.dumps({"do": "connect", "sockets": sockets}).decode())
    print(f"  {name}: {connected['connected']} sockets in {connected['seconds']:.1f} s; "
          f"appending {args.rate:g} events/s for {args.seconds} s", flush=True)
    await listeners.ask('{"do": "reset"}')
    appender = live.Appender("http", url, db, jobs)
    await appender.open()
    try:
        start = await live.head(db)
        meter = live.CpuMeter({"listeners": listeners.process.pid, "appender": os.getpid()})
        meter.start()
        phase = await appender.run(args.rate, args.seconds)
        cpu = meter.stop()
    finally:
        await appender.close()
    window = await live.log_after(db, start)
    await live.wait_delivered(listeners, len(window))
    report = await live.read_report(listeners, args)
    delivery = live.check_delivery(report, window, start, phase["acks"], {})
    await listeners.ask('{"do": "quit"}')
    await listeners.stop()
    return {"delivery": delivery, "events": len(window), "received": report["received"], "cpu": cpu,
            "closes": report["closes"], "append": phase}


def line(name: str, run: dict) -> bool:
    d = run["delivery"]
    print(f"{name}: {run['events']} events -> {run['received']} received; recorded_at -> receipt {live.ms(d['from_recorded'])}")
    print(f"  expected {d['expected']}, missed {d['missed']}, duplicated {d['duplicated']}, extra {d['extra']}, "
          f"sockets out of order {d['sockets_out_of_order']}; closes {run['closes'] or 'none'}; "
          f"CPU (cores) " + ", ".join(f"{k} {v:.2f}" for k, v in run["cpu"].items()))
    return not (d["missed"] or d["duplicated"] or d["extra"] or d["sockets_out_of_order"])


async def main(args) -> int:
    live.check_local(args.pg)
    print(f"open-file limit raised to {live.raise_nofile()}", flush=True)
    name = f"jobledger_bench_ts_live_{os.getpid()}"
    db = live.database_url(args.pg, name)
    await live.admin(args.pg, f"DROP DATABASE IF EXISTS {name}")
    await live.admin(args.pg, f"CREATE DATABASE {name}")
    service = None
    try:
        from jobledger.application import storage

        await storage.migrate(db)
        print(f"baseline: bare aiohttp server, {args.all} sockets, {args.rate:g} messages/s for {args.seconds} s", flush=True)
        base = await live.baseline(args)
        port = live.free_port()
        url = f"http://127.0.0.1:{port}"
        service = await live.start_service(db, port)
        jobs = await live.create_jobs(url, args.jobs)
        runs = {}
        for client in args.order.split(","):  # the machine's load drifts: --order typescript,python to check
            if client == "python":
                runs[client] = await measure("Python (bench/live.py's listeners)", await live.listener_process(),
                                             [[f"{url}/jobs/{j}/ws", "job"] for j in jobs], args, url, db, jobs)
            else:
                runs[client] = await measure("TypeScript (subscribe)", await node_listeners(),
                                             [[url, f"ts-job:{j}"] for j in jobs], args, url, db, jobs)
        python, typescript = runs["python"], runs["typescript"]
    finally:
        if service is not None:
            service.send_signal(live.signal.SIGINT)
            await asyncio.wait_for(service.wait(), 60)
        await live.admin(args.pg, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    print()
    base_p99 = live.percentile(base["latencies"], 99) * 1000
    print(f"baseline (bare aiohttp, {args.all} sockets): send -> receipt {live.ms(base['latencies'])}")
    ok = line(f"Python, {args.jobs} per-job sockets", python) & line(f"TypeScript, {args.jobs} subscribe() sockets", typescript)
    py99 = live.percentile(python["delivery"]["from_recorded"], 99) * 1000
    ts99 = live.percentile(typescript["delivery"]["from_recorded"], 99) * 1000
    ratio = ts99 / py99
    print(f"p99: TypeScript {ts99:.1f} ms / Python {py99:.1f} ms = {ratio:.2f} x (baseline p99 {base_p99:.1f} ms; "
          f"TypeScript {ts99 / base_p99:.1f} x, Python {py99 / base_p99:.1f} x baseline)")
    print(f"target p99 <= {TARGET_RATIO:g} x Python: {'PASS' if ratio <= TARGET_RATIO else 'FAIL'};  "
          f"target nothing missed: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=live.DEFAULT_PG)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=500.0, help="events appended per second")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs, each followed by its own socket")
    parser.add_argument("--all", type=int, default=100, help="sockets of the baseline")
    parser.add_argument("--message-bytes", type=int, default=1400, help="baseline message size")
    parser.add_argument("--order", default="python,typescript", choices=("python,typescript", "typescript,python"))
    parser.add_argument("--tmp", default="/tmp")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))

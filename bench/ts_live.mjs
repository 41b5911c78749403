// The TypeScript client's listeners for bench/ts_live.py: one `subscribe({ jobs: [id] })` per job,
// each over its own /ws socket, driven by the same line protocol on stdin/stdout as bench/live.py's
// listeners (connect, reset, count, report, quit), so that the same checks apply to both.
// Each receipt is timed where the client hands the event to its caller (the `for await`).
import { setMaxListeners } from "node:events";
import { createInterface } from "node:readline";
import { writeFileSync } from "node:fs";

import { Jobledger } from "../clients/typescript/dist/src/index.js";

const now = () => (performance.timeOrigin + performance.now()) / 1000;  // seconds, as Python's time.time()
const perJob = new Map();  // job id -> [positions, times]
const closes = {};
let received = 0;
let sizes = 0;
const stop = new AbortController();
setMaxListeners(0, stop.signal);  // every subscription listens to it

async function follow(jl, job, subscribed) {
  const record = [[], []];
  perJob.set(job, record);
  const settings = { signal: stop.signal, onSubscribed: subscribed };
  try {
    for await (const event of jl.subscribe({ jobs: [job] }, settings)) {
      record[0].push(event.position);
      record[1].push(now());
      received += 1;
    }
  } catch (error) {
    closes[error.code ?? "error"] = (closes[error.code ?? "error"] ?? 0) + 1;
  }
}

async function connect(sockets) {
  const started = performance.now();
  const waits = [];
  for (const [url, kind] of sockets) {
    const jl = new Jobledger({ baseUrl: url });
    waits.push(new Promise((resolve) => void follow(jl, kind.slice("ts-job:".length), resolve)));
    if (waits.length % 100 === 0) await Promise.all(waits.slice(-100));  // 100 handshakes at a time
  }
  await Promise.all(waits);
  return { connected: sockets.length, seconds: (performance.now() - started) / 1000 };
}

const answer = (value) => process.stdout.write(JSON.stringify(value) + "\n");
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  if (command.do === "connect") answer(await connect(command.sockets));
  else if (command.do === "reset") {
    for (const record of perJob.values()) record[0].length = record[1].length = 0;
    received = sizes = 0;
    answer({});
  } else if (command.do === "count") answer({ received, closes });
  else if (command.do === "report") {
    const report = { per_job: Object.fromEntries(perJob), all: [], per_user: {}, latencies: [], received, sizes, closes };
    writeFileSync(command.path, JSON.stringify(report));
    answer({ written: command.path });
  } else {
    stop.abort();
    answer({ quit: true });
    break;
  }
}
process.exit(0);

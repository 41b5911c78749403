/**
 * A subscription through restarts of the service (a clean shutdown, then a SIGKILL) while events
 * keep being committed: it reconnects and resumes after the last position it saw, and what it
 * received is exactly the log's events of those jobs (GET /jobs/{id}/events), each once, in order.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { randomUUID } from "node:crypto";

import { ApiError, type LiveEvent, type LiveState } from "../src/index.js";
import { jl, restart, restartUrl, sleep, type, until } from "./env.js";

const work = type("restart");

/** Calls through the service's restarts: a refused connection, a 503 or a 429 is tried again. */
async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await call();
    } catch (error) {
      const transient = error instanceof TypeError || (error instanceof ApiError && (error.status >= 500 || error.status === 429));
      if (tries > 600 || !transient) throw error;
      await sleep(50);
    }
  }
}

describe("a subscription through restarts", () => {
  it("misses nothing and repeats nothing", { skip: restartUrl ? false : "JOBLEDGER_RESTART_URL is not set" }, async () => {
    const controller = new AbortController();
    const received: LiveEvent[] = [];
    const states: LiveState[] = [];
    let live!: () => void;
    const subscribed = new Promise<void>((resolve) => (live = resolve));
    const following = (async () => {
      const settings = { signal: controller.signal, onState: (s: LiveState) => states.push(s), onSubscribed: () => live() };
      for await (const event of jl.subscribe({ job_types: [work] }, settings)) received.push(event);
    })();
    await subscribed;

    const ids: string[] = [];
    let producing = true;
    after(() => { producing = false; controller.abort(); });
    const producer = (async () => {
      while (producing) {
        const idempotencyKey = randomUUID();  // a create retried after its answer was lost makes no second job
        const job = await retrying(() => jl.create({ type: work }, { idempotencyKey }));
        ids.push(job.id);
        // a command retried after its answer was lost is refused (409): it was committed once
        await retrying(() => jl.start(job.id)).catch(() => undefined);
        await retrying(() => jl.progress(job.id, { percent: 50 })).catch(() => undefined);
      }
    })();
    const count = () => received.length;
    for (const how of ["stop", "kill"] as const) {
      const before = count();
      await until(() => count() >= before + 10, "events before the restart");
      await restart(how);
      const after = count();
      await until(() => count() >= after + 10, () => `events after the ${how} (${count()} received, ${ids.length} jobs, states ${states})`, 30_000);
    }
    producing = false;
    await producer;

    // everything committed arrives: wait for the log's events of every job made
    const expected: number[] = [];
    for (const id of ids) expected.push(...(await jl.events(id)).events.map((e) => e.position));
    expected.sort((a, b) => a - b);
    for (const deadline = Date.now() + 15_000; count() < expected.length && Date.now() < deadline;) await sleep(50);
    await sleep(300);  // a duplicate would arrive now
    controller.abort();
    await following;

    const positions = received.map((e) => e.position);
    assert.equal(new Set(positions).size, positions.length, "a position was received twice");
    assert.deepEqual(positions, expected, "received events differ from the log's");
    assert.ok(states.filter((s) => s === "offline").length >= 2, `two drops expected, states: ${states}`);
  });
});

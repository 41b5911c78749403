/**
 * The worker loop: claims, heartbeats a lease longer than the job's run, reports progress and
 * phases, completes with the handler's result, fails with what it threw (retryable or not), and
 * stops gracefully: the jobs in flight finish; past the grace, they are released.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import { JobError, Worker, type ClaimedJob } from "../src/index.js";
import { jl, sleep, type } from "./env.js";

async function settled(id: string, statuses: string[], ms = 15_000) {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(50)) {
    const job = await jl.get(id);
    if (statuses.includes(job.status)) return job;
  }
  assert.fail(`job ${id} never reached ${statuses}`);
}

describe("Worker", () => {
  it("runs jobs to their result or their error, heartbeating meanwhile", async () => {
    const work = type("worker");
    await jl.putType(work, { max_attempts: 1 });
    const good = await jl.create({ type: work, payload: { n: 2 }, phases: ["read"] });
    const bad = await jl.create({ type: work, payload: { n: -1 } });
    const odd = await jl.create({ type: work, payload: { n: 0 } });
    const seen: ClaimedJob[] = [];
    const worker = new Worker(jl, { types: [work], concurrency: 2, leaseSeconds: 2, waitSeconds: 1 }, async (job, ctx) => {
      seen.push(job);
      const n = (job.payload as { n: number }).n;
      if (n < 0) throw new JobError({ code: "negative", message: "n < 0" }, false);
      if (n === 0) throw new RangeError("zero");
      await ctx.startPhase("read");
      await ctx.progress(50, "half way");
      await sleep(2500);  // longer than the lease: only heartbeats keep it
      await ctx.completePhase("read", { ok: true }, 0.9);
      return { doubled: n * 2 };
    });
    const running = worker.run();
    after(() => worker.stop());  // also when an assertion fails: the loop would keep node running
    const done = await settled(good.id, ["completed", "failed"]);
    assert.deepEqual([done.status, done.result, done.phases[0]?.status, done.progress?.message], ["completed", { doubled: 4 }, "completed", "half way"]);
    assert.equal(done.attempts, 1, "the lease was kept: one attempt");
    const failed = await settled(bad.id, ["failed"]);
    assert.deepEqual(failed.error, { code: "negative", message: "n < 0" });
    const thrown = await settled(odd.id, ["failed"]);
    assert.deepEqual(thrown.error, { code: "RangeError", message: "zero" });
    worker.stop();
    await running;
    assert.deepEqual(new Set(seen.map((j) => j.id)), new Set([good.id, bad.id, odd.id]));
  });

  it("stops gracefully: a job in flight finishes; past the grace it is released", async () => {
    const work = type("stopping");
    const quick = await jl.create({ type: work, payload: { ms: 300 } });
    const slow = await jl.create({ type: work, payload: { ms: 60_000 } });
    let started = 0;
    const worker = new Worker(jl, { types: [work], concurrency: 2, waitSeconds: 5, grace: 1000 }, async (job, ctx) => {
      started++;
      const ms = (job.payload as { ms: number }).ms;
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        ctx.signal.addEventListener("abort", () => { clearTimeout(timer); reject(ctx.signal.reason); });
      });
      return { slept: ms };
    });
    const controller = new AbortController();
    const running = worker.run(controller.signal);
    after(() => controller.abort());
    for (const deadline = Date.now() + 15_000; started < 2; await sleep(20)) assert.ok(Date.now() < deadline, "never claimed both");
    const stoppedAt = Date.now();
    controller.abort();  // as a SIGTERM handler would
    await running;
    assert.ok(Date.now() - stoppedAt < 5000, "the long poll and the slow job did not hold the stop");
    assert.equal((await jl.get(quick.id)).status, "completed");
    const released = await jl.get(slow.id);
    assert.deepEqual([released.status, released.worker_id], ["queued", null]);
    const events = (await jl.events(slow.id)).events.map((e) => e.type);
    assert.deepEqual(events, ["JobCreated", "JobStarted", "JobReleased"]);
  });
});

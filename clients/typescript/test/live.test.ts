/**
 * subscribe() over /ws (jobs, job types, metadata, all; `after`; typed events) and waitFor() over
 * /jobs/{id}/ws (resolves, rejects with the job's error, a refusal, a timeout, an abort).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { JobFailed, Jobledger, Refused, type LiveEvent } from "../src/index.js";
import { jl, key, run, sleep, take, type, until, url } from "./env.js";

const typed = type("live");
const other = type("live-other");

/** What the compiler narrows: each event type's data (a compile-time check as much as a runtime one). */
function describeEvent(event: LiveEvent): string {
  switch (event.event) {
    case "ProgressReported": return `progress ${event.data.percent} ${event.data.message ?? ""}`;
    case "JobCreated": return `created ${event.data.job_type}`;
    case "JobStarted": return `started ${event.data.attempt}`;
    case "JobCompleted": return `completed ${JSON.stringify(event.data.result)}`;
    case "JobFailed": return `failed ${JSON.stringify(event.data.error)}`;
    default: return event.event;
  }
}

/** Subscribed (the acknowledgement came): resolves once the subscription is live. */
function subscribed(): { settings: { onSubscribed: () => void }; ready: Promise<void> } {
  let ready!: () => void;
  const promise = new Promise<void>((resolve) => (ready = resolve));
  return { settings: { onSubscribed: () => ready() }, ready: promise };
}

describe("subscribe", () => {
  it("follows a job type: typed events, in log order", async () => {
    const { settings, ready } = subscribed();
    const events = take({ job_types: [typed] }, 4, settings);
    await ready;
    await jl.create({ type: other });  // another type: not sent
    const job = await jl.create({ type: typed });
    await jl.start(job.id);
    await jl.progress(job.id, { percent: 40, message: "half" });
    await jl.complete(job.id, { result: { pages: 2 } });
    const got = await events;
    assert.deepEqual(got.map(describeEvent), [`created ${typed}`, "started 1", "progress 40 half", 'completed {"pages":2}']);
    assert.deepEqual(got.map((e) => e.job.status), ["queued", "running", "running", "completed"]);
    const positions = got.map((e) => e.position);
    assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
    assert.ok(got.every((e) => e.job_id === job.id && e.job.position === e.position));
  });

  it("follows given jobs, and jobs by metadata", async () => {
    const mine = await jl.create({ type: other });
    const byJob = subscribed(), byMeta = subscribed();
    const jobEvents = take({ jobs: [mine.id] }, 1, byJob.settings);
    const metaEvents = take({ metadata: { run, user: "42" } }, 1, byMeta.settings);
    await Promise.all([byJob.ready, byMeta.ready]);
    await jl.create({ type: other, metadata: { run, user: "7" } });
    const tagged = await jl.create({ type: other, metadata: { run, user: "42" } });
    await jl.cancel(mine.id, { reason: "test" });
    assert.deepEqual((await jobEvents).map((e) => [e.job_id, e.event]), [[mine.id, "JobCancelled"]]);
    assert.deepEqual((await metaEvents).map((e) => [e.job_id, e.event]), [[tagged.id, "JobCreated"]]);
  });

  it("follows everything, and replays what came after a position", async () => {
    const first = await jl.create({ type: typed });
    const position = first.position;
    const second = await jl.create({ type: typed });
    await jl.cancel(first.id);
    const got = await take({ job_types: [typed] }, 2, { after: position });
    assert.deepEqual(got.map((e) => [e.job_id, e.event]), [[second.id, "JobCreated"], [first.id, "JobCancelled"]]);
    const { settings, ready } = subscribed();
    const all = take({}, 1, settings);
    await ready;
    const third = await jl.create({ type: other });
    assert.equal((await all)[0]?.job_id, third.id);
  });

  it("ends when its signal aborts, and says when it is live", async () => {
    const controller = new AbortController();
    const states: string[] = [];
    const ending = (async () => {
      for await (const _ of jl.subscribe({ job_types: [typed] }, { signal: controller.signal, onState: (s) => states.push(s) })) {
        assert.fail("no event was expected");
      }
    })();
    await until(() => states.includes("live"), "live");
    controller.abort();
    await ending;
    assert.deepEqual(states, ["connecting", "live"]);
  });

  it("throws Refused for a key the service refuses, and for a bad subscription", async () => {
    const stranger = new Jobledger({ baseUrl: url, key: "jl_000000000000_unknown" });
    await assert.rejects(stranger.subscribe({ all: true }).next(), (e) => e instanceof Refused && e.code === "unauthorized");
    const nobody = new Jobledger({ baseUrl: url });
    await assert.rejects(nobody.subscribe({ all: true }).next(), (e) => e instanceof Refused && e.code === "unauthorized");
    await assert.rejects(jl.subscribe({ jobs: ["not-a-uuid"] }).next(), (e) => e instanceof Refused && e.code === "invalid_request");
  });
});

describe("waitFor", () => {
  it("resolves with the completed job, and at once for one already completed", async () => {
    const job = await jl.create({ type: typed });
    const waiting = jl.waitFor(job.id, { timeout: 15_000 });
    await sleep(100);
    await jl.start(job.id);
    await jl.complete(job.id, { result: { ok: true } });
    const done = await waiting;
    assert.deepEqual([done.id, done.status, done.result], [job.id, "completed", { ok: true }]);
    assert.equal((await jl.waitFor(job.id)).version, done.version);
  });

  it("rejects with JobFailed carrying the job's error, or its cancellation", async () => {
    const job = await jl.create({ type: typed });
    // its outcome is taken at once: the failure can reject it before the next line awaits it
    const outcome = jl.waitFor(job.id).then(() => assert.fail("expected JobFailed"), (e: unknown) => e);
    await jl.start(job.id);
    await jl.fail(job.id, { error: { code: "unreadable", message: "page 3 is blank" } });
    const error = await outcome;
    assert.ok(error instanceof JobFailed);
    assert.deepEqual([error.code, error.error, error.job.status], ["unreadable", { code: "unreadable", message: "page 3 is blank" }, "failed"]);
    const cancelled = await jl.create({ type: typed });
    await jl.cancel(cancelled.id, { reason: "no longer needed" });
    await assert.rejects(jl.waitFor(cancelled.id), (e) => e instanceof JobFailed && e.code === "cancelled" && e.job.cancel_reason === "no longer needed");
  });

  it("rejects with Refused for an unknown job or a refused key, TimeoutError, or the signal's reason", async () => {
    await assert.rejects(jl.waitFor("00000000-0000-4000-8000-000000000000"), (e) => e instanceof Refused && e.code === "job_not_found");
    const job = await jl.create({ type: typed });
    const stranger = new Jobledger({ baseUrl: url, key: "jl_000000000000_unknown" });
    await assert.rejects(stranger.waitFor(job.id), (e) => e instanceof Refused && e.code === "unauthorized");
    await assert.rejects(new Jobledger({ baseUrl: url }).waitFor(job.id), (e) => e instanceof Refused && e.code === "unauthorized");
    await assert.rejects(jl.waitFor(job.id, { timeout: 300 }), (e) => e instanceof DOMException && e.name === "TimeoutError");
    const controller = new AbortController();
    const waiting = jl.waitFor(job.id, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error("gave up")), 200);
    await assert.rejects(waiting, /gave up/);
    assert.ok(key, "the tests run with keys required");
  });
});

/**
 * Calls every operation of a running service's /openapi.json through the typed wrapper, in the
 * order a job's life takes them, and fails if the document has an operation this file never
 * called. JOBLEDGER_URL names the service; JOBLEDGER_KEY an admin key (none in the open mode);
 * JOBLEDGER_OPERATOR_KEY, if given, an operator key for /metrics and /health's counts.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";

import { createClient, expectStatus, type Client } from "../src/http.js";
import type { components } from "../src/schema.js";

type Job = components["schemas"]["Job"];
type ClaimedJob = components["schemas"]["ClaimedJob"];

const url = process.env.JOBLEDGER_URL ?? "http://127.0.0.1:8080";
const key = process.env.JOBLEDGER_KEY || undefined;
const operatorKey = process.env.JOBLEDGER_OPERATOR_KEY || undefined;

const called = new Set<string>();
const api = recording(createClient({ baseUrl: url, key }), called);
const run = randomUUID().slice(0, 8);  // names of this run, apart from what the service already holds
const tracked = `ts-tracked-${run}`;
const work = `ts-work-${run}`;
const claim = { worker_id: `ts-${run}`, types: [work], limit: 2, lease_seconds: 60 };

function recording(client: Client, into: Set<string>): Client {
  return {
    request(method, path, ...init) {
      into.add(`${method} ${path}`);
      return client.request(method, path, ...init);
    },
  };
}

function documented(document: unknown): string[] {
  assert.ok(typeof document === "object" && document !== null && "paths" in document);
  const paths = document.paths as Record<string, Record<string, unknown>>;
  const methods = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
  return Object.entries(paths).flatMap(([path, item]) =>
    Object.keys(item).filter((name) => methods.has(name)).map((method) => `${method} ${path}`));
}

function pick(job: Job): [Job["status"], number] {
  return [job.status, job.version];
}

async function pollStats(type: string): Promise<components["schemas"]["TypeStats"]> {
  for (let tries = 0; tries < 100; tries++) {
    const stats = expectStatus(await api.request("get", "/stats"), 200).body;
    const found = stats.types[type];
    if (stats.projection.lag === 0 && found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`GET /stats never caught up with the type ${type}`);
}

describe(`every operation of ${url}/openapi.json`, () => {
  let operations: string[] = [];
  let life: Job;      // a tracked job: started, phased, failed, retried, deleted
  let done: Job;      // a tracked job completed under If-Match
  let finished: Job;  // a worker's job: claimed, reported, given artifacts, completed
  let held: ClaimedJob;  // a worker's second job, as claimed
  let retried: Job;   // a worker's job: released, claimed again, failed with a retry, cancelled

  it("serves its OpenAPI 3.1 document", async () => {
    const answer = expectStatus(await api.request("get", "/openapi.json"), 200);
    operations = documented(answer.body);
    assert.ok(operations.length > 0);
  });

  it("answers /health", async () => {
    const health = expectStatus(await api.request("get", "/health"), 200).body;
    assert.equal(health.status, "ok");
    assert.ok(["sqlite", "postgresql"].includes(health.backend));
    if (operatorKey === undefined) return;
    const operator = createClient({ baseUrl: url, key: operatorKey });
    const full = expectStatus(await operator.request("get", "/health"), 200).body;
    assert.ok("queues" in full && typeof full.running === "number", JSON.stringify(full));
  });

  it("registers job types", async () => {
    const body = { max_attempts: 2, schema: { type: "object", properties: { pages: { type: "integer" } } } };
    for (const name of [tracked, work]) {
      const put = expectStatus(await api.request("put", "/types/{name}", { path: { name }, body }), 200);
      assert.equal(put.body.name, name);
    }
    const one = expectStatus(await api.request("get", "/types/{name}", { path: { name: work } }), 200);
    assert.equal(one.body.max_attempts, 2);
    const all = expectStatus(await api.request("get", "/types"), 200);
    const ours = all.body.types.map((t) => t.name).filter((name) => name.endsWith(run));
    assert.deepEqual(ours.sort(), [tracked, work].sort());
    const invalid = { type: work, payload: { pages: "x" } };
    const refused = expectStatus(await api.request("post", "/jobs", { body: invalid }), 400);
    assert.equal(refused.body.error.code, "invalid_request");
    assert.equal(refused.body.error.message.split(":")[0], "payload.pages");
  });

  it("pauses and resumes a job type, each an event of its history", async () => {
    const name = `paused-${run}`;
    const paused = expectStatus(
      await api.request("post", "/types/{name}/pause", { path: { name }, body: { reason: "downstream is down" } }), 200,
    );
    assert.equal(paused.body.status, "paused");
    assert.equal(paused.body.changed, true);
    const resumed = expectStatus(await api.request("post", "/types/{name}/resume", { path: { name }, body: {} }), 200);
    assert.equal(resumed.body.status, "active");
    const history = expectStatus(await api.request("get", "/types/{name}/events", { path: { name } }), 200);
    assert.deepEqual(history.body.events.map((e) => e.type), ["TypePaused", "TypeResumed"]);
  });

  it("creates, changes and deletes a schedule, each an event of its history", async () => {
    const name = `contract-${run}`;
    const body = { name, cron: "*/5 * * * *", job: { type: tracked, payload: { pages: 1 } }, overlap: "skip" as const };
    const created = expectStatus(await api.request("post", "/schedules", { body }), 201);
    assert.equal(created.body.overlap, "skip");
    const again = expectStatus(await api.request("post", "/schedules", { body }), 409);
    assert.equal(again.body.error.code, "schedule_exists");
    const bad = expectStatus(await api.request("post", "/schedules", { body: { ...body, name: `bad-${run}`, cron: "61 * * * *" } }), 400);
    assert.equal(bad.body.error.message.split(":")[0], "cron");
    const listed = expectStatus(await api.request("get", "/schedules", { query: { limit: 500 } }), 200);
    assert.ok(listed.body.schedules.some((s) => s.name === name));
    const one = expectStatus(await api.request("get", "/schedules/{name}", { path: { name } }), 200);
    assert.equal(one.body.cron, "*/5 * * * *");
    const { name: _, ...definition } = body;
    const updated = expectStatus(await api.request("put", "/schedules/{name}", { path: { name }, body: { ...definition, cron: "0 * * * *" } }), 200);
    assert.equal(updated.body.version, 2);
    const paused = expectStatus(await api.request("post", "/schedules/{name}/pause", { path: { name }, body: {} }), 200);
    assert.equal(paused.body.next_fire_at, null);
    expectStatus(await api.request("post", "/schedules/{name}/resume", { path: { name }, body: {} }), 200);
    expectStatus(await api.request("delete", "/schedules/{name}", { path: { name } }), 200);
    const history = expectStatus(await api.request("get", "/schedules/{name}/events", { path: { name } }), 200);
    assert.equal(history.body.events.length, 5);
  });

  it("creates jobs, once per idempotency key", async () => {
    const body = { type: tracked, phases: ["fetch", "parse"], payload: { pages: 3 } };
    const init = { body, header: { "Idempotency-Key": run } };
    const created = expectStatus(await api.request("post", "/jobs", init), 201);
    life = created.body;
    assert.equal(life.status, "queued");
    assert.equal(created.headers.get("Location"), `/jobs/${life.id}`);
    assert.equal(created.headers.get("ETag"), '"1"');
    const again = expectStatus(await api.request("post", "/jobs", init), 200);
    assert.equal(again.body.id, life.id);
    const payload = { pages: 1 };
    const retrying = { type: work, payload, max_attempts: 2 };
    const batch = { jobs: [{ type: tracked, payload }, retrying, retrying] };
    const made = expectStatus(await api.request("post", "/jobs/batch", { body: batch }), 201);
    assert.deepEqual(made.body.created, [true, true, true]);
    assert.deepEqual(made.body.jobs.map((job) => job.type), [tracked, work, work]);
    done = made.body.jobs[0]!;
  });

  it("creates a graph in a batch: a child waits for its parent", async () => {
    const type = `ts-graph-${run}`;  // a type of its own: the list below counts the tracked type's jobs
    const batch = { jobs: [{ type, ref: "parent" }, { type, depends_on: [{ job: "parent", on_failure: "run" as const }] }] };
    const [parent, child] = expectStatus(await api.request("post", "/jobs/batch", { body: batch }), 201).body.jobs;
    assert.deepEqual([parent!.status, child!.status, child!.waiting_on], ["queued", "waiting", [parent!.id]]);
    const graph = expectStatus(await api.request("get", "/jobs/{id}/graph", { path: { id: child!.id } }), 200).body;
    assert.deepEqual(graph.parents.map((p) => [p.id, p.status, p.on_failure]), [[parent!.id, "queued", "run"]]);
    const cancel = await api.request("post", "/jobs/{id}/cancel", { path: { id: parent!.id }, body: {} });
    assert.equal(expectStatus(cancel, 200).body.status, "cancelled");
    const after = expectStatus(await api.request("get", "/jobs/{id}", { path: { id: child!.id } }), 200).body;
    assert.equal(after.status, "queued");  // its edge runs it anyway
  });

  it("reads a job, a 304 for the version held, and lists in pages", async () => {
    const read = expectStatus(await api.request("get", "/jobs/{id}", { path: { id: life.id } }), 200);
    assert.deepEqual(read.body, life);
    const etag = read.headers.get("ETag") ?? "";
    const same = await api.request("get", "/jobs/{id}", { path: { id: life.id }, header: { "If-None-Match": etag } });
    assert.equal(expectStatus(same, 304).body, undefined);
    const first = expectStatus(await api.request("get", "/jobs", { query: { type: tracked, limit: 1 } }), 200).body;
    assert.deepEqual(first.jobs.map((job) => job.id), [done.id]);  // newest first
    assert.ok(first.next_cursor !== null);
    const query = { type: tracked, limit: 1, cursor: first.next_cursor };
    const second = expectStatus(await api.request("get", "/jobs", { query }), 200).body;
    assert.deepEqual(second.jobs.map((job) => job.id), [life.id]);
  });

  it("counts, cancels and retries the jobs a filter selects", async () => {
    const tag = { batch: `bulk-${run}` };
    const made = expectStatus(await api.request("post", "/jobs/batch", {
      body: { jobs: [{ type: tracked, payload: { pages: 1 }, metadata: tag }, { type: tracked, payload: { pages: 2 }, metadata: tag }] },
    }), 201).body.jobs;
    const filter = { metadata: tag };
    const counted = expectStatus(await api.request("post", "/jobs/cancel", { body: { filter, dry_run: true } }), 200);
    assert.deepEqual([counted.body.selected, counted.body.acted, counted.body.dry_run], [2, 0, true]);
    const cancelled = expectStatus(await api.request("post", "/jobs/cancel", { body: { filter, reason: "contract" } }), 200);
    assert.deepEqual([cancelled.body.action, cancelled.body.acted], ["cancel", 2]);
    const listed = expectStatus(await api.request("get", "/jobs", { query: { type: tracked, limit: 50 } }), 200).body;
    const ours = listed.jobs.filter((job) => made.some((m) => m.id === job.id));
    assert.deepEqual(ours.map((job) => job.status), ["cancelled", "cancelled"]);
    const none = expectStatus(await api.request("post", "/jobs/retry", { body: { filter: { type: tracked, status: "failed" } } }), 200);
    assert.equal(none.body.action, "retry");
    const queued = { filter: { status: "queued" } } as unknown as { filter: { status: "failed" } };  // the types refuse it too
    const refused = expectStatus(await api.request("post", "/jobs/retry", { body: queued }), 400);
    assert.equal(refused.body.error.message.split(":")[0], "filter.status");
    const erased = expectStatus(await api.request("post", "/jobs/{id}/purge", { path: { id: made[0]!.id }, body: { reason: "contract" } }), 200);
    assert.equal(erased.body.payload, null);
    assert.ok(erased.body.erased_at);
    const purged = expectStatus(await api.request("post", "/jobs/purge", { body: { filter, reason: "contract" } }), 200);
    // the job erased above has no metadata left to match: the filter selects the other one
    assert.deepEqual([purged.body.action, purged.body.selected, purged.body.acted], ["purge", 1, 1]);
  });

  it("follows a tracked job through phases, failure, a retry and a delete", async () => {
    const path = { id: life.id };
    const phase = (name: string) => ({ id: life.id, phase: name });
    assert.equal(expectStatus(await api.request("post", "/jobs/{id}/start", { path }), 200).body.status, "running");
    expectStatus(await api.request("post", "/jobs/{id}/phases/{phase}/start", { path: phase("fetch") }), 200);
    const progress = { percent: 40, message: "read 12 of 30 pages" };
    const reported = expectStatus(await api.request("post", "/jobs/{id}/progress", { path, body: progress }), 200);
    assert.equal(reported.body.progress?.percent, 40);
    const result = { result: { pages: 30 }, confidence: 0.9 };
    const fetched = await api.request("post", "/jobs/{id}/phases/{phase}/complete", {
      path: phase("fetch"), body: result,
    });
    assert.equal(expectStatus(fetched, 200).body.phases[0]?.status, "completed");
    expectStatus(await api.request("post", "/jobs/{id}/phases/{phase}/start", { path: phase("parse") }), 200);
    const failed = await api.request("post", "/jobs/{id}/phases/{phase}/fail", {
      path: phase("parse"), body: { error: "bad table" },
    });
    assert.deepEqual(expectStatus(failed, 200).body.phases.map((p) => p.status), ["completed", "failed"]);
    const fail = await api.request("post", "/jobs/{id}/fail", { path, body: { error: { code: "parse_error" } } });
    assert.equal(expectStatus(fail, 200).body.status, "failed");
    const retry = await api.request("post", "/jobs/{id}/retry", { path, body: { reason: "fixed the parser" } });
    assert.equal(expectStatus(retry, 200).body.status, "queued");
    const deleted = await api.request("delete", "/jobs/{id}", { path, body: { reason: "not needed" } });
    life = expectStatus(deleted, 200).body;
    assert.equal(life.status, "cancelled");
    assert.equal(life.cancel_reason, "not needed");
  });

  it("completes only at the version held, and refuses to cancel a finished job", async () => {
    const path = { id: done.id };
    const started = expectStatus(await api.request("post", "/jobs/{id}/start", { path }), 200).body;
    const stale = await api.request("post", "/jobs/{id}/complete", { path, header: { "If-Match": "1" } });
    assert.equal(expectStatus(stale, 409).body.error.code, "version_conflict");
    const header = { "If-Match": String(started.version) };
    const body = { result: { score: 0.82 } };
    const completed = await api.request("post", "/jobs/{id}/complete", { path, header, body });
    done = expectStatus(completed, 200).body;
    assert.deepEqual([done.status, done.result], ["completed", { score: 0.82 }]);
    const cancel = await api.request("post", "/jobs/{id}/cancel", { path, body: {} });
    assert.equal(expectStatus(cancel, 409).body.error.code, "illegal_transition");
  });

  it("lets a worker claim, heartbeat, report, store artifacts and complete", async () => {
    const claimed = expectStatus(await api.request("post", "/workers/claim", { body: claim }), 200).body.jobs;
    assert.deepEqual(claimed.map((job) => [job.type, job.status, job.worker_id]), [
      [work, "running", claim.worker_id], [work, "running", claim.worker_id],
    ]);
    const [first, second] = claimed as [ClaimedJob, ClaimedJob];
    held = second;
    const lease = { lease_token: first.lease_token };
    const path = { id: first.id };
    const beat = await api.request("post", "/jobs/{id}/heartbeat", { path, body: { ...lease, lease_seconds: 120 } });
    assert.ok(expectStatus(beat, 200).body.lease_expires_at! > first.lease_expires_at!);
    expectStatus(await api.request("post", "/jobs/{id}/progress", { path, body: { ...lease, percent: 50 } }), 200);
    const artifacts = [
      { name: "summary.json", data: { pages: 30 }, content_type: "application/json" },
      { name: "notes.md", data: "# Findings", content_type: "text/markdown" },
    ];
    for (const artifact of artifacts) {
      expectStatus(await api.request("post", "/jobs/{id}/artifacts", { path, body: { ...lease, ...artifact } }), 200);
      const at = { id: first.id, name: artifact.name };
      const got = await api.request("get", "/jobs/{id}/artifacts/{name}", { path: at });
      assert.deepEqual(expectStatus(got, 200).body, artifact.data);
    }
    const listed = expectStatus(await api.request("get", "/jobs/{id}/artifacts", { path }), 200).body.artifacts;
    assert.deepEqual(listed.map((a) => [a.name, a.content_type]), artifacts.map((a) => [a.name, a.content_type]));
    const body = { ...lease, result: { ok: true } };
    finished = expectStatus(await api.request("post", "/jobs/{id}/complete", { path, body }), 200).body;
    assert.equal(finished.status, "completed");
  });

  it("lets a worker release a job, and fail it for a retry; a cancel ends it", async () => {
    const path = { id: held.id };
    const given = { lease_token: held.lease_token, reason: "shutting down" };
    const released = await api.request("post", "/jobs/{id}/release", { path, body: given });
    assert.equal(expectStatus(released, 200).body.status, "queued");
    const again = expectStatus(await api.request("post", "/workers/claim", { body: claim }), 200).body.jobs;
    assert.deepEqual(again.map((job) => [job.id, job.attempts]), [[held.id, 1]]);  // a release does not count
    const stale = { lease_token: held.lease_token, percent: 1 };
    const lost = await api.request("post", "/jobs/{id}/progress", { path, body: stale });
    assert.equal(expectStatus(lost, 409).body.error.code, "lease_lost");
    const error = { error: "timeout", retryable: true, lease_token: again[0]?.lease_token ?? "" };
    const fail = expectStatus(await api.request("post", "/jobs/{id}/fail", { path, body: error }), 200).body;
    assert.deepEqual([fail.status, fail.attempts, fail.max_attempts], ["queued", 1, 2]);  // a retry scheduled
    const cancel = await api.request("post", "/jobs/{id}/cancel", { path, body: { reason: "enough" } });
    retried = expectStatus(cancel, 200).body;
    assert.equal(retried.status, "cancelled");
  });

  it("answers a job's events, the log and the hash chain", async () => {
    const path = { id: retried.id };
    const events = expectStatus(await api.request("get", "/jobs/{id}/events", { path }), 200).body;
    assert.equal(events.job_id, retried.id);
    assert.deepEqual(events.events.map((e) => e.version), events.events.map((_, i) => i + 1));
    assert.deepEqual(events.events.map((e) => e.type), [
      "JobCreated", "JobStarted", "JobReleased", "JobStarted", "RetryScheduled", "JobCancelled",
    ]);
    const cut = events.events[1]!;
    const query = { after: cut.position, until: events.events.at(-1)!.recorded_at };
    const later = expectStatus(await api.request("get", "/jobs/{id}/events", { path, query }), 200);
    assert.deepEqual(later.body.events.map((e) => e.version), [3, 4, 5, 6]);
    const page = { after: cut.position - 1, limit: 1 };
    const log = expectStatus(await api.request("get", "/events", { query: page }), 200);
    assert.deepEqual(log.body.events.map((e) => [e.position, e.job_id]), [[cut.position, retried.id]]);
    assert.equal(log.body.next_after, cut.position);
    const verified = expectStatus(await api.request("get", "/jobs/{id}/verify", { path }), 200).body;
    assert.deepEqual([verified.ok, verified.events, verified.broken], [true, 6, null]);
  });

  it("answers a job as it was at a log position and at a time", async () => {
    const path = { id: finished.id };
    const events = expectStatus(await api.request("get", "/jobs/{id}/events", { path }), 200).body.events;
    const created = events[0]!;
    const then = await api.request("get", "/jobs/{id}", { path, query: { at_position: created.position } });
    assert.deepEqual(pick(expectStatus(then, 200).body), ["queued", 1]);
    const asOf = await api.request("get", "/jobs/{id}", { path, query: { as_of: events[1]!.recorded_at } });
    assert.deepEqual(pick(expectStatus(asOf, 200).body), ["running", 2]);
    const before = await api.request("get", "/jobs/{id}", { path, query: { at_position: created.position - 1 } });
    assert.equal(expectStatus(before, 404).body.error.code, "job_not_found");
  });

  it("counts the types' jobs in /stats", async () => {
    const stats = await pollStats(work);
    assert.deepEqual(stats.counts, { completed: 1, cancelled: 1 });
    assert.deepEqual(stats.last_hour.finished, { completed: 1, cancelled: 1 });
  });

  it("signs checkpoints and proves a job's events in them", async () => {
    const issued = expectStatus(await api.request("post", "/checkpoint"), 200).body;
    const latest = expectStatus(await api.request("get", "/checkpoint"), 200).body;
    assert.match(issued, /^.+\n\d+\n\S+\n\n/);
    const size = Number(latest.split("\n")[1]);
    const list = expectStatus(await api.request("get", "/checkpoints", { query: { after: size - 1 } }), 200).body;
    assert.deepEqual(list.map((c) => [c.tree_size, c.note]), [[size, latest]]);
    const bundle = expectStatus(await api.request("get", "/jobs/{id}/bundle", { path: { id: finished.id } }), 200).body;
    assert.equal(bundle.format, "jobledger-audit-bundle/1");
    assert.deepEqual(bundle.events.map((e) => e.event.version), bundle.events.map((_, i) => i + 1));
    const leaf = bundle.events[0]!;
    const query = { leaf_index: leaf.leaf_index, tree_size: bundle.tree_size };
    const inclusion = expectStatus(await api.request("get", "/proofs/inclusion", { query }), 200).body;
    assert.deepEqual(inclusion.proof, leaf.inclusion_proof);
    const between = { first: leaf.leaf_index + 1, second: bundle.tree_size };
    const consistency = expectStatus(await api.request("get", "/proofs/consistency", { query: between }), 200).body;
    assert.deepEqual([consistency.first, consistency.second], [between.first, between.second]);
  });

  it("keeps webhook endpoints", async () => {
    const made = expectStatus(await api.request("post", "/webhooks", { body: { url: `http://127.0.0.1:9/${run}` } }), 201).body;
    const path = { webhook_id: made.id };
    assert.match(made.secret, /^whsec_/);
    const all = expectStatus(await api.request("get", "/webhooks"), 200).body;
    assert.ok(all.webhooks.some((w) => w.id === made.id));
    assert.equal(expectStatus(await api.request("get", "/webhooks/{webhook_id}", { path }), 200).body.status, "active");
    const hooked = `ts-hooked-${run}`;
    const changed = await api.request("patch", "/webhooks/{webhook_id}", { path, body: { job_types: [hooked] } });
    assert.deepEqual(expectStatus(changed, 200).body.job_types, [hooked]);
    const rotated = expectStatus(await api.request("post", "/webhooks/{webhook_id}/rotate", { path, body: {} }), 200).body;
    assert.ok(rotated.previous_secret_expires_at !== null);
    expectStatus(await api.request("post", "/jobs", { body: { type: hooked } }), 201);
    let deliveries: components["schemas"]["WebhookDelivery"][] = [];
    for (let tries = 0; deliveries.length === 0 && tries < 100; tries++) {
      if (tries) await new Promise((resolve) => setTimeout(resolve, 50));
      deliveries = expectStatus(await api.request("get", "/webhooks/{webhook_id}/deliveries", { path }), 200).body.deliveries;
    }
    const again = { path: { ...path, delivery_id: deliveries[0]!.id }, body: {} };
    expectStatus(await api.request("post", "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", again), 202);
    const history = expectStatus(await api.request("get", "/webhooks/{webhook_id}/events", { path }), 200).body;
    assert.equal(history.events[0]!.type, "WebhookCreated");
    expectStatus(await api.request("delete", "/webhooks/{webhook_id}", { path }), 204);
    assert.equal(expectStatus(await api.request("get", "/webhooks/{webhook_id}", { path }), 404).body.error.code, "webhook_not_found");
  });

  it("keeps /metrics to operators", async () => {
    if (key === undefined || operatorKey !== undefined) {
      const operator = recording(createClient({ baseUrl: url, key: operatorKey }), called);
      const metrics = expectStatus(await operator.request("get", "/metrics"), 200).body;
      assert.match(metrics, /^jobledger_jobs\{/m);
    }
    if (key !== undefined) {
      const refused = expectStatus(await api.request("get", "/metrics"), 403).body;
      assert.equal(refused.error.code, "forbidden");
    }
  });

  it("refuses an unknown key", async () => {
    const stranger = createClient({ baseUrl: url, key: "jl_000000000000_unknown" });
    const refused = expectStatus(await stranger.request("get", "/types"), 401);
    assert.equal(refused.body.error.code, "unauthorized");
    assert.match(refused.headers.get("WWW-Authenticate") ?? "", /^Bearer /);
  });

  it("called every operation of the document", () => {
    assert.ok(operations.length > 0, "the document was never read");
    const missed = operations.filter((operation) => !called.has(operation));
    assert.deepEqual(missed, [], `operations of the document this test never called: ${missed.join(", ")}`);
  });
});

/**
 * Every operation of the document through `Jobledger`'s methods, with typed results and typed
 * errors (ApiError's status and code): create once per idempotency key, batch, get with an ETag,
 * list across cursors, reporting commands under If-Match, cancel, retry, events, verify, ...
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ApiError, createClient, Jobledger, type Client, type Job } from "../src/index.js";
import { key, operatorKey, run, type, url } from "./env.js";

const called = new Set<string>();

function recording(client: Client): Client {
  return {
    request(method, path, ...init) {
      called.add(`${method} ${path}`);
      return client.request(method, path, ...init);
    },
  };
}

const jl = new Jobledger({ baseUrl: url, key }, recording(createClient({ baseUrl: url, key })));
const op = new Jobledger({ baseUrl: url, key: operatorKey }, recording(createClient({ baseUrl: url, key: operatorKey })));
const tracked = type("calls");
const work = type("calls-work");

async function refused(call: Promise<unknown>, status: number, code: string): Promise<ApiError> {
  const error = await call.then(() => assert.fail("expected an ApiError"), (e: unknown) => e);
  assert.ok(error instanceof ApiError, String(error));
  assert.deepEqual([error.status, error.code], [status, code], error.message);
  return error;
}

describe("Jobledger: every operation", () => {
  let operations: string[] = [];
  let job: Job;

  it("reads the document, /health, /stats, /metrics", async () => {
    const document = await jl.openapi();
    const paths = document.paths as Record<string, Record<string, unknown>>;
    const methods = new Set(["get", "put", "post", "delete", "patch"]);
    operations = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item).filter((m) => methods.has(m)).map((m) => `${m} ${path}`));
    assert.equal((await jl.health()).status, "ok");
    assert.equal(typeof (await jl.stats()).projection.lag, "number");
    assert.match(await op.metrics(), /^jobledger_/m);
    await refused(jl.metrics(), 403, "forbidden");
  });

  it("registers types", async () => {
    for (const name of [tracked, work]) assert.equal((await jl.putType(name, { max_attempts: 2 })).name, name);
    assert.equal((await jl.getType(work)).max_attempts, 2);
    assert.ok((await jl.types()).types.some((t) => t.name === tracked));
    await refused(jl.getType(`ts-missing-${run}`), 404, "type_not_found");
    assert.equal((await jl.pauseType(work, { reason: "downstream is down" })).status, "paused");
    assert.equal((await jl.resumeType(work)).changed, true);
    const history = await jl.typeEvents(work);
    assert.deepEqual(history.events.map((e) => e.type), ["TypeDefined", "TypePaused", "TypeResumed"]);
  });

  it("schedules jobs", async () => {
    const name = `calls-${run}`;
    const created = await jl.createSchedule({ name, cron: "0 3 * * *", timezone: "Europe/Berlin", job: { type: tracked } });
    assert.equal(created.status, "active");
    assert.ok(created.next_fire_at !== null);
    assert.ok((await jl.schedules({ limit: 500 })).schedules.some((s) => s.name === name));
    assert.equal((await jl.getSchedule(name)).cron, "0 3 * * *");
    assert.equal((await jl.updateSchedule(name, { cron: "0 4 * * *", job: { type: tracked } })).version, 2);
    assert.equal((await jl.pauseSchedule(name, { reason: "holidays" })).status, "paused");
    assert.equal((await jl.resumeSchedule(name)).status, "active");
    assert.equal((await jl.deleteSchedule(name)).status, "deleted");
    await refused(jl.getSchedule(name), 404, "schedule_not_found");
    const history = await jl.scheduleEvents(name);
    assert.deepEqual(history.events.map((e) => e.type),
      ["ScheduleCreated", "ScheduleUpdated", "SchedulePaused", "ScheduleResumed", "ScheduleDeleted"]);
  });

  it("creates once per idempotency key, in batches, and reads with an ETag", async () => {
    job = await jl.create({ type: tracked, phases: ["fetch"], metadata: { run } }, { idempotencyKey: `k-${run}` });
    const again = await jl.create({ type: tracked, phases: ["fetch"], metadata: { run } }, { idempotencyKey: `k-${run}` });
    assert.equal(again.id, job.id);
    const made = await jl.batch([{ type: tracked, metadata: { run } }, { type: tracked, metadata: { run } }]);
    assert.deepEqual(made.created, [true, true]);
    const tagged = await jl.getTagged(job.id);
    assert.deepEqual([tagged.job?.id, tagged.etag], [job.id, '"1"']);
    assert.deepEqual(await jl.getTagged(job.id, tagged.etag), { job: null, etag: '"1"' });
    assert.equal((await jl.get(job.id)).status, "queued");
    await refused(jl.get("00000000-0000-4000-8000-000000000000"), 404, "job_not_found");
    const error = await refused(jl.create({ type: "" } as never), 400, "invalid_request");
    assert.ok(error.message.includes("type"), error.message);
  });

  it("lists every job across cursors, newest first", async () => {
    const ids: string[] = [];
    for await (const listed of jl.list({ type: tracked, limit: 1 })) ids.push(listed.id);
    assert.equal(ids.length, 3);
    assert.equal(ids.at(-1), job.id);
    const page = await jl.listPage({ metadata: { run }, limit: 2 });
    assert.deepEqual([page.jobs.length, page.next_cursor !== null], [2, true]);
  });

  it("reports under If-Match, and refuses a stale version", async () => {
    const started = await jl.start(job.id);
    await refused(jl.progress(job.id, { percent: 5 }, { ifMatch: started.version - 1 }), 409, "version_conflict");
    const at = { ifMatch: started.version };
    assert.equal((await jl.progress(job.id, { percent: 10, message: "m" }, at)).progress?.percent, 10);
    await jl.startPhase(job.id, "fetch");
    const phased = await jl.failPhase(job.id, "fetch", { error: "x" });
    assert.equal(phased.phases[0]?.status, "failed");
    const failed = await jl.fail(job.id, { error: { code: "boom" } });
    assert.equal(failed.status, "failed");
    assert.equal((await jl.retry(job.id, { reason: "again" })).status, "queued");
    await jl.start(job.id);
    await jl.startPhase(job.id, "fetch");
    await jl.completePhase(job.id, "fetch", { result: { ok: 1 }, confidence: 0.5 });
    const done = await jl.complete(job.id, { result: { pages: 3 } });
    assert.deepEqual([done.status, done.result], ["completed", { pages: 3 }]);
    await refused(jl.cancel(job.id), 409, "illegal_transition");
  });

  it("cancels and retries one job or many, and deletes", async () => {
    const one = await jl.create({ type: tracked });
    assert.equal((await jl.cancel(one.id, { reason: "no" })).status, "cancelled");
    const other = await jl.create({ type: tracked });
    assert.equal((await jl.delete(other.id, { reason: "gone" })).cancel_reason, "gone");
    const tag = { bulk: run };
    await jl.batch([{ type: tracked, metadata: tag }, { type: tracked, metadata: tag }]);
    assert.equal((await jl.cancelMany({ filter: { metadata: tag } })).acted, 2);
    assert.equal((await jl.retryMany({ filter: { type: tracked, status: "failed" } })).action, "retry");
    const erased = await jl.purge(one.id, { reason: "asked" });
    assert.ok(erased.erased_at !== null && erased.payload === null);
    assert.equal((await jl.purgeMany({ filter: { metadata: tag } })).action, "purge");
  });

  it("lets a worker claim, heartbeat, store artifacts, release", async () => {
    const created = await jl.create({ type: work });
    const [claimed] = await jl.claim({ worker_id: `w-${run}`, types: [work], limit: 1 });
    assert.equal(claimed?.id, created.id);
    const lease = { lease_token: claimed!.lease_token };
    await jl.heartbeat(created.id, { ...lease, lease_seconds: 60 });
    await jl.addArtifact(created.id, { ...lease, name: "a.json", data: { n: 1 }, content_type: "application/json" });
    assert.deepEqual(await jl.artifact(created.id, "a.json"), { n: 1 });
    assert.equal((await jl.artifacts(created.id)).artifacts.length, 1);
    assert.equal((await jl.release(created.id, lease)).status, "queued");
    await refused(jl.progress(created.id, { ...lease, percent: 1 }), 409, "lease_lost");
  });

  it("answers a job's graph", async () => {
    const child = await jl.create({ type: tracked, depends_on: [job.id] });
    const graph = await jl.graph(child.id);
    assert.deepEqual(graph.parents.map((p) => [p.id, p.on_failure]), [[job.id, "cancel"]]);
    assert.deepEqual((await jl.graph(job.id)).children.map((c) => [c.id, c.status]), [[child.id, child.status]]);
  });

  it("answers events, the log, verification, checkpoints, proofs and bundles", async () => {
    const events = await jl.events(job.id);
    assert.equal(events.events[0]?.type, "JobCreated");
    const first = events.events[0]!;
    const page = await jl.log({ after: first.position - 1, limit: 1 });
    assert.equal(page.events[0]?.job_id, job.id);
    assert.equal((await jl.verify(job.id)).ok, true);
    await jl.issueCheckpoint();
    const size = Number((await jl.checkpoint()).split("\n")[1]);
    assert.equal((await jl.checkpoints({ after: size - 1 }))[0]?.tree_size, size);
    const bundle = await jl.bundle(job.id);
    const leaf = bundle.events[0]!;
    const proof = await jl.inclusionProof({ leaf_index: leaf.leaf_index, tree_size: bundle.tree_size });
    assert.deepEqual(proof.proof, leaf.inclusion_proof);
    const consistency = await jl.consistencyProof({ first: leaf.leaf_index + 1, second: bundle.tree_size });
    assert.equal(consistency.second, bundle.tree_size);
  });

  it("keeps webhook endpoints, their secrets, deliveries and history", async () => {
    const made = await jl.createWebhook({ url: `http://127.0.0.1:9/calls-${run}`, event_types: ["JobCreated"] });
    assert.match(made.secret, /^whsec_/);
    assert.ok((await jl.webhooks()).webhooks.some((w) => w.id === made.id));
    assert.equal((await jl.getWebhook(made.id)).url, made.url);
    assert.equal((await jl.updateWebhook(made.id, { description: "calls" })).description, "calls");
    assert.notEqual((await jl.rotateWebhookSecret(made.id)).secret, made.secret);
    await jl.create({ type: tracked });
    let deliveries = (await jl.webhookDeliveries(made.id, { limit: 5 })).deliveries;
    for (let tries = 0; deliveries.length === 0 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      deliveries = (await jl.webhookDeliveries(made.id, { limit: 5 })).deliveries;
    }
    await jl.resendWebhookDelivery(made.id, deliveries[0]!.id);
    const history = await jl.webhookEvents(made.id);
    assert.deepEqual(history.events.map((e) => e.type).slice(0, 3), ["WebhookCreated", "WebhookUpdated", "WebhookSecretRotated"]);
    await jl.deleteWebhook(made.id);
    await refused(jl.getWebhook(made.id), 404, "webhook_not_found");
  });

  it("called every operation of the document", () => {
    const missed = operations.filter((operation) => !called.has(operation));
    assert.ok(operations.length > 30);
    assert.deepEqual(missed, []);
  });
});

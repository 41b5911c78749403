/**
 * `Jobledger`: every HTTP operation of the service as a method with typed arguments and results.
 * A method returns the answer's body on success and throws `ApiError` (status, code, message,
 * details) on any error status; nothing is retried behind the caller's back.
 *
 *     const jl = new Jobledger({ baseUrl: "http://127.0.0.1:8080", key: process.env.JOBLEDGER_KEY });
 *     const job = await jl.create({ type: "report" }, { idempotencyKey: "report-2026-12" });
 *     for await (const queued of jl.list({ status: "queued" })) console.log(queued.id);
 */
import { ApiError } from "./errors.js";
import type { LiveEvent } from "./events.js";
import { createClient, type Client } from "./http.js";
import { subscribe, waitFor, type LiveOptions, type SubscribeOptions, type Subscription, type WaitOptions } from "./live.js";
import type { components, operations } from "./schema.js";

type S = components["schemas"];
export type Job = S["Job"];
export type ClaimedJob = S["ClaimedJob"];
export type JobEvent = S["Event"];
type Body<Op extends keyof operations> = operations[Op] extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type Query<Op extends keyof operations> = NonNullable<operations[Op]["parameters"]["query"]>;
type Ok<Op extends keyof operations> = operations[Op]["responses"] extends infer R
  ? { [K in keyof R]: K extends 200 | 201 ? R[K] extends { content: infer C } ? C[keyof C] : never : never }[keyof R]
  : never;

/** Per call: an AbortSignal. */
export interface CallOptions { signal?: AbortSignal }
/** A reporting command: `ifMatch`, the job version it must still be at (409 `version_conflict` if not). */
export interface CommandOptions extends CallOptions { ifMatch?: number | string }
export interface CreateOptions extends CallOptions {
  /** The same key and body create one job: a repeat answers the first job (200, not 201). */
  idempotencyKey?: string;
}
/** `GET /jobs`' filters, with `metadata` as `metadata.<key>=<value>` pairs. */
export type ListQuery = Omit<Query<"list_jobs">, "cursor"> & { metadata?: Record<string, string> };

type Loose = { path?: object; query?: object; header?: Record<string, string | undefined>; body?: unknown; signal?: AbortSignal };

export class Jobledger {
  readonly http: Client;

  /** `http`, if given, is the typed fetch to send through (by default one made from `options`). */
  constructor(readonly options: LiveOptions, http?: Client) {
    this.http = http ?? createClient(options);
  }

  // ---- live (WebSockets)

  /** Each event of these jobs, job types, metadata (or all), live; resumes across reconnects. */
  subscribe(what: Subscription = {}, settings: SubscribeOptions = {}): AsyncGenerator<LiveEvent, void, undefined> {
    return subscribe(this.options, what, settings);
  }

  /** The job once completed; rejects with JobFailed, Refused, or the signal's reason. */
  waitFor(id: string, settings: WaitOptions = {}): Promise<Job> {
    return waitFor(this.options, id, settings);
  }

  // ---- jobs

  create(body: Body<"create_job">, options: CreateOptions = {}): Promise<Job> {
    return this.call("post", "/jobs", { body, header: { "Idempotency-Key": options.idempotencyKey }, signal: options.signal });
  }

  /** Up to 100 jobs in one transaction: all or none. */
  batch(jobs: Body<"create_jobs">["jobs"], options: CreateOptions = {}): Promise<Ok<"create_jobs">> {
    const header = { "Idempotency-Key": options.idempotencyKey };
    return this.call("post", "/jobs/batch", { body: { jobs }, header, signal: options.signal });
  }

  get(id: string, query: Query<"get_job"> = {}, options: CallOptions = {}): Promise<Job> {
    return this.call("get", "/jobs/{id}", { path: { id }, query, signal: options.signal });
  }

  /** The job and its ETag; with `ifNoneMatch` (an ETag held), `job` is null if it has not changed (304). */
  async getTagged(id: string, ifNoneMatch?: string, options: CallOptions = {}): Promise<{ job: Job | null; etag: string }> {
    const init = { path: { id }, header: { "If-None-Match": ifNoneMatch }, signal: options.signal };
    const answer = await this.http.request("get", "/jobs/{id}", init as never);
    if (answer.status !== 200 && answer.status !== 304) throw new ApiError(answer.status, answer.body);
    const etag = answer.headers.get("ETag") ?? ifNoneMatch ?? "";
    return { job: answer.status === 200 ? (answer.body as Job) : null, etag };
  }

  /** One page of `GET /jobs` (newest first); pass its `next_cursor` as `cursor` for the next. */
  listPage(query: ListQuery & { cursor?: string | null } = {}, options: CallOptions = {}): Promise<S["JobPage"]> {
    const { metadata, cursor, ...rest } = query;
    const pairs = Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [`metadata.${k}`, v]));
    return this.call("get", "/jobs", { query: { ...rest, ...pairs, cursor: cursor ?? undefined }, signal: options.signal });
  }

  /** Every job `query` selects, page after page (`limit` is the page size). */
  async *list(query: ListQuery = {}, options: CallOptions = {}): AsyncGenerator<Job, void, undefined> {
    let cursor: string | null = null;
    do {
      const page: S["JobPage"] = await this.listPage({ ...query, cursor }, options);
      yield* page.jobs;
      cursor = page.next_cursor;
    } while (cursor !== null);
  }

  cancelMany(body: Body<"cancel_jobs">, options: CallOptions = {}): Promise<S["BulkAnswer"]> {
    return this.call("post", "/jobs/cancel", { body, signal: options.signal });
  }

  retryMany(body: Body<"retry_jobs">, options: CallOptions = {}): Promise<S["BulkAnswer"]> {
    return this.call("post", "/jobs/retry", { body, signal: options.signal });
  }

  /** Erase the data of every finished job the filter selects (README, Erasing a job's data). */
  purgeMany(body: Body<"purge_jobs">, options: CallOptions = {}): Promise<S["BulkAnswer"]> {
    return this.call("post", "/jobs/purge", { body, signal: options.signal });
  }

  // ---- reporting commands (with a lease_token in the body when a worker holds the job)

  start(id: string, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/start", { id }, undefined, options);
  }
  progress(id: string, body: Body<"report_progress">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/progress", { id }, body, options);
  }
  startPhase(id: string, phase: string, body?: Body<"start_phase">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/phases/{phase}/start", { id, phase }, body, options);
  }
  completePhase(id: string, phase: string, body?: Body<"complete_phase">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/phases/{phase}/complete", { id, phase }, body, options);
  }
  failPhase(id: string, phase: string, body: Body<"fail_phase">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/phases/{phase}/fail", { id, phase }, body, options);
  }
  complete(id: string, body?: Body<"complete_job">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/complete", { id }, body, options);
  }
  fail(id: string, body: Body<"fail_job">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/fail", { id }, body, options);
  }
  cancel(id: string, body?: Body<"cancel_job">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/cancel", { id }, body ?? {}, options);
  }
  retry(id: string, body?: Body<"retry">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/retry", { id }, body ?? {}, options);
  }
  /** Erase a finished job's data: the job as it is after (`erased_at` set). */
  purge(id: string, body?: Body<"purge_job">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/purge", { id }, body ?? {}, options);
  }
  /** `DELETE /jobs/{id}`: cancels the job (its history stays). */
  delete(id: string, body?: Body<"delete_job">, options: CommandOptions = {}): Promise<Job> {
    return this.call("delete", "/jobs/{id}", { path: { id }, body: body ?? {}, header: ifMatch(options), signal: options.signal });
  }

  // ---- workers

  /** Claim up to `limit` jobs under a lease; `wait_seconds` long-polls for work. */
  async claim(body: Body<"claim">, options: CallOptions = {}): Promise<ClaimedJob[]> {
    return (await this.call<S["Claim"]>("post", "/workers/claim", { body, signal: options.signal })).jobs;
  }
  heartbeat(id: string, body: Body<"heartbeat">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/heartbeat", { id }, body, options);
  }
  release(id: string, body: Body<"release">, options: CommandOptions = {}): Promise<Job> {
    return this.command("/jobs/{id}/release", { id }, body, options);
  }
  addArtifact(id: string, body: Body<"add_artifact">, options: CallOptions = {}): Promise<Ok<"add_artifact">> {
    return this.call("post", "/jobs/{id}/artifacts", { path: { id }, body, signal: options.signal });
  }
  artifacts(id: string, options: CallOptions = {}): Promise<S["Artifacts"]> {
    return this.call("get", "/jobs/{id}/artifacts", { path: { id }, signal: options.signal });
  }
  artifact(id: string, name: string, options: CallOptions = {}): Promise<unknown> {
    return this.call("get", "/jobs/{id}/artifacts/{name}", { path: { id, name }, signal: options.signal });
  }

  // ---- history and audit

  events(id: string, query: Query<"job_events"> = {}, options: CallOptions = {}): Promise<S["JobEvents"]> {
    return this.call("get", "/jobs/{id}/events", { path: { id }, query, signal: options.signal });
  }
  /** One page of the whole log (`GET /events`) after a position. */
  log(query: Query<"all_events"> = {}, options: CallOptions = {}): Promise<S["EventPage"]> {
    return this.call("get", "/events", { query, signal: options.signal });
  }
  /** The job's parents (with their results once completed) and children, with their statuses (README, Dependencies). */
  graph(id: string, options: CallOptions = {}): Promise<S["JobGraph"]> {
    return this.call("get", "/jobs/{id}/graph", { path: { id }, signal: options.signal });
  }
  verify(id: string, options: CallOptions = {}): Promise<S["Verification"]> {
    return this.call("get", "/jobs/{id}/verify", { path: { id }, signal: options.signal });
  }
  bundle(id: string, options: CallOptions = {}): Promise<S["AuditBundle"]> {
    return this.call("get", "/jobs/{id}/bundle", { path: { id }, signal: options.signal });
  }
  checkpoint(options: CallOptions = {}): Promise<string> {
    return this.call("get", "/checkpoint", { signal: options.signal });
  }
  issueCheckpoint(options: CallOptions = {}): Promise<string> {
    return this.call("post", "/checkpoint", { signal: options.signal });
  }
  checkpoints(query: Query<"list_checkpoints"> = {}, options: CallOptions = {}): Promise<Ok<"list_checkpoints">> {
    return this.call("get", "/checkpoints", { query, signal: options.signal });
  }
  inclusionProof(query: Query<"inclusion_proof">, options: CallOptions = {}): Promise<S["InclusionProof"]> {
    return this.call("get", "/proofs/inclusion", { query, signal: options.signal });
  }
  consistencyProof(query: Query<"consistency_proof">, options: CallOptions = {}): Promise<S["ConsistencyProof"]> {
    return this.call("get", "/proofs/consistency", { query, signal: options.signal });
  }

  // ---- types and the service

  putType(name: string, body: Body<"put_type">, options: CallOptions = {}): Promise<S["JobTypeAnswer"]> {
    return this.call("put", "/types/{name}", { path: { name }, body, signal: options.signal });
  }
  getType(name: string, options: CallOptions = {}): Promise<S["JobTypeAnswer"]> {
    return this.call("get", "/types/{name}", { path: { name }, signal: options.signal });
  }
  types(options: CallOptions = {}): Promise<S["JobTypes"]> {
    return this.call("get", "/types", { signal: options.signal });
  }
  /** Claims leave the type's jobs queued until it resumes. */
  pauseType(name: string, body: Body<"pause_type"> = {}, options: CallOptions = {}): Promise<S["TypeChange"]> {
    return this.call("post", "/types/{name}/pause", { path: { name }, body, signal: options.signal });
  }
  resumeType(name: string, options: CallOptions = {}): Promise<S["TypeChange"]> {
    return this.call("post", "/types/{name}/resume", { path: { name }, body: {}, signal: options.signal });
  }
  /** The type's definitions, pauses and resumes, in order. */
  typeEvents(name: string, options: CallOptions = {}): Promise<S["TypeEvents"]> {
    return this.call("get", "/types/{name}/events", { path: { name }, signal: options.signal });
  }

  // ---- schedules (cron): each fire time creates the template's job, once

  createSchedule(body: Body<"create_schedule">, options: CallOptions = {}): Promise<S["Schedule"]> {
    return this.call("post", "/schedules", { body, signal: options.signal });
  }
  /** One page of the tenant's schedules, by name; pass its `next_cursor` as `cursor` for the next. */
  schedules(query: Query<"list_schedules"> = {}, options: CallOptions = {}): Promise<S["SchedulePage"]> {
    return this.call("get", "/schedules", { query, signal: options.signal });
  }
  getSchedule(name: string, options: CallOptions = {}): Promise<S["Schedule"]> {
    return this.call("get", "/schedules/{name}", { path: { name }, signal: options.signal });
  }
  /** Replace the definition: fire times count again from now. */
  updateSchedule(name: string, body: Body<"update_schedule">, options: CallOptions = {}): Promise<S["Schedule"]> {
    return this.call("put", "/schedules/{name}", { path: { name }, body, signal: options.signal });
  }
  pauseSchedule(name: string, body: Body<"pause_schedule"> = {}, options: CallOptions = {}): Promise<S["Schedule"]> {
    return this.call("post", "/schedules/{name}/pause", { path: { name }, body, signal: options.signal });
  }
  /** Fire again from now on: the times passed while paused are not caught up. */
  resumeSchedule(name: string, options: CallOptions = {}): Promise<S["Schedule"]> {
    return this.call("post", "/schedules/{name}/resume", { path: { name }, body: {}, signal: options.signal });
  }
  deleteSchedule(name: string, options: CallOptions = {}): Promise<S["Schedule"]> {
    return this.call("delete", "/schedules/{name}", { path: { name }, signal: options.signal });
  }
  /** The schedule's definitions, pauses, fires and skips, in order. */
  scheduleEvents(name: string, options: CallOptions = {}): Promise<S["ScheduleEvents"]> {
    return this.call("get", "/schedules/{name}/events", { path: { name }, signal: options.signal });
  }

  // ---- webhooks

  /** A new endpoint; its `secret` (whsec_...) is in this answer only. */
  createWebhook(body: Body<"create_webhook">, options: CallOptions = {}): Promise<S["WebhookCreated"]> {
    return this.call("post", "/webhooks", { body, signal: options.signal });
  }
  webhooks(options: CallOptions = {}): Promise<S["WebhookList"]> {
    return this.call("get", "/webhooks", { signal: options.signal });
  }
  getWebhook(webhookId: string, options: CallOptions = {}): Promise<S["Webhook"]> {
    return this.call("get", "/webhooks/{webhook_id}", { path: { webhook_id: webhookId }, signal: options.signal });
  }
  /** Change the URL, filters or description; `enabled` false disables it, true enables it again. */
  updateWebhook(webhookId: string, body: Body<"update_webhook">, options: CallOptions = {}): Promise<S["Webhook"]> {
    return this.call("patch", "/webhooks/{webhook_id}", { path: { webhook_id: webhookId }, body, signal: options.signal });
  }
  deleteWebhook(webhookId: string, options: CallOptions = {}): Promise<void> {
    return this.call("delete", "/webhooks/{webhook_id}", { path: { webhook_id: webhookId }, signal: options.signal });
  }
  /** A new secret (in this answer only); the previous one also signs until `previous_secret_expires_at`. */
  rotateWebhookSecret(webhookId: string, options: CallOptions = {}): Promise<S["WebhookRotated"]> {
    return this.call("post", "/webhooks/{webhook_id}/rotate", { path: { webhook_id: webhookId }, body: {}, signal: options.signal });
  }
  webhookDeliveries(webhookId: string, query: Query<"list_webhook_deliveries"> = {}, options: CallOptions = {}): Promise<S["WebhookDeliveries"]> {
    return this.call("get", "/webhooks/{webhook_id}/deliveries", { path: { webhook_id: webhookId }, query, signal: options.signal });
  }
  resendWebhookDelivery(webhookId: string, deliveryId: string, options: CallOptions = {}): Promise<void> {
    const path = { webhook_id: webhookId, delivery_id: deliveryId };
    return this.call("post", "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", { path, body: {}, signal: options.signal });
  }
  /** The endpoint's history: every change, in order. */
  webhookEvents(webhookId: string, options: CallOptions = {}): Promise<S["WebhookEvents"]> {
    return this.call("get", "/webhooks/{webhook_id}/events", { path: { webhook_id: webhookId }, signal: options.signal });
  }

  health(options: CallOptions = {}): Promise<Ok<"health">> {
    return this.call("get", "/health", { signal: options.signal });
  }
  stats(options: CallOptions = {}): Promise<S["Stats"]> {
    return this.call("get", "/stats", { signal: options.signal });
  }
  metrics(options: CallOptions = {}): Promise<string> {
    return this.call("get", "/metrics", { signal: options.signal });
  }
  openapi(options: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.call("get", "/openapi.json", { signal: options.signal });
  }

  // The compiler checks each public signature against the schema; this is where they meet the wire.
  private async call<T>(method: string, path: string, init: Loose): Promise<T> {
    const answer = await (this.http.request as (m: string, p: string, i: Loose) => Promise<{ status: number; body: unknown }>)(
      method, path, init,
    );
    if (answer.status < 200 || answer.status > 299) throw new ApiError(answer.status, answer.body);
    return answer.body as T;
  }

  private command(path: string, params: Record<string, string>, body: unknown, options: CommandOptions): Promise<Job> {
    return this.call("post", path, { path: params, body, header: ifMatch(options), signal: options.signal });
  }
}

function ifMatch(options: CommandOptions): Record<string, string | undefined> {
  return { "If-Match": options.ifMatch === undefined ? undefined : String(options.ifMatch) };
}

import { ApiError } from "./errors.js";
import { createClient } from "./http.js";
import { subscribe, waitFor } from "./live.js";
export class Jobledger {
    options;
    http;
    constructor(options, http) {
        this.options = options;
        this.http = http ?? createClient(options);
    }
    subscribe(what = {}, settings = {}) {
        return subscribe(this.options, what, settings);
    }
    waitFor(id, settings = {}) {
        return waitFor(this.options, id, settings);
    }
    create(body, options = {}) {
        return this.call("post", "/jobs", { body, header: { "Idempotency-Key": options.idempotencyKey }, signal: options.signal });
    }
    batch(jobs, options = {}) {
        const header = { "Idempotency-Key": options.idempotencyKey };
        return this.call("post", "/jobs/batch", { body: { jobs }, header, signal: options.signal });
    }
    get(id, query = {}, options = {}) {
        return this.call("get", "/jobs/{id}", { path: { id }, query, signal: options.signal });
    }
    async getTagged(id, ifNoneMatch, options = {}) {
        const init = { path: { id }, header: { "If-None-Match": ifNoneMatch }, signal: options.signal };
        const answer = await this.http.request("get", "/jobs/{id}", init);
        if (answer.status !== 200 && answer.status !== 304)
            throw new ApiError(answer.status, answer.body);
        const etag = answer.headers.get("ETag") ?? ifNoneMatch ?? "";
        return { job: answer.status === 200 ? answer.body : null, etag };
    }
    listPage(query = {}, options = {}) {
        const { metadata, cursor, ...rest } = query;
        const pairs = Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [`metadata.${k}`, v]));
        return this.call("get", "/jobs", { query: { ...rest, ...pairs, cursor: cursor ?? undefined }, signal: options.signal });
    }
    async *list(query = {}, options = {}) {
        let cursor = null;
        do {
            const page = await this.listPage({ ...query, cursor }, options);
            yield* page.jobs;
            cursor = page.next_cursor;
        } while (cursor !== null);
    }
    cancelMany(body, options = {}) {
        return this.call("post", "/jobs/cancel", { body, signal: options.signal });
    }
    retryMany(body, options = {}) {
        return this.call("post", "/jobs/retry", { body, signal: options.signal });
    }
    purgeMany(body, options = {}) {
        return this.call("post", "/jobs/purge", { body, signal: options.signal });
    }
    start(id, options = {}) {
        return this.command("/jobs/{id}/start", { id }, undefined, options);
    }
    progress(id, body, options = {}) {
        return this.command("/jobs/{id}/progress", { id }, body, options);
    }
    startPhase(id, phase, body, options = {}) {
        return this.command("/jobs/{id}/phases/{phase}/start", { id, phase }, body, options);
    }
    completePhase(id, phase, body, options = {}) {
        return this.command("/jobs/{id}/phases/{phase}/complete", { id, phase }, body, options);
    }
    failPhase(id, phase, body, options = {}) {
        return this.command("/jobs/{id}/phases/{phase}/fail", { id, phase }, body, options);
    }
    complete(id, body, options = {}) {
        return this.command("/jobs/{id}/complete", { id }, body, options);
    }
    fail(id, body, options = {}) {
        return this.command("/jobs/{id}/fail", { id }, body, options);
    }
    cancel(id, body, options = {}) {
        return this.command("/jobs/{id}/cancel", { id }, body ?? {}, options);
    }
    retry(id, body, options = {}) {
        return this.command("/jobs/{id}/retry", { id }, body ?? {}, options);
    }
    purge(id, body, options = {}) {
        return this.command("/jobs/{id}/purge", { id }, body ?? {}, options);
    }
    delete(id, body, options = {}) {
        return this.call("delete", "/jobs/{id}", { path: { id }, body: body ?? {}, header: ifMatch(options), signal: options.signal });
    }
    async claim(body, options = {}) {
        return (await this.call("post", "/workers/claim", { body, signal: options.signal })).jobs;
    }
    heartbeat(id, body, options = {}) {
        return this.command("/jobs/{id}/heartbeat", { id }, body, options);
    }
    release(id, body, options = {}) {
        return this.command("/jobs/{id}/release", { id }, body, options);
    }
    addArtifact(id, body, options = {}) {
        return this.call("post", "/jobs/{id}/artifacts", { path: { id }, body, signal: options.signal });
    }
    artifacts(id, options = {}) {
        return this.call("get", "/jobs/{id}/artifacts", { path: { id }, signal: options.signal });
    }
    artifact(id, name, options = {}) {
        return this.call("get", "/jobs/{id}/artifacts/{name}", { path: { id, name }, signal: options.signal });
    }
    events(id, query = {}, options = {}) {
        return this.call("get", "/jobs/{id}/events", { path: { id }, query, signal: options.signal });
    }
    log(query = {}, options = {}) {
        return this.call("get", "/events", { query, signal: options.signal });
    }
    graph(id, options = {}) {
        return this.call("get", "/jobs/{id}/graph", { path: { id }, signal: options.signal });
    }
    verify(id, options = {}) {
        return this.call("get", "/jobs/{id}/verify", { path: { id }, signal: options.signal });
    }
    bundle(id, options = {}) {
        return this.call("get", "/jobs/{id}/bundle", { path: { id }, signal: options.signal });
    }
    checkpoint(options = {}) {
        return this.call("get", "/checkpoint", { signal: options.signal });
    }
    issueCheckpoint(options = {}) {
        return this.call("post", "/checkpoint", { signal: options.signal });
    }
    checkpoints(query = {}, options = {}) {
        return this.call("get", "/checkpoints", { query, signal: options.signal });
    }
    inclusionProof(query, options = {}) {
        return this.call("get", "/proofs/inclusion", { query, signal: options.signal });
    }
    consistencyProof(query, options = {}) {
        return this.call("get", "/proofs/consistency", { query, signal: options.signal });
    }
    putType(name, body, options = {}) {
        return this.call("put", "/types/{name}", { path: { name }, body, signal: options.signal });
    }
    getType(name, options = {}) {
        return this.call("get", "/types/{name}", { path: { name }, signal: options.signal });
    }
    types(options = {}) {
        return this.call("get", "/types", { signal: options.signal });
    }
    pauseType(name, body = {}, options = {}) {
        return this.call("post", "/types/{name}/pause", { path: { name }, body, signal: options.signal });
    }
    resumeType(name, options = {}) {
        return this.call("post", "/types/{name}/resume", { path: { name }, body: {}, signal: options.signal });
    }
    typeEvents(name, options = {}) {
        return this.call("get", "/types/{name}/events", { path: { name }, signal: options.signal });
    }
    createSchedule(body, options = {}) {
        return this.call("post", "/schedules", { body, signal: options.signal });
    }
    schedules(query = {}, options = {}) {
        return this.call("get", "/schedules", { query, signal: options.signal });
    }
    getSchedule(name, options = {}) {
        return this.call("get", "/schedules/{name}", { path: { name }, signal: options.signal });
    }
    updateSchedule(name, body, options = {}) {
        return this.call("put", "/schedules/{name}", { path: { name }, body, signal: options.signal });
    }
    pauseSchedule(name, body = {}, options = {}) {
        return this.call("post", "/schedules/{name}/pause", { path: { name }, body, signal: options.signal });
    }
    resumeSchedule(name, options = {}) {
        return this.call("post", "/schedules/{name}/resume", { path: { name }, body: {}, signal: options.signal });
    }
    deleteSchedule(name, options = {}) {
        return this.call("delete", "/schedules/{name}", { path: { name }, signal: options.signal });
    }
    scheduleEvents(name, options = {}) {
        return this.call("get", "/schedules/{name}/events", { path: { name }, signal: options.signal });
    }
    createWebhook(body, options = {}) {
        return this.call("post", "/webhooks", { body, signal: options.signal });
    }
    webhooks(options = {}) {
        return this.call("get", "/webhooks", { signal: options.signal });
    }
    getWebhook(webhookId, options = {}) {
        return this.call("get", "/webhooks/{webhook_id}", { path: { webhook_id: webhookId }, signal: options.signal });
    }
    updateWebhook(webhookId, body, options = {}) {
        return this.call("patch", "/webhooks/{webhook_id}", { path: { webhook_id: webhookId }, body, signal: options.signal });
    }
    deleteWebhook(webhookId, options = {}) {
        return this.call("delete", "/webhooks/{webhook_id}", { path: { webhook_id: webhookId }, signal: options.signal });
    }
    rotateWebhookSecret(webhookId, options = {}) {
        return this.call("post", "/webhooks/{webhook_id}/rotate", { path: { webhook_id: webhookId }, body: {}, signal: options.signal });
    }
    webhookDeliveries(webhookId, query = {}, options = {}) {
        return this.call("get", "/webhooks/{webhook_id}/deliveries", { path: { webhook_id: webhookId }, query, signal: options.signal });
    }
    resendWebhookDelivery(webhookId, deliveryId, options = {}) {
        const path = { webhook_id: webhookId, delivery_id: deliveryId };
        return this.call("post", "/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", { path, body: {}, signal: options.signal });
    }
    webhookEvents(webhookId, options = {}) {
        return this.call("get", "/webhooks/{webhook_id}/events", { path: { webhook_id: webhookId }, signal: options.signal });
    }
    health(options = {}) {
        return this.call("get", "/health", { signal: options.signal });
    }
    stats(options = {}) {
        return this.call("get", "/stats", { signal: options.signal });
    }
    metrics(options = {}) {
        return this.call("get", "/metrics", { signal: options.signal });
    }
    openapi(options = {}) {
        return this.call("get", "/openapi.json", { signal: options.signal });
    }
    async call(method, path, init) {
        const answer = await this.http.request(method, path, init);
        if (answer.status < 200 || answer.status > 299)
            throw new ApiError(answer.status, answer.body);
        return answer.body;
    }
    command(path, params, body, options) {
        return this.call("post", path, { path: params, body, header: ifMatch(options), signal: options.signal });
    }
}
function ifMatch(options) {
    return { "If-Match": options.ifMatch === undefined ? undefined : String(options.ifMatch) };
}

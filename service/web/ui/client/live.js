import { errorOf, JobFailed, Refused } from "./errors.js";
import { TERMINAL } from "./events.js";
import { keyOf } from "./http.js";
export const CLOSE_CODES = { 4001: "unauthorized", 4003: "forbidden", 4004: "job_not_found" };
const HTTP_CODES = { 400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found" };
export async function* subscribe(options, what = {}, settings = {}) {
    const jobs = what.jobs ?? [], job_types = what.job_types ?? [];
    const metadata = what.metadata && Object.keys(what.metadata).length ? { metadata: what.metadata } : {};
    const all = what.all ?? !(jobs.length || job_types.length || "metadata" in metadata);
    const request = { type: "subscribe", ...(jobs.length ? { jobs } : {}), ...(job_types.length ? { job_types } : {}), ...metadata, all };
    let last = settings.after ?? null;
    const { signal, onState, onSubscribed } = settings;
    const line = new Line(options, signal);
    try {
        while (!signal?.aborted) {
            onState?.("connecting", "");
            const socket = line.open("/ws", () => [{ ...request, ...(last === null ? {} : { after: last }) }]);
            for (let item = await line.next(); item.kind !== "abort"; item = await line.next()) {
                if (item.socket !== socket || item.kind === "open")
                    continue;
                if (item.kind === "close") {
                    await line.refusal(item, "/ws");
                    onState?.("offline", `connection closed (${item.code}); retrying`);
                    break;
                }
                const message = item.message;
                if (message.type === "event") {
                    if (last !== null && message.position <= last)
                        continue;
                    last = message.position;
                    yield message;
                }
                else if (message.type === "subscribed") {
                    const resumed = last !== null;
                    last ??= message.position;
                    line.backoff.reset();
                    onState?.("live", `following the log from position ${last}`);
                    onSubscribed?.({ position: last, resumed });
                }
                else if (message.type === "error") {
                    throw new Refused(message.error.code, message.error.message, undefined, message.error.details);
                }
            }
            if (!(await line.pause()))
                return;
        }
    }
    finally {
        line.close();
    }
}
export async function waitFor(options, id, settings = {}) {
    const signals = [settings.signal, settings.timeout === undefined ? undefined : AbortSignal.timeout(settings.timeout)];
    const present = signals.filter((s) => s !== undefined);
    const signal = present.length > 1 ? AbortSignal.any(present) : present[0];
    signal?.throwIfAborted();
    const path = `/jobs/${encodeURIComponent(id)}/ws`;
    const line = new Line(options, signal);
    try {
        for (;;) {
            const socket = line.open(path, () => (keyOf(options) ? [] : [{ type: "ping" }]));
            for (let item = await line.next();; item = await line.next()) {
                if (item.kind === "abort")
                    throw signal?.reason;
                if (item.socket !== socket || item.kind === "open")
                    continue;
                if (item.kind === "close") {
                    await line.refusal(item, path);
                    break;
                }
                const message = item.message;
                if (message.type === "error")
                    throw new Refused(message.error.code, message.error.message, undefined, message.error.details);
                if (message.type !== "job" && message.type !== "event")
                    continue;
                line.backoff.reset();
                if (!TERMINAL.has(message.job.status))
                    continue;
                if (message.job.status === "completed")
                    return message.job;
                throw new JobFailed(message.job);
            }
            if (!(await line.pause()))
                throw signal?.reason;
        }
    }
    finally {
        line.close();
    }
}
class Line {
    options;
    signal;
    items = [];
    head = 0;
    waiting = null;
    socket = null;
    abort = () => this.push({ kind: "abort" });
    backoff;
    constructor(options, signal) {
        this.options = options;
        this.signal = signal;
        this.backoff = new Backoff(options.backoff?.first, options.backoff?.most);
        signal?.addEventListener("abort", this.abort, { once: true });
    }
    open(path, first) {
        const Socket = this.options.WebSocket ?? globalThis.WebSocket;
        if (Socket === undefined) {
            throw new TypeError("no WebSocket: Node 20 needs --experimental-websocket (Node 22+ has one), or pass options.WebSocket");
        }
        const url = new URL(base(this.options) + path);
        url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
        const socket = new Socket(url.href);
        let opened = false;
        socket.onopen = () => {
            opened = true;
            const key = keyOf(this.options);
            for (const message of [...(key ? [{ type: "auth", token: key }] : []), ...first()])
                socket.send(JSON.stringify(message));
            this.push({ kind: "open", socket });
        };
        socket.onmessage = (event) => this.push({ kind: "message", socket, message: JSON.parse(String(event.data)) });
        socket.onclose = (event) => this.push({ kind: "close", socket, code: event.code, reason: event.reason, opened });
        socket.onerror = () => this.push({ kind: "close", socket, code: 1006, reason: "", opened });
        this.socket = socket;
        return socket;
    }
    next() {
        if (this.head < this.items.length) {
            const item = this.items[this.head++];
            if (this.head > 1024 && this.head * 2 > this.items.length)
                this.items.splice(0, this.head), (this.head = 0);
            return Promise.resolve(item);
        }
        return new Promise((resolve) => (this.waiting = resolve));
    }
    async refusal(item, path) {
        const code = CLOSE_CODES[item.code];
        if (code !== undefined)
            throw new Refused(code, item.reason || "refused");
        if (item.opened)
            return;
        const send = this.options.fetch ?? globalThis.fetch;
        const key = keyOf(this.options);
        let answer;
        try {
            answer = await send(base(this.options) + path, { headers: key ? { Authorization: `Bearer ${key}` } : {}, signal: this.signal });
        }
        catch {
            return;
        }
        if (!(answer.status in HTTP_CODES))
            return;
        const error = errorOf(await answer.json().catch(() => null)) ?? { code: HTTP_CODES[answer.status], message: `HTTP ${answer.status}`, details: {} };
        throw new Refused(error.code, error.message, answer.status, error.details);
    }
    async pause() {
        if (this.signal?.aborted)
            return false;
        const wait = this.backoff.next();
        return new Promise((resolve) => {
            const done = () => { clearTimeout(timer); this.signal?.removeEventListener("abort", done); resolve(!this.signal?.aborted); };
            const timer = setTimeout(done, wait);
            this.signal?.addEventListener("abort", done, { once: true });
        });
    }
    close() {
        this.signal?.removeEventListener("abort", this.abort);
        this.socket?.close(1000);
        this.socket = null;
    }
    push(item) {
        const waiting = this.waiting;
        if (waiting === null) {
            this.items.push(item);
        }
        else {
            this.waiting = null;
            waiting(item);
        }
    }
}
export class Backoff {
    first;
    most;
    delay;
    constructor(first = 100, most = 10_000) {
        this.first = first;
        this.most = most;
        this.delay = first;
    }
    reset() {
        this.delay = this.first;
    }
    next() {
        const wait = this.delay * (0.5 + Math.random() / 2);
        this.delay = Math.min(this.delay * 2, this.most);
        return wait;
    }
}
function base(options) {
    return options.baseUrl.replace(/\/+$/, "");
}

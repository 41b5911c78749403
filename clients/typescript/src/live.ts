/**
 * Live updates over the service's WebSockets, in browsers and in Node 22+ (the global WebSocket;
 * Node 20 with `--experimental-websocket`, or pass `WebSocket`).
 *
 * `subscribe` follows jobs, job types, metadata or everything on `/ws`; `waitFor` one job on
 * `/jobs/{id}/ws`. Both reconnect with exponential backoff (0.1 s doubling up to 10 s, with
 * jitter) when the connection drops or the service closes it (1001 shutdown, 1006, 1011, 4008
 * lagging, 4029, a refused upgrade answered 429/5xx). `subscribe` resumes `after` the last position
 * it yielded and drops any position at or before it: no gap, no duplicate. A refusal retrying
 * cannot mend (400, 401, 403, 404, or close 4001/4003/4004) throws `Refused` at once.
 */
import { errorOf, JobFailed, Refused } from "./errors.js";
import { TERMINAL, type Job, type LiveEvent, type ServerMessage } from "./events.js";
import { keyOf, type ClientOptions } from "./http.js";

/** What the client needs of a WebSocket (the browser's, Node's, or the `ws` package's). */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface LiveOptions extends ClientOptions {
  WebSocket?: WebSocketConstructor;
  /** Milliseconds before the first retry (100) and the most between two (10 000). */
  backoff?: { first?: number; most?: number };
}

/** What to follow: these jobs, job types, jobs whose metadata holds all these values; or all. */
export interface Subscription {
  jobs?: string[];
  job_types?: string[];
  metadata?: Record<string, string>;
  /** Every event the key may read (the default when nothing else is given). */
  all?: boolean;
}

export type LiveState = "connecting" | "live" | "offline";

export interface SubscribeOptions {
  /** Replay the matching events after this log position first. */
  after?: number | null;
  /** Ends the subscription: the iteration returns. */
  signal?: AbortSignal;
  onState?: (state: LiveState, detail: string) => void;
  /** Each acknowledgement: `resumed` if a position was known before it (a replay, not the log's head). */
  onSubscribed?: (info: { position: number; resumed: boolean }) => void;
}

export interface WaitOptions {
  /** Milliseconds; then the promise rejects with a `TimeoutError` DOMException. */
  timeout?: number;
  signal?: AbortSignal;
}

/** close codes of a socket the service refused after the upgrade, and the error codes they stand for */
export const CLOSE_CODES: Readonly<Record<number, string>> = { 4001: "unauthorized", 4003: "forbidden", 4004: "job_not_found" };
const HTTP_CODES: Readonly<Record<number, string>> = { 400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found" };

/** Each event the subscription matches, in log order, until `signal` aborts or the loop breaks. */
export async function* subscribe(
  options: LiveOptions, what: Subscription = {}, settings: SubscribeOptions = {},
): AsyncGenerator<LiveEvent, void, undefined> {
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
        if (item.socket !== socket || item.kind === "open") continue;
        if (item.kind === "close") {
          await line.refusal(item, "/ws");
          onState?.("offline", `connection closed (${item.code}); retrying`);
          break;
        }
        const message = item.message;
        if (message.type === "event") {
          if (last !== null && message.position <= last) continue;  // already yielded, before a reconnect
          last = message.position;
          yield message;
        } else if (message.type === "subscribed") {
          const resumed = last !== null;
          last ??= message.position;
          line.backoff.reset();
          onState?.("live", `following the log from position ${last}`);
          onSubscribed?.({ position: last, resumed });
        } else if (message.type === "error") {
          throw new Refused(message.error.code, message.error.message, undefined, message.error.details);
        }
      }
      if (!(await line.pause())) return;
    }
  } finally {
    line.close();
  }
}

/** The job once it completed. Rejects with `JobFailed` if it failed, was cancelled or expired,
 * `Refused` for an unknown job or a key refused, and the signal's reason (a `TimeoutError` after
 * `timeout`) if aborted. */
export async function waitFor(options: LiveOptions, id: string, settings: WaitOptions = {}): Promise<Job> {
  const signals = [settings.signal, settings.timeout === undefined ? undefined : AbortSignal.timeout(settings.timeout)];
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  const signal = present.length > 1 ? AbortSignal.any(present) : present[0];
  signal?.throwIfAborted();
  const path = `/jobs/${encodeURIComponent(id)}/ws`;
  const line = new Line(options, signal);
  try {
    for (;;) {
      // with no key, a ping makes a service that requires one refuse at once (4001), not after its wait
      const socket = line.open(path, () => (keyOf(options) ? [] : [{ type: "ping" }]));
      for (let item = await line.next(); ; item = await line.next()) {
        if (item.kind === "abort") throw signal?.reason;
        if (item.socket !== socket || item.kind === "open") continue;
        if (item.kind === "close") {
          await line.refusal(item, path);
          break;
        }
        const message = item.message;
        if (message.type === "error") throw new Refused(message.error.code, message.error.message, undefined, message.error.details);
        if (message.type !== "job" && message.type !== "event") continue;
        line.backoff.reset();
        if (!TERMINAL.has(message.job.status)) continue;
        if (message.job.status === "completed") return message.job;
        throw new JobFailed(message.job);
      }
      if (!(await line.pause())) throw signal?.reason;
    }
  } finally {
    line.close();
  }
}

type Item =
  | { kind: "open"; socket: WebSocketLike }
  | { kind: "message"; socket: WebSocketLike; message: ServerMessage }
  | { kind: "close"; socket: WebSocketLike; code: number; reason: string; opened: boolean }
  | { kind: "abort" };

/** One logical connection: its current socket, what its sockets said (in order), and its backoff. */
class Line {
  private readonly items: Item[] = [];
  private head = 0;
  private waiting: ((item: Item) => void) | null = null;
  private socket: WebSocketLike | null = null;
  private readonly abort = () => this.push({ kind: "abort" });
  readonly backoff: Backoff;

  constructor(private readonly options: LiveOptions, private readonly signal?: AbortSignal) {
    this.backoff = new Backoff(options.backoff?.first, options.backoff?.most);
    signal?.addEventListener("abort", this.abort, { once: true });
  }

  /** A new socket to `path`; on open it sends the auth message (if there is a key), then `first()`. */
  open(path: string, first: () => object[]): WebSocketLike {
    const Socket = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
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
      for (const message of [...(key ? [{ type: "auth", token: key }] : []), ...first()]) socket.send(JSON.stringify(message));
      this.push({ kind: "open", socket });
    };
    socket.onmessage = (event) => this.push({ kind: "message", socket, message: JSON.parse(String(event.data)) });
    socket.onclose = (event) => this.push({ kind: "close", socket, code: event.code, reason: event.reason, opened });
    // Node 20's WebSocket reports a failed connection by an error alone, with no close: either ends
    // this socket (items of a socket left behind are ignored, so a close after it changes nothing)
    socket.onerror = () => this.push({ kind: "close", socket, code: 1006, reason: "", opened });
    this.socket = socket;
    return socket;
  }

  next(): Promise<Item> {
    if (this.head < this.items.length) {
      const item = this.items[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.items.length) this.items.splice(0, this.head), (this.head = 0);
      return Promise.resolve(item);
    }
    return new Promise((resolve) => (this.waiting = resolve));
  }

  /** Throws Refused if this close is a refusal retrying cannot mend. */
  async refusal(item: Extract<Item, { kind: "close" }>, path: string): Promise<void> {
    const code = CLOSE_CODES[item.code];
    if (code !== undefined) throw new Refused(code, item.reason || "refused");
    if (item.opened) return;
    // A refused upgrade shows only as a close (1006): ask the same URL without the upgrade; the
    // service answers it the same error (who asks, and what, are checked first).
    const send = this.options.fetch ?? globalThis.fetch;
    const key = keyOf(this.options);
    let answer: Response;
    try {
      answer = await send(base(this.options) + path, { headers: key ? { Authorization: `Bearer ${key}` } : {}, signal: this.signal });
    } catch {
      return;  // unreachable: retry
    }
    if (!(answer.status in HTTP_CODES)) return;
    const error = errorOf(await answer.json().catch(() => null)) ?? { code: HTTP_CODES[answer.status]!, message: `HTTP ${answer.status}`, details: {} };
    throw new Refused(error.code, error.message, answer.status, error.details);
  }

  /** Waits out the backoff; false if aborted meanwhile. */
  async pause(): Promise<boolean> {
    if (this.signal?.aborted) return false;
    const wait = this.backoff.next();
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.signal?.removeEventListener("abort", done); resolve(!this.signal?.aborted); };
      const timer = setTimeout(done, wait);
      this.signal?.addEventListener("abort", done, { once: true });
    });
  }

  close(): void {
    this.signal?.removeEventListener("abort", this.abort);
    this.socket?.close(1000);
    this.socket = null;
  }

  private push(item: Item): void {
    const waiting = this.waiting;
    if (waiting === null) {
      this.items.push(item);
    } else {
      this.waiting = null;
      waiting(item);
    }
  }
}

/** Exponential backoff with jitter: first, first*2, ... up to `most` milliseconds. */
export class Backoff {
  private delay: number;

  constructor(readonly first = 100, readonly most = 10_000) {
    this.delay = first;
  }

  reset(): void {
    this.delay = this.first;
  }

  /** The next wait (milliseconds, jittered to half of it or more), doubling the one after. */
  next(): number {
    const wait = this.delay * (0.5 + Math.random() / 2);
    this.delay = Math.min(this.delay * 2, this.most);
    return wait;
  }
}

function base(options: ClientOptions): string {
  return options.baseUrl.replace(/\/+$/, "");
}

/**
 * A worker loop: claims jobs of its types under a lease (long-polling for work), runs a handler
 * for each, heartbeats the lease meanwhile, and completes the job with the handler's result or
 * fails it with what it threw (retryable unless the error says `retryable: false`).
 *
 *     const worker = new Worker(jl, { types: ["ocr"], concurrency: 4 }, async (job, ctx) => {
 *       await ctx.progress(50, "half way");
 *       return { pages: 20 };  // the job's result
 *     });
 *     process.once("SIGTERM", () => worker.stop());
 *     await worker.run();   // until stop() (or the signal passed to run aborts)
 *
 * `stop()` claims no more, lets the jobs in flight finish for `grace` milliseconds, then aborts
 * their `ctx.signal`; a handler that then throws has its job released to other workers (one that
 * returns still completes it), and `run()` resolves once every handler has returned. A lease lost (the job was cancelled, or
 * its lease expired and another worker took it) aborts `ctx.signal` too: the handler should stop.
 */
import type { ClaimedJob, Jobledger } from "./api.js";
import { ApiError } from "./errors.js";
import type { Job } from "./events.js";

export interface WorkerOptions {
  types: string[];
  /** Sent with claims; default `ts-<random>`. */
  workerId?: string;
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** Lease length asked for (default: the type's, else the service's 30). */
  leaseSeconds?: number;
  /** Seconds one claim waits on the service for work (default 10). */
  waitSeconds?: number;
  /** Milliseconds the jobs in flight get to finish after stop() (default 30 000). */
  grace?: number;
}

export interface JobContext {
  /** Aborted when the lease is lost or the worker stops past its grace: stop working. */
  readonly signal: AbortSignal;
  progress(percent: number | null, message?: string, details?: unknown): Promise<Job>;
  startPhase(phase: string): Promise<Job>;
  completePhase(phase: string, result?: unknown, confidence?: number): Promise<Job>;
  failPhase(phase: string, error: unknown): Promise<Job>;
}

export type Handler = (job: ClaimedJob, ctx: JobContext) => Promise<unknown>;

/** A handler's error that says whether to retry: `throw new JobError({ code: "bad_input" }, false)`. */
export class JobError extends Error {
  override readonly name = "JobError";
  constructor(readonly error: unknown, readonly retryable = true) {
    super(typeof error === "string" ? error : JSON.stringify(error));
  }
}

export class Worker {
  readonly workerId: string;
  private readonly running = new Map<string, Promise<void>>();
  private readonly leases = new Map<string, AbortController>();
  private stopping: AbortController | null = null;
  private slot: (() => void) | null = null;

  constructor(readonly jl: Jobledger, readonly options: WorkerOptions, readonly handler: Handler) {
    this.workerId = options.workerId ?? `ts-${Math.random().toString(36).slice(2, 10)}`;
  }

  /** Claims and runs jobs until stop() (or `signal` aborts); resolves once the jobs in flight are done or released. */
  async run(signal?: AbortSignal): Promise<void> {
    const stopping = (this.stopping = new AbortController());
    const stop = () => this.stop();
    signal?.addEventListener("abort", stop, { once: true });
    if (signal?.aborted) stopping.abort();
    const concurrency = this.options.concurrency ?? 1;
    try {
      while (!stopping.signal.aborted) {
        if (this.running.size >= concurrency) {
          await new Promise<void>((resolve) => (this.slot = resolve));
          continue;
        }
        let claimed: ClaimedJob[];
        try {
          claimed = await this.jl.claim({
            worker_id: this.workerId, types: this.options.types, limit: concurrency - this.running.size,
            lease_seconds: this.options.leaseSeconds, wait_seconds: this.options.waitSeconds ?? 10,
          }, { signal: stopping.signal });
        } catch (error) {
          if (stopping.signal.aborted) break;
          await sleep(1000, stopping.signal);  // the service is away or busy: try again soon
          continue;
        }
        for (const job of claimed) this.start(job);
      }
      await this.drain();
    } finally {
      signal?.removeEventListener("abort", stop);
    }
  }

  /** Claim no more jobs; the jobs in flight finish, or are released after `grace`. */
  stop(): void {
    this.stopping?.abort();
    this.slot?.();
  }

  private start(job: ClaimedJob): void {
    const lease = new AbortController();
    const done = this.execute(job, lease).finally(() => {
      this.running.delete(job.id);
      this.slot?.();
      this.slot = null;
    });
    this.running.set(job.id, done.then(() => undefined, () => undefined));
    this.leases.set(job.id, lease);
  }

  private async execute(job: ClaimedJob, lease: AbortController): Promise<void> {
    const token = { lease_token: job.lease_token };
    const seconds = job.lease_expires_at ? (Date.parse(job.lease_expires_at) - Date.now()) / 1000 : 30;
    const beat = setInterval(() => {
      this.jl.heartbeat(job.id, { ...token, lease_seconds: this.options.leaseSeconds }).catch((error) => {
        if (error instanceof ApiError && error.status === 409) lease.abort(error);  // lease_lost, or cancelled
      });
    }, Math.max(0.2, seconds / 3) * 1000);
    const ctx: JobContext = {
      signal: lease.signal,
      progress: (percent, message, details) => this.jl.progress(job.id, { ...token, percent, message, details } as never),
      startPhase: (phase) => this.jl.startPhase(job.id, phase, token),
      completePhase: (phase, result, confidence) => this.jl.completePhase(job.id, phase, { ...token, result, confidence } as never),
      failPhase: (phase, error) => this.jl.failPhase(job.id, phase, { ...token, error } as never),
    };
    try {
      let result: unknown;
      try {
        result = await this.handler(job, ctx);
      } catch (error) {
        if (lease.signal.aborted) return await this.release(job, lease);
        const failure = error instanceof JobError ? { error: error.error, retryable: error.retryable }
          : { error: { code: (error as Error)?.name ?? "error", message: String((error as Error)?.message ?? error) }, retryable: true };
        await this.jl.fail(job.id, { ...token, ...failure } as never).catch(() => undefined);
        return;
      }
      await this.jl.complete(job.id, { ...token, result } as never).catch(() => undefined);
    } finally {
      clearInterval(beat);
      this.leases.delete(job.id);
    }
  }

  // A job stopped by the worker's shutdown goes back to the queue; a lost lease is no longer ours.
  private async release(job: ClaimedJob, lease: AbortController): Promise<void> {
    if (lease.signal.reason instanceof ApiError) return;
    const reason = `worker ${this.workerId} shut down before the job finished`;
    await this.jl.release(job.id, { lease_token: job.lease_token, reason }).catch(() => undefined);
  }

  private async drain(): Promise<void> {
    const all = Promise.all(this.running.values());
    const grace = this.options.grace ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), grace)));
    if ((await Promise.race([all, late])) === "late") {
      for (const id of this.running.keys()) this.leases.get(id)?.abort(new Error("the worker stopped"));
      await all;
    }
    clearTimeout(timer);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(timer); signal.removeEventListener("abort", done); resolve(); };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

import { ApiError } from "./errors.js";
export class JobError extends Error {
    error;
    retryable;
    name = "JobError";
    constructor(error, retryable = true) {
        super(typeof error === "string" ? error : JSON.stringify(error));
        this.error = error;
        this.retryable = retryable;
    }
}
export class Worker {
    jl;
    options;
    handler;
    workerId;
    running = new Map();
    leases = new Map();
    stopping = null;
    slot = null;
    constructor(jl, options, handler) {
        this.jl = jl;
        this.options = options;
        this.handler = handler;
        this.workerId = options.workerId ?? `ts-${Math.random().toString(36).slice(2, 10)}`;
    }
    async run(signal) {
        const stopping = (this.stopping = new AbortController());
        const stop = () => this.stop();
        signal?.addEventListener("abort", stop, { once: true });
        if (signal?.aborted)
            stopping.abort();
        const concurrency = this.options.concurrency ?? 1;
        try {
            while (!stopping.signal.aborted) {
                if (this.running.size >= concurrency) {
                    await new Promise((resolve) => (this.slot = resolve));
                    continue;
                }
                let claimed;
                try {
                    claimed = await this.jl.claim({
                        worker_id: this.workerId, types: this.options.types, limit: concurrency - this.running.size,
                        lease_seconds: this.options.leaseSeconds, wait_seconds: this.options.waitSeconds ?? 10,
                    }, { signal: stopping.signal });
                }
                catch (error) {
                    if (stopping.signal.aborted)
                        break;
                    await sleep(1000, stopping.signal);
                    continue;
                }
                for (const job of claimed)
                    this.start(job);
            }
            await this.drain();
        }
        finally {
            signal?.removeEventListener("abort", stop);
        }
    }
    stop() {
        this.stopping?.abort();
        this.slot?.();
    }
    start(job) {
        const lease = new AbortController();
        const done = this.execute(job, lease).finally(() => {
            this.running.delete(job.id);
            this.slot?.();
            this.slot = null;
        });
        this.running.set(job.id, done.then(() => undefined, () => undefined));
        this.leases.set(job.id, lease);
    }
    async execute(job, lease) {
        const token = { lease_token: job.lease_token };
        const seconds = job.lease_expires_at ? (Date.parse(job.lease_expires_at) - Date.now()) / 1000 : 30;
        const beat = setInterval(() => {
            this.jl.heartbeat(job.id, { ...token, lease_seconds: this.options.leaseSeconds }).catch((error) => {
                if (error instanceof ApiError && error.status === 409)
                    lease.abort(error);
            });
        }, Math.max(0.2, seconds / 3) * 1000);
        const ctx = {
            signal: lease.signal,
            progress: (percent, message, details) => this.jl.progress(job.id, { ...token, percent, message, details }),
            startPhase: (phase) => this.jl.startPhase(job.id, phase, token),
            completePhase: (phase, result, confidence) => this.jl.completePhase(job.id, phase, { ...token, result, confidence }),
            failPhase: (phase, error) => this.jl.failPhase(job.id, phase, { ...token, error }),
        };
        try {
            let result;
            try {
                result = await this.handler(job, ctx);
            }
            catch (error) {
                if (lease.signal.aborted)
                    return await this.release(job, lease);
                const failure = error instanceof JobError ? { error: error.error, retryable: error.retryable }
                    : { error: { code: error?.name ?? "error", message: String(error?.message ?? error) }, retryable: true };
                await this.jl.fail(job.id, { ...token, ...failure }).catch(() => undefined);
                return;
            }
            await this.jl.complete(job.id, { ...token, result }).catch(() => undefined);
        }
        finally {
            clearInterval(beat);
            this.leases.delete(job.id);
        }
    }
    async release(job, lease) {
        if (lease.signal.reason instanceof ApiError)
            return;
        const reason = `worker ${this.workerId} shut down before the job finished`;
        await this.jl.release(job.id, { lease_token: job.lease_token, reason }).catch(() => undefined);
    }
    async drain() {
        const all = Promise.all(this.running.values());
        const grace = this.options.grace ?? 30_000;
        let timer;
        const late = new Promise((resolve) => (timer = setTimeout(() => resolve("late"), grace)));
        if ((await Promise.race([all, late])) === "late") {
            for (const id of this.running.keys())
                this.leases.get(id)?.abort(new Error("the worker stopped"));
            await all;
        }
        clearTimeout(timer);
    }
}
function sleep(ms, signal) {
    return new Promise((resolve) => {
        const done = () => { clearTimeout(timer); signal.removeEventListener("abort", done); resolve(); };
        const timer = setTimeout(done, ms);
        signal.addEventListener("abort", done, { once: true });
    });
}

export class ApiError extends Error {
    status;
    body;
    name = "ApiError";
    code;
    details;
    constructor(status, body) {
        const error = errorOf(body) ?? { code: `http_${status}`, message: `HTTP ${status}`, details: {} };
        super(`${error.code}: ${error.message}`);
        this.status = status;
        this.body = body;
        this.code = error.code;
        this.details = error.details ?? {};
    }
}
export class Refused extends Error {
    code;
    status;
    details;
    name = "Refused";
    constructor(code, message, status, details = {}) {
        super(`${code}: ${message}`);
        this.code = code;
        this.status = status;
        this.details = details;
    }
}
export class JobFailed extends Error {
    job;
    name = "JobFailed";
    code;
    constructor(job) {
        const error = job.error;
        const code = typeof error === "object" && error !== null && typeof error.code === "string"
            ? error.code : job.status;
        super(`job ${job.id} ${job.status}: ${describe(error ?? job.cancel_reason ?? job.status)}`);
        this.job = job;
        this.code = code;
    }
    get error() {
        return this.job.error ?? null;
    }
}
export function errorOf(body) {
    if (typeof body !== "object" || body === null || !("error" in body))
        return undefined;
    const error = body.error;
    if (typeof error !== "object" || error === null)
        return undefined;
    const { code, message } = error;
    return typeof code === "string" && typeof message === "string" ? error : undefined;
}
function describe(value) {
    if (typeof value === "string")
        return value;
    const message = value?.message;
    return typeof message === "string" ? message : JSON.stringify(value);
}

/**
 * The errors the client throws. Each carries what the service said: its HTTP status (if any),
 * its error `code` (`job_not_found`, `version_conflict`, `lease_lost`, ...), `message` and
 * `details`, so callers branch on `code` rather than on text.
 */
import type { components } from "./schema.js";

export type ErrorDetail = components["schemas"]["ErrorDetail"];
export type Job = components["schemas"]["Job"];

/** The service answered a call with an error status (`{"error": {code, message, details}}`). */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(readonly status: number, readonly body: unknown) {
    const error = errorOf(body) ?? { code: `http_${status}`, message: `HTTP ${status}`, details: {} };
    super(`${error.code}: ${error.message}`);
    this.code = error.code;
    this.details = error.details ?? {};
  }
}

/** A live socket refused that retrying cannot mend: an unknown, revoked or missing key
 * (`unauthorized`), a role that may not read (`forbidden`), an unknown job (`job_not_found`),
 * a bad subscription (`invalid_request`). `status` is the HTTP status of a refused upgrade. */
export class Refused extends Error {
  override readonly name = "Refused";

  constructor(readonly code: string, message: string, readonly status?: number, readonly details: Record<string, unknown> = {}) {
    super(`${code}: ${message}`);
  }
}

/** `waitFor`: the job ended without completing (failed, cancelled or expired). `job` is its final
 * document; `code` the job's error code if its error has one, else its status. */
export class JobFailed extends Error {
  override readonly name = "JobFailed";
  readonly code: string;

  constructor(readonly job: Job) {
    const error = job.error as unknown;
    const code = typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string"
      ? (error as { code: string }).code : job.status;
    super(`job ${job.id} ${job.status}: ${describe(error ?? job.cancel_reason ?? job.status)}`);
    this.code = code;
  }

  /** The job's error as reported by its worker (a message or an object), or null. */
  get error(): unknown {
    return this.job.error ?? null;
  }
}

export function errorOf(body: unknown): ErrorDetail | undefined {
  if (typeof body !== "object" || body === null || !("error" in body)) return undefined;
  const error = (body as { error: unknown }).error;
  if (typeof error !== "object" || error === null) return undefined;
  const { code, message } = error as Partial<ErrorDetail>;
  return typeof code === "string" && typeof message === "string" ? (error as ErrorDetail) : undefined;
}

function describe(value: unknown): string {
  if (typeof value === "string") return value;
  const message = (value as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : JSON.stringify(value);
}

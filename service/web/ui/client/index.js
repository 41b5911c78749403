export { Jobledger } from "./api.js";
export { ApiError, JobFailed, Refused } from "./errors.js";
export { TERMINAL } from "./events.js";
export { createClient, expectStatus, keyOf, UnexpectedStatus } from "./http.js";
export { Backoff, CLOSE_CODES, subscribe, waitFor } from "./live.js";
export { JobError, Worker } from "./worker.js";

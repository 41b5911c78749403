/**
 * The jobledger client: every HTTP operation (`Jobledger`), live updates (`subscribe`,
 * `waitFor`), a worker loop (`Worker`), and the generated types. An ES module with no runtime
 * dependencies, for browsers and Node 20+.
 */
export { Jobledger } from "./api.js";
export type { CallOptions, ClaimedJob, CommandOptions, CreateOptions, Job, JobEvent, ListQuery } from "./api.js";
export { ApiError, JobFailed, Refused } from "./errors.js";
export { TERMINAL } from "./events.js";
export type { EventData, EventType, JobMessage, LiveEvent, ServerMessage, Subscribed } from "./events.js";
export { createClient, expectStatus, keyOf, UnexpectedStatus } from "./http.js";
export type { Client, ClientOptions } from "./http.js";
export { Backoff, CLOSE_CODES, subscribe, waitFor } from "./live.js";
export type { LiveOptions, LiveState, SubscribeOptions, Subscription, WaitOptions, WebSocketConstructor, WebSocketLike } from "./live.js";
export { JobError, Worker } from "./worker.js";
export type { Handler, JobContext, WorkerOptions } from "./worker.js";
export type { components, operations, paths } from "./schema.js";

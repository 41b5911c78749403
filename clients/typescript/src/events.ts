/**
 * The messages of the live sockets (`/ws`, `/jobs/{id}/ws`), typed. An event message is a
 * discriminated union on its `event` (the event type): checking it narrows `data`.
 *
 *     if (message.event === "ProgressReported") console.log(message.data.percent);
 */
import type { components, JsonValue as Json } from "./schema.js";

export type Job = components["schemas"]["Job"];
export type EventType = components["schemas"]["EventType"];

/** Each event type's `data`, as the service records it (ISO 8601 strings for times). */
export interface EventData {
  JobCreated: {
    job_type: string; tenant: string; payload: Json; metadata: Record<string, Json>; phases: string[];
    priority: number; max_attempts: number; run_at: string | null; expires_at: string; idempotency_key?: string | null;
    retry_base_seconds?: number; retry_max_seconds?: number; user?: string | null; message?: string | null;
  };
  JobStarted: { attempt: number; worker_id?: string | null; lease_expires_at?: string | null };
  LeaseExtended: { lease_expires_at: string };
  LeaseExpired: { worker_id: string | null; attempt: number };
  JobReleased: { worker_id: string | null; attempt: number; reason?: string | null };
  RetryScheduled: { attempt: number; run_at: string; error?: Json; manual?: boolean; requested_by?: string | null };
  CancellationRequested: { reason?: string | null; cancelled_by?: string | null };
  ArtifactAdded: { name: string; content_type: string; data: Json; size: number };
  PhaseStarted: { phase: string };
  ProgressReported: { percent: number | null; message?: string | null; details?: Json };
  PhaseCompleted: { phase: string; result?: Json; confidence?: number | null };
  PhaseFailed: { phase: string; error: Json };
  JobCompleted: { result?: Json };
  JobFailed: { error: Json };
  JobCancelled: { reason?: string | null; cancelled_by?: string | null };
  JobExpired: { expires_at: string };
}

/** One committed event, live or replayed: where it sits in the log, and the job document after it. */
export type LiveEvent = {
  [E in EventType]: {
    type: "event";
    event: E;
    position: number;
    job_id: string;
    version: number;
    recorded_at: string;
    data: E extends keyof EventData ? EventData[E] : Record<string, Json>;
    job: Job;
  };
}[EventType];

/** The answer to a `subscribe`: what the socket now follows, and the last position it does not cover. */
export interface Subscribed {
  type: "subscribed";
  jobs: string[];
  job_types: string[];
  all: boolean;
  metadata?: Record<string, string>[];
  position: number;
}

/** `/jobs/{id}/ws`'s first message: the job's document at `position`. */
export interface JobMessage { type: "job"; position: number; job: Job }

export type ServerMessage =
  | LiveEvent
  | Subscribed
  | JobMessage
  | { type: "unsubscribed" | "pong" | "authenticated"; [field: string]: unknown }
  | { type: "error"; error: components["schemas"]["ErrorDetail"] };

export const TERMINAL: ReadonlySet<Job["status"]> = new Set(["completed", "failed", "cancelled", "expired"]);

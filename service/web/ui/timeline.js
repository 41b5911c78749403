// One event of a job's timeline: what happened, when, by whom, and its data.

import { h } from "./dom.js";
import { clockTime, errorText, percentText } from "./format.js";

const KINDS = {
  JobCreated: "created", JobStarted: "started", PhaseStarted: "phase", PhaseCompleted: "phase",
  PhaseFailed: "failed", ProgressReported: "progress", ArtifactAdded: "artifact", LeaseExtended: "lease",
  LeaseExpired: "failed", JobReleased: "retry", RetryScheduled: "retry", CancellationRequested: "cancelled",
  JobCompleted: "completed", JobFailed: "failed", JobCancelled: "cancelled", JobExpired: "cancelled",
  ChildAdded: "other", DependencyResolved: "progress", DependenciesMet: "started",
};

const SUMMARIES = {
  JobCreated: (d) => `${d.job_type}${d.phases?.length ? ` · phases ${d.phases.join(", ")}` : ""}`,
  JobStarted: (d) => `attempt ${d.attempt}${d.worker_id ? ` · ${d.worker_id}` : ""}`,
  PhaseStarted: (d) => d.phase,
  PhaseCompleted: (d) => `${d.phase}${d.confidence !== null && d.confidence !== undefined ? ` · confidence ${d.confidence}` : ""}`,
  PhaseFailed: (d) => `${d.phase}: ${errorText(d.error)}`,
  ProgressReported: (d) => [d.percent === null ? null : percentText(d.percent), d.message].filter(Boolean).join(" · "),
  ArtifactAdded: (d) => `${d.name} (${d.content_type})`,
  JobReleased: (d) => `attempt ${d.attempt} given back${d.worker_id ? ` by ${d.worker_id}` : ""}${d.reason ? `: ${d.reason}` : ""}`,
  RetryScheduled: (d) => (d.manual ? `queued again by ${d.requested_by ?? "hand"}` : `attempt ${d.attempt} failed: ${errorText(d.error)}; next at ${clockTime(d.run_at)}`),
  CancellationRequested: (d) => d.reason ?? "",
  JobFailed: (d) => errorText(d.error),
  JobCancelled: (d) => d.reason ?? "",
  ChildAdded: (d) => `child ${d.child}${d.on_failure === "run" ? " (runs anyway)" : ""}`,
  DependencyResolved: (d) => `parent ${d.parent} ${d.status}`,
  DependenciesMet: () => "every parent ended: queued",
};

export function eventItem(event) {
  const summary = SUMMARIES[event.type]?.(event.data ?? {});
  const actor = event.metadata?.actor;
  const hasData = event.data && Object.keys(event.data).length > 0;
  return h("li", { class: `event kind-${KINDS[event.type] ?? "other"}`, dataset: { version: event.version, event: event.type } },
    h("span", { class: "event-dot" }),
    h("div", { class: "event-body" },
      h("div", { class: "event-head" },
        h("b", { class: "event-type" }, event.type),
        h("span", { class: "event-meta muted" }, `v${event.version} · #${event.position}`)),
      h("div", { class: "event-time muted" }, clockTime(event.recorded_at), actor ? ` · ${actor}` : ""),
      summary ? h("div", { class: "event-summary" }, summary) : null,
      hasData ? h("details", {}, h("summary", {}, "data"), h("pre", { class: "json small" }, JSON.stringify(event.data, null, 2))) : null));
}

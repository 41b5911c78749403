// One job: its status, progress, phases, result or error, details, and its whole event
// timeline from the log, all kept current by /ws events. A gap in the job's versions (a
// missed event) reloads the page's data instead of guessing.

import { api, problem } from "./api.js";
import { h, fill } from "./dom.js";
import { clockTime, duration, errorText, isTerminal, json } from "./format.js";
import { Loader } from "./loader.js";
import { graphView, hasGraph } from "./graph.js";
import { eventItem } from "./timeline.js";
import { badge, progressBar, timeAgo } from "./widgets.js";

export function jobPage(ctx, id) {
  const head = h("div", { class: "job-head" });
  const main = h("div", { class: "job-main" });
  const timeline = h("ol", { class: "timeline", id: "timeline" });
  const timelineCount = h("span", { class: "pill" }, "0");
  const el = h("div", { class: "job-page" },
    h("a", { class: "back", href: "#/" }, "← All jobs"), head,
    h("div", { class: "job-grid" }, main,
      h("aside", { class: "panel timeline-panel" },
        h("div", { class: "panel-head" }, h("h2", {}, "Event timeline"), timelineCount), timeline)));
  let job = null;
  let graph = null;  // its parents and children (README, Dependencies), when it has any
  let lastVersion = 0;
  const loader = new Loader({
    load: () => Promise.all([api.get(id), api.events(id), api.graph(id)]),
    apply([doc, history, related]) {
      graph = related;
      job = ctx.store.put(doc);
      renderJob();
      fill(timeline, history.events.map(eventItem));
      lastVersion = history.events.at(-1)?.version ?? 0;
      timelineCount.textContent = String(lastVersion);
    },
    failed(error) {
      if (error.status !== 404) ctx.notify(`Could not load job: ${problem(error)}`);
      else fill(el, h("a", { class: "back", href: "#/" }, "← All jobs"), h("div", { class: "empty" }, `No job ${id}.`));
    },
  });

  function changed(doc) {
    if (graph && doc.id !== id && related(doc.id)) refreshGraph();
    if (doc.id !== id || loader.hold(() => changed(doc))) return;
    const before = job;
    job = ctx.store.get(id) ?? doc;
    if (before && (before.children !== job.children || before.status !== job.status)) refreshGraph();
    renderJob();
  }

  function related(other) {
    return graph.parents.some((p) => p.id === other) || graph.children.some((c) => c.id === other);
  }

  async function refreshGraph() {
    try {
      graph = await api.graph(id);
      if (job) renderJob();
    } catch (error) {
      ctx.notify(`Could not load the job's graph: ${problem(error)}`);
    }
  }

  function event(message) {
    if (message.job_id !== id || loader.hold(() => event(message)) || message.version <= lastVersion) return;
    if (message.version !== lastVersion + 1) {
      loader.run();
      return;
    }
    timeline.append(eventItem({ ...message, type: message.event }));
    timeline.lastElementChild.classList.add("fresh");
    lastVersion = message.version;
    timelineCount.textContent = String(lastVersion);
  }

  function renderJob() {
    fill(head, jobHeading(job, retry));
    fill(main, jobSections(job, graph));
  }

  async function retry(button) {
    button.disabled = true;
    try {
      ctx.store.put(await api.retry(id));
    } catch (error) {
      ctx.notify(`Retry refused: ${problem(error)}`);
      button.disabled = false;
    }
  }

  const stops = [ctx.store.listen(changed), ctx.onEvent(event)];
  loader.run();
  return { el, reload: () => loader.run(), dispose() { stops.forEach((stop) => stop()); } };
}

function jobHeading(job, retry) {
  const button = job.status === "failed"
    ? h("button", { class: "retry", type: "button", onclick: (e) => retry(e.currentTarget) }, "Retry")
    : null;
  return [
    h("div", { class: "job-title" }, h("h1", {}, job.type), badge(job), button),
    h("div", { class: "job-id mono" }, job.id),
  ];
}

function jobSections(job, graph) {
  const outcome = job.error !== null && job.error !== undefined
    ? section("Error", h("pre", { class: "json error-json" }, json(job.error)))
    : section("Result", job.result === null || job.result === undefined
      ? h("div", { class: "muted" }, job.status === "completed" ? "No result." : "Not finished yet.")
      : h("pre", { class: "json" }, json(job.result)));
  return [
    section("Progress", progressBar(job), h("div", { class: "muted small" },
      job.progress ? ["reported ", timeAgo(job.progress.reported_at)] : "no progress reported yet"),
      estimateLine(job)),
    job.phases.length ? section("Phases", h("ol", { class: "phases" }, job.phases.map(phaseItem))) : null,
    graph && hasGraph(job) ? section("Dependencies", h("div", { class: "graph-wrap" }, graphView(graph))) : null,
    outcome,
    section("Details", details(job)),
    section("Payload", h("pre", { class: "json" }, json(job.payload))),
    Object.keys(job.metadata ?? {}).length ? section("Metadata", h("pre", { class: "json" }, json(job.metadata))) : null,
    job.artifacts.length ? section("Artifacts", h("ul", { class: "artifacts" }, job.artifacts.map((a) =>
      h("li", {}, h("span", { class: "mono" }, a.name), h("span", { class: "muted" }, ` ${a.content_type} · ${a.size} bytes`))))) : null,
  ];
}

// When it will finish (the document's `estimate`: README "Estimates"); nothing once it has.
function estimateLine(job) {
  if (isTerminal(job.status)) return null;
  const e = job.estimate;
  const text = e
    ? `finishes in about ${duration(e.remaining_seconds)}, at ${clockTime(e.finishes_at)} (from the last ${e.samples} runs`
      + `${e.basis === "history+progress" ? " and its progress" : ""})`
    : "no estimate yet: too few finished runs of this type";
  return h("div", { class: "muted small estimate" }, text);
}

function section(title, ...children) {
  return h("section", { class: "panel", dataset: { section: title.toLowerCase() } }, h("h2", {}, title), children);
}

function phaseItem(phase) {
  const seconds = phase.started_at && phase.finished_at
    ? (Date.parse(phase.finished_at) - Date.parse(phase.started_at)) / 1000 : null;
  return h("li", { class: `phase phase-${phase.status}`, dataset: { phase: phase.name } },
    h("span", { class: "phase-dot" }),
    h("div", { class: "phase-body" },
      h("div", { class: "phase-line" },
        h("b", {}, phase.name), h("span", { class: `badge status-${phase.status}` }, phase.status),
        seconds !== null ? h("span", { class: "muted" }, duration(seconds)) : null,
        phase.confidence !== null && phase.confidence !== undefined
          ? h("span", { class: "muted" }, `confidence ${phase.confidence}`) : null),
      phase.error !== null && phase.error !== undefined ? h("div", { class: "phase-error" }, errorText(phase.error)) : null,
      phase.result !== null && phase.result !== undefined ? h("pre", { class: "json small" }, json(phase.result)) : null));
}

function details(job) {
  const rows = [ // two columns: times on the left, the rest on the right
    ["Created", clockTime(job.created_at)], ["Attempts", `${job.attempts} of ${job.max_attempts}`],
    ["Started", clockTime(job.started_at)], ["Priority", String(job.priority)],
    ["Finished", clockTime(job.finished_at)], ["Worker", job.worker_id ?? "—"],
    ["Expires", clockTime(job.expires_at)], ["Idempotency key", job.idempotency_key ?? "—"],
    ["Run at", clockTime(job.run_at)], ["Version · position", `${job.version} · ${job.position}`],
  ];
  if (job.cancel_requested) rows.push(["Cancel requested", `${job.cancelled_by ?? ""} ${job.cancel_reason ?? ""}`.trim()]);
  return h("dl", { class: "details" }, rows.map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

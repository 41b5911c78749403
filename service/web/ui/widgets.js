// Small pieces shared by the views: status badges, progress bars, times, phases.

import { h } from "./dom.js";
import { clockTime, percent, percentText, relative } from "./format.js";

export function badge(job) {
  const label = job.status === "running" && job.cancel_requested ? "cancelling" : job.status;
  return h("span", { class: `badge status-${job.status}`, dataset: { status: job.status } }, label);
}

export function progressBar(job, { withMessage = true } = {}) {
  const value = percent(job);
  const message = job.progress?.message;
  return h("div", { class: "progress" },
    h("div", { class: "progress-line" },
      h("div", {
        class: `bar bar-${job.status}`, role: "progressbar",
        "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": value,
      }, h("span", { style: { width: `${value}%` } })),
      h("span", { class: "pct" }, percentText(value))),
    withMessage && message ? h("div", { class: "progress-message", title: message }, message) : null);
}

export function timeAgo(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: iso, title: clockTime(iso), dataset: { relative: "" } }, relative(iso));
}

export function tickTimes(root, now = Date.now()) {
  for (const el of root.querySelectorAll("time[data-relative]")) {
    el.textContent = relative(el.getAttribute("datetime"), now);
  }
}

export function phaseSummary(job) {
  if (!job.phases?.length) return h("span", { class: "muted" }, "—");
  const done = job.phases.filter((p) => p.status === "completed").length;
  const current = job.phases.find((p) => ["running", "failed", "interrupted"].includes(p.status))
    ?? job.phases.find((p) => p.status === "pending");
  const name = current ? current.name : job.phases.at(-1).name;
  return h("span", { class: "phase-summary" },
    h("span", { class: `phase-name phase-${current?.status ?? "completed"}` }, name),
    h("span", { class: "muted" }, ` ${done}/${job.phases.length}`));
}

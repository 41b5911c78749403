// The schedules view (#/schedules): each schedule of the tenant with its cron expression and
// zone, whether it is paused, when it fires next, and its latest fires, each linking to the job
// it created (or saying why it made none). A fire's job arriving live loads the list again.
// Every stored value goes in as text (dom.js): a schedule's name, reason or template is data.

import { api, problem } from "./api.js";
import { h } from "./dom.js";
import { clockTime, shortId } from "./format.js";
import { Loader } from "./loader.js";
import { timeAgo } from "./widgets.js";

const FIRES_SHOWN = 5;
const LIMIT = 500;

export function schedulesView(ctx) {
  const rows = h("tbody");
  const empty = h("div", { class: "empty" }, "No schedules. Create one with POST /schedules (README, Schedules).");
  const el = h("section", { class: "panel schedules", id: "schedules" },
    h("div", { class: "panel-head" }, h("h2", {}, "Schedules"), h("a", { href: "#/" }, "← jobs")),
    h("table", { class: "schedule-table" },
      h("thead", {}, h("tr", {}, ["Name", "When", "Status", "Next fire", "Last fires"].map((t) => h("th", {}, t)))),
      rows),
    empty);
  const loader = new Loader({
    load: () => api.schedules({ limit: LIMIT }),
    apply(page) {
      rows.replaceChildren(...page.schedules.map(row));
      empty.hidden = page.schedules.length > 0;
    },
    failed: (error) => ctx.notify(`Could not load schedules: ${problem(error)}`),
  });
  const stop = ctx.onEvent((message) => {
    if (message.job?.idempotency_key?.startsWith("schedule:") && message.event === "JobCreated") loader.run();
  });
  loader.run();
  return { el, reload: () => loader.run(), dispose: stop };
}

function row(schedule) {
  const paused = schedule.status === "paused";
  return h("tr", { class: "schedule", dataset: { name: schedule.name, status: schedule.status } },
    h("td", { class: "name" }, schedule.name, h("div", { class: "muted small" }, schedule.job.type)),
    h("td", {}, h("span", { class: "mono" }, schedule.cron), h("div", { class: "muted small" }, schedule.timezone)),
    h("td", {}, h("span", { class: `badge schedule-${schedule.status}` }, schedule.status),
      paused && schedule.paused_reason ? h("div", { class: "muted small reason" }, schedule.paused_reason) : null),
    h("td", { class: "next" }, schedule.next_fire_at
      ? h("span", { title: schedule.next_fire_at }, clockTime(schedule.next_fire_at)) : h("span", { class: "muted" }, "—")),
    h("td", {}, h("ul", { class: "fires" }, schedule.last_fires.slice(0, FIRES_SHOWN).map(fire))));
}

function fire(entry) {
  const made = entry.job_id
    ? h("a", { class: "mono", href: `#/jobs/${entry.job_id}`, title: entry.job_id }, shortId(entry.job_id))
    : h("span", { class: "skipped", title: entry.skipped }, "skipped");
  return h("li", { class: "fire", dataset: { fireAt: entry.fire_at } }, made, " ", timeAgo(entry.fire_at));
}

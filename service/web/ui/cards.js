// Per job type: queue depth (queued, running, oldest wait) from /health, and throughput
// (jobs finished in the last hour) and run times from /stats. Refreshed when /ws reports
// events, at most once per REFRESH_MS, and while the stats read model lags the log; there
// is no polling timer.

import { api, problem } from "./api.js";
import { h, fill } from "./dom.js";
import { duration } from "./format.js";
import { Loader } from "./loader.js";

const REFRESH_MS = 1000;
const TOTALS = ["waiting", "queued", "running", "completed", "failed", "cancelled", "expired"];

export function statsCards(ctx) {
  const totals = h("div", { class: "totals" });
  const lag = h("span", { class: "muted lag" });
  const grid = h("div", { class: "cards" });
  const el = h("section", { class: "stats" },
    h("div", { class: "section-head" }, h("h2", {}, "Queues"), totals, lag), grid);
  let timer = null;
  const loader = new Loader({
    load: () => Promise.all([api.health(), api.stats()]),
    apply([health, stats]) {
      ctx.types.add(...Object.keys(health.queues ?? {}), ...Object.keys(stats.types));
      render(health, stats);
      if (stats.projection?.lag > 0) schedule(); // the stats read model is catching up: look again once
    },
    failed: (error) => ctx.notify(`Could not load statistics: ${problem(error)}`),
  });

  function render(health, stats) {
    // /health's counts cover every tenant: only an operator key (or the open mode) gets them;
    // any other key is shown its own tenant's, from /stats
    const queues = health.queues ?? {};
    const jobs = health.jobs ?? tenantTotals(stats);
    fill(totals, TOTALS.map((status) => h("span", { class: `total status-${status}` },
      h("b", {}, String(jobs[status] ?? 0)), ` ${status}`)));
    const behind = stats.projection?.lag ?? 0;
    lag.textContent = behind > 0 ? `throughput catching up (${behind} events behind)` : "";
    // paused types (POST /types/{name}/pause): the caller's tenant's, from /stats
    const paused = new Set(stats.paused ?? []);
    const names = [...new Set([...Object.keys(queues), ...Object.keys(stats.types), ...paused])].sort();
    fill(grid, names.length ? names.map((name) => card(name, queues[name] ?? stats.types[name]?.counts, stats.types[name], paused.has(name)))
      : h("div", { class: "empty" }, "No jobs yet: create one with POST /jobs."));
  }

  function schedule() {
    if (timer === null) timer = setTimeout(() => { timer = null; loader.run(); }, REFRESH_MS);
  }

  const stop = ctx.onEvent(schedule);
  loader.run();
  return { el, reload: () => loader.run(), dispose() { stop(); clearTimeout(timer); } };
}

function tenantTotals(stats) {
  const totals = {};
  for (const type of Object.values(stats.types)) {
    for (const [status, count] of Object.entries(type.counts ?? {})) totals[status] = (totals[status] ?? 0) + count;
  }
  return totals;
}

function card(name, queue = {}, stats = {}, paused = false) {
  const hour = stats.last_hour ?? {};
  const finished = hour.finished ?? {};
  const oldest = queue.oldest_queued_age_seconds;
  return h("article", { class: paused ? "card paused" : "card", dataset: { type: name } },
    h("h3", { title: name }, name,
      paused && h("span", { class: "badge type-paused", title: "claims leave its jobs queued until it resumes" }, "paused")),
    h("div", { class: "figures" },
      figure(queue.queued ?? 0, "queued", "queued"),
      figure(queue.running ?? 0, "running", "running"),
      figure(finished.completed ?? 0, "done / h", "completed"),
      figure(finished.failed ?? 0, "failed / h", "failed")),
    h("div", { class: "card-foot" },
      h("span", {}, "p50 run ", h("b", {}, duration(hour.run_seconds?.p50))),
      h("span", {}, "oldest wait ", h("b", {}, oldest === null || oldest === undefined ? "—" : duration(oldest)))));
}

function figure(value, label, key) {
  return h("div", { class: `figure figure-${key}`, dataset: { figure: key } },
    h("b", {}, String(value)), h("span", {}, label));
}

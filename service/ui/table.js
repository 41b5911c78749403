// The live job table: newest first, filtered by status and type on the server, searched by
// id on the page. Rows are updated in place as /ws events arrive (at most once per frame),
// jobs created meanwhile are inserted at the top, and jobs that stop matching a filter leave.

import { request } from "./api.js";
import { h, fill } from "./dom.js";
import { isUuid, shortId } from "./format.js";
import { badge, phaseSummary, progressBar, timeAgo } from "./widgets.js";

const PAGE = 50;
const MAX_ROWS = 500;
const STATUSES = ["queued", "running", "completed", "failed", "cancelled", "expired"];
const COLUMNS = ["Job", "Type", "Status", "Progress", "Phase", "Attempts", "Created", "Updated"];

export function jobTable(ctx) {
  const filters = { status: "", type: "", search: "" };
  const rows = new Map();
  let order = [];
  let cursor = null;
  let filling = false;
  let generation = 0;
  const dirty = new Set();
  let frame = null;

  const status = h("select", { id: "filter-status", "aria-label": "Status", onchange: () => set("status", status.value) },
    h("option", { value: "" }, "All statuses"), STATUSES.map((s) => h("option", { value: s }, s)));
  const type = h("select", { id: "filter-type", "aria-label": "Type", onchange: () => set("type", type.value) },
    h("option", { value: "" }, "All types"));
  const search = h("input", {
    id: "search", type: "search", placeholder: "Search by job id", spellcheck: "false", "aria-label": "Search by id",
    oninput: () => set("search", search.value.trim().toLowerCase()),
  });
  const count = h("span", { class: "muted count" });
  const body = h("tbody");
  const empty = h("div", { class: "empty", hidden: true }, "No jobs match.");
  const more = h("button", { class: "more", type: "button", hidden: true, onclick: loadMore }, "Load older jobs");
  const el = h("section", { class: "panel jobs" },
    h("div", { class: "panel-head" }, h("h2", {}, "Jobs"), h("div", { class: "filters" }, status, type, search), count),
    h("div", { class: "table-wrap" }, h("table", { class: "job-table" },
      h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", {}, c)))), body)),
    empty, more);

  function set(name, value) {
    const serverSide = name !== "search" || isUuid(value) || isUuid(filters.search);
    filters[name] = value;
    if (serverSide) reload();
    else rows.forEach((row, id) => { row.hidden = !id.includes(filters.search); });
    summarize();
  }

  function wanted(job) {
    if (isUuid(filters.search)) return job.id === filters.search;
    return (!filters.status || job.status === filters.status) && (!filters.type || job.type === filters.type);
  }

  function fitsPage(job) {
    const last = order.length ? rows.get(order.at(-1)).job : null;
    return cursor === null || !last || Date.parse(job.created_at) >= Date.parse(last.created_at);
  }

  async function fetchPage(after) {
    if (isUuid(filters.search)) {
      const job = await request(`/jobs/${filters.search}`).catch((e) => (e.status === 404 ? null : Promise.reject(e)));
      return { jobs: job ? [job] : [], next_cursor: null };
    }
    const query = { status: filters.status, type: filters.type, limit: PAGE, cursor: after };
    return request("/jobs", { query });
  }

  async function reload() {
    const mine = ++generation;
    try {
      const page = await fetchPage(null);
      if (mine !== generation) return;
      rows.clear();
      order = [];
      body.replaceChildren();
      show(page);
    } catch (error) {
      ctx.notify(`Could not load jobs: ${error.message}`);
    }
  }

  async function loadMore() {
    const mine = generation;
    const page = await fetchPage(cursor).catch((error) => ctx.notify(`Could not load jobs: ${error.message}`));
    if (page && mine === generation) show(page);
  }

  function show(page) {
    filling = true;
    for (const doc of page.jobs) {
      const job = ctx.store.put(doc);
      if (!rows.has(job.id)) place(job, order.length);
    }
    filling = false;
    cursor = page.next_cursor;
    ctx.types.add(...page.jobs.map((j) => j.type));
    summarize();
  }

  function place(job, index) {
    const row = h("tr", { dataset: { jobId: job.id }, onclick: (e) => open(e, job.id) });
    render(row, job);
    body.insertBefore(row, rows.get(order[index]) ?? null);
    rows.set(job.id, row);
    order.splice(index, 0, job.id);
  }

  function render(row, job) {
    row.job = job;
    row.hidden = !isUuid(filters.search) && !job.id.includes(filters.search);
    fill(row,
      h("td", { class: "id mono" }, h("a", { href: `#/jobs/${job.id}`, title: job.id }, shortId(job.id))),
      h("td", { class: "type" }, job.type),
      h("td", {}, badge(job)),
      h("td", { class: "progress-col" }, progressBar(job)),
      h("td", {}, phaseSummary(job)),
      h("td", { class: "num" }, `${job.attempts}/${job.max_attempts}`),
      h("td", { class: "time" }, timeAgo(job.created_at)),
      h("td", { class: "time" }, timeAgo(job.updated_at)));
  }

  function changed(job) {
    ctx.types.add(job.type);
    if (filling) return;
    if (!rows.has(job.id)) {
      if (!wanted(job) || !fitsPage(job)) return;
      const created = Date.parse(job.created_at);
      const index = order.findIndex((id) => Date.parse(rows.get(id).job.created_at) < created);
      place(job, index === -1 ? order.length : index);
      rows.get(job.id).classList.add("fresh");
      trim();
      summarize();
      return;
    }
    dirty.add(job.id);
    frame ??= requestAnimationFrame(flush);
  }

  function flush() {
    frame = null;
    for (const id of dirty) {
      const row = rows.get(id);
      const job = ctx.store.get(id) ?? row?.job;
      if (!row || !job) continue;
      if (wanted(job)) {
        render(row, job);
        row.classList.remove("flash");
        void row.offsetWidth; // restart the highlight animation
        row.classList.add("flash");
      } else remove(id);
    }
    dirty.clear();
    summarize();
  }

  function remove(id) {
    rows.get(id).remove();
    rows.delete(id);
    order = order.filter((other) => other !== id);
  }

  function trim() {
    if (order.length <= MAX_ROWS) return;
    order.slice(MAX_ROWS).forEach(remove);
    cursor = null; // the rows dropped are gone from the page: reload or filter to see them again
  }

  function summarize() {
    const shown = order.filter((id) => !rows.get(id).hidden).length;
    count.textContent = `${shown} shown${cursor ? ", older below" : ""}`;
    empty.hidden = shown > 0;
    more.hidden = !cursor;
  }

  function setTypes(names) {
    fill(type, h("option", { value: "" }, "All types"), names.map((n) => h("option", { value: n }, n)));
    type.value = filters.type;
  }

  setTypes(ctx.types.sorted());
  const stops = [ctx.store.listen(changed), ctx.types.listen(setTypes)];
  reload();
  return { el, reload, dispose() { stops.forEach((stop) => stop()); cancelAnimationFrame(frame); } };
}

function open(event, id) {
  if (event.target.closest("a")) return;
  window.location.hash = `#/jobs/${id}`;
}

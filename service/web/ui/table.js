// The live job table: newest first, filtered by status, type and a metadata pair (`key=value`,
// as GET /jobs?metadata.key=value matches it) on the server, searched by id on the page. Rows are updated in place as /ws events arrive (at most once per frame),
// jobs created meanwhile are inserted at the top, and jobs that stop matching a filter leave.

import { api, problem } from "./api.js";
import { h, fill } from "./dom.js";
import { isUuid, shortId } from "./format.js";
import { Loader } from "./loader.js";
import { badge, phaseSummary, progressBar, timeAgo } from "./widgets.js";

const PAGE = 50;
const MAX_ROWS = 500;
const STATUSES = ["waiting", "queued", "running", "completed", "failed", "cancelled", "expired"];
const COLUMNS = ["Job", "Type", "Status", "Progress", "Phase", "Attempts", "Created", "Updated"];

export class JobTable {
  constructor(ctx) {
    this.ctx = ctx;
    this.filters = { status: "", type: "", search: "", metadata: null };
    this.rows = new Map(); // id -> <tr>, whose `job` is the document it shows
    this.order = []; // ids, newest first
    this.cursor = null;
    this.filling = false;
    this.dirty = new Set();
    this.frame = null;
    this.loader = new Loader({
      load: () => this.fetchPage(null),
      apply: (page) => this.replace(page),
      failed: (error) => ctx.notify(`Could not load jobs: ${problem(error)}`),
    });
    this.el = this.build();
    this.setTypes(ctx.types.sorted());
    this.stops = [ctx.store.listen((job) => this.changed(job)), ctx.types.listen((names) => this.setTypes(names))];
    this.reload();
  }

  build() {
    this.status = h("select", { id: "filter-status", "aria-label": "Status", onchange: () => this.set("status", this.status.value) },
      h("option", { value: "" }, "All statuses"), STATUSES.map((s) => h("option", { value: s }, s)));
    this.type = h("select", { id: "filter-type", "aria-label": "Type", onchange: () => this.set("type", this.type.value) });
    this.metadata = h("input", {
      id: "filter-metadata", type: "search", placeholder: "metadata key=value", spellcheck: "false",
      "aria-label": "Metadata key=value", onchange: () => this.set("metadata", metadataPair(this.metadata.value)),
    });
    this.search = h("input", {
      id: "search", type: "search", placeholder: "Search by job id", spellcheck: "false", "aria-label": "Search by id",
      oninput: () => this.set("search", this.search.value.trim().toLowerCase()),
    });
    this.count = h("span", { class: "muted count" });
    this.body = h("tbody");
    this.empty = h("div", { class: "empty", hidden: true }, "No jobs match.");
    this.more = h("button", { class: "more", type: "button", hidden: true, onclick: () => this.loadMore() }, "Load older jobs");
    return h("section", { class: "panel jobs" },
      h("div", { class: "panel-head" }, h("h2", {}, "Jobs"), h("div", { class: "filters" }, this.status, this.type, this.metadata, this.search), this.count),
      h("div", { class: "table-wrap" }, h("table", { class: "job-table" },
        h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", {}, c)))), this.body)),
      this.empty, this.more);
  }

  reload() {
    return this.loader.run();
  }

  dispose() {
    this.stops.forEach((stop) => stop());
    cancelAnimationFrame(this.frame);
  }

  set(name, value) {
    const serverSide = name !== "search" || isUuid(value) || isUuid(this.filters.search);
    this.filters[name] = value;
    if (serverSide) this.reload();
    else this.rows.forEach((row, id) => { row.hidden = !id.includes(value); });
    this.summarize();
  }

  wanted(job) {
    const { status, type, search, metadata } = this.filters;
    if (isUuid(search)) return job.id === search;
    return (!status || job.status === status) && (!type || job.type === type) && holds(job.metadata, metadata);
  }

  fitsPage(job) {
    const last = this.order.length ? this.rows.get(this.order.at(-1)).job : null;
    return this.cursor === null || !last || Date.parse(job.created_at) >= Date.parse(last.created_at);
  }

  async fetchPage(after) {
    const { status, type, search } = this.filters;
    if (isUuid(search)) {
      const job = await api.get(search).catch((e) => (e.status === 404 ? null : Promise.reject(e)));
      return { jobs: job ? [job] : [], next_cursor: null };
    }
    const metadata = this.filters.metadata ? Object.fromEntries([this.filters.metadata]) : undefined;
    return api.listPage({ status: status || undefined, type: type || undefined, metadata, limit: PAGE, cursor: after });
  }

  replace(page) {
    this.rows.clear();
    this.order = [];
    this.body.replaceChildren();
    this.show(page);
  }

  async loadMore() {
    const mine = this.loader.current;
    const page = await this.fetchPage(this.cursor).catch((error) => this.ctx.notify(`Could not load jobs: ${problem(error)}`));
    if (page && mine === this.loader.current) this.show(page);
  }

  show(page) {
    this.filling = true;
    for (const doc of page.jobs) {
      const job = this.ctx.store.put(doc);
      if (!this.rows.has(job.id)) this.place(job, this.order.length);
    }
    this.filling = false;
    this.cursor = page.next_cursor;
    this.ctx.types.add(...page.jobs.map((j) => j.type));
    this.summarize();
  }

  place(job, index) {
    const row = h("tr", { dataset: { jobId: job.id }, onclick: (e) => open(e, job.id) });
    this.render(row, job);
    this.body.insertBefore(row, this.rows.get(this.order[index]) ?? null);
    this.rows.set(job.id, row);
    this.order.splice(index, 0, job.id);
  }

  render(row, job) {
    row.job = job;
    row.hidden = !isUuid(this.filters.search) && !job.id.includes(this.filters.search);
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

  changed(job) {
    this.ctx.types.add(job.type);
    if (this.filling || this.loader.hold(() => this.changed(job))) return;
    if (this.rows.has(job.id)) {
      this.dirty.add(job.id);
      this.frame ??= requestAnimationFrame(() => this.flush());
    } else if (this.wanted(job) && this.fitsPage(job)) {
      this.insert(job);
    }
  }

  insert(job) {
    const created = Date.parse(job.created_at);
    const index = this.order.findIndex((id) => Date.parse(this.rows.get(id).job.created_at) < created);
    this.place(job, index === -1 ? this.order.length : index);
    this.rows.get(job.id).classList.add("fresh");
    if (this.order.length > MAX_ROWS) {
      this.order.slice(MAX_ROWS).forEach((id) => this.remove(id));
      this.cursor = null; // the rows dropped are gone from the page: reload or filter to see them again
    }
    this.summarize();
  }

  flush() {
    this.frame = null;
    for (const id of this.dirty) {
      const row = this.rows.get(id);
      const job = this.ctx.store.get(id) ?? row?.job;
      if (!row || !job) continue;
      if (!this.wanted(job)) {
        this.remove(id);
        continue;
      }
      this.render(row, job);
      row.classList.remove("flash");
      void row.offsetWidth; // restart the highlight animation
      row.classList.add("flash");
    }
    this.dirty.clear();
    this.summarize();
  }

  remove(id) {
    this.rows.get(id).remove();
    this.rows.delete(id);
    this.order = this.order.filter((other) => other !== id);
  }

  summarize() {
    const shown = this.order.filter((id) => !this.rows.get(id).hidden).length;
    this.count.textContent = `${shown} shown${this.cursor ? ", older below" : ""}`;
    this.empty.hidden = shown > 0;
    this.more.hidden = !this.cursor;
  }

  setTypes(names) {
    fill(this.type, h("option", { value: "" }, "All types"), names.map((n) => h("option", { value: n }, n)));
    this.type.value = this.filters.type;
  }
}

function open(event, id) {
  if (event.target.closest("a")) return;
  window.location.hash = `#/jobs/${id}`;
}

// "key=value" as a metadata filter's pair, or null (empty, or no "=").
function metadataPair(text) {
  const at = text.indexOf("=");
  return at > 0 ? [text.slice(0, at).trim(), text.slice(at + 1).trim()] : null;
}

// Whether a job's metadata holds the pair, as the service's index matches it: a string as it
// is, a number or a boolean as its JSON text.
function holds(metadata, pair) {
  if (!pair) return true;
  const value = metadata?.[pair[0]];
  if (typeof value === "string") return value === pair[1];
  return (typeof value === "number" || typeof value === "boolean") && JSON.stringify(value) === pair[1];
}

// The dead-letter list: failed jobs (no retry left), newest failure first, each with a
// Retry button (POST /jobs/{id}/retry). Jobs join and leave it live, as their status changes.

import { api, problem } from "./api.js";
import { h } from "./dom.js";
import { errorText, shortId } from "./format.js";
import { Loader } from "./loader.js";
import { timeAgo } from "./widgets.js";

const LIMIT = 100;

export function deadLetters(ctx) {
  const items = new Map();
  const list = h("ul", { class: "dead-list" });
  const count = h("span", { class: "pill" }, "0");
  const empty = h("div", { class: "empty" }, "No failed jobs.");
  const el = h("section", { class: "panel dead-letters", id: "dead-letters" },
    h("div", { class: "panel-head" }, h("h2", {}, "Dead letters"), count),
    h("p", { class: "hint" }, "Jobs that failed for good. Retry queues one more attempt."),
    list, empty);
  const loader = new Loader({
    load: () => api.listPage({ status: "failed", limit: LIMIT }),
    apply(page) {
      items.clear();
      list.replaceChildren();
      page.jobs.map((doc) => ctx.store.put(doc)).filter((job) => job.status === "failed").forEach(add);
      summarize();
    },
    failed: (error) => ctx.notify(`Could not load dead letters: ${problem(error)}`),
  });

  function add(job) {
    const item = entry(job, retry);
    const when = Date.parse(job.finished_at);
    const before = [...items.values()].find((other) => Date.parse(other.job.finished_at) < when);
    list.insertBefore(item, before ?? null);
    items.get(job.id)?.remove();
    items.set(job.id, item);
  }

  function changed(job) {
    if (loader.hold(() => changed(job))) return;
    if (job.status === "failed") add(job);
    else if (items.has(job.id)) {
      items.get(job.id).remove();
      items.delete(job.id);
    }
    summarize();
  }

  async function retry(job, button) {
    button.disabled = true;
    button.textContent = "Retrying…";
    try {
      ctx.store.put(await api.retry(job.id));
    } catch (error) {
      ctx.notify(`Retry of ${shortId(job.id)} refused: ${problem(error)}`);
      button.disabled = false;
      button.textContent = "Retry";
    }
  }

  function summarize() {
    count.textContent = String(items.size);
    empty.hidden = items.size > 0;
  }

  const stop = ctx.store.listen(changed);
  loader.run();
  return { el, reload: () => loader.run(), dispose: stop };
}

function entry(job, retry) {
  const button = h("button", { class: "retry", type: "button" }, "Retry");
  button.addEventListener("click", () => retry(job, button));
  const item = h("li", { class: "dead", dataset: { jobId: job.id } },
    h("div", { class: "dead-head" },
      h("a", { class: "mono", href: `#/jobs/${job.id}`, title: job.id }, shortId(job.id)),
      h("span", { class: "type" }, job.type),
      button),
    h("div", { class: "dead-error", title: errorText(job.error) }, errorText(job.error) || "no error given"),
    h("div", { class: "dead-foot muted" }, "failed ", timeAgo(job.finished_at), ` · attempt ${job.attempts}/${job.max_attempts}`));
  item.job = job;
  return item;
}

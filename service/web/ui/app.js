// The dashboard: header (connection state, API key), a hash router (#/, #/jobs/<id>, #/schedules),
// and one live connection whose events update every view.

import { apiKey, setApiKey } from "./api.js";
import { fill } from "./dom.js";
import { jobPage } from "./job_page.js";
import { Live } from "./live.js";
import { overview } from "./overview.js";
import { schedulesView } from "./schedules.js";
import { JobStore, TypeSet } from "./store.js";
import { tickTimes } from "./widgets.js";

const JOB_ROUTE = /^#\/jobs\/([0-9a-f-]{36})$/i;
const SCHEDULES_ROUTE = "#/schedules";
const NOTICE_MS = 8000;
const STATES = { connecting: "Connecting…", live: "Live", offline: "Offline, retrying" };

const eventListeners = new Set();
const ctx = {
  store: new JobStore(),
  types: new TypeSet(),
  onEvent(listener) {
    eventListeners.add(listener);
    return () => eventListeners.delete(listener);
  },
  notify,
};
let view = null;

function route() {
  view?.dispose();
  const match = window.location.hash.match(JOB_ROUTE);
  if (match) view = jobPage(ctx, match[1].toLowerCase());
  else view = window.location.hash === SCHEDULES_ROUTE ? schedulesView(ctx) : overview(ctx);
  fill(document.getElementById("view"), view.el);
  window.scrollTo(0, 0);
}

let noticeTimer = null;
function notify(text) {
  const notice = document.getElementById("notice");
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { notice.hidden = true; }, NOTICE_MS);
}

function showConnection(state, detail = "") {
  const indicator = document.getElementById("connection");
  indicator.dataset.state = state;
  indicator.querySelector(".label").textContent = STATES[state];
  indicator.title = detail || "Live updates over /ws";
}

const live = new Live({
  onEvent(message) {
    ctx.store.put(message.job);
    for (const listener of eventListeners) listener(message);
  },
  // The first subscription starts at the log's head: load again from there, so nothing
  // committed between the first load and the subscription is missed. Resumptions replay.
  onSubscribed({ resumed }) {
    if (!resumed) view?.reload();
  },
  onState: showConnection,
});

function setUpKeyField() {
  const input = document.getElementById("api-key");
  input.value = apiKey();
  document.getElementById("api-key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    notify(input.value.trim() ? "API key saved in this browser." : "API key removed: open mode.");
    live.restart();
    view?.reload();
  });
}

setUpKeyField();
window.addEventListener("hashchange", route);
route();
live.start();
setInterval(() => tickTimes(document), 1000);

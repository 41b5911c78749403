// How values read on screen: ids, times, durations, progress, JSON.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TERMINAL = new Set(["completed", "failed", "cancelled", "expired"]);

export const isUuid = (text) => UUID.test(text);
export const isTerminal = (status) => TERMINAL.has(status);
export const shortId = (id) => id.slice(0, 8);

export function percent(job) {
  if (job.status === "completed") return 100;
  return Math.max(0, Math.min(100, job.progress?.percent ?? 0));
}

export function percentText(value) {
  return `${Number.isInteger(value) ? value : value.toFixed(1)}%`;
}

export function relative(iso, now = Date.now()) {
  if (!iso) return "—";
  const seconds = (now - Date.parse(iso)) / 1000;
  const ago = Math.abs(seconds);
  const text = ago < 5 ? "just now"
    : ago < 60 ? `${Math.floor(ago)} s`
    : ago < 3600 ? `${Math.floor(ago / 60)} min`
    : ago < 86400 ? `${Math.floor(ago / 3600)} h`
    : `${Math.floor(ago / 86400)} d`;
  if (text === "just now") return text;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

export function clockTime(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  const ms = String(at.getMilliseconds()).padStart(3, "0");
  return `${at.toLocaleDateString()} ${at.toLocaleTimeString([], { hour12: false })}.${ms}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}

export function errorText(error) {
  if (error === null || error === undefined) return "";
  if (typeof error === "string") return error;
  if (typeof error.message === "string") return error.code ? `${error.code}: ${error.message}` : error.message;
  return JSON.stringify(error);
}

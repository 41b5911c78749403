// The service's REST API, relative to where the dashboard is served (so it works behind a
// path prefix), with the API key, if one is set, as a bearer token.

const KEY_STORAGE = "jobledger.apiKey";
const BASE = new URL("..", window.location.href);

export function apiKey() {
  return window.localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(value) {
  if (value) window.localStorage.setItem(KEY_STORAGE, value);
  else window.localStorage.removeItem(KEY_STORAGE);
}

export function url(path, query = {}) {
  const target = new URL(path.replace(/^\//, ""), BASE);
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") target.searchParams.set(name, value);
  }
  return target;
}

export function socketUrl(path) {
  const target = url(path);
  target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
  return target;
}

export class ApiError extends Error {
  constructor(status, body) {
    const refused = status === 401 || status === 403 ? " (check the API key)" : "";
    super(`${body?.error?.message || `HTTP ${status}`}${refused}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

export async function request(path, { method = "GET", query, body } = {}) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url(path, query), {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

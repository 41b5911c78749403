// The dashboard's one way to the service: the TypeScript client (clients/typescript), built into
// ./client/ by `npm run build:ui` and committed. Relative to where the dashboard is served (so
// it works behind a path prefix), with the API key, if one is set, read at each request.

import { Jobledger } from "./client/index.js";

const KEY_STORAGE = "jobledger.apiKey";

export function apiKey() {
  return window.localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(value) {
  if (value) window.localStorage.setItem(KEY_STORAGE, value);
  else window.localStorage.removeItem(KEY_STORAGE);
}

export const api = new Jobledger({ baseUrl: new URL("..", window.location.href).href, key: apiKey, backoff: { first: 250 } });

// What went wrong, for a notice: the service's code and message (an ApiError of a call, a
// Refused of the live socket), and a hint when the key was refused.
export function problem(error) {
  const hint = ["unauthorized", "forbidden"].includes(error.code) ? " (check the API key)" : "";
  return `${error.message}${hint}`;
}

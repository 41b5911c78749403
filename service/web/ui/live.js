// One /ws connection for the whole page, subscribed to every job's events. When the
// connection comes back it subscribes again with `after` = the last position it saw, so the
// server replays what was missed: no gap, no duplicate.

import { apiKey, socketUrl } from "./api.js";

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 10000;

export class Live {
  constructor({ onEvent, onSubscribed, onState }) {
    this.handlers = { onEvent, onSubscribed, onState };
    this.position = null;
    this.delay = FIRST_DELAY_MS;
    this.socket = null;
    this.timer = null;
  }

  start() {
    this.handlers.onState("connecting");
    const socket = new WebSocket(socketUrl("/ws"));
    this.socket = socket;
    socket.onopen = () => this.subscribe(socket);
    socket.onmessage = (message) => this.receive(JSON.parse(message.data));
    socket.onclose = (event) => this.closed(socket, event);
  }

  restart() {
    clearTimeout(this.timer);
    const old = this.socket;
    this.socket = null;
    if (old) old.close(1000);
    this.start();
  }

  subscribe(socket) {
    const key = apiKey();
    if (key) socket.send(JSON.stringify({ type: "auth", token: key }));
    const message = { type: "subscribe", all: true };
    if (this.position !== null) message.after = this.position;
    socket.send(JSON.stringify(message));
  }

  receive(message) {
    if (message.type === "event") {
      this.position = Math.max(this.position ?? 0, message.position);
      this.handlers.onEvent(message);
    } else if (message.type === "subscribed") {
      const resumed = this.position !== null;
      this.position = Math.max(this.position ?? 0, message.position);
      this.delay = FIRST_DELAY_MS;
      this.handlers.onState("live", `following the log from position ${this.position}`);
      this.handlers.onSubscribed({ resumed, position: this.position });
    } else if (message.type === "error") {
      console.warn("jobledger /ws:", message.error);
    }
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.handlers.onState("offline", `connection closed (${event.code}); retrying`);
    const wait = this.delay * (0.5 + Math.random() / 2);
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.timer = setTimeout(() => this.start(), wait);
  }
}

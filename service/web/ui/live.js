// One /ws subscription for the whole page, to every job's events, through the client's
// `subscribe`: it reconnects with backoff and resumes after the last position it saw (no gap,
// no duplicate). `restart` (a new key) subscribes again from that position.

import { api, problem } from "./api.js";

export class Live {
  constructor({ onEvent, onSubscribed, onState }) {
    this.handlers = { onEvent, onSubscribed, onState };
    this.position = null;
    this.controller = null;
  }

  start() {
    const controller = (this.controller = new AbortController());
    this.follow(controller.signal).catch((error) => {
      if (controller !== this.controller) return;
      console.warn("jobledger /ws:", error);
      this.handlers.onState("offline", `refused: ${problem(error)}`);
    });
  }

  restart() {
    this.controller?.abort();
    this.start();
  }

  async follow(signal) {
    const { onEvent, onSubscribed, onState } = this.handlers;
    const subscribed = (info) => {
      this.position = info.position;  // where a restart resumes, though no event came yet
      onSubscribed(info);
    };
    const settings = { after: this.position, signal, onSubscribed: subscribed, onState };
    for await (const event of api.subscribe({ all: true }, settings)) {
      this.position = event.position;
      onEvent(event);
    }
  }
}

/**
 * What the client's tests share: the service under test (JOBLEDGER_URL, JOBLEDGER_KEY an admin
 * key, JOBLEDGER_OPERATOR_KEY), names unique to this run, and restarting the service
 * (JOBLEDGER_RESTART_URL, served by tests/clients/test_typescript_client.py).
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { Jobledger, type LiveEvent, type SubscribeOptions, type Subscription } from "../src/index.js";

export const url = process.env.JOBLEDGER_URL ?? "http://127.0.0.1:8080";
export const key = process.env.JOBLEDGER_KEY || undefined;
export const operatorKey = process.env.JOBLEDGER_OPERATOR_KEY || undefined;
export const restartUrl = process.env.JOBLEDGER_RESTART_URL || undefined;
export const run = randomUUID().slice(0, 8);

/** A client of the service under test; quick retries, so that the tests wait little after a drop. */
export const jl = new Jobledger({ baseUrl: url, key, backoff: { first: 50, most: 500 } });

/** A job type name unique to this run. */
export function type(name: string): string {
  return `ts-${name}-${run}`;
}

/** Stops (SIGINT, `how` "stop") or kills (SIGKILL) the service, and starts it again on the same port. */
export async function restart(how: "stop" | "kill"): Promise<void> {
  assert.ok(restartUrl, "JOBLEDGER_RESTART_URL is not set");
  const answer = await fetch(`${restartUrl}?how=${how}`, { method: "POST" });
  assert.equal(answer.status, 200, await answer.text());
}

/** The first `count` events of a subscription (closed after them), or fails after `ms`. */
export async function take(
  what: Subscription, count: number, settings: SubscribeOptions = {}, ms = 15_000,
): Promise<LiveEvent[]> {
  const got: LiveEvent[] = [];
  const signal = AbortSignal.any([AbortSignal.timeout(ms), ...(settings.signal ? [settings.signal] : [])]);
  for await (const event of jl.subscribe(what, { ...settings, signal })) {
    got.push(event);
    if (got.length >= count) break;
  }
  assert.equal(got.length, count, `${count} events expected within ${ms} ms, got ${got.length}: ${JSON.stringify(got.map((e) => e.event))}`);
  return got;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition()` holds; fails after `ms`. */
export async function until(condition: () => boolean, what: string | (() => string), ms = 15_000): Promise<void> {
  for (const deadline = Date.now() + ms; !condition(); await sleep(20)) {
    assert.ok(Date.now() < deadline, `${typeof what === "string" ? what : what()}: not within ${ms} ms`);
  }
}

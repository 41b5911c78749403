/**
 * Compiled, never run: the types refuse what the document refuses. Each `@ts-expect-error`
 * fails the build if its line ever compiles; the line beside it, the right call, must compile.
 */
import { expectStatus, type Client } from "../src/http.js";

export async function misuse(client: Client, id: string): Promise<void> {
  await client.request("get", "/jobs");
  // @ts-expect-error a misspelled path
  await client.request("get", "/jbos");
  // @ts-expect-error a method the path does not have
  await client.request("delete", "/jobs");

  await client.request("post", "/jobs", { body: { type: "report", priority: 5 } });
  // @ts-expect-error a body field of the wrong type
  await client.request("post", "/jobs", { body: { type: "report", priority: "high" } });
  // @ts-expect-error a misspelled body field
  await client.request("post", "/jobs", { body: { type: "report", priorty: 5 } });
  // @ts-expect-error a required body left out
  await client.request("post", "/jobs");
  // @ts-expect-error a payload that is not JSON
  await client.request("post", "/jobs", { body: { type: "report", payload: { pages: 10n } } });
  // @ts-expect-error a body where the operation takes none
  await client.request("get", "/jobs", { body: {} });

  await client.request("post", "/jobs/retry", { body: { filter: { status: "failed" } } });
  // @ts-expect-error a status the action does not apply to
  await client.request("post", "/jobs/retry", { body: { filter: { status: "queued" } } });

  await client.request("get", "/jobs/{id}", { path: { id } });
  // @ts-expect-error a path parameter left out
  await client.request("get", "/jobs/{id}", { path: {} });
  // @ts-expect-error no path parameters at all
  await client.request("get", "/jobs/{id}");

  await client.request("get", "/jobs", { query: { status: "failed", limit: 10 } });
  // @ts-expect-error a query parameter of the wrong type
  await client.request("get", "/jobs", { query: { limit: "10" } });
  // @ts-expect-error a status the document does not have
  await client.request("get", "/jobs", { query: { status: "done" } });

  await client.request("post", "/jobs/{id}/complete", { path: { id }, header: { "If-Match": "3" } });
  // @ts-expect-error a header the operation does not read
  await client.request("post", "/jobs/{id}/complete", { path: { id }, header: { "If-Matches": "3" } });

  const answer = await client.request("get", "/jobs/{id}", { path: { id } });
  // @ts-expect-error an answer is not a job until its status says so (it may be a 404's error)
  void answer.body.status;
  if (answer.status === 200) void answer.body.status;
  if (answer.status === 404) void answer.body.error.code;
  // @ts-expect-error a 304 has no body
  if (answer.status === 304) void answer.body.status;
  void expectStatus(answer, 200).body.phases;
  // @ts-expect-error a status the document does not give this operation
  expectStatus(answer, 418);
  // @ts-expect-error a job's status is one of six
  if (expectStatus(answer, 200).body.status === "done") return;
}

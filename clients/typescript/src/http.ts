/**
 * A small typed fetch over the `paths` that openapi-typescript generates from jobledger's
 * /openapi.json (src/schema.ts). One call names the method and the path template; the
 * compiler then holds its path parameters, query, headers and body to the document, and the
 * answer is a union over the documented statuses, so checking `status` narrows `body`:
 *
 *     const answer = await client.request("post", "/jobs/{id}/progress", {
 *       path: { id }, body: { percent: 40, message: "read 12 of 30 pages" },
 *     });
 *     if (answer.status === 200) console.log(answer.body.progress?.percent);
 *
 * Runs in browsers and in Node 20+ (the global fetch); no dependencies.
 */
import type { paths } from "./schema.js";

export type Method = "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace";
export type Path = keyof paths;

/** The methods the document gives a path (openapi-typescript marks the others `?: never`). */
export type MethodOf<P extends Path> = {
  [M in Method]-?: [NonNullable<paths[P][M]>] extends [never] ? never : M;
}[Method];

export type Operation<P extends Path, M extends MethodOf<P>> = NonNullable<paths[P][M]>;

type JsonBody<R> = R extends { content: { "application/json": infer B } } ? B : never;

// A required requestBody makes `body` required; an optional one (every command's) optional.
type BodyInit<Op> = Op extends { requestBody: infer R }
  ? { body: JsonBody<R> }
  : Op extends { requestBody?: infer R }
    ? [NonNullable<R>] extends [never] ? { body?: never } : { body?: JsonBody<NonNullable<R>> }
    : { body?: never };

/** What one call sends: `path`, `query` and `header` as the operation's parameters, and its `body`. */
export type Init<Op> = (Op extends { parameters: infer P } ? Omit<P, "cookie"> : unknown) &
  BodyInit<Op> & { signal?: AbortSignal };

// The init argument may be left out only when nothing in it is required.
type InitArgs<Op> = {} extends Init<Op> ? [init?: Init<Op>] : [init: Init<Op>];

type Content<R> = R extends { content: infer C } ? C[keyof C] : undefined;

/** One answer per documented status: `body` is what the document says that status carries
 * (a range such as "4XX", or "default", would be any `number`; this document has none). */
export type Answer<Op> = Op extends { responses: infer Rs }
  ? { [S in keyof Rs]: { status: S extends number ? S : number; body: Content<Rs[S]>; headers: Headers } }[keyof Rs]
  : never;

export interface ClientOptions {
  /** The service's URL, e.g. http://127.0.0.1:8080 (a path prefix is kept). */
  baseUrl: string;
  /** An API key (`jl_...`), sent as `Authorization: Bearer`; none in the open mode. A function is
   * asked at each request (a key the user may change, as the dashboard's). */
  key?: string | (() => string | undefined);
  /** Sent with every request, before each call's own headers. */
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

export interface Client {
  request<P extends Path, M extends MethodOf<P>>(
    method: M, path: P, ...init: InitArgs<Operation<P, M>>
  ): Promise<Answer<Operation<P, M>>>;
}

type Values = Record<string, unknown>;
type LooseInit = { path?: Values; query?: Values; header?: Values; body?: unknown; signal?: AbortSignal };

/** A client of one service. */
export function createClient(options: ClientOptions): Client {
  const send = options.fetch ?? globalThis.fetch;
  const base = options.baseUrl.replace(/\/+$/, "");

  // Loosely typed inside: the generic signature over every path is the interface's (checking the
  // implementation against it makes a union too complex for tsc once the document has enough paths).
  async function request(method: string, path: string, init?: LooseInit): Promise<unknown> {
    const { path: params, query, header, body, signal } = init ?? {};
    const headers = new Headers(options.headers);
    const key = keyOf(options);
    if (key) headers.set("Authorization", `Bearer ${key}`);
    for (const [name, value] of defined(header)) headers.set(name, String(value));
    if (body !== undefined) headers.set("Content-Type", "application/json");
    const response = await send(base + fill(path, params) + search(query), {
      method: method.toUpperCase(), headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await read(response), headers: response.headers };
  }

  return { request: request as Client["request"] };  // the service's word, as the document describes it
}

/** An answer whose status is not the one a caller expected. */
export class UnexpectedStatus extends Error {
  constructor(readonly status: number, readonly expected: number, readonly body: unknown) {
    super(`expected ${expected}, got ${status}: ${JSON.stringify(body)}`);
    this.name = "UnexpectedStatus";
  }
}

/** The answer narrowed to `status`; any other status throws UnexpectedStatus with its body. */
export function expectStatus<A extends { status: number; body: unknown }, S extends A["status"]>(
  answer: A, status: S,
): Extract<A, { status: S }> {
  if (answer.status !== status) throw new UnexpectedStatus(answer.status, status, answer.body);
  return answer as Extract<A, { status: S }>;
}

/** The API key to send now, if any. */
export function keyOf(options: Pick<ClientOptions, "key">): string | undefined {
  return (typeof options.key === "function" ? options.key() : options.key) || undefined;
}

function defined(values: Values | undefined): [string, unknown][] {
  return Object.entries(values ?? {}).filter(([, value]) => value !== undefined);
}

function fill(template: string, params: Values | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new TypeError(`${template}: no value for {${name}}`);
    return encodeURIComponent(String(value));
  });
}

function search(query: Values | undefined): string {
  const found = new URLSearchParams();
  for (const [name, value] of defined(query)) {
    for (const item of Array.isArray(value) ? value : [value]) found.append(name, String(item));
  }
  const text = found.toString();
  return text ? `?${text}` : "";
}

// JSON (application/json, application/<x>+json) as JSON, text as text, anything else as bytes.
async function read(response: Response): Promise<unknown> {
  const type = response.headers.get("Content-Type") ?? "";
  if (response.status === 204 || response.status === 304 || response.body === null) return undefined;
  if (/^application\/([\w.-]+\+)?json\b/i.test(type)) return response.json();
  if (/^text\//i.test(type)) return response.text();
  return new Uint8Array(await response.arrayBuffer());
}

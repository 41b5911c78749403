export function createClient(options) {
    const send = options.fetch ?? globalThis.fetch;
    const base = options.baseUrl.replace(/\/+$/, "");
    async function request(method, path, init) {
        const { path: params, query, header, body, signal } = init ?? {};
        const headers = new Headers(options.headers);
        const key = keyOf(options);
        if (key)
            headers.set("Authorization", `Bearer ${key}`);
        for (const [name, value] of defined(header))
            headers.set(name, String(value));
        if (body !== undefined)
            headers.set("Content-Type", "application/json");
        const response = await send(base + fill(path, params) + search(query), {
            method: method.toUpperCase(), headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: response.status, body: await read(response), headers: response.headers };
    }
    return { request: request };
}
export class UnexpectedStatus extends Error {
    status;
    expected;
    body;
    constructor(status, expected, body) {
        super(`expected ${expected}, got ${status}: ${JSON.stringify(body)}`);
        this.status = status;
        this.expected = expected;
        this.body = body;
        this.name = "UnexpectedStatus";
    }
}
export function expectStatus(answer, status) {
    if (answer.status !== status)
        throw new UnexpectedStatus(answer.status, status, answer.body);
    return answer;
}
export function keyOf(options) {
    return (typeof options.key === "function" ? options.key() : options.key) || undefined;
}
function defined(values) {
    return Object.entries(values ?? {}).filter(([, value]) => value !== undefined);
}
function fill(template, params) {
    return template.replace(/\{([^}]+)\}/g, (_, name) => {
        const value = params?.[name];
        if (value === undefined)
            throw new TypeError(`${template}: no value for {${name}}`);
        return encodeURIComponent(String(value));
    });
}
function search(query) {
    const found = new URLSearchParams();
    for (const [name, value] of defined(query)) {
        for (const item of Array.isArray(value) ? value : [value])
            found.append(name, String(item));
    }
    const text = found.toString();
    return text ? `?${text}` : "";
}
async function read(response) {
    const type = response.headers.get("Content-Type") ?? "";
    if (response.status === 204 || response.status === 304 || response.body === null)
        return undefined;
    if (/^application\/([\w.-]+\+)?json\b/i.test(type))
        return response.json();
    if (/^text\//i.test(type))
        return response.text();
    return new Uint8Array(await response.arrayBuffer());
}

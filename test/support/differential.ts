/**
 * A harness for differential tests: send the same raw HTTP requests to a real etcd and to etcdsim,
 * normalise what legitimately differs, and compare the rest byte for byte.
 *
 * Requests go out through `node:http` with the path exactly as written (no URL object), so
 * non-canonical paths like `/v2/keys/a/../b` reach the server untouched, the way `curl --path-as-is`
 * sends them. Answers are kept raw (status, lower-cased headers, body text) and only then normalised.
 *
 *   const real = await send(etcd.clientUrl, { method: "PUT", path: "/v2/keys/a", form: "value=1" });
 *   const sim = await send(sim.clientUrl, { method: "PUT", path: "/v2/keys/a", form: "value=1" });
 *   expect(describeDifference(normalize(real, realBase), normalize(sim, simBase))).toBe("");
 *
 * The normalisations, and why each one exists:
 *   1. `date`, `connection`, `keep-alive` are dropped: they belong to the HTTP transport (Go's net/http
 *      vs Node's http), not to etcd.
 *   2. v2 indexes become relative to the first write. A fresh real etcd has spent indexes 1-3 on its own
 *      membership writes before any client request, and so has a fresh etcdsim (startV2Pair checks that
 *      both bases are equal); a suite that shares one pair across tests still needs the per-test base,
 *      and a cluster starts higher (7 for three members). Every index a
 *      client can see is rewritten as `raw - base`: the `X-Etcd-Index` header, `createdIndex`,
 *      `modifiedIndex`, an error's `index`, the numbers in a 101 cause `[3 != 8]` (tests compare values
 *      that are not numbers, so a `[digits != digits]` cause is always an index comparison), the
 *      `[start/waitIndex]` of a 401 cause, and the 20-digit names of in-order keys. 0 stays 0 (parameter
 *      errors carry index 0 on both sides).
 *   3. `X-Raft-Index` becomes `<raft-index>` after checking it is a decimal: the raft log also counts
 *      SYNC proposals sent every 500 ms while TTL keys exist, failed writes and configuration entries,
 *      so its value depends on timing. The simulator only promises it never decreases.
 *   4. `expiration` becomes `<expiration>` after checking its RFC 3339 shape, and `ttl` is accepted when
 *      the two sides differ by at most 1 s: the two servers receive the request a few ms apart, and ttl
 *      is rounded up to whole seconds from that instant.
 *   5. Listed URLs (the client URL each server advertises) become `<client-url>`: the two servers
 *      listen on different ports.
 *   6. `uptime` (in `/v2/stats/self`) becomes `<uptime>`: the servers started at different moments,
 *      and Go prints nanoseconds where the simulator's clock has milliseconds.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { startEtcd, type RealEtcd } from "./realEtcd.js";
import { startSim, type SimServer } from "./simServer.js";

/** One raw HTTP request. `path` includes the query string and is sent exactly as written. */
export interface RawRequest {
  readonly method: string;
  readonly path: string;
  /** An application/x-www-form-urlencoded body (sets Content-Type accordingly). */
  readonly form?: string;
  /** Any other body, sent with `headers` as given. */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One raw HTTP answer: status, lower-cased headers, and the body as text. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Headers that belong to the transport, not to etcd (normalisation 1). */
export const TRANSPORT_HEADERS: readonly string[] = ["date", "connection", "keep-alive"];

function toRawHeaders(message: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function openRequest(baseUrl: string, raw: RawRequest): ReturnType<typeof httpRequest> {
  const url = new URL(baseUrl);
  const headers: Record<string, string> = { ...(raw.headers ?? {}) };
  let body: string | undefined = raw.body;
  if (raw.form !== undefined) {
    headers["Content-Type"] ??= "application/x-www-form-urlencoded";
    body = raw.form;
  }
  if (body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(body));
  const outgoing = httpRequest({
    host: url.hostname,
    port: Number(url.port),
    method: raw.method,
    path: raw.path,
    headers,
    agent: false,
  });
  if (body !== undefined) outgoing.write(body);
  outgoing.end();
  return outgoing;
}

/** Sends one request and resolves with the whole answer. */
export function send(baseUrl: string, raw: RawRequest): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = openRequest(baseUrl, raw);
    outgoing.on("error", reject);
    outgoing.on("response", (message) => {
      const chunks: Buffer[] = [];
      message.on("data", (chunk: Buffer) => chunks.push(chunk));
      message.on("end", () =>
        resolve({ status: message.statusCode ?? 0, headers: toRawHeaders(message), body: Buffer.concat(chunks).toString("utf8") }),
      );
      message.on("error", reject);
    });
  });
}

/**
 * A request whose answer arrives in pieces: a long-poll or streaming watch. `head` resolves when the
 * status and headers arrive (etcd flushes them as soon as the watch registers); `line()` resolves with
 * the next newline-terminated body line; `ended` resolves with the whole body when the server ends it.
 */
export interface OpenRequest {
  readonly head: Promise<RawAnswer>;
  line(): Promise<string>;
  readonly ended: Promise<RawAnswer>;
  /** Closes the connection from the client side (a client giving up on a watch). */
  close(): void;
}

export function open(baseUrl: string, raw: RawRequest): OpenRequest {
  const outgoing = openRequest(baseUrl, raw);
  let buffered = "";
  let whole = "";
  const waiting: Array<(line: string) => void> = [];
  let resolveHead!: (answer: RawAnswer) => void;
  let resolveEnded!: (answer: RawAnswer) => void;
  let rejectAll!: (error: Error) => void;
  const head = new Promise<RawAnswer>((resolve, reject) => {
    resolveHead = resolve;
    rejectAll = reject;
  });
  const ended = new Promise<RawAnswer>((resolve) => {
    resolveEnded = resolve;
  });
  const answer: RawAnswer = { status: 0, headers: {}, body: "" };
  const drain = (): void => {
    for (;;) {
      const newline = buffered.indexOf("\n");
      if (newline < 0 || waiting.length === 0) return;
      const line = buffered.slice(0, newline + 1);
      buffered = buffered.slice(newline + 1);
      waiting.shift()?.(line);
    }
  };
  outgoing.on("error", (error) => rejectAll(error));
  outgoing.on("response", (message) => {
    answer.status = message.statusCode ?? 0;
    answer.headers = toRawHeaders(message);
    resolveHead({ ...answer });
    message.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      buffered += text;
      whole += text;
      drain();
    });
    const finish = (): void => {
      answer.body = whole;
      resolveEnded({ ...answer });
    };
    message.on("end", finish);
    message.on("close", finish);
    message.on("error", finish);
  });
  head.catch(() => undefined);
  return {
    head,
    ended,
    line: () =>
      new Promise<string>((resolve) => {
        waiting.push(resolve);
        drain();
      }),
    close: () => outgoing.destroy(),
  };
}

// ---------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------

/** How one server's raw v2 indexes map to relative ones: relative = raw - etcdIndexBase. */
export interface Baseline {
  /** The v2 index this server reported before the test's first write. */
  readonly etcdIndexBase: number;
  /** The client URL this server advertises (normalisation 5). */
  readonly clientUrl: string;
}

/** A real etcd and etcdsim's server side by side, each with its baseline taken before any write. */
export interface V2Pair {
  readonly real: RealEtcd;
  readonly sim: SimServer;
  readonly realBase: Baseline;
  readonly simBase: Baseline;
  stop(): Promise<void>;
}

/**
 * Starts a real etcd and etcdsim's server (with the real member's peer URL, so both derive the same
 * member and cluster IDs), and reads each one's v2 index before the first write.
 */
export async function startV2Pair(): Promise<V2Pair> {
  const real = await startEtcd();
  const sim = await startSim({ extraArgs: ["--initial-advertise-peer-urls", real.peerUrl] });
  const baseline = async (clientUrl: string): Promise<Baseline> => {
    const root = await send(clientUrl, { method: "GET", path: "/v2/keys/" });
    return { etcdIndexBase: Number(root.headers["x-etcd-index"]), clientUrl };
  };
  const realBase = await baseline(real.clientUrl);
  const simBase = await baseline(sim.clientUrl);
  // Both fresh members have written the same /0 membership records: no offset between them.
  if (realBase.etcdIndexBase !== simBase.etcdIndexBase) {
    await sim.stop();
    await real.stop();
    throw new Error(`a fresh etcdsim starts at v2 index ${simBase.etcdIndexBase}, a fresh real etcd at ${realBase.etcdIndexBase}`);
  }
  return {
    real,
    sim,
    realBase,
    simBase,
    stop: async () => {
      await sim.stop();
      await real.stop();
    },
  };
}

/** Replaces `@N` with raw index N + base and `@@N` with the 20-digit in-order name of N + base. */
export function instantiate(text: string, baseline: Baseline): string {
  return text
    .replace(/@@(\d+)/g, (_, n: string) => String(Number(n) + baseline.etcdIndexBase).padStart(20, "0"))
    .replace(/@(\d+)/g, (_, n: string) => String(Number(n) + baseline.etcdIndexBase));
}

/** A request with `@N` placeholders turned into this server's raw indexes. */
export function instantiateRequest(raw: RawRequest, baseline: Baseline): RawRequest {
  const out: { -readonly [K in keyof RawRequest]: RawRequest[K] } = { ...raw, path: instantiate(raw.path, baseline) };
  if (raw.form !== undefined) out.form = instantiate(raw.form, baseline);
  return out;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const IN_ORDER_NAME = /\/(\d{20})(?=\/|$)/g;

function relative(raw: number, baseline: Baseline): number {
  return raw === 0 ? 0 : raw - baseline.etcdIndexBase;
}

function normalizeKey(key: string, baseline: Baseline): string {
  return key.replace(IN_ORDER_NAME, (_, digits: string) => `/<in-order ${relative(Number(digits), baseline)}>`);
}

/** Rewrites one JSON value in place: indexes, in-order keys, expirations, causes. */
function normalizeJson(value: unknown, baseline: Baseline, problems: string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => normalizeJson(item, baseline, problems));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  for (const [name, field] of Object.entries(record)) {
    if ((name === "createdIndex" || name === "modifiedIndex" || name === "index") && typeof field === "number") {
      out[name] = relative(field, baseline);
    } else if (name === "key" && typeof field === "string") {
      out[name] = normalizeKey(field, baseline);
    } else if (name === "uptime" && typeof field === "string") {
      out[name] = "<uptime>";
    } else if (name === "expiration" && typeof field === "string") {
      if (!RFC3339.test(field)) problems.push(`expiration ${JSON.stringify(field)} is not RFC 3339`);
      out[name] = "<expiration>";
    } else if (name === "cause" && typeof field === "string") {
      out[name] = normalizeKey(
        field
          .replace(/\[(\d+) != (\d+)\]/g, (_, a: string, b: string) => `[${relative(Number(a), baseline)} != ${relative(Number(b), baseline)}]`)
          .replace(/\[(\d+)\/(\d+)\]$/, (_, a: string, b: string) => `[${relative(Number(a), baseline)}/${relative(Number(b), baseline)}]`),
        baseline,
      );
    } else {
      out[name] = normalizeJson(field, baseline, problems);
    }
  }
  return out;
}

/** An answer after normalisation, plus the shape problems found on the way (e.g. a bad expiration). */
export interface NormalizedAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /**
   * The raw body with every run of digits replaced by `#`. Comparing it catches what re-serialising
   * JSON would hide: field spacing and Go's escaping of `<`, `>` and `&` as \u003c, \u003e, \u0026.
   */
  shape: string;
  /** Values compared with a tolerance, kept out of `body`: path → number (ttl fields). */
  tolerant: Record<string, number>;
  problems: string[];
}

function pullTolerant(value: unknown, path: string, tolerant: Record<string, number>): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => pullTolerant(item, `${path}[${i}]`, tolerant));
    return;
  }
  if (value === null || typeof value !== "object") return;
  const record = value as Record<string, unknown>;
  for (const [name, field] of Object.entries(record)) {
    if (name === "ttl" && typeof field === "number") {
      tolerant[`${path}.ttl`] = field;
      record[name] = "<ttl>";
    } else pullTolerant(field, `${path}.${name}`, tolerant);
  }
}

/** Normalises one body: JSON bodies line by line (a stream watch sends one object per line). */
export function normalizeBody(body: string, baseline: Baseline, tolerant: Record<string, number>, problems: string[]): string {
  const lines = body.split("\n");
  return lines
    .map((line, i) => {
      let text = line.split(baseline.clientUrl).join("<client-url>");
      if (!text.startsWith("{") && !text.startsWith("[")) return text;
      try {
        const parsed = normalizeJson(JSON.parse(text), baseline, problems);
        pullTolerant(parsed, `line${i}`, tolerant);
        // Field order matters (Go emits struct order): re-serialise preserving insertion order.
        text = JSON.stringify(parsed);
      } catch {
        // Not JSON after all: compare as text.
      }
      return text;
    })
    .join("\n");
}

/** Applies normalisations 1-5 to a raw answer. */
export function normalize(answer: RawAnswer, baseline: Baseline): NormalizedAnswer {
  const problems: string[] = [];
  const tolerant: Record<string, number> = {};
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    if (TRANSPORT_HEADERS.includes(name)) continue;
    if (name === "x-etcd-index") headers[name] = String(relative(Number(value), baseline));
    else if (name === "x-raft-index") {
      if (!/^\d+$/.test(value)) problems.push(`x-raft-index ${JSON.stringify(value)} is not a decimal`);
      headers[name] = "<raft-index>";
    } else if (name === "content-length") {
      // The body is compared after normalisation; lengths legitimately differ with index digits.
      headers[name] = "<length>";
    } else if (name === "location") headers[name] = normalizeKey(value, baseline);
    else headers[name] = value.split(baseline.clientUrl).join("<client-url>");
  }
  const body = normalizeBody(answer.body, baseline, tolerant, problems);
  const shape = answer.body
    .replace(/"\d{4}-\d\d-\d\dT[\d:.]+Z"/g, '"<time>"')
    .replace(/"uptime":"[^"]*"/g, '"uptime":"<uptime>"')
    .replace(/\d+/g, "#");
  return { status: answer.status, headers, body, shape, tolerant, problems };
}

/** Tolerance for ttl fields, in seconds (normalisation 4). */
export const TTL_TOLERANCE_SECONDS = 1;

/** "" when the two normalised answers agree, otherwise a readable list of differences. */
export function describeDifference(real: NormalizedAnswer, sim: NormalizedAnswer): string {
  const differences: string[] = [];
  if (real.status !== sim.status) differences.push(`status: real ${real.status}, sim ${sim.status}`);
  const names = new Set([...Object.keys(real.headers), ...Object.keys(sim.headers)]);
  for (const name of [...names].sort()) {
    if (real.headers[name] !== sim.headers[name]) {
      differences.push(`header ${name}: real ${JSON.stringify(real.headers[name])}, sim ${JSON.stringify(sim.headers[name])}`);
    }
  }
  if (real.body !== sim.body) differences.push(`body:\n  real ${JSON.stringify(real.body)}\n  sim  ${JSON.stringify(sim.body)}`);
  else if (real.shape !== sim.shape) differences.push(`raw body shape:\n  real ${JSON.stringify(real.shape)}\n  sim  ${JSON.stringify(sim.shape)}`);
  const tolerantKeys = new Set([...Object.keys(real.tolerant), ...Object.keys(sim.tolerant)]);
  for (const key of tolerantKeys) {
    const a = real.tolerant[key];
    const b = sim.tolerant[key];
    if (a === undefined || b === undefined || Math.abs(a - b) > TTL_TOLERANCE_SECONDS) {
      differences.push(`${key}: real ${a}, sim ${b} (tolerance ${TTL_TOLERANCE_SECONDS})`);
    }
  }
  for (const problem of sim.problems) differences.push(`sim: ${problem}`);
  for (const problem of real.problems) differences.push(`real: ${problem}`);
  return differences.join("\n");
}

/** A request and both raw answers, printed when a comparison fails. */
export function formatExchange(raw: RawRequest, real: RawAnswer, sim: RawAnswer): string {
  const request = `${raw.method} ${raw.path}${raw.form !== undefined ? `  form: ${raw.form}` : ""}${raw.body !== undefined ? `  body: ${raw.body}` : ""}`;
  const show = (answer: RawAnswer): string =>
    `${answer.status} ${JSON.stringify(answer.headers)}\n    ${JSON.stringify(answer.body)}`;
  return `${request}\n  real: ${show(real)}\n  sim:  ${show(sim)}`;
}

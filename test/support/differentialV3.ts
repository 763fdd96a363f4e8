/**
 * A harness for v3 differential tests: the same JSON-gateway requests go to a real etcd and to the
 * simulator, and the answers must be equal byte for byte after the normalisations below.
 *
 *   const diff = new V3Differential(etcd.clientUrl, sim.clientUrl);
 *   await diff.unary("/v3/kv/put", { key: b64("foo"), value: b64("bar") });
 *   const watch = diff.stream("/v3/watch", [{ create_request: { key: b64("foo") } }]);
 *   await watch.collect("created");                    // compares the lines both sides sent so far
 *   expect(diff.failures.join("\n\n")).toBe("");       // every difference, with both answers
 *
 * The normalisations, and why each one exists (everything else is compared exactly, including field
 * order, omitted zero fields, Go's string escaping, status, headers and framing):
 *   1. `date`, `connection`, `keep-alive` headers are dropped: they belong to the HTTP transport.
 *      `content-length` becomes `<length>` (its presence, i.e. the framing, is still compared): the
 *      normalised IDs below have different digit counts on each side.
 *   2. (No normalisation for `cluster_id` and `member_id`: `startPair()` starts the simulator with the
 *      real etcd's peer URL and cluster token, from which both derive the same IDs, as etcd does.)
 *   3. `raft_term` becomes a placeholder: a single member is at term 2 after its first election, but a
 *      slow start can take an extra election; the simulator always says 2. Revisions are NOT normalised.
 *   4. Lease IDs the server generated (a grant without an ID) become `<lease N>`, N counting the grants
 *      of that side in order: a real etcd derives them from its member ID and start time (spec §6).
 *      Requests name such leases with `@lease:NAME` and each side gets its own ID substituted.
 *   5. `/v3/maintenance/status` fields that describe the real process, not the API (`dbSize`,
 *      `dbSizeInUse`, `raftIndex`, `raftAppliedIndex`, `raftTerm`) become placeholders after checking
 *      they are decimal strings.
 *   6. In a watch stream, event messages for the SAME revision sent to DIFFERENT watchers are put in
 *      watch_id order: etcd hands one revision's events to its synced watchers by ranging over a Go
 *      map, so their relative order is random. Each watcher's own messages keep their order.
 *   7. Per request, on demand: `ttl` compares a lease's remaining `TTL` with a tolerance of 1 s (the
 *      two servers see the request a few ms apart and truncate to seconds); `sortKeys` sorts the
 *      `keys` of a timetolive answer, which etcd lists in Go map order (spec §6: unspecified).
 */
import { request as httpRequest } from "node:http";
import { sleep } from "../../shared/clock.js";
import { startEtcd, type RealEtcd } from "./realEtcd.js";
import { startSim, type SimServer } from "./simServer.js";

/** One raw answer: status, lower-cased headers, trailers, body text. */
export interface V3Answer {
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: string;
}

export interface V3RequestOptions {
  method?: string;
  /** Record the generated lease ID of this grant's answer under this name (normalisation 4). */
  grantAs?: string;
  /** Compare the `TTL` field with a 1 s tolerance (normalisation 7). */
  ttl?: boolean;
  /** Sort the `keys` list before comparing (normalisation 7). */
  sortKeys?: boolean;
  /** Record the `token` of this Authenticate answer under this name; it is compared as `<token>`. */
  tokenAs?: string;
  /** Send `Authorization: <the token recorded under this name>` (each side its own). */
  token?: string;
  /** Send this `Authorization` header as it is (the same on both sides). */
  authorization?: string;
}

/** One server under test, with its own table of generated lease IDs. */
class Side {
  /** NAME → this side's lease ID (decimal string). */
  readonly leases = new Map<string, string>();
  /** Generated IDs in grant order (index + 1 = N in `<lease N>`). */
  readonly generated: string[] = [];
  /** NAME → this side's auth token. */
  readonly tokens = new Map<string, string>();
  constructor(
    readonly label: "real" | "sim",
    readonly baseUrl: string,
  ) {}

  /** The request text with `@lease:NAME` replaced by this side's ID. */
  instantiate(text: string): string {
    return text.replace(/@lease:([A-Za-z0-9_]+)/g, (_m, name: string) => {
      const id = this.leases.get(name);
      if (id === undefined) throw new Error(`no lease recorded as ${name} on ${this.label}`);
      return id;
    });
  }
}

function rawHeaders(source: NodeJS.Dict<string | string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** The body recorded when the connection closed without any answer. */
export const NO_ANSWER = "<connection closed without an answer>";

/** Sends one request with the path as written and a complete body; resolves with the whole answer. */
export function sendV3(baseUrl: string, method: string, path: string, body: string | undefined, extraHeaders: Record<string, string> = {}): Promise<V3Answer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...extraHeaders };
    if (body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(body));
    const outgoing = httpRequest({ host: url.hostname, port: Number(url.port), method, path, headers, agent: false });
    // A server that closes the connection without answering (Go after a handler panic) is an answer too.
    outgoing.on("error", () => resolve({ status: 0, headers: {}, trailers: {}, body: NO_ANSWER }));
    outgoing.on("response", (message) => {
      const chunks: Buffer[] = [];
      message.on("data", (chunk: Buffer) => chunks.push(chunk));
      message.on("end", () =>
        resolve({
          status: message.statusCode ?? 0,
          headers: rawHeaders(message.headers),
          trailers: rawHeaders(message.trailers),
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      message.on("error", reject);
    });
    if (body !== undefined) outgoing.write(body);
    outgoing.end();
  });
}

/** A normalised answer, plus values compared with a tolerance and shape problems found on the way. */
interface Normalized {
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: string;
  ttls: number[];
  problems: string[];
}

const TRANSPORT_HEADERS = new Set(["date", "connection", "keep-alive"]);
const STATUS_FIELDS = ["dbSize", "dbSizeInUse", "raftIndex", "raftAppliedIndex", "raftTerm"];
/** Tolerance for remaining TTLs, in seconds. */
export const TTL_TOLERANCE_SECONDS = 1;

/** Normalisations 2-6 on one JSON body (or one stream line), as text so field order and escapes survive. */
function normalizeText(text: string, side: Side, options: V3RequestOptions, ttls: number[], problems: string[]): string {
  let out = text;
  const placeholder = (field: string): void => {
    out = out.replace(new RegExp(`"${field}":"([^"]*)"`, "g"), (_m, value: string) => {
      if (!/^\d+$/.test(value)) problems.push(`${field} ${JSON.stringify(value)} is not a decimal string`);
      return `"${field}":"<${field}>"`;
    });
  };
  placeholder("raft_term");
  if (out.includes('"dbSize"')) for (const field of STATUS_FIELDS) placeholder(field);
  side.generated.forEach((id, i) => {
    out = out.split(`"${id}"`).join(`"<lease ${i + 1}>"`);
  });
  if (options.ttl === true) {
    out = out.replace(/"TTL":"(-?\d+)"/g, (_m, value: string) => {
      ttls.push(Number(value));
      return `"TTL":"<ttl>"`;
    });
  }
  if (options.sortKeys === true) {
    out = out.replace(/"keys":\[([^\]]*)\]/, (_m, list: string) => `"keys":[${list.split(",").sort().join(",")}]`);
  }
  return out;
}

function normalizeAnswer(answer: V3Answer, side: Side, options: V3RequestOptions): Normalized {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(answer.headers)) {
    if (TRANSPORT_HEADERS.has(name)) continue;
    headers[name] = name === "content-length" ? "<length>" : value;
  }
  const ttls: number[] = [];
  const problems: string[] = [];
  const body = answer.body
    .split("\n")
    .map((line) => normalizeText(line, side, options, ttls, problems))
    .join("\n");
  return { status: answer.status, headers, trailers: answer.trailers, body, ttls, problems };
}

function describeDifference(real: Normalized, sim: Normalized): string {
  const out: string[] = [];
  if (real.status !== sim.status) out.push(`status: real ${real.status}, sim ${sim.status}`);
  for (const [what, a, b] of [["header", real.headers, sim.headers], ["trailer", real.trailers, sim.trailers]] as const) {
    for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (a[name] !== b[name]) out.push(`${what} ${name}: real ${JSON.stringify(a[name])}, sim ${JSON.stringify(b[name])}`);
    }
  }
  if (real.body !== sim.body) out.push(`body:\n    real ${JSON.stringify(real.body)}\n    sim  ${JSON.stringify(sim.body)}`);
  if (real.ttls.length !== sim.ttls.length || real.ttls.some((t, i) => Math.abs(t - (sim.ttls[i] ?? Number.NaN)) > TTL_TOLERANCE_SECONDS)) {
    out.push(`TTL: real ${JSON.stringify(real.ttls)}, sim ${JSON.stringify(sim.ttls)} (tolerance ${TTL_TOLERANCE_SECONDS} s)`);
  }
  for (const problem of real.problems) out.push(`real: ${problem}`);
  for (const problem of sim.problems) out.push(`sim: ${problem}`);
  return out.join("\n  ");
}

function show(answer: V3Answer): string {
  const trailers = Object.keys(answer.trailers).length > 0 ? ` trailers ${JSON.stringify(answer.trailers)}` : "";
  return `${answer.status} ${JSON.stringify(answer.headers)}${trailers}\n      ${JSON.stringify(answer.body)}`;
}

/** A request body: a JSON value (serialised with JSON.stringify) or raw text sent as is. */
export type Body = string | object | undefined;

function bodyText(body: Body): string | undefined {
  return body === undefined || typeof body === "string" ? body : JSON.stringify(body);
}

/** How a stream's request body is sent. */
export interface StreamOptions {
  /** Keep the request body open after the first requests (chunked upload); see `write`. */
  readonly keepBodyOpen?: boolean;
  /** Send `Expect: 100-continue`, as `curl -T -` does. */
  readonly expectContinue?: boolean;
  /** Ask to keep the connection alive (default: `Connection: close`, what Node sends without an agent). */
  readonly keepAlive?: boolean;
  /** Send `Authorization: <the token recorded under this name>` (each side its own). */
  readonly token?: string;
}

/**
 * One stream (`/v3/watch`, `/v3/lease/keepalive`) opened on both sides with the same body: complete
 * (`Content-Length`, as `curl -d` sends it) unless `keepBodyOpen` is set.
 */
export class StreamPair {
  private readonly buffers: [string, string] = ["", ""];
  private readonly heads: [V3Answer | undefined, V3Answer | undefined] = [undefined, undefined];
  private readonly ended: [boolean, boolean] = [false, false];
  private readonly requests: Array<ReturnType<typeof httpRequest>> = [];
  private headsCompared = false;

  constructor(
    private readonly owner: V3Differential,
    private readonly path: string,
    private readonly body: string,
    options: StreamOptions = {},
  ) {
    owner.sides.forEach((side, i) => {
      const url = new URL(side.baseUrl);
      const text = side.instantiate(body);
      const headers: Record<string, string> = {};
      if (options.keepBodyOpen !== true) headers["Content-Length"] = String(Buffer.byteLength(text));
      if (options.expectContinue === true) headers["Expect"] = "100-continue";
      if (options.keepAlive === true) headers["Connection"] = "keep-alive";
      if (options.token !== undefined) headers["Authorization"] = side.tokens.get(options.token) ?? `<no token ${options.token}>`;
      const outgoing = httpRequest({ host: url.hostname, port: Number(url.port), method: "POST", path, headers, agent: false });
      outgoing.on("error", () => {
        this.ended[i] = true;
      });
      outgoing.on("response", (message) => {
        this.heads[i] = { status: message.statusCode ?? 0, headers: rawHeaders(message.headers), trailers: {}, body: "" };
        message.on("data", (chunk: Buffer) => {
          this.buffers[i] += chunk.toString("utf8");
        });
        const end = (): void => {
          this.ended[i] = true;
        };
        message.on("end", end);
        message.on("close", end);
        message.on("error", end);
      });
      if (options.keepBodyOpen === true) outgoing.write(text);
      else outgoing.end(text);
      this.requests.push(outgoing);
    });
  }

  /** Sends more requests on a body kept open (on both sides). */
  write(requests: readonly object[]): void {
    const text = requests.map((r) => JSON.stringify(r)).join("");
    this.owner.sides.forEach((side, i) => this.requests[i]?.write(side.instantiate(text)));
  }

  /** Ends a body kept open (on both sides). */
  endBody(): void {
    for (const request of this.requests) request.end();
  }

  /**
   * Waits until both sides have been quiet for `quietMs` (or `maxMs` passed), then compares the
   * complete lines each side sent since the last collect, one comparison per line. Returns the real
   * etcd's lines (so a test can check the exchange was not vacuous).
   * `minLines` keeps waiting (up to maxMs) until both sides have at least that many lines.
   */
  async collect(label: string, options: { quietMs?: number; maxMs?: number; minLines?: number } = {}): Promise<string[]> {
    const quietMs = options.quietMs ?? 400;
    const maxMs = options.maxMs ?? 3000;
    const minLines = options.minLines ?? 0;
    let waited = 0;
    let last = this.buffers.join("\u0000");
    let quietFor = 0;
    for (;;) {
      await sleep(50);
      waited += 50;
      const now = this.buffers.join("\u0000");
      if (now === last) quietFor += 50;
      else {
        quietFor = 0;
        last = now;
      }
      const enough = this.buffers.every((b) => b.split("\n").length - 1 >= minLines);
      if ((quietFor >= quietMs && enough) || waited >= maxMs || this.ended.every((e) => e)) break;
    }
    if (!this.headsCompared && this.heads.every((h) => h !== undefined)) {
      this.headsCompared = true;
      const [realHead, simHead] = this.heads as [V3Answer, V3Answer];
      this.owner.compare(`${this.path} (status and headers) ${label}`, this.body, realHead, simHead, {});
    }
    const lines = this.buffers.map((buffer, i) => {
      const complete = this.ended[i] ? buffer : buffer.slice(0, buffer.lastIndexOf("\n") + 1);
      this.buffers[i] = buffer.slice(complete.length);
      return orderSameRevisionEvents(complete.split("\n").filter((line) => line !== ""));
    }) as [string[], string[]];
    const count = Math.max(lines[0].length, lines[1].length);
    for (let i = 0; i < count; i++) {
      const answer = (line: string | undefined): V3Answer => ({ status: 0, headers: {}, trailers: {}, body: line ?? "<no line>" });
      this.owner.compare(`${this.path} line ${i + 1} ${label}`, this.body, answer(lines[0][i]), answer(lines[1][i]), {});
    }
    if (count === 0) this.owner.compare(`${this.path} ${label} (no lines)`, this.body, answer0(), answer0(), {});
    if (process.env["V3_DIFF_TRACE"] !== undefined) process.stdout.write(`TRACE ${label}: ${lines[0].length} lines ${waited} ms\n`);
    return lines[0];
  }

  /** Closes the connection on both sides (a client going away). */
  close(): void {
    for (const request of this.requests) request.destroy();
  }
}

/**
 * Normalisation 6: within each run of consecutive event messages at one header revision, sort by
 * watch_id (a stable sort, so one watcher's messages keep their order).
 */
function orderSameRevisionEvents(lines: string[]): string[] {
  const revisionOf = (line: string): string | undefined =>
    line.includes('"events":') ? /"revision":"(\d+)"/.exec(line)?.[1] : undefined;
  const watchIdOf = (line: string): number => Number(/"watch_id":"(-?\d+)"/.exec(line)?.[1] ?? "0");
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const revision = revisionOf(lines[i] as string);
    let j = i + 1;
    while (revision !== undefined && j < lines.length && revisionOf(lines[j] as string) === revision) j++;
    out.push(...lines.slice(i, j).sort((a, b) => watchIdOf(a) - watchIdOf(b)));
    i = j;
  }
  return out;
}

function answer0(): V3Answer {
  return { status: 0, headers: {}, trailers: {}, body: "" };
}

/** Runs request pairs against both servers and keeps every difference. */
export class V3Differential {
  readonly sides: readonly [Side, Side];
  /** Comparisons made (one per unary request, one per stream line). */
  requests = 0;
  /** Comparisons that were equal after normalisation. */
  equal = 0;
  /** One entry per difference: the request and both raw answers. */
  readonly failures: string[] = [];
  /** How many failures `newFailures` has handed out. */
  private reported = 0;

  constructor(realUrl: string, simUrl: string) {
    this.sides = [new Side("real", realUrl), new Side("sim", simUrl)];
  }

  /** The differences found since the previous call, as one printable text ("" when none). */
  newFailures(): string {
    const text = this.failures.slice(this.reported).join("\n\n");
    this.reported = this.failures.length;
    return text;
  }

  /** Sends `body` to `path` on both servers (the real one first) and compares the answers. */
  async unary(path: string, body: Body, options: V3RequestOptions = {}): Promise<[V3Answer, V3Answer]> {
    const text = bodyText(body);
    const method = options.method ?? "POST";
    const answers: V3Answer[] = [];
    for (const side of this.sides) {
      const headers: Record<string, string> = {};
      if (options.authorization !== undefined) headers["Authorization"] = options.authorization;
      if (options.token !== undefined) headers["Authorization"] = side.tokens.get(options.token) ?? `<no token ${options.token}>`;
      const answer = await sendV3(side.baseUrl, method, path, text === undefined ? undefined : side.instantiate(text), headers);
      if (options.tokenAs !== undefined) {
        const match = /"token":"([^"]*)"/.exec(answer.body);
        if (match?.[1] !== undefined) {
          side.tokens.set(options.tokenAs, match[1]);
          answer.body = answer.body.replace(match[1], "<token>");
        }
      }
      if (options.grantAs !== undefined) {
        const match = /"ID":"(-?\d+)"/.exec(answer.body);
        if (match?.[1] !== undefined) {
          side.leases.set(options.grantAs, match[1]);
          side.generated.push(match[1]);
        }
      }
      answers.push(answer);
    }
    const [real, sim] = answers as [V3Answer, V3Answer];
    this.compare(`${method} ${path}`, text ?? "", real, sim, options);
    return [real, sim];
  }

  /** Opens a stream whose body holds several JSON requests (or raw text); complete unless told otherwise. */
  stream(path: string, requests: readonly object[] | string, options: StreamOptions = {}): StreamPair {
    const text = typeof requests === "string" ? requests : requests.map((r) => JSON.stringify(r)).join("");
    return new StreamPair(this, path, text, options);
  }

  /** Records one comparison. */
  compare(label: string, requestText: string, real: V3Answer, sim: V3Answer, options: V3RequestOptions): void {
    this.requests++;
    const [realSide, simSide] = this.sides;
    const difference = describeDifference(normalizeAnswer(real, realSide, options), normalizeAnswer(sim, simSide, options));
    if (difference === "") {
      this.equal++;
      return;
    }
    const shownRequest = requestText.length > 300 ? `${requestText.slice(0, 300)}… (${requestText.length} chars)` : requestText;
    const clip = (answer: V3Answer): V3Answer => ({ ...answer, body: answer.body.length > 2000 ? `${answer.body.slice(0, 2000)}…` : answer.body });
    this.failures.push(`#${this.requests} ${label}  ${shownRequest}\n  ${difference}\n  real: ${show(clip(real))}\n  sim:  ${show(clip(sim))}`);
  }

  /** "N of M equal" for the test log. */
  summary(): string {
    return `${this.equal} of ${this.requests} comparisons equal`;
  }
}

/**
 * Starts a real etcd, then the simulator as the same member (its peer URL, the default cluster
 * token), so both report the same cluster and member IDs.
 */
export async function startPair(): Promise<{ etcd: RealEtcd; sim: SimServer; diff: V3Differential }> {
  const etcd = await startEtcd();
  try {
    const sim = await startSim({ extraArgs: ["--initial-advertise-peer-urls", etcd.peerUrl] });
    return { etcd, sim, diff: new V3Differential(etcd.clientUrl, sim.clientUrl) };
  } catch (error) {
    await etcd.stop();
    throw error;
  }
}

/** Base64 of a UTF-8 string (keys and values on the wire). */
export function b64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

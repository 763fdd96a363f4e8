/**
 * Replays conformance cases (`cases.ts`) against two servers, a real etcd and etcdsim, and compares
 * every answer after normalisation.
 *
 * Before each case both key spaces are emptied (leases revoked, v3 keys deleted, top-level v2 nodes
 * deleted) and each server's counters are read, so every case starts from "a fresh store" on both:
 *   v2 baseline = X-Etcd-Index of GET /v2/keys/    (`@1` = baseline + 1)
 *   v3 baseline = header.revision of a range       (`#2` = baseline + 1: the next write)
 *
 * v2 answers are normalised by `test/support/differential.ts` (the v2 differential suite's rules).
 * v3 gateway answers are normalised here:
 *   - revisions (`revision`, `create_revision`, `mod_revision`, `compact_revision`) become relative
 *     to a fresh store; 0 stays 0;
 *   - `cluster_id`, `member_id` and `raft_term` become placeholders (they name the member, not the
 *     behaviour); server-generated lease IDs (≥ 2^32) become `<lease-id>`; cases pick small IDs;
 *   - a lease's remaining `TTL` in timetolive is compared with a tolerance of 1 s;
 *   - headers: only `content-type` is compared (the rest is grpc-gateway and Go transport).
 */
import { sleep } from "../../shared/clock.js";
import {
  describeDifference,
  instantiateRequest,
  normalize,
  open,
  send,
  type Baseline,
  type NormalizedAnswer,
  type OpenRequest,
  type RawAnswer,
  type RawRequest,
} from "../support/differential.js";
import type { ConformanceCase, Step } from "./cases.js";

/** One server under comparison, and its counters at the start of the current case. */
export interface Side {
  readonly name: "real" | "sim";
  readonly clientUrl: string;
  v2: Baseline;
  /** The v3 revision when the case began (a fresh store's revision 1). */
  v3Base: number;
}

/** One step whose answers differed: the request and both raw answers. */
export interface Difference {
  readonly step: string;
  readonly real: string;
  readonly sim: string;
  readonly detail: string;
}

export interface CaseResult {
  readonly area: ConformanceCase["area"];
  readonly name: string;
  readonly equal: boolean;
  readonly differences: Difference[];
}

// ---- v3 normalisation ------------------------------------------------------------------------------

const REVISION_FIELDS = new Set(["revision", "create_revision", "mod_revision", "compact_revision"]);
const GENERATED_ID_MIN = 2 ** 32;

/** `#N` in a request body → the server's absolute revision for fresh-store revision N. */
export function instantiateV3(text: string, v3Base: number): string {
  return text.replace(/"#(\d+)"/g, (_, n: string) => `"${Number(n) + v3Base - 1}"`);
}

function normalizeV3Json(value: unknown, v3Base: number, tolerant: Record<string, number>, path: string, ttlTolerant: boolean): unknown {
  if (Array.isArray(value)) return value.map((item, i) => normalizeV3Json(item, v3Base, tolerant, `${path}[${i}]`, ttlTolerant));
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value as Record<string, unknown>)) {
    const number = typeof field === "string" && /^-?\d+$/.test(field) ? Number(field) : typeof field === "number" ? field : undefined;
    if (REVISION_FIELDS.has(name) && number !== undefined) {
      out[name] = number > 0 ? String(number - (v3Base - 1)) : String(number);
    } else if (name === "cluster_id" || name === "member_id" || name === "raft_term") {
      out[name] = `<${name}>`;
    } else if ((name === "ID" || name === "lease" || name === "id") && number !== undefined && Math.abs(number) >= GENERATED_ID_MIN) {
      out[name] = "<lease-id>";
    } else if (name === "TTL" && ttlTolerant && number !== undefined) {
      tolerant[`${path}.TTL`] = number;
      out[name] = "<ttl>";
    } else {
      out[name] = normalizeV3Json(field, v3Base, tolerant, `${path}.${name}`, ttlTolerant);
    }
  }
  return out;
}

/** Normalises a v3 gateway answer (one JSON object, or one per line for streams). */
export function normalizeV3(answer: RawAnswer, side: Side, path: string): NormalizedAnswer {
  const tolerant: Record<string, number> = {};
  const ttlTolerant = path.includes("timetolive");
  const body = answer.body
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      try {
        return JSON.stringify(normalizeV3Json(JSON.parse(line), side.v3Base, tolerant, `line${i}`, ttlTolerant));
      } catch {
        return line;
      }
    })
    .join("\n");
  const headers: Record<string, string> = {};
  const contentType = answer.headers["content-type"];
  if (contentType !== undefined) headers["content-type"] = contentType;
  // The shape check (digits blinded) would flag differing id lengths; v3 compares the normalised body only.
  return { status: answer.status, headers, body, shape: "", tolerant, problems: [] };
}

function isV3(request: RawRequest): boolean {
  return request.path.startsWith("/v3/");
}

function prepare(request: RawRequest, side: Side): RawRequest {
  if (!isV3(request)) return instantiateRequest(request, side.v2);
  return request.body === undefined ? request : { ...request, body: instantiateV3(request.body, side.v3Base) };
}

function normalizeFor(request: RawRequest, answer: RawAnswer, side: Side): NormalizedAnswer {
  return isV3(request) ? normalizeV3(answer, side, request.path) : normalize(answer, side.v2);
}

// ---- key-space reset --------------------------------------------------------------------------------

async function postJson(url: string, path: string, body: object): Promise<Record<string, unknown> | undefined> {
  const answer = await send(url, { method: "POST", path, body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
  try {
    return JSON.parse(answer.body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Empties one server's key space and reads its counters. `v2Names` are top-level v2 names the cases
 * wrote: hidden ones (`/_x`) are not listed by GET /v2/keys/, so they are deleted by name.
 */
export async function reset(side: Side, v2Names: ReadonlySet<string>): Promise<void> {
  const url = side.clientUrl;
  const leases = (await postJson(url, "/v3/lease/leases", {}))?.["leases"] as { ID: string }[] | undefined;
  for (const lease of leases ?? []) await postJson(url, "/v3/lease/revoke", { ID: lease.ID });
  await postJson(url, "/v3/kv/deleterange", { key: "AA==", range_end: "AA==" });
  const root = await send(url, { method: "GET", path: "/v2/keys/" });
  const names = new Set(v2Names);
  try {
    for (const node of (JSON.parse(root.body) as { node?: { nodes?: { key: string }[] } }).node?.nodes ?? []) names.add(node.key.slice(1));
  } catch {
    // no v2 API: nothing to delete
  }
  for (const name of names) await send(url, { method: "DELETE", path: `/v2/keys/${encodeURIComponent(name)}?recursive=true` });
  const after = await send(url, { method: "GET", path: "/v2/keys/" });
  side.v2 = { ...side.v2, etcdIndexBase: Number(after.headers["x-etcd-index"] ?? 0) };
  const range = await postJson(url, "/v3/kv/range", { key: "AA==", range_end: "AA==", count_only: true });
  const header = range?.["header"] as { revision?: string } | undefined;
  side.v3Base = Number(header?.revision ?? 1);
}

/** Top-level v2 names a case writes to, read from its request paths. */
export function v2NamesOf(cases: readonly ConformanceCase[]): Set<string> {
  const names = new Set<string>();
  for (const testCase of cases) {
    for (const step of testCase.steps) {
      const request = "send" in step ? step.send : "request" in step ? step.request : undefined;
      const match = request === undefined ? null : /^\/v2\/keys\/([^/?]+)/.exec(request.path);
      if (match !== null) names.add(decodeURIComponent(match[1] as string));
    }
  }
  return names;
}

// ---- running ----------------------------------------------------------------------------------------

function describeStep(step: Step): string {
  if ("send" in step) return formatRequest(step.send);
  if ("open" in step) return `open ${step.open}: ${formatRequest(step.request)}`;
  if ("read" in step) return `read ${step.lines} line(s) from ${step.read}`;
  if ("close" in step) return `close ${step.close}`;
  return `wait ${step.waitMs} ms`;
}

export function formatRequest(request: RawRequest): string {
  const body = request.form ?? request.body;
  return `${request.method} ${request.path}${body === undefined ? "" : `  ${body}`}`;
}

function showAnswer(answer: RawAnswer): string {
  return `${answer.status} ${answer.body.trim()}`;
}

const NO_LINE = "<none>";

async function readLines(request: OpenRequest, lines: number, timeoutMs: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < lines) {
    const line = await Promise.race([request.line(), sleep(timeoutMs).then(() => NO_LINE)]);
    if (line === NO_LINE) break;
    if (line.trim() === "") continue; // the gateway separates stream messages with blank lines
    out.push(line);
  }
  while (out.length < lines) out.push(NO_LINE);
  return out;
}

/** Options for comparing two servers. */
export interface CompareOptions {
  /**
   * Headers left out of the comparison. Empty by default: a simulator launched with the real etcd's
   * peer URL computes the same cluster ID. Two real etcds (the engine's own test) differ in
   * `x-etcd-cluster-id`.
   */
  ignoreHeaders?: readonly string[];
  /** Told every step with both raw answers (`npm run conformance -- --verbose`). */
  onExchange?: (step: string, real: string, sim: string) => void;
}

function withoutHeaders(answer: RawAnswer, names: readonly string[]): RawAnswer {
  if (names.length === 0) return answer;
  const headers = { ...answer.headers };
  for (const name of names) delete headers[name];
  return { ...answer, headers };
}

/** Runs one case on both sides, step by step, real first. */
export async function runCase(testCase: ConformanceCase, real: Side, sim: Side, v2Names: ReadonlySet<string>, options: CompareOptions = {}): Promise<CaseResult> {
  const ignored = options.ignoreHeaders ?? [];
  await reset(real, v2Names);
  await reset(sim, v2Names);
  const differences: Difference[] = [];
  const opened = new Map<string, { request: RawRequest; real: OpenRequest; sim: OpenRequest }>();
  const compare = (step: Step, request: RawRequest, realAnswer: RawAnswer, simAnswer: RawAnswer): void => {
    options.onExchange?.(describeStep(step), showAnswer(realAnswer), showAnswer(simAnswer));
    const detail = describeDifference(
      normalizeFor(request, withoutHeaders(realAnswer, ignored), real),
      normalizeFor(request, withoutHeaders(simAnswer, ignored), sim),
    );
    if (detail !== "") differences.push({ step: describeStep(step), real: showAnswer(realAnswer), sim: showAnswer(simAnswer), detail });
  };
  try {
    for (const step of testCase.steps) {
      if ("send" in step) {
        const realAnswer = await send(real.clientUrl, prepare(step.send, real));
        const simAnswer = await send(sim.clientUrl, prepare(step.send, sim));
        compare(step, step.send, realAnswer, simAnswer);
      } else if ("open" in step) {
        const pair = { request: step.request, real: open(real.clientUrl, prepare(step.request, real)), sim: open(sim.clientUrl, prepare(step.request, sim)) };
        opened.set(step.open, pair);
        const [realHead, simHead] = await Promise.all([pair.real.head, pair.sim.head]);
        compare(step, step.request, { ...realHead, body: "" }, { ...simHead, body: "" });
      } else if ("read" in step) {
        const pair = opened.get(step.read);
        if (pair === undefined) throw new Error(`case "${testCase.name}" reads ${step.read} before opening it`);
        const timeoutMs = step.timeoutMs ?? 1500;
        const [realLines, simLines] = await Promise.all([readLines(pair.real, step.lines, timeoutMs), readLines(pair.sim, step.lines, timeoutMs)]);
        // The head was compared when the request opened; a read compares the body lines only.
        compare(step, pair.request, { status: 200, headers: {}, body: realLines.join("\n") }, { status: 200, headers: {}, body: simLines.join("\n") });
      } else if ("close" in step) {
        const pair = opened.get(step.close);
        pair?.real.close();
        pair?.sim.close();
        opened.delete(step.close);
      } else {
        await sleep(step.waitMs);
      }
    }
  } catch (error) {
    differences.push({ step: "(case aborted)", real: "", sim: "", detail: (error as Error).message });
  } finally {
    for (const pair of opened.values()) {
      pair.real.close();
      pair.sim.close();
    }
  }
  return { area: testCase.area, name: testCase.name, equal: differences.length === 0, differences };
}

/**
 * The conformance case format: request sequences as data, so `npm run conformance` can replay them
 * against a real etcd and against etcdsim and print every difference.
 *
 * A case runs on a key space that has just been emptied, so its numbers are known in advance and
 * written relative to a fresh store:
 *
 *   v2 `@N`  the N-th index after the case began (`@1` is the first write): `prevIndex=@1`
 *   v2 `@@N` the 20-digit in-order key name created at `@N`
 *   v3 `#N`  revision N of a fresh store (`#2` is the first write), inside a JSON string: `"revision":"#2"`
 *
 * v2 steps are raw HTTP requests to `/v2/keys`; v3 steps are JSON requests to the gRPC gateway
 * (`/v3/kv/range` …), the one v3 protocol etcdsim's server speaks. Keys and values in v3 bodies are
 * written as plain text in `k`/`v`-style helper calls and base64-encoded on the way (see `v3()`).
 *
 *   { area: "v2 keys", name: "compare-and-swap with a wrong prevIndex", steps: [
 *       put("/v2/keys/cas", "value=1"),
 *       put("/v2/keys/cas", "value=2&prevIndex=@9") ] }
 */
import type { RawRequest } from "../support/differential.js";

export const AREAS = ["v2 keys", "v2 watch", "v3 range", "txn", "compaction", "lease", "watch", "lessons"] as const;
export type Area = (typeof AREAS)[number];

/** One step of a case. Every answer a step receives is compared. */
export type Step =
  /** Send a request and compare the whole answer. */
  | { readonly send: RawRequest }
  /** Open a long-lived request (a watch) under a name and compare its head (status and headers). */
  | { readonly open: string; readonly request: RawRequest }
  /** Read `lines` body lines from an open request and compare them (a missing line reads as "<none>"). */
  | { readonly read: string; readonly lines: number; readonly timeoutMs?: number }
  /** Hang up an open request. */
  | { readonly close: string }
  /** Let real time pass on both servers (TTL and lease expiry run on each server's own timers). */
  | { readonly waitMs: number };

export interface ConformanceCase {
  readonly area: Area;
  readonly name: string;
  readonly steps: readonly Step[];
}

// ---- builders -------------------------------------------------------------------------------------

const FORM = "application/x-www-form-urlencoded";

export function get(path: string): Step {
  return { send: { method: "GET", path } };
}
export function put(path: string, form: string): Step {
  return { send: { method: "PUT", path, form, headers: { "Content-Type": FORM } } };
}
export function post(path: string, form: string): Step {
  return { send: { method: "POST", path, form, headers: { "Content-Type": FORM } } };
}
export function del(path: string): Step {
  return { send: { method: "DELETE", path } };
}
export function openWatch(name: string, path: string): Step {
  return { open: name, request: { method: "GET", path } };
}
export function read(name: string, lines = 1, timeoutMs?: number): Step {
  return timeoutMs === undefined ? { read: name, lines } : { read: name, lines, timeoutMs };
}
export function close(name: string): Step {
  return { close: name };
}
export function wait(ms: number): Step {
  return { waitMs: ms };
}

/** Base64 of a UTF-8 string, as the gateway wants `bytes` fields. */
export function b64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** Fields of a v3 request whose values are bytes: written as text in cases, sent as base64. */
const BYTES_FIELDS = new Set(["key", "range_end", "value"]);

function encodeBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(encodeBytes);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(value as Record<string, unknown>)) {
    out[name] = BYTES_FIELDS.has(name) && typeof field === "string" ? b64(field) : encodeBytes(field);
  }
  return out;
}

/**
 * A v3 gateway request: `v3("kv/put", { key: "foo", value: "bar" })` posts
 * `{"key":"Zm9v","value":"YmFy"}` to `/v3/kv/put`. `key`, `range_end` and `value` are given as text.
 */
export function v3(endpoint: string, body: object = {}): Step {
  return { send: v3Request(endpoint, body) };
}

export function v3Request(endpoint: string, body: object = {}): RawRequest {
  return { method: "POST", path: `/v3/${endpoint}`, body: JSON.stringify(encodeBytes(body)), headers: { "Content-Type": "application/json" } };
}

/** Opens a gateway watch stream carrying the given requests (create, cancel, progress) in order. */
export function openV3Watch(name: string, ...requests: object[]): Step {
  return {
    open: name,
    request: {
      method: "POST",
      path: "/v3/watch",
      body: requests.map((request) => JSON.stringify(encodeBytes(request))).join("\n"),
      headers: { "Content-Type": "application/json" },
    },
  };
}

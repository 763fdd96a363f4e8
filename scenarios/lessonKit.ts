/**
 * Small helpers the lessons share: turning answers into table cells, building v3 requests from
 * strings, and printing in etcdctl's formats. Nothing here decides what a lesson shows.
 *
 *   v2Cell(await target.v2.get("/a"), (e) => e.node.value ?? "")   → "1"  or  "Error: 100: Key not found (/a) [4]"
 *   v3Cell(await target.v3.range(req("a")), (r) => r.count)        → 1    or  "Error: etcdserver: …"
 */
import { fromUtf8, toBase64, utf8 } from "../shared/bytes.js";
import type { Compare, KeyValue, RangeRequest, RangeResponse, RequestOp, ResponseHeader } from "../v3/rpc.js";
import { CompareResult, CompareTarget } from "../v3/rpc.js";
import { formatV2Error, formatV3Error, prefixEnd } from "./kvWorkload.js";
import type { Cell } from "./report.js";
import type { Target, V2ErrorBody, V2Node, V2Outcome, V3Outcome, V3Status } from "./workload.js";
import type { WatchResponse } from "../v3/rpc.js";

/** A v2 answer as a cell: the chosen field, or etcdctl's error line. */
export function v2Cell<T>(outcome: V2Outcome<T>, show: (value: T) => Cell): Cell {
  return outcome.ok ? show(outcome.value) : `Error: ${formatV2Error(outcome.error)}`;
}

/** A v3 answer as a cell: the chosen field, or etcdctl's error line. */
export function v3Cell<T>(outcome: V3Outcome<T>, show: (value: T) => Cell): Cell {
  return outcome.ok ? show(outcome.value) : `Error: ${formatV3Error(outcome.error)}`;
}

/** The value of an answer a lesson cannot go on without; a failure here is a bug in a store. */
export function must<T>(outcome: { ok: true; value: T } | { ok: false; error: V2ErrorBody | V3Status }, what: string): T {
  if (outcome.ok) return outcome.value;
  const error = outcome.error;
  const text = "errorCode" in error ? formatV2Error(error) : formatV3Error(error);
  throw new Error(`${what} failed: ${text}`);
}

/** RangeRequest for one key, `[key, end)`, or a prefix. */
export function rangeOf(key: string, options: { end?: string; prefix?: boolean; fromKey?: boolean; revision?: number } = {}): RangeRequest {
  const k = utf8(key);
  const request: RangeRequest = { key: k };
  if (options.prefix === true) request.range_end = prefixEnd(k);
  else if (options.fromKey === true) request.range_end = new Uint8Array([0]);
  else if (options.end !== undefined) request.range_end = utf8(options.end);
  if (options.revision !== undefined) request.revision = options.revision;
  return request;
}

export function putOp(key: string, value: string, lease?: bigint): RequestOp {
  return { request_put: { key: utf8(key), value: utf8(value), ...(lease === undefined ? {} : { lease }) } };
}

export function getOp(key: string): RequestOp {
  return { request_range: { key: utf8(key) } };
}

export function deleteOp(key: string): RequestOp {
  return { request_delete_range: { key: utf8(key) } };
}

/** A compare on one key: `compareOf("x", "VALUE", "EQUAL", "1")`, `compareOf("x", "MOD", "EQUAL", 7)`. */
export function compareOf(
  key: string,
  target: keyof typeof CompareTarget,
  result: keyof typeof CompareResult,
  operand: string | number | bigint,
): Compare {
  const compare: Compare = { key: utf8(key), target: CompareTarget[target], result: CompareResult[result] };
  switch (target) {
    case "VALUE":
      compare.value = utf8(String(operand));
      break;
    case "VERSION":
      compare.version = Number(operand);
      break;
    case "CREATE":
      compare.create_revision = Number(operand);
      break;
    case "MOD":
      compare.mod_revision = Number(operand);
      break;
    case "LEASE":
      compare.lease = BigInt(operand);
      break;
  }
  return compare;
}

/** Keys of a range answer, joined: "key1, key12, key2". */
export function keysOf(response: RangeResponse): string {
  return response.kvs.map((kv) => fromUtf8(kv.key)).join(", ") || "(none)";
}

/** The v2 keys listed under a node, depth first: "/key1, /key12". */
export function v2KeysOf(node: V2Node): string {
  const out: string[] = [];
  const walk = (n: V2Node): void => {
    for (const child of n.nodes ?? []) {
      out.push(child.key ?? "");
      walk(child);
    }
  };
  walk(node);
  return out.join(", ") || "(none)";
}

/** A lease ID as etcdctl prints it: 16 hex digits. */
export function leaseHex(id: bigint): string {
  return id.toString(16).padStart(16, "0");
}

/** etcdctl `-w json` for a KeyValue: base64 bytes, numbers as numbers, zero fields left out. */
export function kvJson(kv: KeyValue): Record<string, unknown> {
  const out: Record<string, unknown> = { key: toBase64(kv.key) };
  if (kv.create_revision !== 0) out["create_revision"] = kv.create_revision;
  if (kv.mod_revision !== 0) out["mod_revision"] = kv.mod_revision;
  if (kv.version !== 0) out["version"] = kv.version;
  if (kv.value.length > 0) out["value"] = toBase64(kv.value);
  if (kv.lease !== 0n) out["lease"] = Number(kv.lease);
  return out;
}

/** etcdctl `-w json` for a header. cluster_id and member_id are uint64: printed in full as Go does. */
export function headerJson(header: ResponseHeader): string {
  return `{"cluster_id":${header.cluster_id},"member_id":${header.member_id},"revision":${header.revision},"raft_term":${header.raft_term}}`;
}

/** `etcdctl get -w json` output (one line). */
export function rangeJson(response: RangeResponse): string {
  const parts = [`"header":${headerJson(response.header)}`];
  if (response.kvs.length > 0) parts.push(`"kvs":${JSON.stringify(response.kvs.map(kvJson))}`);
  if (response.more) parts.push(`"more":true`);
  if (response.count !== 0) parts.push(`"count":${response.count}`);
  return `{${parts.join(",")}}`;
}

/**
 * Lets time pass until the target's clock reads `atMs`; no wait if it already has. A timeline of
 * samples made this way stays on time however long the requests between them take:
 *   const start = target.now(); for (t of [1000, 2000]) { await advanceUntil(target, start + t); … }
 */
export function advanceUntil(target: Target, atMs: number): Promise<void> {
  return target.advance(Math.max(0, atMs - target.now()));
}

/**
 * Calls `request(0 … count-1)` with at most `inFlight` calls outstanding, as that many independent
 * clients would; resolves when all are answered. In process the calls still run in index order;
 * over a network, 1000 requests at 5 ms each take 5 s one by one but 0.3 s sixteen at a time.
 */
export async function inParallel(count: number, inFlight: number, request: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const client = async (): Promise<void> => {
    while (next < count) await request(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, client));
}

/** Counts the events in a list of watch responses. */
export function eventCount(responses: readonly WatchResponse[]): number {
  return responses.reduce((sum, r) => sum + r.events.length, 0);
}

/** Parses the 401 cause `the requested history has been cleared [158/1]` into {startIndex: 158, waitIndex: 1}. */
export function parseClearedCause(cause: string | undefined): { startIndex: number; waitIndex: number } | undefined {
  const match = /\[(\d+)\/(\d+)\]/.exec(cause ?? "");
  if (match === null) return undefined;
  return { startIndex: Number(match[1]), waitIndex: Number(match[2]) };
}


/**
 * Mirrors etcd release-3.4 `etcdctl/ctlv3/command/printer_simple.go`, `printer_json.go` and
 * `printer_fields.go`: how `etcdctl -w simple|json|fields` prints each response, byte for byte.
 * Every function returns the lines etcdctl writes to stdout (each followed by a newline).
 *
 *   put foo bar            simple → ["OK"]
 *   get foo -w json        json   → ['{"header":{"cluster_id":…,"revision":2,"raft_term":2},"kvs":[{"key":"Zm9v",…}],"count":1}']
 *   get foo -w fields      fields → ['"ClusterID" : …', …, '"Key" : "foo"', …, '"More" : false', '"Count" : 1']
 *
 * JSON is Go's `encoding/json` over the gRPC structs: bytes in base64, int64 and uint64 as plain
 * numbers (a lease ID like 6408237716262033687 is printed in full, so it is built as text here, never
 * through a JS number), and every field tagged `omitempty` left out when zero. The `lease` and
 * `watch` structs of clientv3 flatten the header into the object and use their own field names
 * (`ID`, `TTL`, `granted-ttl`, `Events`, `CompactRevision`).
 */
import { fromUtf8, toBase64 } from "../../shared/bytes.js";
import type {
  DeleteRangeResponse,
  Event,
  KeyValue,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseTimeToLiveResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  TxnResponse,
  WatchResponse,
} from "../../v3/rpc.js";
import { goQuote } from "./etcdctlArgs.js";

/** `-w` values etcdctl 3.4 prints KV and lease answers in (protobuf and table are refused by the caller). */
export type OutputFormat = "simple" | "json" | "fields";

/** `--print-value-only` and `--hex` of the simple printer. */
export interface SimpleOptions {
  valueOnly?: boolean;
  hex?: boolean;
}

/** A lease ID as etcdctl's `%016x` prints it. */
export function leaseHex(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16).padStart(16, "0");
}

/** etcdctl `--hex`: every byte as `\xNN`. */
function hexBytes(bytes: Uint8Array): string {
  return [...bytes].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join("");
}

// ---- simple ---------------------------------------------------------------------------------------

/** printKV: the key on one line (unless value-only), the value on the next. */
function simpleKv(kv: KeyValue, options: SimpleOptions): string[] {
  const show = (bytes: Uint8Array): string => (options.hex === true ? hexBytes(bytes) : fromUtf8(bytes));
  return options.valueOnly === true ? [show(kv.value)] : [show(kv.key), show(kv.value)];
}

export function simpleGet(response: RangeResponse, options: SimpleOptions = {}): string[] {
  return response.kvs.flatMap((kv) => simpleKv(kv, options));
}

export function simplePut(response: PutResponse, options: SimpleOptions = {}): string[] {
  return ["OK", ...(response.prev_kv === undefined ? [] : simpleKv(response.prev_kv, options))];
}

export function simpleDel(response: DeleteRangeResponse, options: SimpleOptions = {}): string[] {
  return [String(response.deleted), ...(response.prev_kvs ?? []).flatMap((kv) => simpleKv(kv, options))];
}

export function simpleTxn(response: TxnResponse, options: SimpleOptions = {}): string[] {
  const out = [response.succeeded ? "SUCCESS" : "FAILURE"];
  for (const op of response.responses) {
    out.push("");
    if (op.response_delete_range !== undefined) out.push(...simpleDel(op.response_delete_range, options));
    else if (op.response_put !== undefined) out.push(...simplePut(op.response_put, options));
    else if (op.response_range !== undefined) out.push(...simpleGet(op.response_range, options));
  }
  return out;
}

/** Each event: its type, the previous kv if asked for, then the kv (a DELETE's kv has an empty value). */
export function simpleWatch(response: WatchResponse, options: SimpleOptions = {}): string[] {
  return response.events.flatMap((event) => [
    eventTypeName(event),
    ...(event.prev_kv === undefined ? [] : simpleKv(event.prev_kv, options)),
    ...simpleKv(event.kv, options),
  ]);
}

function eventTypeName(event: Event): string {
  return event.type === 1 ? "DELETE" : "PUT";
}

// ---- json -----------------------------------------------------------------------------------------

/** Go JSON object from [name, raw JSON] pairs; pairs whose raw value is undefined are left out (omitempty). */
function object(pairs: readonly (readonly [string, string | undefined])[]): string {
  return `{${pairs
    .filter((pair): pair is readonly [string, string] => pair[1] !== undefined)
    .map(([name, raw]) => `${JSON.stringify(name)}:${raw}`)
    .join(",")}}`;
}

/** An integer field under omitempty: left out when zero. */
function nonZero(value: number | bigint): string | undefined {
  return value === 0 || value === 0n ? undefined : String(value);
}

function bytesField(bytes: Uint8Array): string | undefined {
  return bytes.length === 0 ? undefined : JSON.stringify(toBase64(bytes));
}

function headerPairs(header: ResponseHeader): [string, string | undefined][] {
  return [
    ["cluster_id", nonZero(header.cluster_id)],
    ["member_id", nonZero(header.member_id)],
    ["revision", nonZero(header.revision)],
    ["raft_term", nonZero(header.raft_term)],
  ];
}

/** `"header":{…}` as Go writes a `*ResponseHeader` (inside a txn only `revision` is set). */
function headerJson(header: ResponseHeader): string {
  return object(headerPairs(header));
}

export function kvJson(kv: KeyValue): string {
  return object([
    ["key", bytesField(kv.key)],
    ["create_revision", nonZero(kv.create_revision)],
    ["mod_revision", nonZero(kv.mod_revision)],
    ["version", nonZero(kv.version)],
    ["value", bytesField(kv.value)],
    ["lease", nonZero(kv.lease)],
  ]);
}

function list<T>(items: readonly T[] | undefined, each: (item: T) => string): string | undefined {
  return items === undefined || items.length === 0 ? undefined : `[${items.map(each).join(",")}]`;
}

export function rangeJson(response: RangeResponse): string {
  return object([
    ["header", headerJson(response.header)],
    ["kvs", list(response.kvs, kvJson)],
    ["more", response.more ? "true" : undefined],
    ["count", nonZero(response.count)],
  ]);
}

export function putJson(response: PutResponse): string {
  return object([
    ["header", headerJson(response.header)],
    ["prev_kv", response.prev_kv === undefined ? undefined : kvJson(response.prev_kv)],
  ]);
}

export function delJson(response: DeleteRangeResponse): string {
  return object([
    ["header", headerJson(response.header)],
    ["deleted", nonZero(response.deleted)],
    ["prev_kvs", list(response.prev_kvs, kvJson)],
  ]);
}

/** A ResponseOp's oneof, as gogo/protobuf's JSON writes it: `{"Response":{"ResponsePut":{…}}}`. */
function responseOpJson(op: ResponseOp): string {
  const [name, body] =
    op.response_range !== undefined
      ? ["ResponseRange", rangeJson(op.response_range)]
      : op.response_put !== undefined
        ? ["ResponsePut", putJson(op.response_put)]
        : ["ResponseDeleteRange", delJson(op.response_delete_range as DeleteRangeResponse)];
  return `{"Response":{${JSON.stringify(name)}:${body}}}`;
}

export function txnJson(response: TxnResponse): string {
  return object([
    ["header", headerJson(response.header)],
    ["succeeded", response.succeeded ? "true" : undefined],
    ["responses", list(response.responses, responseOpJson)],
  ]);
}

function eventJson(event: Event): string {
  return object([
    ["type", event.type === 1 ? "1" : undefined],
    ["kv", kvJson(event.kv)],
    ["prev_kv", event.prev_kv === undefined ? undefined : kvJson(event.prev_kv)],
  ]);
}

/** clientv3.WatchResponse: Header is a value (always written), the rest have no omitempty. */
export function watchJson(response: WatchResponse): string {
  return object([
    ["Header", headerJson(response.header)],
    ["Events", response.events.length === 0 ? "null" : `[${response.events.map(eventJson).join(",")}]`],
    ["CompactRevision", String(response.compact_revision)],
    ["Canceled", String(response.canceled)],
    ["Created", String(response.created)],
  ]);
}

/** clientv3 lease answers embed `*ResponseHeader`, so its fields sit at the top level. */
export function leaseGrantJson(response: LeaseGrantResponse): string {
  return object([...headerPairs(response.header), ["ID", String(response.ID)], ["TTL", String(response.TTL)], ["Error", JSON.stringify(response.error)]]);
}

export function keepAliveJson(response: LeaseKeepAliveResponse): string {
  return object([...headerPairs(response.header), ["ID", String(response.ID)], ["TTL", String(response.TTL)]]);
}

export function timeToLiveJson(response: LeaseTimeToLiveResponse): string {
  const keys = response.keys.length === 0 ? "null" : `[${response.keys.map((k) => JSON.stringify(toBase64(k))).join(",")}]`;
  return object([
    ...headerPairs(response.header),
    ["id", String(response.ID)],
    ["ttl", String(response.TTL)],
    ["granted-ttl", String(response.grantedTTL)],
    ["keys", keys],
  ]);
}

export function leasesJson(response: LeaseLeasesResponse): string {
  const leases = response.leases.length === 0 ? "null" : `[${response.leases.map((l) => `{"id":${l.ID}}`).join(",")}]`;
  return object([...headerPairs(response.header), ["leases", leases]]);
}

export function revokeJson(header: ResponseHeader): string {
  return object([["header", headerJson(header)]]);
}

// ---- fields ---------------------------------------------------------------------------------------

export function fieldsHeader(header: ResponseHeader): string[] {
  return [`"ClusterID" : ${header.cluster_id}`, `"MemberID" : ${header.member_id}`, `"Revision" : ${header.revision}`, `"RaftTerm" : ${header.raft_term}`];
}

function fieldsKv(prefix: string, kv: KeyValue): string[] {
  return [
    `"${prefix}Key" : ${goQuote(fromUtf8(kv.key))}`,
    `"${prefix}CreateRevision" : ${kv.create_revision}`,
    `"${prefix}ModRevision" : ${kv.mod_revision}`,
    `"${prefix}Version" : ${kv.version}`,
    `"${prefix}Value" : ${goQuote(fromUtf8(kv.value))}`,
    `"${prefix}Lease" : ${kv.lease}`,
  ];
}

export function fieldsGet(response: RangeResponse): string[] {
  return [...fieldsHeader(response.header), ...response.kvs.flatMap((kv) => fieldsKv("", kv)), `"More" : ${response.more}`, `"Count" : ${response.count}`];
}

export function fieldsPut(response: PutResponse): string[] {
  return [...fieldsHeader(response.header), ...(response.prev_kv === undefined ? [] : fieldsKv("Prev", response.prev_kv))];
}

export function fieldsDel(response: DeleteRangeResponse): string[] {
  return [...fieldsHeader(response.header), `"Deleted" : ${response.deleted}`, ...(response.prev_kvs ?? []).flatMap((kv) => fieldsKv("Prev", kv))];
}

/** Txn sub-responses carry a header with only the revision set, so their ClusterID prints as 0. */
export function fieldsTxn(response: TxnResponse): string[] {
  const out = [...fieldsHeader(response.header), `"Succeeded" : ${response.succeeded}`];
  for (const op of response.responses) {
    if (op.response_delete_range !== undefined) out.push(...fieldsDel(op.response_delete_range));
    else if (op.response_put !== undefined) out.push(...fieldsPut(op.response_put));
    else if (op.response_range !== undefined) out.push(...fieldsGet(op.response_range));
  }
  return out;
}

export function fieldsWatch(response: WatchResponse): string[] {
  return [
    ...fieldsHeader(response.header),
    ...response.events.flatMap((event) => [
      `"Type" : ${eventTypeName(event)}`,
      ...(event.prev_kv === undefined ? [] : fieldsKv("Prev", event.prev_kv)),
      ...fieldsKv("", event.kv),
    ]),
  ];
}

export function fieldsLease(header: ResponseHeader, id: bigint, ttl: number): string[] {
  return [...fieldsHeader(header), `"ID" : ${id}`, `"TTL" : ${ttl}`];
}

export function fieldsTimeToLive(response: LeaseTimeToLiveResponse): string[] {
  return [
    ...fieldsLease(response.header, response.ID, response.TTL),
    `"GrantedTTL" : ${response.grantedTTL}`,
    ...response.keys.map((k) => `"Key" : ${goQuote(fromUtf8(k))}`),
  ];
}

export function fieldsLeases(response: LeaseLeasesResponse): string[] {
  return [...fieldsHeader(response.header), ...response.leases.map((l) => `"ID" : ${l.ID}`)];
}

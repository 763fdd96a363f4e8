/**
 * Mirrors grpc-gateway v1 `runtime/marshal_jsonpb.go` with golang/protobuf `jsonpb`, configured as
 * etcd release-3.4 does (`embed/serve.go`: `JSONPb{OrigName: true}`, unknown fields allowed): the
 * JSON form of the messages in `v3/rpc.ts`.
 *
 * Reading (JSON → request), jsonpb's rules:
 *   - fields are looked up by proto name or by camelCase name (`prev_kv` or `prevKv`); unknown ones are ignored;
 *   - bytes are standard base64 (`"Zm9v"` = "foo");
 *   - int64 accepts a number or a quoted number (`5` or `"5"`); the quotes are cut off, not unquoted;
 *   - enums accept a name (`"DESCEND"`) or any int32 (`2`, and also `7`, which names nothing);
 *   - `null` leaves a field at its zero value; a wrong JSON type fails with Go's own message.
 *
 * Writing (response → JSON), jsonpb's rules with EmitDefaults off:
 *   - fields in proto field order, proto names;
 *   - zero values are omitted (0, false, "", empty bytes, empty lists), but a message that is present is
 *     written even when empty (`"header":{}` in a nested txn's answer);
 *   - int64 and uint64 as JSON strings (`"revision":"16"`), enums by name (`"type":"DELETE"`).
 *
 *   encodeRangeResponse({header, kvs: [foo=bar @2], more: false, count: 1})
 *     → {"header":{…,"revision":"2",…},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}
 *
 * Empty and missing are the same on the wire: the gateway is a gRPC client, and protobuf does not
 * tell an empty list or empty bytes from an absent one, so `kvs: []` is omitted exactly like no kvs.
 */
import { fromUtf8, toBase64 } from "../shared/bytes.js";
import type { LockRequest, LockResponse, UnlockRequest, UnlockResponse } from "./v3lock.js";
import type {
  CampaignRequest,
  CampaignResponse,
  LeaderKey,
  LeaderRequest,
  LeaderResponse,
  ProclaimRequest,
  ProclaimResponse,
  ResignRequest,
} from "./v3election.js";
import { parseGoJson, type GoJsonValue } from "./gatewayGoJson.js";
import { goBase64Decode, goJsonString, GoJsonError, goQuote } from "./gatewayGoText.js";
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  KeyValue,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchResponse,
  AlarmRequest,
  AlarmResponse,
  DefragmentResponse,
  HashKVRequest,
  HashResponse,
  Member,
  MemberAddRequest,
  MemberAddResponse,
  MemberListResponse,
  MemberPromoteRequest,
  MemberRemoveRequest,
  MemberUpdateRequest,
  MoveLeaderRequest,
  MoveLeaderResponse,
  SnapshotResponse,
} from "./rpc.js";

// ---------------------------------------------------------------------------------------------
// Message schemas (field order = the Go struct's order, which is the .proto order)
// ---------------------------------------------------------------------------------------------

/** How one field reads from JSON. `int64` values become numbers unless `bigint` is asked for (lease IDs). */
type FieldType =
  | { readonly t: "bytes" }
  | { readonly t: "int64"; readonly bigint?: true }
  | { readonly t: "uint64" }
  | { readonly t: "string" }
  | { readonly t: "bool" }
  | { readonly t: "enum"; readonly goType: string; readonly names: Readonly<Record<string, number>> }
  | { readonly t: "message"; readonly schema: () => MessageSchema };

interface FieldSchema {
  /** The proto name, also the key in the decoded object. */
  readonly name: string;
  /** jsonpb's camelCase alternative (`prevKv`); the same as `name` when it has none. */
  readonly camel: string;
  readonly type: FieldType;
  readonly repeated?: true;
  /** Part of a oneof: read after the plain fields, and left unset when absent. */
  readonly oneof?: true;
}

interface MessageSchema {
  readonly fields: readonly FieldSchema[];
}

function field(name: string, type: FieldType, extra: { repeated?: true; oneof?: true } = {}): FieldSchema {
  const camel = name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  return { name, camel, type, ...extra };
}

const BYTES: FieldType = { t: "bytes" };
const INT64: FieldType = { t: "int64" };
const LEASE_ID: FieldType = { t: "int64", bigint: true };
const BOOL: FieldType = { t: "bool" };
const UINT64: FieldType = { t: "uint64" };
const STRING: FieldType = { t: "string" };
const enumType = (goType: string, names: Record<string, number>): FieldType => ({ t: "enum", goType, names });
const message = (schema: () => MessageSchema): FieldType => ({ t: "message", schema });

const SORT_ORDER = enumType("etcdserverpb.RangeRequest_SortOrder", { NONE: 0, ASCEND: 1, DESCEND: 2 });
const SORT_TARGET = enumType("etcdserverpb.RangeRequest_SortTarget", { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 });
const COMPARE_RESULT = enumType("etcdserverpb.Compare_CompareResult", { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 });
const COMPARE_TARGET = enumType("etcdserverpb.Compare_CompareTarget", { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 });
const ALARM_ACTION = enumType("etcdserverpb.AlarmRequest_AlarmAction", { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 });
const ALARM_TYPE = enumType("etcdserverpb.AlarmType", { NONE: 0, NOSPACE: 1, CORRUPT: 2 });
const FILTER_TYPE = enumType("etcdserverpb.WatchCreateRequest_FilterType", { NOPUT: 0, NODELETE: 1 });

const RANGE_REQUEST: MessageSchema = {
  fields: [
    field("key", BYTES),
    field("range_end", BYTES),
    field("limit", INT64),
    field("revision", INT64),
    field("sort_order", SORT_ORDER),
    field("sort_target", SORT_TARGET),
    field("serializable", BOOL),
    field("keys_only", BOOL),
    field("count_only", BOOL),
    field("min_mod_revision", INT64),
    field("max_mod_revision", INT64),
    field("min_create_revision", INT64),
    field("max_create_revision", INT64),
  ],
};
const PUT_REQUEST: MessageSchema = {
  fields: [
    field("key", BYTES),
    field("value", BYTES),
    field("lease", LEASE_ID),
    field("prev_kv", BOOL),
    field("ignore_value", BOOL),
    field("ignore_lease", BOOL),
  ],
};
const DELETE_RANGE_REQUEST: MessageSchema = {
  fields: [field("key", BYTES), field("range_end", BYTES), field("prev_kv", BOOL)],
};
const REQUEST_OP: MessageSchema = {
  fields: [
    field("request_range", message(() => RANGE_REQUEST), { oneof: true }),
    field("request_put", message(() => PUT_REQUEST), { oneof: true }),
    field("request_delete_range", message(() => DELETE_RANGE_REQUEST), { oneof: true }),
    field("request_txn", message(() => TXN_REQUEST), { oneof: true }),
  ],
};
const COMPARE: MessageSchema = {
  fields: [
    field("result", COMPARE_RESULT),
    field("target", COMPARE_TARGET),
    field("key", BYTES),
    field("range_end", BYTES),
    field("version", INT64, { oneof: true }),
    field("create_revision", INT64, { oneof: true }),
    field("mod_revision", INT64, { oneof: true }),
    field("value", BYTES, { oneof: true }),
    field("lease", LEASE_ID, { oneof: true }),
  ],
};
const TXN_REQUEST: MessageSchema = {
  fields: [
    field("compare", message(() => COMPARE), { repeated: true }),
    field("success", message(() => REQUEST_OP), { repeated: true }),
    field("failure", message(() => REQUEST_OP), { repeated: true }),
  ],
};
const COMPACTION_REQUEST: MessageSchema = { fields: [field("revision", INT64), field("physical", BOOL)] };
const LEASE_GRANT_REQUEST: MessageSchema = { fields: [field("TTL", INT64), field("ID", LEASE_ID)] };
const LEASE_ID_REQUEST: MessageSchema = { fields: [field("ID", LEASE_ID)] };
const LEASE_TIME_TO_LIVE_REQUEST: MessageSchema = { fields: [field("ID", LEASE_ID), field("keys", BOOL)] };
const EMPTY_REQUEST: MessageSchema = { fields: [] };
const ALARM_REQUEST: MessageSchema = { fields: [field("action", ALARM_ACTION), field("memberID", UINT64), field("alarm", ALARM_TYPE)] };
const HASH_KV_REQUEST: MessageSchema = { fields: [field("revision", INT64)] };
const MOVE_LEADER_REQUEST: MessageSchema = { fields: [field("targetID", UINT64)] };
const MEMBER_ADD_REQUEST: MessageSchema = { fields: [field("peerURLs", STRING, { repeated: true }), field("isLearner", BOOL)] };
const MEMBER_ID_REQUEST: MessageSchema = { fields: [field("ID", UINT64)] };
const MEMBER_UPDATE_REQUEST: MessageSchema = { fields: [field("ID", UINT64), field("peerURLs", STRING, { repeated: true })] };
const LOCK_REQUEST: MessageSchema = { fields: [field("name", BYTES), field("lease", LEASE_ID)] };
const UNLOCK_REQUEST: MessageSchema = { fields: [field("key", BYTES)] };
const CAMPAIGN_REQUEST: MessageSchema = { fields: [field("name", BYTES), field("lease", LEASE_ID), field("value", BYTES)] };
const LEADER_KEY: MessageSchema = { fields: [field("name", BYTES), field("key", BYTES), field("rev", INT64), field("lease", LEASE_ID)] };
const PROCLAIM_REQUEST: MessageSchema = { fields: [field("leader", message(() => LEADER_KEY)), field("value", BYTES)] };
const LEADER_REQUEST: MessageSchema = { fields: [field("name", BYTES)] };
const RESIGN_REQUEST: MessageSchema = { fields: [field("leader", message(() => LEADER_KEY))] };
const WATCH_CREATE_REQUEST: MessageSchema = {
  fields: [
    field("key", BYTES),
    field("range_end", BYTES),
    field("start_revision", INT64),
    field("progress_notify", BOOL),
    field("filters", FILTER_TYPE, { repeated: true }),
    field("prev_kv", BOOL),
    field("watch_id", INT64),
    field("fragment", BOOL),
  ],
};
const WATCH_REQUEST: MessageSchema = {
  fields: [
    field("create_request", message(() => WATCH_CREATE_REQUEST), { oneof: true }),
    field("cancel_request", message(() => ({ fields: [field("watch_id", INT64)] })), { oneof: true }),
    field("progress_request", message(() => EMPTY_REQUEST), { oneof: true }),
  ],
};

// ---------------------------------------------------------------------------------------------
// Decoding (jsonpb Unmarshaler.unmarshalValue)
// ---------------------------------------------------------------------------------------------

/**
 * Go's "json: cannot unmarshal <kind> into Go value of type …"; a JSON value's `kind` is already
 * Go's word for it ("string", "number", "bool", "array", "object").
 */
function typeError(what: string, goType: string): GoJsonError {
  return new GoJsonError(`json: cannot unmarshal ${what} into Go value of type ${goType}`);
}

/**
 * Reads one message. Plain fields are read in struct order, then the oneof members; the first
 * failure is the answer. When both spellings of a field are present the camelCase one wins.
 * `null` (or an absent body) is the zero message.
 */
function decodeMessage(schema: MessageSchema, value: GoJsonValue): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (value.kind !== "null" && value.kind !== "object") throw typeError(value.kind, "map[string]json.RawMessage");
  const fields = new Map(value.kind === "object" ? value.fields : []);
  const consume = (spec: FieldSchema): GoJsonValue | undefined => {
    const orig = fields.get(spec.name);
    const camel = fields.get(spec.camel);
    fields.delete(spec.name);
    fields.delete(spec.camel);
    return camel ?? orig;
  };
  for (const spec of schema.fields) if (!spec.oneof) setZero(out, spec);
  const ordered = [...schema.fields.filter((f) => !f.oneof), ...schema.fields.filter((f) => f.oneof)];
  for (const spec of ordered) {
    const raw = consume(spec);
    if (raw === undefined) continue;
    if (spec.repeated) {
      if (raw.kind === "null") continue;
      if (raw.kind !== "array") throw typeError(raw.kind, "[]json.RawMessage");
      out[spec.name] = raw.items.map((item) => {
        const decoded = decodeSingle(spec.type, item);
        // A null inside a list of messages stays a nil pointer, which gRPC cannot marshal.
        if (decoded === undefined && spec.type.t === "message") throw new NilMessageInListPanic(spec.name);
        return decoded ?? zeroOf(spec.type);
      });
      continue;
    }
    const decoded = decodeSingle(spec.type, raw);
    if (spec.oneof) {
      // One oneof member at a time: Go sets the group's single field once per member present, in
      // map order (random); here the last member in field order wins. A null member still sets a
      // scalar member (to zero) but leaves a message member unset.
      if (decoded === undefined && spec.type.t === "message") continue;
      for (const member of schema.fields) if (member.oneof) delete out[member.name];
      out[spec.name] = decoded ?? zeroOf(spec.type);
      continue;
    }
    if (decoded !== undefined) out[spec.name] = decoded;
  }
  return out;
}

/**
 * Not an error answer but a crash: `{"success":[null]}` leaves a nil message in the list, the
 * gateway panics marshaling it for gRPC, and Go's HTTP server recovers by closing the connection
 * without a response (curl: "Empty reply from server"). etcd itself never sees the request.
 */
export class NilMessageInListPanic extends Error {
  constructor(field: string) {
    super(`nil message in ${field}: the gateway panics and closes the connection`);
    this.name = "NilMessageInListPanic";
  }
}

function setZero(out: Record<string, unknown>, spec: FieldSchema): void {
  if (spec.repeated) out[spec.name] = [];
  else if (spec.type.t !== "message") out[spec.name] = zeroOf(spec.type);
}

function zeroOf(type: FieldType): unknown {
  switch (type.t) {
    case "bytes":
      return new Uint8Array(0);
    case "int64":
      return type.bigint ? 0n : 0;
    case "uint64":
      return 0n;
    case "string":
      return "";
    case "bool":
      return false;
    case "enum":
      return 0;
    case "message":
      return decodeMessage(type.schema(), { kind: "null", raw: "null" });
  }
}

/** One value of one type; undefined means "left unset" (a JSON null). */
function decodeSingle(type: FieldType, raw: GoJsonValue): unknown {
  switch (type.t) {
    case "message":
      return raw.kind === "null" ? undefined : decodeMessage(type.schema(), raw);
    case "enum":
      return decodeEnum(type.goType, type.names, raw);
    case "int64": {
      const n = decodeInt64(raw);
      if (n === undefined) return undefined;
      return type.bigint ? n : Number(n);
    }
    case "uint64":
      return decodeUint64(raw);
    case "string":
      if (raw.kind === "null") return undefined;
      if (raw.kind !== "string") throw typeError(raw.kind, "string");
      return fromUtf8(raw.bytes);
    case "bool":
      if (raw.kind === "null") return undefined;
      if (raw.kind !== "bool") throw typeError(raw.kind, "bool");
      return raw.value;
    case "bytes":
      return decodeBytes(raw);
  }
}

/**
 * jsonpb's enum rule: a quoted value is looked up by name, raw (escapes are not resolved); anything
 * else goes to encoding/json as an int32.
 *   "DESCEND" → 2;  7 → 7;  "BOGUS" → unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder
 */
function decodeEnum(goType: string, names: Readonly<Record<string, number>>, raw: GoJsonValue): number | undefined {
  if (raw.kind === "string") {
    const name = raw.raw.slice(1, -1);
    const n = names[name];
    if (n === undefined) throw new GoJsonError(`unknown value ${goQuote(name)} for enum ${goType}`);
    return n;
  }
  if (raw.kind === "null") return undefined;
  if (raw.kind !== "number") throw typeError(raw.kind, goType);
  if (!/^-?\d+$/.test(raw.raw)) throw typeError(`number ${raw.raw}`, goType);
  const n = BigInt(raw.raw);
  if (n < -(2n ** 31n) || n >= 2n ** 31n) throw typeError(`number ${raw.raw}`, goType);
  return Number(n);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * jsonpb's int64 rule: a value starting with a quote has its first and last characters cut off and
 * what is left is parsed as JSON again (so `"5"` is 5, `"1.5"` fails as a number, `"x"` as bad JSON).
 */
function decodeInt64(raw: GoJsonValue): bigint | undefined {
  const value = raw.kind === "string" ? parseGoJson(raw.raw.slice(1, -1)) : raw;
  if (value.kind === "null") return undefined;
  if (value.kind !== "number") throw typeError(value.kind, "int64");
  if (!/^-?\d+$/.test(value.raw)) throw typeError(`number ${value.raw}`, "int64");
  const n = BigInt(value.raw);
  if (n < INT64_MIN || n > INT64_MAX) throw typeError(`number ${value.raw}`, "int64");
  return n;
}

const UINT64_MAX = 2n ** 64n - 1n;

/** jsonpb's uint64 rule: int64's quote cutting, then a number in [0, 2^64). */
function decodeUint64(raw: GoJsonValue): bigint | undefined {
  const value = raw.kind === "string" ? parseGoJson(raw.raw.slice(1, -1)) : raw;
  if (value.kind === "null") return undefined;
  if (value.kind !== "number") throw typeError(value.kind, "uint64");
  if (!/^\d+$/.test(value.raw)) throw typeError(`number ${value.raw}`, "uint64");
  const n = BigInt(value.raw);
  if (n > UINT64_MAX) throw typeError(`number ${value.raw}`, "uint64");
  return n;
}

/** encoding/json into `[]byte`: a base64 string, or (a Go curiosity) an array of byte numbers. */
function decodeBytes(raw: GoJsonValue): Uint8Array | undefined {
  if (raw.kind === "null") return undefined;
  if (raw.kind === "string") return goBase64Decode(raw.bytes);
  if (raw.kind !== "array") throw typeError(raw.kind, "[]uint8");
  return new Uint8Array(
    raw.items.map((item) => {
      if (item.kind === "null") return 0;
      if (item.kind !== "number") throw typeError(item.kind, "uint8");
      if (!/^\d+$/.test(item.raw) || Number(item.raw) > 255) throw typeError(`number ${item.raw}`, "uint8");
      return Number(item.raw);
    }),
  );
}

/** The request messages the gateway reads, by name. */
export const REQUEST_SCHEMAS = {
  RangeRequest: RANGE_REQUEST,
  PutRequest: PUT_REQUEST,
  DeleteRangeRequest: DELETE_RANGE_REQUEST,
  TxnRequest: TXN_REQUEST,
  CompactionRequest: COMPACTION_REQUEST,
  LeaseGrantRequest: LEASE_GRANT_REQUEST,
  LeaseRevokeRequest: LEASE_ID_REQUEST,
  LeaseKeepAliveRequest: LEASE_ID_REQUEST,
  LeaseTimeToLiveRequest: LEASE_TIME_TO_LIVE_REQUEST,
  LeaseLeasesRequest: EMPTY_REQUEST,
  StatusRequest: EMPTY_REQUEST,
  WatchRequest: WATCH_REQUEST,
  AlarmRequest: ALARM_REQUEST,
  HashRequest: EMPTY_REQUEST,
  HashKVRequest: HASH_KV_REQUEST,
  DefragmentRequest: EMPTY_REQUEST,
  SnapshotRequest: EMPTY_REQUEST,
  MoveLeaderRequest: MOVE_LEADER_REQUEST,
  MemberAddRequest: MEMBER_ADD_REQUEST,
  MemberRemoveRequest: MEMBER_ID_REQUEST,
  MemberUpdateRequest: MEMBER_UPDATE_REQUEST,
  MemberListRequest: EMPTY_REQUEST,
  MemberPromoteRequest: MEMBER_ID_REQUEST,
  LockRequest: LOCK_REQUEST,
  UnlockRequest: UNLOCK_REQUEST,
  CampaignRequest: CAMPAIGN_REQUEST,
  ProclaimRequest: PROCLAIM_REQUEST,
  LeaderRequest: LEADER_REQUEST,
  ResignRequest: RESIGN_REQUEST,
} as const;

/** The TypeScript type each request schema decodes to. */
export interface RequestTypes {
  RangeRequest: RangeRequest;
  PutRequest: PutRequest;
  DeleteRangeRequest: DeleteRangeRequest;
  TxnRequest: TxnRequest;
  CompactionRequest: CompactionRequest;
  LeaseGrantRequest: LeaseGrantRequest;
  LeaseRevokeRequest: LeaseRevokeRequest;
  LeaseKeepAliveRequest: LeaseKeepAliveRequest;
  LeaseTimeToLiveRequest: LeaseTimeToLiveRequest;
  LeaseLeasesRequest: Record<string, never>;
  StatusRequest: Record<string, never>;
  WatchRequest: WatchRequest;
  AlarmRequest: AlarmRequest;
  HashRequest: Record<string, never>;
  HashKVRequest: HashKVRequest;
  DefragmentRequest: Record<string, never>;
  SnapshotRequest: Record<string, never>;
  MoveLeaderRequest: MoveLeaderRequest;
  MemberAddRequest: MemberAddRequest;
  MemberRemoveRequest: MemberRemoveRequest;
  MemberUpdateRequest: MemberUpdateRequest;
  MemberListRequest: Record<string, never>;
  MemberPromoteRequest: MemberPromoteRequest;
  LockRequest: LockRequest;
  UnlockRequest: UnlockRequest;
  CampaignRequest: CampaignRequest;
  ProclaimRequest: ProclaimRequest;
  LeaderRequest: LeaderRequest;
  ResignRequest: ResignRequest;
}

/**
 * Reads one request from a JSON value (`undefined` = an empty body, which the gateway treats as the
 * zero request). Throws GoJsonError with Go's text on bad input.
 *
 *   decodeRequest("PutRequest", {"key":"Zm9v","value":"YmFy"}) → { key: "foo", value: "bar", lease: 0n, … }
 */
export function decodeRequest<K extends keyof RequestTypes>(name: K, value: GoJsonValue | undefined): RequestTypes[K] {
  const schema: MessageSchema = REQUEST_SCHEMAS[name];
  return decodeMessage(schema, value ?? { kind: "null", raw: "null" }) as unknown as RequestTypes[K];
}

// ---------------------------------------------------------------------------------------------
// Encoding (jsonpb Marshaler, OrigName, no defaults)
// ---------------------------------------------------------------------------------------------

/** A field and its already-encoded value; undefined values are omitted. */
type Entry = readonly [string, string | undefined];

function object(entries: readonly Entry[]): string {
  const parts: string[] = [];
  for (const [name, value] of entries) if (value !== undefined) parts.push(`"${name}":${value}`);
  return `{${parts.join(",")}}`;
}

/** int64/uint64: a JSON string, omitted when zero. */
function int64(n: number | bigint): string | undefined {
  return n === 0 || n === 0n ? undefined : `"${typeof n === "bigint" ? n.toString() : Math.trunc(n).toString()}"`;
}
function bytes(b: Uint8Array | undefined): string | undefined {
  return b === undefined || b.length === 0 ? undefined : `"${toBase64(b)}"`;
}
function bool(b: boolean | undefined): string | undefined {
  return b ? "true" : undefined;
}
function string(s: string | undefined): string | undefined {
  return s === undefined || s === "" ? undefined : goJsonString(s);
}
function list<T>(items: readonly T[] | undefined, encode: (item: T) => string): string | undefined {
  return items === undefined || items.length === 0 ? undefined : `[${items.map(encode).join(",")}]`;
}
function present<T>(m: T | undefined, encode: (m: T) => string): string | undefined {
  return m === undefined ? undefined : encode(m);
}

export function encodeHeader(h: ResponseHeader): string {
  return object([
    ["cluster_id", int64(h.cluster_id)],
    ["member_id", int64(h.member_id)],
    ["revision", int64(h.revision)],
    ["raft_term", int64(h.raft_term)],
  ]);
}

export function encodeKeyValue(kv: KeyValue): string {
  return object([
    ["key", bytes(kv.key)],
    ["create_revision", int64(kv.create_revision)],
    ["mod_revision", int64(kv.mod_revision)],
    ["version", int64(kv.version)],
    ["value", bytes(kv.value)],
    ["lease", int64(kv.lease)],
  ]);
}

const EVENT_TYPE_NAMES: Readonly<Record<number, string>> = { 0: "PUT", 1: "DELETE" };

/** mvccpb.Event: the type is omitted for PUT (0); a value with no name is written as a bare number. */
export function encodeEvent(event: Event): string {
  const name = EVENT_TYPE_NAMES[event.type];
  const type = event.type === 0 ? undefined : name === undefined ? String(event.type) : `"${name}"`;
  return object([
    ["type", type],
    ["kv", encodeKeyValue(event.kv)],
    ["prev_kv", present(event.prev_kv, encodeKeyValue)],
  ]);
}

export function encodeRangeResponse(r: RangeResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["kvs", list(r.kvs, encodeKeyValue)],
    ["more", bool(r.more)],
    ["count", int64(r.count)],
  ]);
}

export function encodePutResponse(r: PutResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["prev_kv", present(r.prev_kv, encodeKeyValue)],
  ]);
}

export function encodeDeleteRangeResponse(r: DeleteRangeResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["deleted", int64(r.deleted)],
    ["prev_kvs", list(r.prev_kvs, encodeKeyValue)],
  ]);
}

function encodeResponseOp(op: ResponseOp): string {
  return object([
    ["response_range", present(op.response_range, encodeRangeResponse)],
    ["response_put", present(op.response_put, encodePutResponse)],
    ["response_delete_range", present(op.response_delete_range, encodeDeleteRangeResponse)],
    ["response_txn", present(op.response_txn, encodeTxnResponse)],
  ]);
}

export function encodeTxnResponse(r: TxnResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["succeeded", bool(r.succeeded)],
    ["responses", list(r.responses, encodeResponseOp)],
  ]);
}

export function encodeCompactionResponse(r: CompactionResponse): string {
  return object([["header", present(r.header, encodeHeader)]]);
}

export function encodeLeaseGrantResponse(r: LeaseGrantResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["ID", int64(r.ID)],
    ["TTL", int64(r.TTL)],
    ["error", string(r.error)],
  ]);
}

export function encodeLeaseRevokeResponse(r: LeaseRevokeResponse): string {
  return object([["header", present(r.header, encodeHeader)]]);
}

export function encodeLeaseKeepAliveResponse(r: LeaseKeepAliveResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["ID", int64(r.ID)],
    ["TTL", int64(r.TTL)],
  ]);
}

export function encodeLeaseTimeToLiveResponse(r: LeaseTimeToLiveResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["ID", int64(r.ID)],
    ["TTL", int64(r.TTL)],
    ["grantedTTL", int64(r.grantedTTL)],
    ["keys", list(r.keys, (k) => `"${toBase64(k)}"`)],
  ]);
}

export function encodeLeaseLeasesResponse(r: LeaseLeasesResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["leases", list(r.leases, (l) => object([["ID", int64(l.ID)]]))],
  ]);
}

export function encodeWatchResponse(r: WatchResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["watch_id", int64(r.watch_id)],
    ["created", bool(r.created)],
    ["canceled", bool(r.canceled)],
    ["compact_revision", int64(r.compact_revision)],
    ["cancel_reason", string(r.cancel_reason)],
    ["fragment", bool(r.fragment)],
    ["events", list(r.events, encodeEvent)],
  ]);
}

export function encodeStatusResponse(r: StatusResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["version", string(r.version)],
    ["dbSize", int64(r.dbSize)],
    ["leader", int64(r.leader)],
    ["raftIndex", int64(r.raftIndex)],
    ["raftTerm", int64(r.raftTerm)],
    ["raftAppliedIndex", int64(r.raftAppliedIndex)],
    ["errors", list(r.errors, goJsonString)],
    ["dbSizeInUse", int64(r.dbSizeInUse)],
    ["isLearner", bool(r.isLearner)],
  ]);
}

const ALARM_TYPE_NAMES: Readonly<Record<number, string>> = { 0: "NONE", 1: "NOSPACE", 2: "CORRUPT" };

/** AlarmResponse: no header in etcd's answer, so `{}` when no alarm is raised. */
export function encodeAlarmResponse(r: AlarmResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    [
      "alarms",
      list(r.alarms, (a) =>
        object([
          ["memberID", int64(a.memberID)],
          ["alarm", a.alarm === 0 ? undefined : `"${ALARM_TYPE_NAMES[a.alarm] ?? a.alarm}"`],
        ]),
      ),
    ],
  ]);
}

/** HashResponse: the uint32 hash is a JSON number (jsonpb quotes only 64-bit integers). */
export function encodeHashResponse(r: HashResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["hash", r.hash === 0 ? undefined : String(r.hash)],
  ]);
}

/** DefragmentResponse and MoveLeaderResponse: no header, `{}`. */
export function encodeHeaderOnlyResponse(r: DefragmentResponse | MoveLeaderResponse | ProclaimResponse | UnlockResponse): string {
  return object([["header", present(r.header, encodeHeader)]]);
}

export function encodeSnapshotResponse(r: SnapshotResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["remaining_bytes", int64(r.remaining_bytes)],
    ["blob", bytes(r.blob)],
  ]);
}

function encodeMember(m: Member): string {
  return object([
    ["ID", int64(m.ID)],
    ["name", string(m.name)],
    ["peerURLs", list(m.peerURLs, goJsonString)],
    ["clientURLs", list(m.clientURLs, goJsonString)],
    ["isLearner", bool(m.isLearner)],
  ]);
}

export function encodeMemberAddResponse(r: MemberAddResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["member", present(r.member, encodeMember)],
    ["members", list(r.members, encodeMember)],
  ]);
}

export function encodeMemberListResponse(r: MemberListResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["members", list(r.members, encodeMember)],
  ]);
}

export function encodeLockResponse(r: LockResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["key", bytes(r.key)],
  ]);
}

function encodeLeaderKey(k: LeaderKey): string {
  return object([
    ["name", bytes(k.name)],
    ["key", bytes(k.key)],
    ["rev", int64(k.rev)],
    ["lease", int64(k.lease)],
  ]);
}

export function encodeCampaignResponse(r: CampaignResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["leader", present(r.leader, encodeLeaderKey)],
  ]);
}

export function encodeLeaderResponse(r: LeaderResponse): string {
  return object([
    ["header", present(r.header, encodeHeader)],
    ["kv", present(r.kv, encodeKeyValue)],
  ]);
}

/** A stream message as grpc-gateway frames it: `{"result":<message>}` (the caller adds the newline). */
export function encodeStreamChunk(messageJson: string): string {
  return `{"result":${messageJson}}`;
}

/**
 * grpc-gateway's error body: `{"error":m,"message":m,"code":c}` (the code is omitted when 0).
 *   encodeErrorBody(3, "etcdserver: key is not provided")
 *     → {"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}
 */
export function encodeErrorBody(code: number, message: string): string {
  return object([
    ["error", string(message)],
    ["message", string(message)],
    ["code", code === 0 ? undefined : String(code)],
  ]);
}

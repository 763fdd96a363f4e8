/**
 * Mirrors etcd release-3.4 `etcdserver/etcdserverpb/etcdserver.proto` and `raft_internal.proto`: what
 * the data of a WAL entry holds, and the WAL's metadata record.
 *
 *   Metadata {1 NodeID, 2 ClusterID}                     the first record of every segment after the crc
 *   Request  {1 ID, 2 Method, 3 Path, 4 Val, 5 Dir, 6 PrevValue, 7 PrevIndex, 8 PrevExist?, 9 Expiration,
 *             10 Wait, 11 Since, 12 Recursive, 13 Sorted, 14 Quorum, 15 Time, 16 Stream, 17 Refresh?}
 *
 * A v2 write is logged as a bare `Request` (proto2, non-nullable: every field written even when zero,
 * the two `?` fields only when given), with etcd's hidden "/1" prefix on the path and times in Unix
 * nanoseconds, exactly as etcd logs it:
 *
 *   PUT /v2/keys/foo?value=bar  →  Request{ID, Method "PUT", Path "/1/foo", Val "bar", …}
 *   the TTL sweep               →  Request{Method "SYNC", Time <leader's clock in ns>}
 *
 * A v3 request is logged as etcd logs it, an `InternalRaftRequest` (proto/raft_internal.proto) whose
 * one set field holds the request in rpc.proto's encoding, beside a header with etcd's request ID and
 * the caller's name and auth revision:
 *
 *   Put{key "foo", value "bar"} by alice  →  InternalRaftRequest{header{ID, "alice", 3}, put{…}}
 *     = 22 0a 0a 03 66 6f 6f 12 03 62 61 72  a2 06 <len> 08 <ID varint> 12 05 61 6c 69 63 65 18 03
 *       (field 4 put first, then field 100 header: gogo writes fields in number order)
 *
 *   op            field                       op (auth method)        field
 *   put           4 put                       authEnable              1000 auth_enable
 *   deleteRange   5 delete_range              authDisable             1011 auth_disable
 *   txn           6 txn                       authenticate            1012 authenticate (Internal…)
 *   compaction    7 compaction                userAdd … userList      1100 … 1106
 *   leaseGrant    8 lease_grant               roleList                1107
 *   leaseRevoke   9 lease_revoke              roleAdd … roleRevokePermission   1200 … 1204
 *   alarm        10 alarm
 *
 * A v2 Request and an InternalRaftRequest share the entry's data with no type byte. etcd tries the
 * InternalRaftRequest first and falls back to Request when that fails to parse; here an entry is v3
 * when its top level has field 100 (the header etcd always sets; a Request's fields stop at 17), which
 * gives the same answer for every entry either side writes and never depends on a parse failing.
 *
 * Data dirs written before this encoding (etcdsim's own v3 entries: a 0x00 byte, which cannot start
 * a protobuf message, then JSON) are still read; nothing writes them any more.
 */
import { bytesOf, PbWriter, readFields, varintOf, int64 } from "../shared/pb.js";
import { ProtoRegistry, WireError } from "../v3/v3rpc/codec.js";

export interface WalMetadata {
  readonly nodeId: bigint;
  readonly clusterId: bigint;
}

export function encodeMetadata(metadata: WalMetadata): Uint8Array {
  return new PbWriter().uint(1, metadata.nodeId).uint(2, metadata.clusterId).finish();
}

export function decodeMetadata(buf: Uint8Array): WalMetadata {
  const fields = readFields(buf);
  return { nodeId: varintOf(fields, 1), clusterId: varintOf(fields, 2) };
}

/** etcdserverpb.Request, the fields a v2 member fills in. Times are Unix nanoseconds. */
export interface V2Request {
  readonly id: bigint;
  readonly method: string;
  /** With etcd's "/1" (keys) or "/0" (membership) prefix. */
  readonly path: string;
  readonly val: string;
  readonly dir: boolean;
  readonly prevValue: string;
  readonly prevIndex: number;
  readonly prevExist: boolean | undefined;
  readonly expiration: bigint;
  readonly wait: boolean;
  readonly since: number;
  readonly recursive: boolean;
  readonly sorted: boolean;
  readonly quorum: boolean;
  readonly time: bigint;
  readonly stream: boolean;
  readonly refresh: boolean | undefined;
}

export function encodeV2Request(r: V2Request): Uint8Array {
  const writer = new PbWriter()
    .uint(1, r.id)
    .string(2, r.method)
    .string(3, r.path)
    .string(4, r.val)
    .bool(5, r.dir)
    .string(6, r.prevValue)
    .uint(7, r.prevIndex);
  if (r.prevExist !== undefined) writer.bool(8, r.prevExist);
  writer.uint(9, r.expiration).bool(10, r.wait).uint(11, r.since).bool(12, r.recursive).bool(13, r.sorted).bool(14, r.quorum).uint(15, r.time).bool(16, r.stream);
  if (r.refresh !== undefined) writer.bool(17, r.refresh);
  return writer.finish();
}

export function decodeV2Request(buf: Uint8Array): V2Request {
  const fields = readFields(buf);
  const text = (field: number): string => Buffer.from(bytesOf(fields, field) ?? new Uint8Array(0)).toString("utf8");
  const flag = (field: number): boolean => varintOf(fields, field) !== 0n;
  const optionalFlag = (field: number): boolean | undefined => (fields.some((f) => f.field === field) ? flag(field) : undefined);
  return {
    id: varintOf(fields, 1),
    method: text(2),
    path: text(3),
    val: text(4),
    dir: flag(5),
    prevValue: text(6),
    prevIndex: Number(varintOf(fields, 7)),
    prevExist: optionalFlag(8),
    expiration: int64(varintOf(fields, 9)),
    wait: flag(10),
    since: Number(varintOf(fields, 11)),
    recursive: flag(12),
    sorted: flag(13),
    quorum: flag(14),
    time: int64(varintOf(fields, 15)),
    stream: flag(16),
    refresh: optionalFlag(17),
  };
}

/** The v3 operations that go through the log (etcd: the fields of InternalRaftRequest). */
export type V3Op = "put" | "deleteRange" | "txn" | "compaction" | "leaseGrant" | "leaseRevoke" | "alarm" | "auth" | "authenticate";

/**
 * A logged v3 request: which operation, and its rpc.ts request object; for "auth", which Auth method
 * (e.g. "userAdd"). `who` is the caller as resolved when it was proposed (etcd's RequestHeader
 * username and auth_revision), so the apply (and a replay) checks the same identity. `id` is the
 * header's request ID (0n when not given). An "authenticate" request is {name, prefix}: the prefix is
 * the simple token's random part (InternalAuthenticateRequest.simple_token). Its `password` field stays
 * empty: etcd 3.4.23 no longer logs it (seen in a real 3.4.23's WAL; older 3.4 releases did).
 */
export interface V3Entry {
  readonly op: V3Op;
  readonly request: unknown;
  readonly method?: string;
  readonly who?: { readonly username: string; readonly revision: number };
  readonly id?: bigint;
}

/** The InternalRaftRequest field of each operation, and of each Auth method (op "auth"). */
const OP_FIELDS: Readonly<Record<Exclude<V3Op, "auth">, string>> = {
  put: "put",
  deleteRange: "delete_range",
  txn: "txn",
  compaction: "compaction",
  leaseGrant: "lease_grant",
  leaseRevoke: "lease_revoke",
  alarm: "alarm",
  authenticate: "authenticate",
};
const AUTH_FIELDS: Readonly<Record<string, string>> = {
  authEnable: "auth_enable",
  authDisable: "auth_disable",
  userAdd: "auth_user_add",
  userDelete: "auth_user_delete",
  userGet: "auth_user_get",
  userChangePassword: "auth_user_change_password",
  userGrantRole: "auth_user_grant_role",
  userRevokeRole: "auth_user_revoke_role",
  userList: "auth_user_list",
  roleList: "auth_role_list",
  roleAdd: "auth_role_add",
  roleDelete: "auth_role_delete",
  roleGet: "auth_role_get",
  roleGrantPermission: "auth_role_grant_permission",
  roleRevokePermission: "auth_role_revoke_permission",
};
/** Field name → the entry it decodes to. */
const ENTRY_OF_FIELD: ReadonlyMap<string, { op: V3Op; method?: string }> = new Map([
  ...Object.entries(OP_FIELDS).map(([op, field]) => [field, { op: op as V3Op }] as const),
  ...Object.entries(AUTH_FIELDS).map(([method, field]) => [field, { op: "auth" as const, method }] as const),
]);

/** InternalRaftRequest's header field number. */
const HEADER_FIELD = 100;

let registry: ProtoRegistry | undefined;
/** The .proto files, loaded on first use (the gRPC server loads its own copy). */
function internalRaftRequest() {
  registry ??= new ProtoRegistry();
  return { registry, type: registry.type("etcdserverpb.InternalRaftRequest") };
}

/** The entry's data: an InternalRaftRequest, bytes as etcd 3.4 writes them. */
export function encodeV3Entry(entry: V3Entry): Uint8Array {
  const field = entry.op === "auth" ? AUTH_FIELDS[entry.method ?? ""] : OP_FIELDS[entry.op];
  if (field === undefined) throw new Error(`etcdsim: no InternalRaftRequest field for ${entry.op} ${String(entry.method)}`);
  let request = entry.request as Record<string, unknown>;
  if (entry.op === "authenticate") request = { name: request["name"], simple_token: request["prefix"] };
  const header = { ID: entry.id ?? 0n, username: entry.who?.username ?? "", auth_revision: entry.who?.revision ?? 0 };
  const { registry, type } = internalRaftRequest();
  return registry.encode(type, { header, [field]: request });
}

/** True when entry data holds a v3 request, false for a v2 Request (see the header). */
export function isV3Entry(data: Uint8Array): boolean {
  if (data.length > 0 && data[0] === LEGACY_V3_ENTRY_MARKER) return true;
  try {
    return readFields(data).some((f) => f.field === HEADER_FIELD);
  } catch {
    return false;
  }
}

/** An InternalRaftRequest back into the entry it was made from (or one of the legacy format). */
export function decodeV3Entry(data: Uint8Array): V3Entry {
  if (data[0] === LEGACY_V3_ENTRY_MARKER) return decodeLegacyV3Entry(data);
  const { registry, type } = internalRaftRequest();
  const message = registry.decode(type, Buffer.from(data.buffer, data.byteOffset, data.byteLength), Number.MAX_SAFE_INTEGER);
  if (message instanceof WireError) throw new Error(`etcdsim: not an InternalRaftRequest: ${message.message}`);
  const header = message["header"] as { ID: bigint; username: string; auth_revision: number } | undefined;
  for (const [field, value] of Object.entries(message)) {
    const kind = ENTRY_OF_FIELD.get(field);
    if (kind === undefined || value === undefined) continue;
    let request = value as Record<string, unknown>;
    if (kind.op === "authenticate") request = { name: request["name"], prefix: request["simple_token"] };
    return {
      ...kind,
      request,
      ...(header === undefined ? {} : { id: header.ID }),
      ...(header === undefined || header.username === "" ? {} : { who: { username: header.username, revision: header.auth_revision } }),
    };
  }
  throw new Error("etcdsim: an InternalRaftRequest with no request etcdsim applies (v2, range or lease_checkpoint)");
}

/** The first byte of etcdsim's former v3 entries (JSON after it); read, never written. */
const LEGACY_V3_ENTRY_MARKER = 0x00;

/**
 * etcdsim's former v3 entry: 0x00, then JSON `{"op":"put","request":{…}}` with byte strings as
 * `{"$b":"<base64>"}` and 64-bit IDs as `{"$n":"<decimal>"}`.
 */
function decodeLegacyV3Entry(data: Uint8Array): V3Entry {
  const json = Buffer.from(data.subarray(1)).toString("utf8");
  return JSON.parse(json, (_key, value: unknown) => {
    if (value !== null && typeof value === "object") {
      const record = value as Record<string, unknown>;
      if (typeof record["$b"] === "string" && Object.keys(record).length === 1) return new Uint8Array(Buffer.from(record["$b"], "base64"));
      if (typeof record["$n"] === "string" && Object.keys(record).length === 1) return BigInt(record["$n"]);
    }
    return value;
  }) as V3Entry;
}

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
 * A v3 request is logged in etcdsim's own encoding, which the spec allows (datadir.md §9.2): a 0x00
 * byte, which can never start a protobuf message (field 0 does not exist), so etcd's "try the v3 message,
 * fall back to Request" decoding tells the two apart, followed by JSON `{"op":"put","request":{…}}` in
 * which byte strings are `{"$b":"<base64>"}` and 64-bit IDs `{"$n":"<decimal>"}`. etcd writes an
 * `InternalRaftRequest` protobuf there instead (field 4 put, 5 delete_range, 6 txn, 7 compaction,
 * 8 lease_grant, 9 lease_revoke).
 */
import { bytesOf, PbWriter, readFields, varintOf, int64 } from "../shared/pb.js";

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
 * username and auth_revision), so the apply (and a replay) checks the same identity.
 */
export interface V3Entry {
  readonly op: V3Op;
  readonly request: unknown;
  readonly method?: string;
  readonly who?: { readonly username: string; readonly revision: number };
}

/** The marker byte of etcdsim's own v3 entry encoding. */
export const V3_ENTRY_MARKER = 0x00;

export function encodeV3Entry(entry: V3Entry): Uint8Array {
  // The holder's own field, not `value`: JSON.stringify has already turned a Buffer (what the gRPC
  // decoder gives for bytes fields) into {type: "Buffer", data: [...]} by its toJSON before this runs.
  const json = JSON.stringify(entry, function (this: Record<string, unknown>, key, value: unknown) {
    const own = this[key];
    if (own instanceof Uint8Array) return { $b: Buffer.from(own).toString("base64") };
    if (typeof value === "bigint") return { $n: value.toString() };
    return value;
  });
  const body = Buffer.from(json, "utf8");
  const out = new Uint8Array(body.length + 1);
  out[0] = V3_ENTRY_MARKER;
  out.set(body, 1);
  return out;
}

/** True when entry data holds a v3 request (etcdsim's marker), false for a v2 Request. */
export function isV3Entry(data: Uint8Array): boolean {
  return data.length > 0 && data[0] === V3_ENTRY_MARKER;
}

export function decodeV3Entry(data: Uint8Array): V3Entry {
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

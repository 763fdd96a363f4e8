/**
 * Mirrors etcd release-3.4 `etcdserver/etcdserverpb/rpc.proto` and `mvcc/mvccpb/kv.proto`: the
 * messages of the v3 API, as plain TypeScript types. Contracts only: no code runs here.
 *
 * The gateway (`v3/gateway.ts`) turns JSON into these, the applier (`v3/apply.ts`) executes them
 * against the MVCC store, and the answers come back as these. Proto field numbers are given in
 * comments because students meet them in etcd's .proto files and in gRPC captures.
 *
 * Representation rules (one for each proto scalar kind):
 *   bytes            → Uint8Array (keys and values are byte strings, ordered bytewise)
 *   int64 revisions  → number (a revision never nears 2^53; the gateway rejects what int64 can't hold)
 *   lease ID (int64) → bigint (generated IDs use all 63 bits: 0x2dfc…)
 *   cluster/member   → bigint (uint64)
 *   enums            → numeric const objects with etcd's names
 * A request field left out means the proto zero value (empty bytes, 0, false, NONE).
 */

/** A lease ID. 0n means "no lease" (`lease.NoLease`). */
export type LeaseID = bigint;
/** The lease ID of a key without a lease; never granted. */
export const NO_LEASE: LeaseID = 0n;

/** mvccpb.KeyValue. A key that does not exist "has" version 0, create 0, mod 0, lease 0. */
export interface KeyValue {
  key: Uint8Array; // 1
  create_revision: number; // 2
  mod_revision: number; // 3
  version: number; // 4
  value: Uint8Array; // 5
  lease: LeaseID; // 6
}

/** mvccpb.Event.EventType */
export const EventType = { PUT: 0, DELETE: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** mvccpb.Event: a DELETE's kv holds only key and mod_revision. */
export interface Event {
  type: EventType; // 1
  kv: KeyValue; // 2
  prev_kv?: KeyValue; // 3
}

/** etcdserverpb.ResponseHeader */
export interface ResponseHeader {
  cluster_id: bigint; // 1 (uint64)
  member_id: bigint; // 2 (uint64)
  revision: number; // 3
  raft_term: number; // 4 (uint64)
}

/** RangeRequest.SortOrder; NONE with a sort target other than KEY means ASCEND (range results are in key order already). */
export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];
/** RangeRequest.SortTarget: which KeyValue field a range sorts on. */
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

/** etcdserverpb.RangeRequest: no range_end reads one key, "\0" every key from `key` on, otherwise [key, range_end). */
export interface RangeRequest {
  key: Uint8Array; // 1
  range_end?: Uint8Array; // 2
  limit?: number; // 3
  revision?: number; // 4
  sort_order?: SortOrder; // 5
  sort_target?: SortTarget; // 6
  serializable?: boolean; // 7
  keys_only?: boolean; // 8
  count_only?: boolean; // 9
  min_mod_revision?: number; // 10
  max_mod_revision?: number; // 11
  min_create_revision?: number; // 12
  max_create_revision?: number; // 13
}
/** etcdserverpb.RangeResponse: `count` counts every key in the range, before limit and filters; `more` says the limit cut some off. */
export interface RangeResponse {
  header: ResponseHeader; // 1
  kvs: KeyValue[]; // 2
  more: boolean; // 3
  count: number; // 4
}

/** etcdserverpb.PutRequest: every put spends one revision, even with the same value. */
export interface PutRequest {
  key: Uint8Array; // 1
  value?: Uint8Array; // 2
  lease?: LeaseID; // 3
  prev_kv?: boolean; // 4
  ignore_value?: boolean; // 5
  ignore_lease?: boolean; // 6
}
/** etcdserverpb.PutResponse: prev_kv only when asked and the key existed. */
export interface PutResponse {
  header: ResponseHeader; // 1
  prev_kv?: KeyValue; // 2
}

/** etcdserverpb.DeleteRangeRequest: range_end read as in RangeRequest. */
export interface DeleteRangeRequest {
  key: Uint8Array; // 1
  range_end?: Uint8Array; // 2
  prev_kv?: boolean; // 3
}
/** etcdserverpb.DeleteRangeResponse: deleted = 0 means no revision was spent. */
export interface DeleteRangeResponse {
  header: ResponseHeader; // 1
  deleted: number; // 2
  prev_kvs: KeyValue[]; // 3
}

/** RequestOp: exactly one of the four is set (an op with none fails: "etcdserver: key not found"). */
export interface RequestOp {
  request_range?: RangeRequest; // 1
  request_put?: PutRequest; // 2
  request_delete_range?: DeleteRangeRequest; // 3
  request_txn?: TxnRequest; // 4
}
/** ResponseOp: exactly one of the four is set, matching the RequestOp. */
export interface ResponseOp {
  response_range?: RangeResponse; // 1
  response_put?: PutResponse; // 2
  response_delete_range?: DeleteRangeResponse; // 3
  response_txn?: TxnResponse; // 4
}

/** Compare.CompareResult: how the key's field must relate to the given one. */
export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];
/** Compare.CompareTarget: which field of the key is compared. */
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

/** Compare: `target` picks which of the target_union fields is read. */
export interface Compare {
  result: CompareResult; // 1
  target: CompareTarget; // 2
  key: Uint8Array; // 3
  version?: number; // 4
  create_revision?: number; // 5
  mod_revision?: number; // 6
  value?: Uint8Array; // 7
  lease?: LeaseID; // 8
  range_end?: Uint8Array; // 64
}

/** etcdserverpb.TxnRequest: all compares hold → success ops, otherwise failure ops; at most 128 of each. */
export interface TxnRequest {
  compare?: Compare[]; // 1
  success?: RequestOp[]; // 2
  failure?: RequestOp[]; // 3
}
/** etcdserverpb.TxnResponse: one ResponseOp per op that ran, in order. */
export interface TxnResponse {
  header: ResponseHeader; // 1
  succeeded: boolean; // 2
  responses: ResponseOp[]; // 3
}

/** etcdserverpb.CompactionRequest: revision must be above the last compaction and at most the current revision. */
export interface CompactionRequest {
  revision: number; // 1
  physical?: boolean; // 2
}
/** etcdserverpb.CompactionResponse: the header carries the current revision. */
export interface CompactionResponse {
  header: ResponseHeader; // 1
}

/** etcdserverpb.LeaseGrantRequest: TTLs below the minimum (2 s) are raised to it. */
export interface LeaseGrantRequest {
  TTL: number; // 1 (seconds)
  ID?: LeaseID; // 2 (0 = server picks)
}
/** etcdserverpb.LeaseGrantResponse: the granted ID and the TTL actually given. */
export interface LeaseGrantResponse {
  header: ResponseHeader; // 1
  ID: LeaseID; // 2
  TTL: number; // 3
  error: string; // 4
}
/** etcdserverpb.LeaseRevokeRequest: revoking deletes every attached key in one revision. */
export interface LeaseRevokeRequest {
  ID: LeaseID; // 1
}
/** etcdserverpb.LeaseRevokeResponse. */
export interface LeaseRevokeResponse {
  header: ResponseHeader; // 1
}
/** etcdserverpb.LeaseKeepAliveRequest: one renewal; a stream carries many. */
export interface LeaseKeepAliveRequest {
  ID: LeaseID; // 1
}
/** etcdserverpb.LeaseKeepAliveResponse: TTL 0 means the lease was not found. */
export interface LeaseKeepAliveResponse {
  header: ResponseHeader; // 1
  ID: LeaseID; // 2
  TTL: number; // 3 (0 = lease not found)
}
/** etcdserverpb.LeaseTimeToLiveRequest: keys=true also lists the attached keys. */
export interface LeaseTimeToLiveRequest {
  ID: LeaseID; // 1
  keys?: boolean; // 2
}
/** etcdserverpb.LeaseTimeToLiveResponse: TTL -1 means the lease was not found. */
export interface LeaseTimeToLiveResponse {
  header: ResponseHeader; // 1
  ID: LeaseID; // 2
  TTL: number; // 3 (-1 = lease not found)
  grantedTTL: number; // 4
  keys: Uint8Array[]; // 5
}
/** etcdserverpb.LeaseStatus: one entry of a leases list. */
export interface LeaseStatus {
  ID: LeaseID; // 1
}
/** etcdserverpb.LeaseLeasesResponse: every live lease. */
export interface LeaseLeasesResponse {
  header: ResponseHeader; // 1
  leases: LeaseStatus[]; // 2
}

/** WatchCreateRequest.FilterType: NOPUT drops PUT events, NODELETE drops DELETE events. */
export const WatchFilterType = { NOPUT: 0, NODELETE: 1 } as const;
export type WatchFilterType = (typeof WatchFilterType)[keyof typeof WatchFilterType];

/** etcdserverpb.WatchCreateRequest: start_revision 0 watches from the next revision; range_end read as in RangeRequest. */
export interface WatchCreateRequest {
  key: Uint8Array; // 1
  range_end?: Uint8Array; // 2
  start_revision?: number; // 3
  progress_notify?: boolean; // 4
  filters?: WatchFilterType[]; // 5
  prev_kv?: boolean; // 6
  watch_id?: number; // 7
  fragment?: boolean; // 8
}
/** etcdserverpb.WatchCancelRequest. */
export interface WatchCancelRequest {
  watch_id: number; // 1
}
/** WatchRequest: exactly one of create, cancel, progress. */
export interface WatchRequest {
  create_request?: WatchCreateRequest; // 1
  cancel_request?: WatchCancelRequest; // 2
  progress_request?: Record<string, never>; // 3
}
/** etcdserverpb.WatchResponse: events of one or more whole revisions, in revision order. */
export interface WatchResponse {
  header: ResponseHeader; // 1
  watch_id: number; // 2
  created: boolean; // 3
  canceled: boolean; // 4
  compact_revision: number; // 5
  cancel_reason: string; // 6
  fragment: boolean; // 7
  events: Event[]; // 11
}

/** etcdserverpb.StatusResponse, as a single fresh member reports it. */
export interface StatusResponse {
  header: ResponseHeader; // 1
  version: string; // 2
  dbSize: number; // 3
  leader: bigint; // 4
  raftIndex: number; // 5
  raftTerm: number; // 6
  raftAppliedIndex: number; // 7
  errors: string[]; // 8
  dbSizeInUse: number; // 9
  isLearner: boolean; // 10
}

// ── Maintenance service (rpc.proto: AlarmRequest … MoveLeaderResponse) ──────────────────────────

/** AlarmType: NONE in a request means "every alarm". */
export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];
/** AlarmRequest.AlarmAction. */
export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;
export type AlarmAction = (typeof AlarmAction)[keyof typeof AlarmAction];

/** etcdserverpb.AlarmRequest: GET lists (alarm NONE = all), ACTIVATE raises, DEACTIVATE disarms. */
export interface AlarmRequest {
  action?: AlarmAction; // 1
  memberID?: bigint; // 2 (uint64)
  alarm?: AlarmType; // 3
}
/** etcdserverpb.AlarmMember: one raised alarm, and the member that raised it. */
export interface AlarmMember {
  memberID: bigint; // 1 (uint64)
  alarm: AlarmType; // 2
}
/** etcdserverpb.AlarmResponse. Quirk: etcd sends it without a header (the gateway prints `{}`). */
export interface AlarmResponse {
  header?: ResponseHeader; // 1
  alarms: AlarmMember[]; // 2
}
/** etcdserverpb.DefragmentResponse. Quirk: sent without a header. */
export interface DefragmentResponse {
  header?: ResponseHeader; // 1
}
/** etcdserverpb.HashResponse: CRC-32C over every bucket of the backend (see hash.ts). */
export interface HashResponse {
  header: ResponseHeader; // 1
  hash: number; // 2 (uint32)
}
/** etcdserverpb.HashKVRequest: 0 hashes the key bucket at the current revision. */
export interface HashKVRequest {
  revision?: number; // 1
}
/** etcdserverpb.HashKVResponse: compact_revision is −1 before any compaction. */
export interface HashKVResponse {
  header: ResponseHeader; // 1
  hash: number; // 2 (uint32)
  compact_revision: number; // 3
}
/**
 * etcdserverpb.SnapshotResponse: one chunk of the backend image. No header. The stream ends with
 * one extra message whose blob is the SHA-256 of every data byte sent before it.
 */
export interface SnapshotResponse {
  header?: ResponseHeader; // 1
  remaining_bytes: number; // 2 (uint64)
  blob: Uint8Array; // 3
}
/** etcdserverpb.MoveLeaderRequest. */
export interface MoveLeaderRequest {
  targetID: bigint; // 1 (uint64)
}
/** etcdserverpb.MoveLeaderResponse. Quirk: sent without a header. */
export interface MoveLeaderResponse {
  header?: ResponseHeader; // 1
}

// ── Cluster service (rpc.proto: Member … MemberPromoteResponse) ─────────────────────────────────

/** etcdserverpb.Member: an unstarted member has no name and no client URLs. */
export interface Member {
  ID: bigint; // 1 (uint64)
  name: string; // 2
  peerURLs: string[]; // 3
  clientURLs: string[]; // 4
  isLearner: boolean; // 5
}
/** etcdserverpb.MemberAddRequest. */
export interface MemberAddRequest {
  peerURLs?: string[]; // 1
  isLearner?: boolean; // 2
}
/** etcdserverpb.MemberAddResponse: the new member and the whole list after the add. */
export interface MemberAddResponse {
  header: ResponseHeader; // 1 (no revision: Cluster headers carry only IDs and term)
  member: Member; // 2
  members: Member[]; // 3
}
/** etcdserverpb.MemberRemoveRequest. */
export interface MemberRemoveRequest {
  ID: bigint; // 1
}
/** etcdserverpb.MemberUpdateRequest. */
export interface MemberUpdateRequest {
  ID: bigint; // 1
  peerURLs?: string[]; // 2
}
/** etcdserverpb.MemberPromoteRequest. */
export interface MemberPromoteRequest {
  ID: bigint; // 1
}
/** Remove, Update, List and Promote answer the same shape: header and the member list. */
export interface MemberListResponse {
  header: ResponseHeader; // 1
  members: Member[]; // 2
}
export type MemberRemoveResponse = MemberListResponse;
export type MemberUpdateResponse = MemberListResponse;
export type MemberPromoteResponse = MemberListResponse;

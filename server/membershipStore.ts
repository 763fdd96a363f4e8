/**
 * Mirrors etcd release-3.4 `etcdserver/api/membership/store.go` (and the v2-store half of
 * `cluster.go`'s AddMember, RemoveMember, UpdateAttributes, UpdateRaftAttributes, SetVersion): the
 * membership records etcd keeps in the v2 store's internal `/0` directory.
 *
 * They are why a fresh real member's `X-Etcd-Index` is 3 before any client write (v2.md §1.5):
 *
 *   raft 1  ConfChange AddNode             →  create /0/members/<id>/raftAttributes  {"peerURLs":[…]}    v2 index 1
 *   raft 2  the new leader's empty entry   →  nothing
 *   raft 3  PUT /0/members/<id>/attributes →  set    /0/members/<id>/attributes      {"name":…,"clientURLs":[…]}  2
 *   raft 4  PUT /0/version                 →  set    /0/version                      3.4.0                 3
 *
 * and each restart publishes the attributes again (one more v2 index). Every record is an ordinary
 * v2 write (one index, one history event, counted in the store stats) that `/v2/keys`, which reaches
 * only `/1`, never shows (store.ts `internalWrite`). The same writes happen whether the entry is
 * applied live or replayed from the WAL, so a restarted member counts exactly as a real one.
 *
 * The JSON is Go's `json.Marshal` of etcd's structs, field order and `omitempty` included:
 *   RaftAttributes {"peerURLs":["http://127.0.0.1:2380"]}  or  {"peerURLs":[…],"isLearner":true}
 *   Attributes     {"name":"s1","clientURLs":["http://127.0.0.1:2379"]}
 */
import type { Store } from "../v2/store.js";

/** etcd's `StoreMembersPrefix` and `storeRemovedMembersPrefix`. */
const MEMBERS_PREFIX = "/0/members";
const REMOVED_MEMBERS_PREFIX = "/0/removed_members";
/** etcd's `StoreClusterVersionKey()`. */
export const CLUSTER_VERSION_KEY = "/0/version";

/** `/0/members/<id>/attributes`: the path of the PUT a member logs to publish its name and client URLs. */
export const ATTRIBUTES_PATH = /^\/0\/members\/([0-9a-f]+)\/attributes$/;

/** etcd's `MemberStoreKey`: the member's directory, named by its ID in unpadded hex. */
export function memberStoreKey(id: bigint): string {
  return `${MEMBERS_PREFIX}/${id.toString(16)}`;
}

/** Go's json.Marshal of `RaftAttributes`. */
export function raftAttributesJson(peerURLs: readonly string[], isLearner: boolean): string {
  return `{"peerURLs":${JSON.stringify(peerURLs)}${isLearner ? `,"isLearner":true` : ""}}`;
}

/** Go's json.Marshal of `Attributes` (`clientURLs` has no omitempty: an unstarted member's is null). */
export function attributesJson(name: string, clientURLs: readonly string[] | null): string {
  return `{"name":${JSON.stringify(name)},"clientURLs":${clientURLs === null ? "null" : JSON.stringify(clientURLs)}}`;
}

/** `mustSaveMemberToStore` (AddMember): creates the member's raftAttributes. One v2 index. */
export function saveMemberToStore(store: Store, id: bigint, peerURLs: readonly string[], isLearner: boolean): void {
  store.internalWrite("create", `${memberStoreKey(id)}/raftAttributes`, raftAttributesJson(peerURLs, isLearner));
}

/** `mustUpdateMemberAttrInStore` (UpdateAttributes): sets the published attributes. One v2 index. */
export function updateMemberAttributesInStore(store: Store, id: bigint, attributes: string): void {
  store.internalWrite("set", `${memberStoreKey(id)}/attributes`, attributes);
}

/** `mustUpdateMemberInStore` (UpdateRaftAttributes: MemberUpdate, MemberPromote). One v2 index. */
export function updateMemberInStore(store: Store, id: bigint, peerURLs: readonly string[], isLearner: boolean): void {
  store.internalWrite("update", `${memberStoreKey(id)}/raftAttributes`, raftAttributesJson(peerURLs, isLearner));
}

/**
 * `mustDeleteMemberFromStore` (RemoveMember): deletes the member's directory, then records the ID
 * under `/0/removed_members`. Two v2 indexes.
 */
export function deleteMemberFromStore(store: Store, id: bigint): void {
  store.internalWrite("delete", memberStoreKey(id), "");
  store.internalWrite("create", `${REMOVED_MEMBERS_PREFIX}/${id.toString(16)}`, "");
}

/** `mustSaveClusterVersionToStore` (SetVersion). One v2 index. */
export function saveClusterVersionToStore(store: Store, version: string): void {
  store.internalWrite("set", CLUSTER_VERSION_KEY, version);
}

/**
 * What a fresh member's four start-up entries write, for a member with no log (memory-only mode and
 * the in-process lessons): the same three records, so the v2 index is 3 as on a fresh real member.
 * Returns the raft index those entries would have reached (4).
 */
export function writeFreshMemberRecords(store: Store, id: bigint, member: { name: string; peerURLs: readonly string[]; clientURLs: readonly string[] }, version: string): number {
  saveMemberToStore(store, id, member.peerURLs, false);
  updateMemberAttributesInStore(store, id, attributesJson(member.name, member.clientURLs));
  saveClusterVersionToStore(store, version);
  return FRESH_MEMBER_RAFT_INDEX;
}

/** A fresh one-member cluster's raft index before any request: ConfChange, no-op, attributes, version. */
export const FRESH_MEMBER_RAFT_INDEX = 4;

/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/header.go`: the header every v3 response carries.
 *
 * A real server fills cluster_id, member_id and raft_term from its raft state; the IDs are hashes
 * of the member's peer URLs and name, so every real etcd on a fresh port prints different ones. The
 * simulator is one fresh member reporting the identity in the spec's captures (spec §13), so all
 * lessons print the same header:
 *
 *   cluster_id 1543700104741564242, member_id 10608898954038455804 (hex 933a6163ed79adfc),
 *   raft_term 2 (a single fresh member has won one election after start-up).
 *
 * Differential tests normalize these three fields; `revision` is compared exactly.
 */
import type { ResponseHeader } from "./rpc.js";

/** The cluster ID in the spec's captures (spec §13). */
export const CLUSTER_ID = 1543700104741564242n;
/** The member ID in the spec's captures (hex 933a6163ed79adfc). */
export const MEMBER_ID = 10608898954038455804n;
/** The raft term a single fresh member reports. */
export const RAFT_TERM = 2;

/** The identity a simulated member stamps on its responses. */
export interface MemberIdentity {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly raftTerm: number;
}

/** The default single fresh member. */
export const DEFAULT_MEMBER: MemberIdentity = { clusterId: CLUSTER_ID, memberId: MEMBER_ID, raftTerm: RAFT_TERM };

/** A fresh header for `revision`, as the member would print it. */
export function responseHeader(revision: number, member: MemberIdentity = DEFAULT_MEMBER): ResponseHeader {
  return { cluster_id: member.clusterId, member_id: member.memberId, revision, raft_term: member.raftTerm };
}

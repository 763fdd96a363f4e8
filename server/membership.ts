/**
 * Mirrors etcd release-3.4 `etcdserver/api/membership/member.go` and `cluster.go` (the ID parts only).
 *
 * etcd never stores a random member or cluster ID: both are derived from the configuration, so every
 * member of a new cluster computes the same IDs on its own. A member's ID is the first 8 bytes of
 * SHA-1 over its sorted peer URLs joined with nothing, followed by the cluster token. The cluster's ID
 * is the first 8 bytes of SHA-1 over its member IDs, sorted, each written as 8 big-endian bytes.
 *
 *   peer URLs ["http://localhost:2380"], token "etcd-cluster"   (a bare `etcd` with no flags)
 *     member ID  = sha1("http://localhost:2380" + "etcd-cluster")[0..8]  →  8e9e05c52164694d
 *     cluster ID = sha1(bytes(0x8e9e05c52164694d))[0..8]                 →  cdf818194e3a8c32
 *
 * etcdsim is always a one-member cluster, but computing the IDs this way means the simulator started
 * with a real etcd's peer URL answers with the very same `X-Etcd-Cluster-Id`.
 */
import { createHash } from "node:crypto";

/** etcd's default `--initial-cluster-token`. */
export const DEFAULT_CLUSTER_TOKEN = "etcd-cluster";

/** etcd's default `--initial-advertise-peer-urls`. */
export const DEFAULT_PEER_URL = "http://localhost:2380";

/** What the HTTP handlers need to know about the (one-member) cluster. */
export interface ClusterInfo {
  /** 16 lower-case hex digits, as `X-Etcd-Cluster-Id` prints it. */
  readonly clusterId: string;
  readonly memberId: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

/** First 8 bytes of a SHA-1 digest as an unsigned 64-bit number. */
function sha1Uint64(data: Buffer): bigint {
  return createHash("sha1").update(data).digest().readBigUInt64BE(0);
}

/** Go's `types.ID.String()`: lower-case hex without leading zeros. */
function idString(id: bigint): string {
  return id.toString(16);
}

/**
 * A member's ID from its peer URLs and the cluster token (`computeMemberId`; `now` is nil for members
 * of the initial cluster, so no time goes into the hash).
 */
export function computeMemberId(peerUrls: readonly string[], clusterToken: string): bigint {
  const joined = [...peerUrls].sort().join("") + clusterToken;
  return sha1Uint64(Buffer.from(joined, "utf8"));
}

/** The cluster ID from all member IDs (`genID`). */
export function computeClusterId(memberIds: readonly bigint[]): bigint {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const bytes = Buffer.alloc(8 * sorted.length);
  sorted.forEach((id, i) => bytes.writeBigUInt64BE(id, 8 * i));
  return sha1Uint64(bytes);
}

/** The one-member cluster etcdsim presents. */
export function singleMemberCluster(options: {
  name: string;
  peerUrls: readonly string[];
  clientUrls: readonly string[];
  clusterToken?: string;
}): ClusterInfo {
  const memberId = computeMemberId(options.peerUrls, options.clusterToken ?? DEFAULT_CLUSTER_TOKEN);
  return {
    clusterId: idString(computeClusterId([memberId])),
    memberId: idString(memberId),
    name: options.name,
    peerUrls: [...options.peerUrls],
    clientUrls: [...options.clientUrls],
  };
}

/**
 * The member JSON a ConfChange AddNode carries as its context (etcd's `Member` without client URLs):
 *   {"id":14705550882591809088,"peerURLs":["http://127.0.0.1:43102"],"name":"s1"}   (the ID in decimal)
 */
export function memberContextJson(memberId: bigint, peerUrls: readonly string[], name: string): string {
  return `{"id":${memberId.toString()},"peerURLs":${JSON.stringify(peerUrls)},"name":${JSON.stringify(name)}}`;
}

/**
 * Mirrors etcd release-3.4 `etcdserver/api/membership/cluster.go` and `member.go`, with the checks of
 * `etcdserver/server.go` (`mayAddMember`, `mayRemoveMember`, `mayPromoteMember`) that guard each
 * membership change: the member list of a cluster that etcdsim runs as its one started member.
 *
 * Only the local member ever starts, so every member added by MemberAdd stays "unstarted" (no name,
 * no client URLs). What a real single member then answers follows from the quorum arithmetic:
 *
 *   add learner        → accepted; promote it → "…learner member which is in sync with leader" (never catches up)
 *   add voter          → accepted (strict reconfig lets a 1-member cluster grow to 2), and from then on
 *                        2 voters with 1 started have no quorum: anything that goes through raft times out
 *   remove self        → "re-configuration failed due to not enough started members" (the only voter)
 *   remove a learner   → accepted; its ID goes to members_removed and can never come back
 *   update a learner   → accepted, and (quirk) its membership record loses the learner flag while raft
 *                        keeps it a learner: MemberList shows a voter, the quorum is unchanged
 *
 * A member's ID is the first 8 bytes of SHA-1 over its sorted peer URLs and, for a MemberAdd, the Unix
 * time in seconds, so the same URL added twice within one second collides ("member ID already exist").
 * Every member is also written to the backend's `members` bucket as etcd's JSON (`{"id":…,"peerURLs":[…],
 * "name":…,"clientURLs":[…]}`), keyed by its ID in unpadded hex.
 */
import { createHash } from "node:crypto";
import type { Member } from "./rpc.js";
import { GrpcCode, RpcError } from "./errors.js";

/** etcd's `maxLearners`: at most one learner at a time in 3.4. */
export const MAX_LEARNERS = 1;

export const RPC_MEMBER_EXIST = "etcdserver: member ID already exist";
export const RPC_PEER_URL_EXIST = "etcdserver: Peer URLs already exists";
export const RPC_MEMBER_NOT_ENOUGH_STARTED = "etcdserver: re-configuration failed due to not enough started members";
export const RPC_MEMBER_BAD_URLS = "etcdserver: given member URLs are invalid";
export const RPC_MEMBER_NOT_FOUND = "etcdserver: member not found";
export const RPC_MEMBER_NOT_LEARNER = "etcdserver: can only promote a learner member";
export const RPC_LEARNER_NOT_READY = "etcdserver: can only promote a learner member which is in sync with leader";
export const RPC_TOO_MANY_LEARNERS = "etcdserver: too many learner members in cluster";
export const RPC_UNHEALTHY = "etcdserver: unhealthy cluster";
/** What a client with a deadline sees when a proposal cannot commit (observed with etcdctl's 5 s timeout). */
export const ERR_DEADLINE_EXCEEDED = "context deadline exceeded";

/**
 * A request that needed raft while the cluster has no quorum. etcd blocks until the caller's
 * deadline and then answers code 2 "context deadline exceeded"; a transport that knows the call's
 * deadline may hold the answer until then.
 */
export class NoQuorumError extends RpcError {
  constructor() {
    super(GrpcCode.Unknown, ERR_DEADLINE_EXCEEDED);
    this.name = "NoQuorumError";
  }
}

/** The name, peer and client URLs of the local member (etcd's `--name`, advertise URLs). */
export interface MemberAttributes {
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

/** etcd's default `--name`, `--initial-advertise-peer-urls` and `--advertise-client-urls`. */
export const DEFAULT_MEMBER_ATTRIBUTES: MemberAttributes = {
  name: "default",
  peerURLs: ["http://localhost:2380"],
  clientURLs: ["http://localhost:2379"],
};

/** etcd's `RaftCluster`: the members by ID, the removed IDs, and the local member. */
export class RaftCluster {
  private readonly members = new Map<bigint, Member>();
  private readonly removed = new Set<bigint>();
  /**
   * Raft's own view of which members are learners. It differs from the members' `isLearner` after
   * the MemberUpdate quirk: the membership record loses the flag, raft keeps the member a learner.
   */
  private readonly raftLearners = new Set<bigint>();
  /** `hasQuorum()`, recomputed on every membership change (every request asks it). */
  private quorum = true;

  constructor(
    readonly localID: bigint,
    local: MemberAttributes,
    private readonly membersBucket: Map<string, Uint8Array>,
    private readonly removedBucket: Map<string, Uint8Array>,
  ) {
    this.save({ ID: localID, name: local.name, peerURLs: [...local.peerURLs], clientURLs: [...local.clientURLs], isLearner: false });
  }

  /** Every member, by ID (etcd sorts `Members()` so). */
  list(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0)).map(copyMember);
  }

  /** True while the started voters are a majority of the voters (only the local member is started). O(1). */
  hasQuorum(): boolean {
    return this.quorum;
  }

  /** Throws NoQuorumError unless a proposal could commit now. O(1). */
  requireQuorum(): void {
    if (!this.quorum) throw new NoQuorumError();
  }

  private recomputeQuorum(): void {
    const voters = [...this.members.values()].filter((m) => !this.raftLearners.has(m.ID));
    this.quorum = voters.filter(isStarted).length >= Math.floor(voters.length / 2) + 1;
  }

  /** True if `id` is a member (learner or voter). */
  has(id: bigint): boolean {
    return this.members.has(id);
  }

  /** True if `id` is a learner. */
  isLearner(id: bigint): boolean {
    return this.members.get(id)?.isLearner === true;
  }

  /**
   * MemberAdd: validates the URLs, runs mayAddMember, then the apply-time checks. `nowSeconds` goes into
   * the ID (etcd: `NewMember("", urls, "", &now)`). Returns the new member.
   */
  add(peerURLs: readonly string[], isLearner: boolean, nowSeconds: number): Member {
    return this.applyAdd(this.proposeAdd(peerURLs, isLearner, nowSeconds));
  }

  /**
   * MemberAdd's proposal half (before anything is logged): the URLs, mayAddMember, quorum, and the new
   * member's ID. Changes nothing; returns the member the ConfChange carries.
   */
  proposeAdd(peerURLs: readonly string[], isLearner: boolean, nowSeconds: number): Member {
    const urls = validateURLs(peerURLs);
    // mayAddMember (strict reconfig check): a voter may join only while the started voters stay a
    // majority, except that a one-member cluster may grow to two.
    const voters = [...this.members.values()].filter((m) => !m.isLearner);
    if (!isLearner) {
      const members = voters.length + 1;
      const started = voters.filter(isStarted).length;
      if (!(started === 1 && members === 2) && started < Math.floor(members / 2) + 1) {
        throw new RpcError(GrpcCode.Unknown, RPC_MEMBER_NOT_ENOUGH_STARTED);
      }
    }
    // ... and every voter must be connected: an unstarted voter never is.
    if (voters.some((m) => !isStarted(m))) throw new RpcError(GrpcCode.Unavailable, RPC_UNHEALTHY);
    this.requireQuorum();
    return { ID: memberIdFor(urls, String(nowSeconds)), name: "", peerURLs: urls, clientURLs: [], isLearner };
  }

  /** MemberAdd's apply half (the committed ConfChange): ValidateConfigurationChange, then the member joins. */
  applyAdd(proposed: Member): Member {
    const id = proposed.ID;
    // ValidateConfigurationChange, at apply time (a removed ID answers "member not found").
    if (this.removed.has(id)) throw new RpcError(GrpcCode.NotFound, RPC_MEMBER_NOT_FOUND);
    if (this.members.has(id)) throw new RpcError(GrpcCode.FailedPrecondition, RPC_MEMBER_EXIST);
    this.checkPeerURLsFree(proposed.peerURLs, undefined);
    if (proposed.isLearner && [...this.members.values()].filter((m) => m.isLearner).length + 1 > MAX_LEARNERS) {
      throw new RpcError(GrpcCode.FailedPrecondition, RPC_TOO_MANY_LEARNERS);
    }
    const member: Member = copyMember(proposed);
    if (member.isLearner) this.raftLearners.add(id);
    this.save(member);
    return copyMember(member);
  }

  /** MemberRemove: mayRemoveMember, then the apply-time check. */
  remove(id: bigint): void {
    this.proposeRemove(id);
    this.applyRemove(id);
  }

  /** MemberRemove's proposal half: mayRemoveMember and quorum. */
  proposeRemove(id: bigint): void {
    const member = this.members.get(id);
    if (member?.isLearner !== true) {
      // Removing a voter must leave a majority of the remaining voters started.
      const others = [...this.members.values()].filter((m) => !m.isLearner && m.ID !== id);
      const started = others.filter(isStarted).length;
      if (started < Math.floor(others.length / 2) + 1) throw new RpcError(GrpcCode.Unknown, RPC_MEMBER_NOT_ENOUGH_STARTED);
    }
    this.requireQuorum();
  }

  /** MemberRemove's apply half: the member must exist; its ID is then removed for good. */
  applyRemove(id: bigint): void {
    const member = this.members.get(id);
    if (this.removed.has(id) || member === undefined) throw new RpcError(GrpcCode.NotFound, RPC_MEMBER_NOT_FOUND);
    this.members.delete(id);
    this.raftLearners.delete(id);
    this.membersBucket.delete(id.toString(16));
    this.removed.add(id);
    this.removedBucket.set(id.toString(16), new TextEncoder().encode("removed"));
    this.recomputeQuorum();
  }

  /** MemberUpdate: new peer URLs. Quirk: the new raft attributes carry no learner flag, so a learner becomes a voter in the list. */
  update(id: bigint, peerURLs: readonly string[]): void {
    this.applyUpdate(id, this.proposeUpdate(peerURLs));
  }

  /** MemberUpdate's proposal half: the URLs (sorted) and quorum. */
  proposeUpdate(peerURLs: readonly string[]): string[] {
    const urls = validateURLs(peerURLs);
    this.requireQuorum();
    return urls;
  }

  /** MemberUpdate's apply half. */
  applyUpdate(id: bigint, urls: readonly string[]): void {
    const member = this.members.get(id);
    if (this.removed.has(id) || member === undefined) throw new RpcError(GrpcCode.NotFound, RPC_MEMBER_NOT_FOUND);
    this.checkPeerURLsFree(urls, id);
    this.save({ ...member, peerURLs: [...urls], isLearner: false });
  }

  /** MemberPromote: only a learner in sync with the leader may become a voter; an unstarted one never is. */
  promote(id: bigint): void {
    this.proposePromote(id);
    this.applyPromote(id);
  }

  /** MemberPromote's proposal half: isLearnerReady (an unstarted learner never is) and quorum. */
  proposePromote(id: bigint): Member | undefined {
    const member = this.members.get(id);
    // isLearnerReady reads raft's progress, so a learner that lost its flag is still "not ready".
    if (member !== undefined && this.raftLearners.has(id) && !isStarted(member)) {
      throw new RpcError(GrpcCode.FailedPrecondition, RPC_LEARNER_NOT_READY);
    }
    this.requireQuorum();
    return member === undefined ? undefined : copyMember(member);
  }

  /** MemberPromote's apply half: the member must exist and be a learner. */
  applyPromote(id: bigint): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new RpcError(GrpcCode.NotFound, RPC_MEMBER_NOT_FOUND);
    if (!member.isLearner) throw new RpcError(GrpcCode.FailedPrecondition, RPC_MEMBER_NOT_LEARNER);
    this.raftLearners.delete(id);
    const promoted = { ...member, isLearner: false };
    this.save(promoted);
    return copyMember(promoted);
  }

  /**
   * etcd 3.4's `RaftCluster.Recover` (`membersFromStore`): the members and removed IDs as the v2
   * store's `/0` records hold them after a snapshot was loaded, before the WAL's ConfChanges are
   * replayed over them. The local member keeps the attributes it starts with (it publishes them
   * again at once). Raft's learner set is taken from the records' `isLearner` flags.
   *
   *   records  /0/members/1a2b/raftAttributes  {"peerURLs":["http://10.0.0.9:2380"],"isLearner":true}
   *            /0/removed_members/3c4d         ""
   */
  recover(records: ReadonlyMap<string, string>): void {
    const local = this.members.get(this.localID);
    this.members.clear();
    this.removed.clear();
    this.raftLearners.clear();
    this.membersBucket.clear();
    this.removedBucket.clear();
    for (const [path, value] of records) {
      const removed = /^\/0\/removed_members\/([0-9a-f]+)$/.exec(path);
      if (removed !== null) {
        const id = BigInt(`0x${removed[1] as string}`);
        this.removed.add(id);
        this.removedBucket.set(id.toString(16), new TextEncoder().encode("removed"));
        continue;
      }
      const raft = /^\/0\/members\/([0-9a-f]+)\/raftAttributes$/.exec(path);
      if (raft === null) continue;
      const id = BigInt(`0x${raft[1] as string}`);
      const attributes = JSON.parse(value) as { peerURLs?: string[]; isLearner?: boolean };
      const published = records.get(`/0/members/${id.toString(16)}/attributes`);
      const named = published === undefined ? {} : (JSON.parse(published) as { name?: string; clientURLs?: string[] | null });
      const member: Member =
        id === this.localID && local !== undefined
          ? { ...local, peerURLs: attributes.peerURLs ?? [] }
          : { ID: id, name: named.name ?? "", peerURLs: attributes.peerURLs ?? [], clientURLs: named.clientURLs ?? [], isLearner: attributes.isLearner === true };
      if (member.isLearner) this.raftLearners.add(id);
      this.save(member);
    }
    if (local !== undefined && !this.members.has(this.localID)) this.save(local);
    this.recomputeQuorum();
  }

  private checkPeerURLsFree(urls: readonly string[], except: bigint | undefined): void {
    const used = new Set<string>();
    for (const m of this.members.values()) if (m.ID !== except) for (const u of m.peerURLs) used.add(u);
    if (urls.some((u) => used.has(u))) throw new RpcError(GrpcCode.FailedPrecondition, RPC_PEER_URL_EXIST);
  }

  private save(member: Member): void {
    this.members.set(member.ID, member);
    this.membersBucket.set(member.ID.toString(16), new TextEncoder().encode(memberJson(member)));
    this.recomputeQuorum();
  }
}

/** etcd's `IsStarted`: a member is started once it published its name. */
function isStarted(member: Member): boolean {
  return member.name !== "";
}

function copyMember(member: Member): Member {
  return { ...member, peerURLs: [...member.peerURLs], clientURLs: [...member.clientURLs] };
}

/** The members-bucket JSON, in Go's field order with its omitempty rules. */
export function memberJson(member: Member): string {
  const parts = [`"id":${member.ID}`, `"peerURLs":${JSON.stringify(member.peerURLs)}`];
  if (member.isLearner) parts.push(`"isLearner":true`);
  if (member.name !== "") parts.push(`"name":${JSON.stringify(member.name)}`);
  if (member.clientURLs.length > 0) parts.push(`"clientURLs":${JSON.stringify(member.clientURLs)}`);
  return `{${parts.join(",")}}`;
}

/** First 8 bytes of SHA-1 over the sorted URLs and a suffix (etcd's `newMember`). */
export function memberIdFor(sortedURLs: readonly string[], suffix: string): bigint {
  return createHash("sha1")
    .update(sortedURLs.join("") + suffix, "utf8")
    .digest()
    .readBigUInt64BE(0);
}

/**
 * etcd's `types.NewURLs`: each URL needs scheme http, https, unix or unixs, a host:port and no
 * path; the list comes back sorted. Any failure is "given member URLs are invalid".
 */
export function validateURLs(urls: readonly string[]): string[] {
  for (const text of urls) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new RpcError(GrpcCode.InvalidArgument, RPC_MEMBER_BAD_URLS);
    }
    const schemeOk = ["http:", "https:", "unix:", "unixs:"].includes(url.protocol);
    // Everything after "scheme://" must be host:port: no path (not even "/"), query or fragment.
    const hostPort = /^[^/?#]*:\d+$/.test(text.slice(url.protocol.length + 2));
    if (!schemeOk || !hostPort) {
      throw new RpcError(GrpcCode.InvalidArgument, RPC_MEMBER_BAD_URLS);
    }
  }
  return [...urls].sort();
}

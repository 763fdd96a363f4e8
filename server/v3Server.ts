/**
 * Mirrors etcd release-3.4 `etcdserver/v3_server.go` (`raftRequest`) and the v3 half of `apply.go`:
 * with a data dir, every v3 request that changes state goes through the log before it is applied.
 *
 *   Put, DeleteRange, Txn, Compact, LeaseGrant, LeaseRevoke, Alarm  →  logged, synced, applied, answered
 *   Range, LeaseTimeToLive, LeaseLeases, Status, Hash, keep-alives, Watch   →  served at once (no log entry)
 *
 * Not logged yet (they change state in memory only, and a crash forgets what the backend had not
 * committed): member add/remove/update/promote (ConfChanges in etcd), and the keys that
 * Lock and Election write through the in-process concurrency client.
 *
 * A grant without an ID gets one before it is logged, so replaying the entry grants the same lease.
 * Lease expiry is proposed as a LeaseRevoke, as etcd's leader does.
 *
 * Replay (`applyV3Entry` at start-up) runs the same code. It must be harmless for an entry whose
 * effect is already in the backend: such entries are skipped by `consistent_index` when they changed
 * keys, and the others fail as etcd's do (a lease granted twice, a revision compacted twice) and the
 * failure is only reported.
 */
import type { EtcdServer } from "../v3/etcdServer.js";
import type { V3Api } from "../v3/gateway.js";
import type {
  AlarmRequest,
  MemberAddRequest,
  MemberPromoteRequest,
  MemberRemoveRequest,
  MemberUpdateRequest,
  MoveLeaderRequest,
  CompactionRequest,
  DeleteRangeRequest,
  HashKVRequest,
  LeaseGrantRequest,
  LeaseID,
  LeaseKeepAliveRequest,
  LeaseRevokeRequest,
  LeaseTimeToLiveRequest,
  PutRequest,
  RangeRequest,
  TxnRequest,
  WatchResponse,
} from "../v3/rpc.js";
import type { LockRequest, UnlockRequest } from "../v3/v3lock.js";
import type { CampaignRequest, LeaderRequest, LeaderResponse, ProclaimRequest, ResignRequest } from "../v3/v3election.js";
import { DiskBackend } from "./backend/backend.js";
import { encodeV3Entry, type V3Entry } from "./etcdserverpb.js";
import type { RaftNode } from "./raft.js";

/** Applies one logged v3 request to the server and returns its answer (throws its error). */
export function applyV3Entry(server: EtcdServer, entry: V3Entry): unknown {
  switch (entry.op) {
    case "put":
      return server.put(entry.request as PutRequest);
    case "deleteRange":
      return server.deleteRange(entry.request as DeleteRangeRequest);
    case "txn":
      return server.txn(entry.request as TxnRequest);
    case "compaction":
      return server.compact(entry.request as CompactionRequest);
    case "leaseGrant":
      return server.leaseGrant(entry.request as LeaseGrantRequest);
    case "leaseRevoke":
      return server.leaseRevoke(entry.request as LeaseRevokeRequest);
    case "alarm":
      return server.alarm(entry.request as AlarmRequest);
    default:
      throw new Error(`etcdsim: unknown v3 entry ${String(entry.op)}`);
  }
}

/** The gateway's API over a server whose writes go through `node`. */
export class LoggedV3Api implements V3Api {
  private readonly revoking = new Set<LeaseID>();

  constructor(
    readonly server: EtcdServer,
    private readonly node: RaftNode,
  ) {}

  private propose<T>(entry: V3Entry): Promise<T> {
    return this.node.propose(encodeV3Entry(entry), () => applyV3Entry(this.server, entry) as T);
  }

  range(request: RangeRequest) {
    return this.server.range(request);
  }
  put(request: PutRequest) {
    return this.propose<ReturnType<EtcdServer["put"]>>({ op: "put", request });
  }
  deleteRange(request: DeleteRangeRequest) {
    return this.propose<ReturnType<EtcdServer["deleteRange"]>>({ op: "deleteRange", request });
  }
  txn(request: TxnRequest) {
    return this.propose<ReturnType<EtcdServer["txn"]>>({ op: "txn", request });
  }
  compact(request: CompactionRequest) {
    return this.propose<ReturnType<EtcdServer["compact"]>>({ op: "compaction", request });
  }
  leaseGrant(request: LeaseGrantRequest) {
    const withId: LeaseGrantRequest = request.ID === undefined || request.ID === 0n ? { ...request, ID: this.server.nextLeaseId() } : request;
    return this.propose<ReturnType<EtcdServer["leaseGrant"]>>({ op: "leaseGrant", request: withId });
  }
  leaseRevoke(request: LeaseRevokeRequest) {
    return this.propose<ReturnType<EtcdServer["leaseRevoke"]>>({ op: "leaseRevoke", request });
  }
  leaseKeepAlive(request: LeaseKeepAliveRequest) {
    return this.server.leaseKeepAlive(request);
  }
  leaseTimeToLive(request: LeaseTimeToLiveRequest) {
    return this.server.leaseTimeToLive(request);
  }
  leaseLeases() {
    return this.server.leaseLeases();
  }
  status() {
    return this.server.status();
  }
  alarm(request: AlarmRequest) {
    return this.propose<ReturnType<EtcdServer["alarm"]>>({ op: "alarm", request });
  }
  watch(onResponse: (response: WatchResponse) => void, options: { autoPump: boolean }) {
    return this.server.watch(onResponse, options);
  }
  hash() {
    return this.server.hash();
  }
  hashKV(request: HashKVRequest) {
    return this.server.hashKV(request);
  }
  /** etcd's Defragment on a file: rewritten without its free pages before the answer (backend.ts). */
  async defragment() {
    if (this.server.backend instanceof DiskBackend) await this.server.backend.defragFile();
    return this.server.defragment();
  }
  snapshot() {
    return this.server.snapshot();
  }
  moveLeader(request: MoveLeaderRequest) {
    return this.server.moveLeader(request);
  }
  memberList() {
    return this.server.memberList();
  }
  memberAdd(request: MemberAddRequest) {
    return this.server.memberAdd(request);
  }
  memberRemove(request: MemberRemoveRequest) {
    return this.server.memberRemove(request);
  }
  memberUpdate(request: MemberUpdateRequest) {
    return this.server.memberUpdate(request);
  }
  memberPromote(request: MemberPromoteRequest) {
    return this.server.memberPromote(request);
  }
  lock(request: LockRequest, signal?: AbortSignal) {
    return this.server.lock(request, signal);
  }
  unlock(request: UnlockRequest) {
    return this.server.unlock(request);
  }
  campaign(request: CampaignRequest, signal?: AbortSignal) {
    return this.server.campaign(request, signal);
  }
  proclaim(request: ProclaimRequest) {
    return this.server.proclaim(request);
  }
  leader(request: LeaderRequest) {
    return this.server.leader(request);
  }
  resign(request: ResignRequest) {
    return this.server.resign(request);
  }
  observe(request: LeaderRequest, send: (response: LeaderResponse) => void, signal: AbortSignal) {
    return this.server.observe(request, send, signal);
  }

  /**
   * The lessor's expiry pass with a log: each expired lease is proposed as a LeaseRevoke (once; a lease
   * already being revoked is not proposed again). A lease revoked meanwhile by a client fails harmlessly.
   */
  revokeExpiredLeases(nowMs: number): void {
    for (const lease of this.server.lessor.findExpiredLeases(nowMs)) {
      if (this.revoking.has(lease.ID)) continue;
      this.revoking.add(lease.ID);
      this.leaseRevoke({ ID: lease.ID })
        .catch(() => undefined)
        .finally(() => this.revoking.delete(lease.ID));
    }
  }
}

/**
 * Mirrors etcd release-3.4 `etcdserver/v3_server.go` (`raftRequest`) and the v3 half of `apply.go`:
 * with a data dir, every v3 request that changes state goes through the log before it is applied.
 *
 *   Put, DeleteRange, Txn, Compact, LeaseGrant, LeaseRevoke, Alarm  →  logged, synced, applied, answered
 *   every Auth call (reads too, as etcd's), Authenticate               →  logged, synced, applied, answered
 *   MemberAdd, MemberRemove, MemberUpdate, MemberPromote               →  logged as a ConfChange, applied, answered
 *   Range, LeaseTimeToLive, LeaseLeases, Status, Hash, keep-alives, Watch   →  served at once (no log entry)
 *
 * Credentials are resolved before anything is logged (a bad token fails at once), and the entry
 * carries the caller's name and auth revision, as etcd's RequestHeader does; the apply checks
 * permissions against that identity. As in etcd 3.4.23, UserAdd/ChangePassword log the password as
 * sent, but Authenticate does not (its InternalAuthenticateRequest carries the name and the simple
 * token's prefix only, as a real 3.4.23's WAL shows); the auth store's state lives in the backend's
 * auth, authUsers and authRoles buckets.
 *
 *   a read-only Txn                                                      →  served at once, as etcd's
 *   Lock, Unlock, Campaign, Proclaim, Resign  →  their lease grants, txns and deletes are logged one by
 *                                                one (etcd's services use a clientv3 client)
 *
 * MemberAdd/Remove/Update/Promote are checked (admin, mayAddMember…, quorum), then logged as raft
 * ConfChange entries (confChange.ts) and applied at commit to the member list and the v2 store's `/0`
 * records; a restart rebuilds the list from those records and replays the ConfChanges after them.
 *
 * A grant without an ID gets one before it is logged, so replaying the entry grants the same lease.
 * Lease expiry is proposed as a LeaseRevoke, as etcd's leader does.
 *
 * Replay (`applyV3Entry` at start-up) runs the same code. It must be harmless for an entry whose
 * effect is already in the backend: such entries are skipped by `consistent_index` when they changed
 * keys, and the others fail as etcd's do (a lease granted twice, a revision compacted twice) and the
 * failure is only reported.
 */
import type { CallContext, EtcdServer } from "../v3/etcdServer.js";
import type { V3Api, V3AuthApi, V3AuthMethod } from "../v3/gateway.js";
import { toRpcError } from "../v3/errors.js";
import { isTxnReadonly } from "../v3/apply.js";
import { ROOT_USER } from "../v3/auth/store.js";
import type {
  AlarmRequest,
  AuthEmptyRequest,
  AuthenticateRequest,
  AuthenticateResponse,
  AuthRoleAddRequest,
  AuthRoleGrantPermissionRequest,
  AuthRoleNameRequest,
  AuthRoleRevokePermissionRequest,
  AuthUserAddRequest,
  AuthUserChangePasswordRequest,
  AuthUserGrantRoleRequest,
  AuthUserNameRequest,
  AuthUserRevokeRoleRequest,
  Member,
  MemberAddRequest,
  MemberAddResponse,
  MemberListResponse,
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
import { addMemberChange, promoteMemberChange, removeMemberChange, updateMemberChange } from "./confChange.js";
import { encodeConfChange, EntryType, type ConfChange } from "./raftpb.js";

/** Applies one logged v3 request to the server and returns its answer (throws its error). */
export function applyV3Entry(server: EtcdServer, entry: V3Entry): unknown {
  const ctx: CallContext = entry.who === undefined ? {} : { authInfo: entry.who };
  switch (entry.op) {
    case "put":
      return server.put(entry.request as PutRequest, ctx);
    case "deleteRange":
      return server.deleteRange(entry.request as DeleteRangeRequest, ctx);
    case "txn":
      return server.txn(entry.request as TxnRequest, ctx);
    case "compaction":
      return server.compact(entry.request as CompactionRequest, ctx);
    case "leaseGrant":
      return server.leaseGrant(entry.request as LeaseGrantRequest);
    case "leaseRevoke":
      return server.leaseRevoke(entry.request as LeaseRevokeRequest, ctx);
    case "alarm":
      return server.alarm(entry.request as AlarmRequest);
    case "authenticate":
      return server.authenticateApply(entry.request as { name: string; prefix: string }, ctx);
    case "auth": {
      const method = entry.method as V3AuthMethod;
      if (!AUTH_METHODS.includes(method)) throw new Error(`etcdsim: unknown auth entry ${String(entry.method)}`);
      return (server[method] as (request: unknown, ctx: CallContext) => unknown).call(server, entry.request, ctx);
    }
    default:
      throw new Error(`etcdsim: unknown v3 entry ${String(entry.op)}`);
  }
}

/** The Auth methods that go through the log as an "auth" entry (Authenticate has an entry of its own). */
const AUTH_METHODS: readonly V3AuthMethod[] = [
  "authEnable",
  "authDisable",
  "userAdd",
  "userGet",
  "userList",
  "userDelete",
  "userChangePassword",
  "userGrantRole",
  "userRevokeRole",
  "roleAdd",
  "roleGet",
  "roleList",
  "roleDelete",
  "roleGrantPermission",
  "roleRevokePermission",
];

/** The gateway's and gRPC's API over a server whose writes go through `node`. */
export class LoggedV3Api implements V3Api, V3AuthApi {
  private readonly revoking = new Set<LeaseID>();

  constructor(
    readonly server: EtcdServer,
    private readonly node: RaftNode,
    /** Applies a committed ConfChange (the member's `applyConfChange`). */
    private readonly applyConfChange?: (change: ConfChange) => Member | undefined,
    /** Draws the header ID of each v3 entry (etcd's `reqIDGen`, shared with v2 requests). */
    private readonly nextRequestId: () => bigint = () => 0n,
  ) {
    // etcd's Lock and Election services write through a clientv3 client: ordinary raft requests.
    server.routeServiceWrites(this);
  }

  private propose<T>(entry: V3Entry): Promise<T> {
    return this.node.propose(encodeV3Entry({ ...entry, id: this.nextRequestId() }), () => applyV3Entry(this.server, entry) as T);
  }

  /**
   * Resolves the caller, then logs `entry` with it (etcd's `raftRequest`: AuthInfoFromCtx before the
   * proposal). A token that is not accepted fails here, before anything reaches the log.
   */
  private proposeAs<T>(ctx: CallContext, entry: V3Entry): Promise<T> {
    let who;
    try {
      who = this.server.authInfoFromCtx(ctx);
    } catch (error) {
      return Promise.reject(toRpcError(error));
    }
    return this.propose<T>(who === undefined ? entry : { ...entry, who: { username: who.username, revision: who.revision } });
  }

  private auth<M extends V3AuthMethod>(method: M, request: unknown, ctx: CallContext = {}): Promise<ReturnType<EtcdServer[M]>> {
    return this.proposeAs(ctx, { op: "auth", method, request });
  }

  range(request: RangeRequest, ctx?: CallContext) {
    return this.server.range(request, ctx);
  }
  put(request: PutRequest, ctx: CallContext = {}) {
    return this.proposeAs<ReturnType<EtcdServer["put"]>>(ctx, { op: "put", request });
  }
  deleteRange(request: DeleteRangeRequest, ctx: CallContext = {}) {
    return this.proposeAs<ReturnType<EtcdServer["deleteRange"]>>(ctx, { op: "deleteRange", request });
  }
  /** A read-only txn is served at once, as etcd's Txn does (no log entry); any other is logged. */
  txn(request: TxnRequest, ctx: CallContext = {}) {
    if (isTxnReadonly(request)) return Promise.resolve().then(() => this.server.txn(request, ctx));
    return this.proposeAs<ReturnType<EtcdServer["txn"]>>(ctx, { op: "txn", request });
  }
  compact(request: CompactionRequest, ctx: CallContext = {}) {
    return this.proposeAs<ReturnType<EtcdServer["compact"]>>(ctx, { op: "compaction", request });
  }
  leaseGrant(request: LeaseGrantRequest) {
    const withId: LeaseGrantRequest = request.ID === undefined || request.ID === 0n ? { ...request, ID: this.server.nextLeaseId() } : request;
    return this.propose<ReturnType<EtcdServer["leaseGrant"]>>({ op: "leaseGrant", request: withId });
  }
  leaseRevoke(request: LeaseRevokeRequest, ctx: CallContext = {}) {
    return this.proposeAs<ReturnType<EtcdServer["leaseRevoke"]>>(ctx, { op: "leaseRevoke", request });
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
  watch(onResponse: (response: WatchResponse) => void, options: { autoPump: boolean }, ctx?: CallContext) {
    return this.server.watch(onResponse, options, ctx);
  }
  hash(ctx?: CallContext) {
    return this.server.hash(ctx);
  }
  hashKV(request: HashKVRequest, ctx?: CallContext) {
    return this.server.hashKV(request, ctx);
  }
  /** etcd's Defragment on a file: rewritten without its free pages before the answer (backend.ts). */
  async defragment(ctx?: CallContext) {
    this.server.checkMaintenanceAdmin(ctx ?? {});
    if (this.server.backend instanceof DiskBackend) await this.server.backend.defragFile();
    return this.server.defragment(ctx);
  }
  snapshot(ctx?: CallContext) {
    return this.server.snapshot(ctx);
  }
  moveLeader(request: MoveLeaderRequest) {
    return this.server.moveLeader(request);
  }
  memberList() {
    return this.server.memberList();
  }
  // ── Cluster: each change is a ConfChange entry (confChange.ts), checked before and applied at commit ──
  memberAdd(request: MemberAddRequest, ctx: CallContext = {}): Promise<MemberAddResponse> {
    return this.configure(ctx, () => addMemberChange(this.server.cluster.proposeAdd(request.peerURLs ?? [], request.isLearner === true, Math.floor(this.server.clock.now() / 1000))), (member) => ({
      header: this.server.header(0),
      member: member as Member,
      members: this.server.cluster.list(),
    }));
  }
  memberRemove(request: MemberRemoveRequest, ctx: CallContext = {}): Promise<MemberListResponse> {
    return this.configure(ctx, () => (this.server.cluster.proposeRemove(request.ID), removeMemberChange(request.ID)), () => this.server.memberList());
  }
  memberUpdate(request: MemberUpdateRequest, ctx: CallContext = {}): Promise<MemberListResponse> {
    return this.configure(ctx, () => updateMemberChange(request.ID, this.server.cluster.proposeUpdate(request.peerURLs ?? [])), () => this.server.memberList());
  }
  memberPromote(request: MemberPromoteRequest, ctx: CallContext = {}): Promise<MemberListResponse> {
    return this.configure(
      ctx,
      () => {
        const member = this.server.cluster.proposePromote(request.ID);
        // An unknown ID is still proposed (etcd's order); the apply answers "member not found".
        return promoteMemberChange(member ?? { ID: request.ID, name: "", peerURLs: [], clientURLs: [], isLearner: true });
      },
      () => this.server.memberList(),
    );
  }

  /**
   * etcd's `configure`: the admin check and the proposal-time checks (`propose` throws), then the
   * ConfChange is logged, and the answer is built once it is applied (or the apply-time checks' error).
   */
  private configure<T>(ctx: CallContext, propose: () => ConfChange, answer: (member: Member | undefined) => T): Promise<T> {
    let change: ConfChange;
    try {
      this.server.checkAdmin(ctx);
      change = propose();
    } catch (error) {
      return Promise.reject(toRpcError(error));
    }
    const apply = this.applyConfChange;
    if (apply === undefined) return Promise.reject(new Error("etcdsim: this member cannot log membership changes"));
    return this.node.propose(encodeConfChange(change), () => answer(apply(change)), EntryType.confChange);
  }

  // ── Auth: every call is one log entry, as in etcd (reads included) ─────────────────────────
  authEnabled() {
    return this.server.authEnabled();
  }
  /** The password is checked and the token prefix drawn before the entry is logged (etcd's order). */
  authenticate(request: AuthenticateRequest, ctx: CallContext = {}): Promise<AuthenticateResponse> {
    try {
      this.server.auth.checkPassword(request.name, request.password);
    } catch (error) {
      return Promise.reject(toRpcError(error));
    }
    const prefix = this.server.auth.tokenProvider.genTokenPrefix();
    return this.proposeAs(ctx, { op: "authenticate", request: { name: request.name, prefix } });
  }
  authEnable(request: AuthEmptyRequest = {}, ctx?: CallContext) {
    return this.auth("authEnable", request, ctx);
  }
  authDisable(request: AuthEmptyRequest = {}, ctx?: CallContext) {
    return this.auth("authDisable", request, ctx);
  }
  userAdd(request: AuthUserAddRequest, ctx?: CallContext) {
    return this.auth("userAdd", request, ctx);
  }
  userGet(request: AuthUserNameRequest, ctx?: CallContext) {
    return this.auth("userGet", request, ctx);
  }
  userList(request: AuthEmptyRequest = {}, ctx?: CallContext) {
    return this.auth("userList", request, ctx);
  }
  userDelete(request: AuthUserNameRequest, ctx?: CallContext) {
    return this.auth("userDelete", request, ctx);
  }
  userChangePassword(request: AuthUserChangePasswordRequest, ctx?: CallContext) {
    return this.auth("userChangePassword", request, ctx);
  }
  userGrantRole(request: AuthUserGrantRoleRequest, ctx?: CallContext) {
    return this.auth("userGrantRole", request, ctx);
  }
  userRevokeRole(request: AuthUserRevokeRoleRequest, ctx?: CallContext) {
    return this.auth("userRevokeRole", request, ctx);
  }
  roleAdd(request: AuthRoleAddRequest, ctx?: CallContext) {
    return this.auth("roleAdd", request, ctx);
  }
  roleGet(request: AuthRoleNameRequest, ctx?: CallContext) {
    return this.auth("roleGet", request, ctx);
  }
  roleList(request: AuthEmptyRequest = {}, ctx?: CallContext) {
    return this.auth("roleList", request, ctx);
  }
  roleDelete(request: AuthRoleNameRequest, ctx?: CallContext) {
    return this.auth("roleDelete", request, ctx);
  }
  roleGrantPermission(request: AuthRoleGrantPermissionRequest, ctx?: CallContext) {
    return this.auth("roleGrantPermission", request, ctx);
  }
  roleRevokePermission(request: AuthRoleRevokePermissionRequest, ctx?: CallContext) {
    return this.auth("roleRevokePermission", request, ctx);
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
      // etcd revokes an expired lease with root's credentials (`authStore.WithRoot`).
      this.leaseRevoke({ ID: lease.ID }, { authInfo: { username: ROOT_USER, revision: this.server.auth.revision() } })
        .catch(() => undefined)
        .finally(() => this.revoking.delete(lease.ID));
    }
  }
}

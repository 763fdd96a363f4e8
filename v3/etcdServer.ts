/**
 * Mirrors etcd release-3.4 `etcdserver/server.go` and `etcdserver/v3_server.go` (plus the lease,
 * maintenance and member handlers of `etcdserver/api/v3rpc/`): one simulated member with its v3 parts wired
 * together, as the one object the HTTP gateway, the server and the lessons talk to.
 *
 *   Backend ── KVStore ── WatchableStore ── Applier          (range/put/deleteRange/txn/compaction)
 *      │          │ leases       │ newWatchStream
 *      └ lease ── Lessor ────────┘ revokes write through the watchable store, so watchers see them
 *        bucket
 *
 * ── Facade API (every method answers an rpc.ts response or throws an `RpcError`) ────────────────
 *   range(r) put(r) deleteRange(r) txn(r) compact(r)          the KV service (via the Applier)
 *   leaseGrant(r)        ID 0 → a generated ID; TTL < 2 → 2; TTL > 9e9 → "etcdserver: too large lease TTL"
 *   leaseRevoke(r)       deletes the lease's keys in one txn; unknown → "etcdserver: requested lease not found"
 *   leaseKeepAlive(r)    one keep-alive round: TTL back; an unknown or expired lease answers TTL 0
 *   leaseTimeToLive(r)   remaining TTL (truncated seconds), grantedTTL, keys; unknown → TTL -1
 *   leaseLeases()        IDs, soonest expiry first
 *   status() hash() hashKV(r) defragment() alarm(r) snapshot() moveLeader(r)   the Maintenance service
 *   memberList() memberAdd(r) memberRemove(r) memberUpdate(r) memberPromote(r)  the Cluster service
 *   lock(r, signal) unlock(r)   campaign(r, signal) proclaim(r) leader(r) observe(r, send, signal) resign(r)
 *                        the Lock and Election services (v3lock.ts, v3election.ts): Promises, as they block
 *   Writes pass the space quota (quota.ts), quorum (cluster.ts) and the alarms (alarms.ts); see `admit`.
 *   watch(onResponse?, {autoPump?})   opens a Watch stream (ServerWatchStream: recv(request),
 *                        take(), pump(), close()); autoPump false makes a slow reader
 *   client()             a ConcurrencyClient for STM/Session/Mutex/Election in process
 *   watcherGroups() watchersPerStream() watchStreamCount   counts for lessons
 * Every header carries revision = the current KV revision after the call. `new EtcdServer({clock,
 * backend})` restarts from an existing backend (keys, compaction, leases with a fresh full TTL).
 *
 * ── Time: nothing runs by itself ───────────────────────────────────────────────────────────────
 *   tick(nowMs)             all background work etcd does on timers, due at `nowMs`:
 *     revokeExpiredLeases   every 500 ms (the lessor's expiry loop; up to 500 leases per pass)
 *     syncVictims           etcd: every 10 ms while there are victims
 *     syncWatchers          etcd: every 100 ms while there are unsynced watchers
 *     progressNotify        every `progressNotifyIntervalMs` (10 min by default)
 * The server (server/v3Mount.ts) runs each step on its own RealClock period; a scenario moves its
 * SimulatedClock and calls `tick()`, or calls a single step to stop between a write and its
 * catch-up. Keep-alives are requests: a client must send them (Session does, on a Ticker).
 *
 *   const server = new EtcdServer({ clock });
 *   const { ID } = server.leaseGrant({ TTL: 5 });
 *   server.put({ key: utf8("k"), value: utf8("v"), lease: ID });   // header.revision 2
 *   clock.advance(5_000); server.tick();                            // revoked: k deleted at revision 3
 */
import type { Clock } from "../shared/clock.js";
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseID,
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
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchResponse,
  AlarmRequest,
  AlarmResponse,
  DefragmentResponse,
  HashKVRequest,
  HashKVResponse,
  HashResponse,
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
import { AlarmAction, AlarmType, NO_LEASE } from "./rpc.js";
import { Backend } from "./backend.js";
import { KVStore } from "./kvstore.js";
import { Applier, isTxnReadonly } from "./apply.js";
import { AuthError, GrpcCode, LeaseNotFoundError, RPC_BAD_LEADER_TRANSFEREE, RpcCorruptError, RpcError, RpcNoSpaceError, rawAuthError, toRpcError } from "./errors.js";
import { AlarmStore, formatAlarm } from "./alarms.js";
import { DEFAULT_MEMBER_ATTRIBUTES, type MemberAttributes, RaftCluster } from "./cluster.js";
import { hashBackend, hashByRev } from "./hash.js";
import { LEASE_OVERHEAD_BYTES, Quota, costPut, costTxn } from "./quota.js";
import { createHash } from "node:crypto";
import { LockServer, type LockRequest, type LockResponse, type UnlockRequest, type UnlockResponse } from "./v3lock.js";
import {
  ElectionServer,
  type CampaignRequest,
  type CampaignResponse,
  type LeaderRequest,
  type LeaderResponse,
  type ProclaimRequest,
  type ProclaimResponse,
  type ResignRequest,
  type ResignResponse,
} from "./v3election.js";
import { DEFAULT_MEMBER, type MemberIdentity, responseHeader } from "./member.js";
import { Lessor } from "./lessor.js";
import { LeaseIdGenerator } from "./leaseIdGenerator.js";
import { WatchableStore } from "./watchableStore.js";
import { DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS, ServerWatchStream } from "./watchServer.js";
import { InProcessClient, RoutedClient, type ClientWrites } from "./concurrency/inProcessClient.js";
import { fromBinaryString } from "../shared/bytes.js";
import { Random } from "../shared/random.js";
import type {
  AuthEmptyRequest,
  AuthenticateRequest,
  AuthenticateResponse,
  AuthHeaderResponse,
  AuthRoleAddRequest,
  AuthRoleGetResponse,
  AuthRoleGrantPermissionRequest,
  AuthRoleListResponse,
  AuthRoleNameRequest,
  AuthRoleRevokePermissionRequest,
  AuthUserAddRequest,
  AuthUserChangePasswordRequest,
  AuthUserGetResponse,
  AuthUserGrantRoleRequest,
  AuthUserListResponse,
  AuthUserNameRequest,
  AuthUserRevokeRoleRequest,
} from "./rpc.js";
import { PermissionType } from "./authpb.js";
import { AuthStore, type AuthState } from "./auth/store.js";
import { SimpleTokenProvider, type AuthInfo, type TokenProvider } from "./auth/simpleToken.js";
import { checkDeleteRangeAuth, checkLeasePuts, checkPutAuth, checkTxnAuth, type LeaseKeys } from "./applyAuth.js";


/** How often the lessor looks for expired leases (etcd: the lessor's `runLoop`, 500 ms). */
export const LEASE_EXPIRY_CHECK_MS = 500;

/** How long after the clock's reading a request is taken to be handled (1 µs); see leaseTimeToLive. */
const REQUEST_LATENCY_MS = 0.001;

/** The version the simulated member reports. */
export const SERVER_VERSION = "3.4.23";

/** What an EtcdServer is built from; it reads time only through `clock`. */
export interface EtcdServerOptions {
  clock: Clock;
  /** Restart from this backend (its keys, compaction and leases); a fresh one by default. */
  backend?: Backend;
  member?: MemberIdentity;
  /** Grants below it are raised to it (default 2 s). */
  minLeaseTTLSeconds?: number;
  /** Catch-up batch cap (default 1000 revisions). */
  watchBatchMaxRevs?: number;
  /** Unsynced watchers per sync pass (default 512). */
  maxWatchersPerSync?: number;
  /** Responses a watch stream buffers (default 128). */
  chanBufLen?: number;
  /** Progress-notify period (default 10 min). */
  progressNotifyIntervalMs?: number;
  /** `--max-txn-ops` (default 128). */
  maxTxnOps?: number;
  /** `--max-request-bytes` (default 1.5 MiB): the largest write request raft accepts. */
  maxRequestBytes?: number;
  /**
   * The raft index as the member's log counts it (server/raft.ts, with a data dir). Default: KV writes
   * and lease grants/revokes applied here, counted in memory.
   */
  raftIndex?: () => number;
  /** `--quota-backend-bytes`: 0 (default) means 2 GiB, negative disables the quota. */
  quotaBackendBytes?: number;
  /** The local member's name and URLs, for MemberList and the members bucket (default: etcd's defaults). */
  memberAttributes?: MemberAttributes;
  /** Draws simple-token prefixes (default: seeded from the clock's first reading). */
  random?: Random;
  /** v3 auth: `--auth-token-ttl` (s, default 300), `--bcrypt-cost`, `--client-cert-auth`, a restored state, or another token kind (JWT). */
  auth?: {
    tokenTTLSeconds?: number;
    bcryptCost?: number;
    clientCertAuth?: boolean;
    state?: AuthState;
    tokenProvider?: TokenProvider;
  };
}

/**
 * What a call carries besides its message (etcd: the gRPC context): metadata `token`, else
 * `authorization` (what the gateway's `Authorization` header becomes), and the CN of a verified
 * TLS client certificate. `{}` = an anonymous call.
 */
export interface CallContext {
  /**
   * Credentials already resolved (etcd: the username and auth revision a raft entry's header carries):
   * a logged request is applied, and replayed, with the identity it was proposed with.
   */
  readonly authInfo?: AuthInfo;
  readonly token?: string;
  readonly authorization?: string;
  readonly commonName?: string;
}

/** Snapshot chunk size (etcd's `snapshotSendBufferSize`, 32 KiB). */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;

/** What one `tick()` did, for lessons and logs. */
export interface TickReport {
  revokedLeases: LeaseID[];
  victimsDelivered: number;
  unsyncedWatchers: number;
  progressNotified: boolean;
}

/** One in-process etcd member's v3 server. */
export class EtcdServer {
  readonly clock: Clock;
  readonly member: MemberIdentity;
  readonly backend: Backend;
  readonly kv: KVStore;
  readonly watchableStore: WatchableStore;
  readonly lessor: Lessor;
  readonly applier: Applier;
  readonly alarms: AlarmStore;
  readonly cluster: RaftCluster;
  readonly quota: Quota;
  readonly lockServer: LockServer = new LockServer(this);
  readonly electionServer: ElectionServer = new ElectionServer(this);
  /** Which alarm types restrict the applier now (etcd swaps `applyV3`; see `applyAlarm`). */
  private restrictions: ReadonlySet<AlarmType>;
  private readonly leaseIds: LeaseIdGenerator;
  private readonly watchStreams = new Set<ServerWatchStream>();
  private readonly chanBufLen: number | undefined;
  private readonly progressNotifyIntervalMs: number;
  private lastLeaseCheckMs: number;
  private lastProgressNotifyMs: number;
  /**
   * Requests that went through raft outside the KV applier (lease grants and revokes, alarms,
   * membership changes, writes the alarms refused): counted into the raft index.
   */
  private raftRequests = 0;
  private readonly logRaftIndex: (() => number) | undefined;
  readonly auth: AuthStore;
  private readonly clientCertAuth: boolean;

  constructor(options: EtcdServerOptions) {
    this.clock = options.clock;
    this.member = options.member ?? DEFAULT_MEMBER;
    this.backend = options.backend ?? new Backend();
    const lessorOptions = options.minLeaseTTLSeconds === undefined ? {} : { minLeaseTTLSeconds: options.minLeaseTTLSeconds };
    this.lessor = new Lessor({ clock: this.clock, leaseBucket: this.backend.leaseBucket, ...lessorOptions });
    this.kv = new KVStore({ backend: this.backend, leases: this.lessor, consistentIndex: () => this.raftIndex });
    this.watchableStore = new WatchableStore(this.kv, this.backend, {
      ...(options.watchBatchMaxRevs === undefined ? {} : { watchBatchMaxRevs: options.watchBatchMaxRevs }),
      ...(options.maxWatchersPerSync === undefined ? {} : { maxWatchersPerSync: options.maxWatchersPerSync }),
    });
    // Revokes delete through the watchable store, so their DELETE events reach watchers.
    this.lessor.setRangeDeleter(() => this.watchableStore.write());
    this.applier = new Applier({
      kv: this.watchableStore,
      leases: this.lessor,
      member: this.member,
      ...(options.maxTxnOps === undefined ? {} : { maxTxnOps: options.maxTxnOps }),
      ...(options.maxRequestBytes === undefined ? {} : { maxRequestBytes: options.maxRequestBytes }),
    });
    this.leaseIds = new LeaseIdGenerator(this.member.memberId, this.clock.now());
    this.chanBufLen = options.chanBufLen;
    this.logRaftIndex = options.raftIndex;
    this.progressNotifyIntervalMs = options.progressNotifyIntervalMs ?? DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS;
    this.lastLeaseCheckMs = this.clock.now();
    this.lastProgressNotifyMs = this.clock.now();
    this.alarms = new AlarmStore(this.backend.bucket("alarm"));
    // etcd's restoreAlarms: alarms raised before a restart restrict the applier again.
    this.restrictions = new Set([AlarmType.NOSPACE, AlarmType.CORRUPT].filter((type) => this.alarms.has(type)));
    this.cluster = new RaftCluster(
      this.member.memberId,
      options.memberAttributes ?? DEFAULT_MEMBER_ATTRIBUTES,
      this.backend.bucket("members"),
      this.backend.bucket("members_removed"),
    );
    this.quota = new Quota(options.quotaBackendBytes ?? 0, () => this.backend.dbSizeBytes);
    const auth = options.auth ?? {};
    const tokenProvider =
      auth.tokenProvider ??
      new SimpleTokenProvider({
        random: options.random ?? new Random(this.clock.now() % 2 ** 31),
        ...(auth.tokenTTLSeconds === undefined ? {} : { ttlSeconds: auth.tokenTTLSeconds }),
      });
    this.auth = new AuthStore({
      tokenProvider,
      ...(auth.bcryptCost === undefined ? {} : { bcryptCost: auth.bcryptCost }),
      ...(auth.state === undefined ? {} : { state: auth.state }),
      buckets: { auth: this.backend.bucket("auth"), authUsers: this.backend.bucket("authUsers"), authRoles: this.backend.bucket("authRoles") },
    });
    this.auth.start(this.clock.now());
    this.clientCertAuth = auth.clientCertAuth ?? false;
  }

  /** A header at the current revision. */
  header(revision: number = this.kv.rev()): ResponseHeader {
    return responseHeader(revision, this.member);
  }

  /** Raft entries applied: KV writes and lease grants/revokes. */
  get raftIndex(): number {
    return this.logRaftIndex?.() ?? this.applier.appliedIndex + this.raftRequests;
  }

  /**
   * The ID a grant without one gets (etcd picks it before proposing, so the log holds the ID and a
   * replay grants the same lease).
   */
  nextLeaseId(): LeaseID {
    let id: LeaseID = NO_LEASE;
    while (id === NO_LEASE) id = this.leaseIds.next();
    return id;
  }

  // ── KV service ─────────────────────────────────────────────────────────────────────────────

  // Each call resolves its credentials first (a bad token fails before anything is proposed),
  // then the applier runs the auth check at etcd's point (see Applier.range).

  /** A linearizable range needs a quorum (etcd's ReadIndex); a serializable one reads locally. */
  range(request: RangeRequest, ctx: CallContext = {}): RangeResponse {
    const who = rpc(() => this.authInfoFromCtx(ctx));
    if (request.serializable !== true) this.cluster.requireQuorum();
    const response = this.applier.range(request, () => this.auth.isRangePermitted(who, request.key, request.range_end));
    this.checkStaleRead(who);
    return response;
  }
  put(request: PutRequest, ctx: CallContext = {}): PutResponse {
    const who = rpc(() => this.authInfoFromCtx(ctx));
    const cost = costPut(request);
    this.admit("put", cost);
    return this.applied(cost, this.applier.put(request, () => checkPutAuth(this.auth, who, request, this.leaseKeys)));
  }
  deleteRange(request: DeleteRangeRequest, ctx: CallContext = {}): DeleteRangeResponse {
    const who = rpc(() => this.authInfoFromCtx(ctx));
    this.admit("deleteRange", 0);
    return this.applier.deleteRange(request, () => checkDeleteRangeAuth(this.auth, who, request));
  }
  txn(request: TxnRequest, ctx: CallContext = {}): TxnResponse {
    const who = rpc(() => this.authInfoFromCtx(ctx));
    const check = (): void => checkTxnAuth(this.auth, who, request);
    if (isTxnReadonly(request)) {
      // etcd runs a read-only txn outside raft and outside the (possibly restricted) applier.
      this.cluster.requireQuorum();
      const response = this.applier.txn(request, check);
      this.checkStaleRead(who);
      return response;
    }
    const cost = costTxn(request);
    this.admit("txn", cost);
    return this.applied(cost, this.applier.txn(request, check));
  }
  /** No auth check at all in etcd 3.4 (quirk: any user, even an anonymous one, may compact). */
  compact(request: CompactionRequest, ctx: CallContext = {}): CompactionResponse {
    rpc(() => this.authInfoFromCtx(ctx));
    this.admit("compaction", 0);
    return this.applier.compaction(request);
  }

  /**
   * etcd `doSerialize`'s last step: a read whose credentials carry an auth revision other than the
   * current one is answered "revision of auth store is old", even while auth is disabled (observed
   * with a JWT issued before an auth change; a simple token always carries the current revision).
   */
  private checkStaleRead(who: AuthInfo | undefined): void {
    if (who !== undefined && who.revision !== 0 && who.revision !== this.auth.revision()) throw toRpcError(new AuthError("ErrAuthOldRevision"));
  }

  /** The keys on a lease, for the lease checks of apply_auth.go. */
  private readonly leaseKeys: LeaseKeys = (id) => this.lessor.lookup(id)?.itemSet;

  /**
   * The path of every write, as etcd layers it (`cost` is the quota's price, quota.ts):
   *   1. the front door (v3rpc/quota.go): a request that does not fit the quota raises NOSPACE and is refused;
   *   2. raft: with no quorum nothing commits;
   *   3. the applier the alarms left in place (capped: no puts, no grants; corrupt: no writes);
   *   4. the request is applied, then `applied` (the quota applier): if the file is now at or past
   *      the quota the caller still gets NOSPACE and the alarm is raised (observed: the put that
   *      crossed the quota is in the store, yet its client got the error).
   * Written out in each method rather than around a closure: this is every put's path.
   */
  private admit(kind: RestrictedWrite, cost: number): void {
    if (!this.quota.fits(cost)) {
      this.raiseNoSpace();
      throw new RpcNoSpaceError();
    }
    this.cluster.requireQuorum();
    if (this.restrictions.size > 0) this.checkRestrictions(kind, cost);
  }

  /** Step 4 of `admit`'s list: `response` if the write left the file below the quota. */
  private applied<T>(cost: number, response: T): T {
    if (cost > 0 && this.quota.exceeded()) {
      this.raiseNoSpace();
      throw new RpcNoSpaceError();
    }
    return response;
  }

  /** Proposes Alarm{ACTIVATE, self, NOSPACE} (one raft entry, whether or not it was raised already). */
  private raiseNoSpace(): void {
    this.raftRequests++;
    this.applyAlarm({ action: AlarmAction.ACTIVATE, memberID: this.member.memberId, alarm: AlarmType.NOSPACE });
  }

  /**
   * etcd's `applierV3Capped` and `applierV3Corrupt`. The request reached raft, so a refusal still
   * spends a raft entry.
   */
  private checkRestrictions(kind: RestrictedWrite, cost: number): void {
    if (this.restrictions.has(AlarmType.CORRUPT)) {
      this.raftRequests++;
      throw new RpcCorruptError();
    }
    if (this.restrictions.has(AlarmType.NOSPACE) && (kind === "leaseGrant" || cost > 0)) {
      this.raftRequests++;
      throw new RpcNoSpaceError();
    }
  }

  // ── Lease service ──────────────────────────────────────────────────────────────────────────

  /** etcd: `EtcdServer.LeaseGrant` then `applierV3backend.LeaseGrant`. */
  leaseGrant(request: LeaseGrantRequest): LeaseGrantResponse {
    this.admit("leaseGrant", LEASE_OVERHEAD_BYTES);
    return this.applied(LEASE_OVERHEAD_BYTES, this.grant(request));
  }

  private grant(request: LeaseGrantRequest): LeaseGrantResponse {
    return rpc(() => {
      let id = request.ID ?? NO_LEASE;
      // No ID given: take the generator's next (positive, increasing). As in etcd, an ID someone
      // granted explicitly is not skipped: the grant then fails with "lease already exists".
      while (id === NO_LEASE) id = this.leaseIds.next();
      this.raftRequests++;
      const lease = this.lessor.grant(id, request.TTL);
      return { header: this.header(), ID: lease.ID, TTL: lease.ttlSeconds, error: "" };
    });
  }

  /** etcd: `EtcdServer.LeaseRevoke`; the keys go in one write txn (one revision). */
  leaseRevoke(request: LeaseRevokeRequest, ctx: CallContext = {}): LeaseRevokeResponse {
    const who = rpc(() => this.authInfoFromCtx(ctx));
    this.admit("leaseRevoke", 0);
    return rpc(() => {
      this.raftRequests++;
      checkLeasePuts(this.auth, who, request.ID, this.leaseKeys);
      this.lessor.revoke(request.ID);
      return { header: this.header() };
    });
  }

  /** One round of the keep-alive stream (etcd: `LeaseServer.leaseKeepAlive`): unknown → TTL 0, no error. */
  leaseKeepAlive(request: LeaseKeepAliveRequest): LeaseKeepAliveResponse {
    return rpc(() => {
      let ttl: number;
      try {
        ttl = this.lessor.renew(request.ID);
      } catch (error) {
        if (!(error instanceof LeaseNotFoundError)) throw error;
        ttl = 0;
      }
      return { header: this.header(), ID: request.ID, TTL: ttl };
    });
  }

  /**
   * etcd: `EtcdServer.LeaseTimeToLive`. TTL is the remaining time in whole seconds, truncated; an
   * unknown lease is not an error: TTL -1. Keys come in attachment order (etcd: Go map order).
   */
  leaseTimeToLive(request: LeaseTimeToLiveRequest): LeaseTimeToLiveResponse {
    return rpc(() => {
      const lease = this.lessor.lookup(request.ID);
      if (lease === undefined) return { header: this.header(), ID: request.ID, TTL: -1, grantedTTL: 0, keys: [] };
      // A real request always arrives some microseconds after the grant, so etcd reports 299
      // right after granting 300. The simulated clock stands still during a call, so "now" is
      // taken as 1 µs past its reading. Go's int64(l.Remaining().Seconds()) then truncates
      // toward zero: 299.999 s → 299, −0.4 s → 0.
      const remainingMs = lease.remainingMs(this.clock.now()) - REQUEST_LATENCY_MS;
      return {
        header: this.header(),
        ID: request.ID,
        TTL: Math.trunc(remainingMs / 1000) || 0,
        grantedTTL: lease.ttlSeconds,
        keys: request.keys === true ? [...lease.itemSet].map(fromBinaryString) : [],
      };
    });
  }

  /** etcd: `EtcdServer.LeaseLeases`: IDs sorted by remaining time. */
  leaseLeases(): LeaseLeasesResponse {
    return { header: this.header(), leases: this.lessor.leases().map((lease) => ({ ID: lease.ID })) };
  }

  // ── Maintenance service (etcdserver/api/v3rpc/maintenance.go, v3_server.go) ────────────────────

  /**
   * The Status answer of a single member that leads itself: the file size and the size in use
   * (backend.ts), the raft indexes, and one `memberID:<id> alarm:<NAME> ` string per raised alarm.
   */
  status(): StatusResponse {
    return {
      header: this.header(),
      version: SERVER_VERSION,
      dbSize: this.backend.dbSizeBytes,
      leader: this.member.memberId,
      raftIndex: this.raftIndex,
      raftTerm: this.member.raftTerm,
      raftAppliedIndex: this.raftIndex,
      errors: this.alarms.get(AlarmType.NONE).map(formatAlarm),
      dbSizeInUse: this.backend.dbSizeInUseBytes,
      isLearner: false,
    };
  }

  /** CRC-32C over every bucket but meta/consistent_index (hash.ts). */
  hash(ctx: CallContext = {}): HashResponse {
    this.checkMaintenanceAdmin(ctx);
    return { header: this.header(), hash: hashBackend(this.backend) };
  }

  /** The key bucket's hash as of `revision` (0: now); compact_revision −1 before any compaction (hash.ts). */
  hashKV(request: HashKVRequest, ctx: CallContext = {}): HashKVResponse {
    this.checkMaintenanceAdmin(ctx);
    return rpc(() => {
      const { hash, currentRev, compactRev } = hashByRev(this.kv, request.revision ?? 0);
      return { header: this.header(currentRev), hash, compact_revision: compactRev };
    });
  }

  /** Rewrites the backend without its free pages; the answer carries no header (quirk). */
  defragment(ctx: CallContext = {}): DefragmentResponse {
    this.checkMaintenanceAdmin(ctx);
    this.backend.defrag();
    return {};
  }

  /**
   * GET lists alarms (alarm NONE: all), ACTIVATE raises one, DEACTIVATE disarms one. Every action is
   * a raft request, so even a GET spends a raft index. The answer carries no header (quirk).
   */
  alarm(request: AlarmRequest): AlarmResponse {
    this.cluster.requireQuorum();
    this.raftRequests++;
    return this.applyAlarm(request);
  }

  /**
   * etcd's `applierV3backend.Alarm`. The first alarm of a type swaps the applier: NOSPACE caps it,
   * CORRUPT stops writes. Quirk: the swap replaces whatever restriction was there, and disarming
   * the last alarm of either type restores the normal applier even if the other type is still raised.
   */
  private applyAlarm(request: AlarmRequest): AlarmResponse {
    const type = request.alarm ?? AlarmType.NONE;
    const memberID = request.memberID ?? 0n;
    const oldCount = this.alarms.get(type).length;
    switch (request.action ?? AlarmAction.GET) {
      case AlarmAction.GET:
        return { alarms: this.alarms.get(type) };
      case AlarmAction.ACTIVATE: {
        const raised = this.alarms.activate(memberID, type);
        if (oldCount === 0 && this.alarms.get(type).length === 1 && (type === AlarmType.NOSPACE || type === AlarmType.CORRUPT)) {
          this.restrictions = new Set([type]);
        }
        return { alarms: [raised] };
      }
      case AlarmAction.DEACTIVATE: {
        const disarmed = this.alarms.deactivate(memberID, type);
        if (disarmed === undefined) return { alarms: [] };
        if (oldCount > 0 && this.alarms.get(type).length === 0 && (type === AlarmType.NOSPACE || type === AlarmType.CORRUPT)) {
          this.restrictions = new Set();
        }
        return { alarms: [disarmed] };
      }
      default:
        // etcd 3.4.23 answers no response at all for an unknown action, and the process then dies
        // with a nil-pointer panic marshalling it (observed). The simulator answers an empty list.
        return { alarms: [] };
    }
  }

  /**
   * The backend image in 32 KiB chunks: `remaining_bytes` counts what is left after each chunk (0 on
   * the last data chunk), then one more message whose blob is the SHA-256 of all data bytes. The
   * image is taken when called, like etcd's read transaction; no message carries a header.
   *
   *   a 20,480-byte image  → {remaining 0, 20,480 bytes}, {remaining 0, 32-byte digest}
   *   a 69,632-byte image  → {36,864, 32 KiB}, {4,096, 32 KiB}, {0, 4,096 bytes}, {0, digest}
   */
  snapshot(ctx: CallContext = {}): SnapshotResponse[] {
    this.checkMaintenanceAdmin(ctx);
    const image = this.backend.snapshot();
    const chunks: SnapshotResponse[] = [];
    for (let sent = 0; sent < image.length; ) {
      const blob = image.subarray(sent, Math.min(sent + SNAPSHOT_CHUNK_BYTES, image.length));
      sent += blob.length;
      chunks.push({ remaining_bytes: image.length - sent, blob });
    }
    const digest = createHash("sha256").update(image).digest();
    chunks.push({ remaining_bytes: 0, blob: new Uint8Array(digest.buffer, digest.byteOffset, digest.length) });
    return chunks;
  }

  /**
   * A single member leads itself: moving leadership to itself succeeds at once; any other target
   * (unknown, or a learner) is a "bad leader transferee"; an unstarted voter never takes over, so the
   * transfer times out. The answer carries no header (quirk).
   */
  moveLeader(request: MoveLeaderRequest): MoveLeaderResponse {
    const target = request.targetID;
    if (target === this.member.memberId) return {};
    if (!this.cluster.has(target) || this.cluster.isLearner(target)) {
      throw new RpcError(GrpcCode.FailedPrecondition, RPC_BAD_LEADER_TRANSFEREE);
    }
    throw new RpcError(GrpcCode.Unavailable, "etcdserver: request timed out, leader transfer took too long");
  }

  // ── Cluster service (etcdserver/api/v3rpc/member.go; cluster.ts) ──────────────────────────────

  /** Every member, sorted by ID. The header carries no revision (quirk of the Cluster service). */
  memberList(): MemberListResponse {
    return { header: this.header(0), members: this.cluster.list() };
  }

  /** Adds an unstarted member (see cluster.ts for what a single member accepts). */
  memberAdd(request: MemberAddRequest, ctx: CallContext = {}): MemberAddResponse {
    this.checkAdmin(ctx);
    const member = this.cluster.add(request.peerURLs ?? [], request.isLearner === true, Math.floor(this.clock.now() / 1000));
    this.raftRequests++;
    return { header: this.header(0), member, members: this.cluster.list() };
  }

  memberRemove(request: MemberRemoveRequest, ctx: CallContext = {}): MemberListResponse {
    this.checkAdmin(ctx);
    this.cluster.remove(request.ID);
    this.raftRequests++;
    return this.memberList();
  }

  memberUpdate(request: MemberUpdateRequest, ctx: CallContext = {}): MemberListResponse {
    this.checkAdmin(ctx);
    this.cluster.update(request.ID, request.peerURLs ?? []);
    this.raftRequests++;
    return this.memberList();
  }

  memberPromote(request: MemberPromoteRequest, ctx: CallContext = {}): MemberListResponse {
    this.checkAdmin(ctx);
    this.cluster.promote(request.ID);
    this.raftRequests++;
    return this.memberList();
  }

  // ── Lock and Election services (v3lock.ts, v3election.ts) ─────────────────────────────────────

  /** Resolves once `name` is locked for the caller; `signal` is the caller going away. */
  lock(request: LockRequest, signal?: AbortSignal): Promise<LockResponse> {
    return this.lockServer.lock(request, signal);
  }
  unlock(request: UnlockRequest): Promise<UnlockResponse> {
    return this.lockServer.unlock(request);
  }
  /** Resolves once the caller leads the election `name`. */
  campaign(request: CampaignRequest, signal?: AbortSignal): Promise<CampaignResponse> {
    return this.electionServer.campaign(request, signal);
  }
  proclaim(request: ProclaimRequest): Promise<ProclaimResponse> {
    return this.electionServer.proclaim(request);
  }
  leader(request: LeaderRequest): Promise<LeaderResponse> {
    return this.electionServer.leader(request);
  }
  /** Streams the leader's values to `send` until `signal` aborts. */
  observe(request: LeaderRequest, send: (response: LeaderResponse) => void, signal: AbortSignal): Promise<void> {
    return this.electionServer.observe(request, send, signal);
  }
  resign(request: ResignRequest): Promise<ResignResponse> {
    return this.electionServer.resign(request);
  }

  // ── Watch service ──────────────────────────────────────────────────────────────────────────

  /**
   * Opens a Watch stream. Responses go to `onResponse` as they are sent (or, without it, wait
   * for `take()`). `autoPump: false` makes a slow reader: events wait in the 128-slot channel
   * until `pump()`.
   */
  watch(onResponse?: (response: WatchResponse) => void, options: { autoPump?: boolean } = {}, ctx: CallContext = {}): ServerWatchStream {
    const stream = new ServerWatchStream(this.watchableStore, {
      header: (revision) => this.header(revision),
      isWatchPermitted: (key, end) => this.watchRefusal(ctx, key, end),
      ...(onResponse === undefined ? {} : { onResponse }),
      ...(options.autoPump === undefined ? {} : { autoPump: options.autoPump }),
      ...(this.chanBufLen === undefined ? {} : { chanBufLen: this.chanBufLen }),
    });
    this.watchStreams.add(stream);
    const close = stream.close.bind(stream);
    stream.close = () => {
      close();
      this.watchStreams.delete(stream);
    };
    return stream;
  }

  /** Open watch streams. */
  get watchStreamCount(): number {
    return this.watchStreams.size;
  }

  /** Watchers per open stream, in opening order (the v3 side of "many watchers, one connection"). */
  watchersPerStream(): number[] {
    return [...this.watchStreams].map((stream) => stream.watcherCount);
  }

  /** {synced, unsynced, victims}. */
  watcherGroups(): { synced: number; unsynced: number; victims: number } {
    return this.watchableStore.watcherGroups();
  }

  // ── Background work, as steps ──────────────────────────────────────────────────────────────

  /** Runs whatever etcd's timers would have run by `nowMs` (see the header). */
  tick(nowMs: number = this.clock.now()): TickReport {
    this.auth.tokenProvider.sweep(nowMs);
    let revokedLeases: LeaseID[] = [];
    if (nowMs - this.lastLeaseCheckMs >= LEASE_EXPIRY_CHECK_MS) {
      this.lastLeaseCheckMs = nowMs;
      revokedLeases = this.revokeExpiredLeases(nowMs);
    }
    const victimsDelivered = this.syncVictims();
    const unsyncedWatchers = this.syncWatchers();
    let progressNotified = false;
    if (nowMs - this.lastProgressNotifyMs >= this.progressNotifyIntervalMs) {
      this.lastProgressNotifyMs = nowMs;
      this.progressNotify();
      progressNotified = true;
    }
    return { revokedLeases, victimsDelivered, unsyncedWatchers, progressNotified };
  }

  /**
   * Revokes up to 500 expired leases, soonest first, each as a LeaseRevoke through raft would
   * (etcd: `revokeExpiredLeases` → the server's `expiredLeaseC` loop). Returns their IDs.
   */
  revokeExpiredLeases(nowMs: number = this.clock.now()): LeaseID[] {
    const revoked: LeaseID[] = [];
    for (const lease of this.lessor.findExpiredLeases(nowMs)) {
      this.raftRequests++;
      try {
        this.lessor.revoke(lease.ID);
      } catch (error) {
        // Revoked meanwhile by a client: etcd logs "failed to revoke" and carries on.
        if (!(error instanceof LeaseNotFoundError)) throw error;
        continue;
      }
      revoked.push(lease.ID);
    }
    return revoked;
  }

  /** One catch-up pass; returns the unsynced watchers left. */
  syncWatchers(): number {
    return this.watchableStore.syncWatchers();
  }

  /** Retries victim batches; returns how many were delivered. */
  syncVictims(): number {
    return this.watchableStore.syncVictims();
  }

  /** One progress-notify tick on every stream. */
  progressNotify(): void {
    for (const stream of this.watchStreams) stream.progressNotify();
  }

  // ── In-process client ──────────────────────────────────────────────────────────────────────

  /** A client for the concurrency recipes, with its own watch stream (as one Go client has). */
  client(): InProcessClient {
    return new InProcessClient(this);
  }

  private serviceWrites: ClientWrites = this;

  /** Sends the Lock and Election services' writes through `writes` (a data dir's log) from now on. */
  routeServiceWrites(writes: ClientWrites): void {
    this.serviceWrites = writes;
  }

  /** Where the Lock and Election services write: this server, or the log `routeServiceWrites` gave. */
  get serviceWriter(): ClientWrites {
    return this.serviceWrites;
  }

  /** The client the Lock and Election services run their recipes on (etcd's `v3client.New`). */
  serviceClient(): InProcessClient | RoutedClient {
    return this.serviceWrites === this ? new InProcessClient(this) : new RoutedClient(new InProcessClient(this), this.serviceWrites);
  }

  // ── Auth (etcd: v3_server.go's Auth methods, applied by apply_auth.go / store.go) ─────────────

  /**
   * etcd `AuthInfoFromCtx`: the token (metadata `token`, else `authorization`) decides; a token
   * that is not accepted is "invalid auth token", even while auth is disabled. Without a token,
   * under --client-cert-auth the certificate's CN is the user. undefined = anonymous.
   */
  authInfoFromCtx(ctx: CallContext): AuthInfo | undefined {
    if (ctx.authInfo !== undefined) return ctx.authInfo;
    const token = ctx.token ?? ctx.authorization;
    if (token !== undefined) {
      const info = this.auth.authInfoFromToken(token, this.raftIndex, this.clock.now());
      if (info === undefined) throw new AuthError("ErrInvalidAuthToken");
      return info;
    }
    if (this.clientCertAuth && ctx.commonName !== undefined && ctx.commonName !== "") return this.auth.authInfoFromCommonName(ctx.commonName);
    return undefined;
  }

  /** Is v3 auth on? */
  authEnabled(): boolean {
    return this.auth.isAuthEnabled();
  }

  /**
   * The admin check of Cluster calls (etcd: `checkMembershipOperationPermission`), before anything
   * is proposed; errors in their etcdserver form (code 7/3/9).
   */
  checkAdmin(ctx: CallContext): void {
    rpc(() => this.auth.isAdminPermitted(this.authInfoFromCtx(ctx)));
  }

  /**
   * The admin check of Maintenance Defragment, Hash, HashKV and Snapshot (etcd:
   * `authMaintenanceServer.isAuthenticated`). quirk: it returns the auth store's error unconverted,
   * so clients see code 2 and "auth: permission denied" / "auth: user name is empty" / "auth: invalid auth token".
   */
  checkMaintenanceAdmin(ctx: CallContext): void {
    try {
      this.auth.isAdminPermitted(this.authInfoFromCtx(ctx));
    } catch (error) {
      throw error instanceof AuthError ? rawAuthError(error) : error;
    }
  }

  /**
   * etcd `isWatchPermitted` plus recvLoop's cancel reasons: undefined when allowed, otherwise the
   * full gRPC status text. Checked once, when the watch is created.
   */
  private watchRefusal(ctx: CallContext, key: Uint8Array, end: Uint8Array | undefined): string | undefined {
    try {
      this.auth.isRangePermitted(this.authInfoFromCtx(ctx), key, end);
      return undefined;
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      const known = ["ErrInvalidAuthToken", "ErrAuthOldRevision", "ErrUserEmpty"].includes(error.sentinel);
      const status = toRpcError(known ? error : new AuthError("ErrPermissionDenied"));
      return grpcStatusText(status.code, status.message);
    }
  }

  /**
   * One Auth RPC through raft: credentials first, one raft entry, then (for admin calls) the admin
   * check when the entry is applied (etcd: authApplierV3.Apply with needAdminPermission).
   */
  private authRaft<T>(ctx: CallContext, admin: boolean, apply: (who: AuthInfo | undefined) => T): T {
    return rpc(() => {
      const who = this.authInfoFromCtx(ctx);
      this.raftRequests++;
      if (admin) this.auth.isAdminPermitted(who);
      return apply(who);
    });
  }

  /** An admin Auth call that changes the store and answers only a header. */
  private authChange(ctx: CallContext, change: () => void): AuthHeaderResponse {
    return this.authRaft(ctx, true, () => {
      change();
      return { header: this.header() };
    });
  }

  authEnable(_r: AuthEmptyRequest = {}, ctx: CallContext = {}): AuthHeaderResponse {
    return this.authChange(ctx, () => this.auth.authEnable(this.clock.now()));
  }

  authDisable(_r: AuthEmptyRequest = {}, ctx: CallContext = {}): AuthHeaderResponse {
    return this.authChange(ctx, () => this.auth.authDisable());
  }

  /**
   * etcd `Authenticate`: the password is checked outside raft (bcrypt is slow), then one raft entry
   * carries the user name and a fresh token prefix; the token is issued when it is applied, named
   * after that entry's index. (etcd retries if the auth revision moved in between; it cannot here.)
   */
  authenticate(r: AuthenticateRequest, ctx: CallContext = {}): AuthenticateResponse {
    return rpc(() => {
      this.auth.checkPassword(r.name, r.password);
      const prefix = this.auth.tokenProvider.genTokenPrefix();
      return this.authenticateApply({ name: r.name, prefix }, ctx);
    });
  }

  /** Authenticate's raft entry, applied: the token for `name`, named after the entry's index. */
  authenticateApply(r: { name: string; prefix: string }, ctx: CallContext = {}): AuthenticateResponse {
    return this.authRaft(ctx, false, () => {
      const token = this.auth.authenticate(r.name, { index: this.raftIndex, prefix: r.prefix }, this.clock.now());
      return { header: this.header(), token };
    });
  }

  userAdd(r: AuthUserAddRequest, ctx: CallContext = {}): AuthHeaderResponse {
    return this.authChange(ctx, () => this.auth.userAdd(r.name, r.password, r.options?.no_password ?? false));
  }

  /** Admin, or the caller asking about itself. */
  userGet(r: AuthUserNameRequest, ctx: CallContext = {}): AuthUserGetResponse {
    return this.authRaft(ctx, false, (who) => {
      try {
        this.auth.isAdminPermitted(who);
      } catch (error) {
        if (r.name !== (who?.username ?? "")) throw error;
      }
      return { header: this.header(), roles: this.auth.userGet(r.name) };
    });
  }

  userList(_r: AuthEmptyRequest = {}, ctx: CallContext = {}): AuthUserListResponse {
    return this.authRaft(ctx, true, () => ({ header: this.header(), users: this.auth.userList() }));
  }

  userDelete(r: AuthUserNameRequest, ctx: CallContext = {}): AuthHeaderResponse {
    return this.authChange(ctx, () => this.auth.userDelete(r.name));
  }

  userChangePassword(r: AuthUserChangePasswordRequest, ctx: CallContext = {}): AuthHeaderResponse {
    return this.authChange(ctx, () => this.auth.userChangePassword(r.name, r.password));
  }

  userGrantRole(r: AuthUserGrantRoleRequest, ctx: CallContext = {}): AuthHeaderResponse {
    return this.authChange(ctx, () => this.auth.userGrantRole(r.user, r.role));
  }

  userRevokeRole(r: AuthUserRevokeRoleRequest, ctx: CallContext = {}): AuthHeaderResponse {
    return this.authChange(ctx, () => this.auth.userRevokeRole(r.name, r.role));
  }

  roleAdd(r: AuthRoleAddRequest, ctx: CallContext = {}): AuthHeaderResponse {
    return this.authChange(ctx, () => this.auth.roleAdd(r.name));
  }

  /** Admin, or a role the caller holds. */
  roleGet(r: AuthRoleNameRequest, ctx: CallContext = {}): AuthRoleGetResponse {
    return this.authRaft(ctx, false, (who) => {
      try {
        this.auth.isAdminPermitted(who);
      } catch (error) {
        if (!this.auth.hasRole(who?.username ?? "", r.role)) throw error;
      }
      return { header: this.header(), perm: this.auth.roleGet(r.role) };
    });
  }

  roleList(_r: AuthEmptyRequest = {}, ctx: CallContext = {}): AuthRoleListResponse {
    return this.authRaft(ctx, true, () => ({ header: this.header(), roles: this.auth.roleList() }));
  }

  roleDelete(r: AuthRoleNameRequest, ctx: CallContext = {}): AuthHeaderResponse {
    return this.authChange(ctx, () => this.auth.roleDelete(r.role));
  }

  /** A request without `perm` grants READ on the empty key (gogo's zero Permission). */
  roleGrantPermission(r: AuthRoleGrantPermissionRequest, ctx: CallContext = {}): AuthHeaderResponse {
    const perm = r.perm ?? { permType: PermissionType.READ, key: new Uint8Array(), range_end: new Uint8Array() };
    return this.authChange(ctx, () => this.auth.roleGrantPermission(r.name, perm));
  }

  roleRevokePermission(r: AuthRoleRevokePermissionRequest, ctx: CallContext = {}): AuthHeaderResponse {
    return this.authChange(ctx, () => this.auth.roleRevokePermission(r.role, r.key, r.range_end));
  }
}

/** gRPC's `status.Error(...).Error()` text: "rpc error: code = PermissionDenied desc = …". */
export function grpcStatusText(code: GrpcCode, message: string): string {
  const name = Object.entries(GrpcCode).find(([, value]) => value === code)?.[0] ?? `Code(${code})`;
  return `rpc error: code = ${name} desc = ${message}`;
}

/** The writes an alarm can refuse (etcd's capped and corrupt appliers). */
type RestrictedWrite = "put" | "deleteRange" | "txn" | "compaction" | "leaseGrant" | "leaseRevoke";

/** Runs a handler and converts a sentinel it throws into the RpcError the client sees. */
function rpc<T>(handler: () => T): T {
  try {
    return handler();
  } catch (error) {
    throw toRpcError(error);
  }
}

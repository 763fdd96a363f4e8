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
import { Applier } from "./apply.js";
import { GrpcCode, LeaseNotFoundError, RPC_BAD_LEADER_TRANSFEREE, RpcCorruptError, RpcError, RpcNoSpaceError, toRpcError } from "./errors.js";
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
import { InProcessClient } from "./concurrency/inProcessClient.js";
import { fromBinaryString } from "../shared/bytes.js";

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
  /** `--quota-backend-bytes`: 0 (default) means 2 GiB, negative disables the quota. */
  quotaBackendBytes?: number;
  /** The local member's name and URLs, for MemberList and the members bucket (default: etcd's defaults). */
  memberAttributes?: MemberAttributes;
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
  }

  /** A header at the current revision. */
  header(revision: number = this.kv.rev()): ResponseHeader {
    return responseHeader(revision, this.member);
  }

  /** Raft entries applied: KV writes and lease grants/revokes. */
  get raftIndex(): number {
    return this.applier.appliedIndex + this.raftRequests;
  }

  // ── KV service ─────────────────────────────────────────────────────────────────────────────

  /** A linearizable range needs a quorum (etcd's ReadIndex); a serializable one reads locally. */
  range(request: RangeRequest): RangeResponse {
    if (request.serializable !== true) this.cluster.requireQuorum();
    return this.applier.range(request);
  }
  put(request: PutRequest): PutResponse {
    const cost = costPut(request);
    this.admit("put", cost);
    return this.applied(cost, this.applier.put(request));
  }
  deleteRange(request: DeleteRangeRequest): DeleteRangeResponse {
    this.admit("deleteRange", 0);
    return this.applier.deleteRange(request);
  }
  txn(request: TxnRequest): TxnResponse {
    if (isTxnReadOnly(request)) {
      // etcd runs a read-only txn outside raft and outside the (possibly restricted) applier.
      this.cluster.requireQuorum();
      return this.applier.txn(request);
    }
    const cost = costTxn(request);
    this.admit("txn", cost);
    return this.applied(cost, this.applier.txn(request));
  }
  compact(request: CompactionRequest): CompactionResponse {
    this.admit("compaction", 0);
    return this.applier.compaction(request);
  }

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
  leaseRevoke(request: LeaseRevokeRequest): LeaseRevokeResponse {
    this.admit("leaseRevoke", 0);
    return this.revoke(request);
  }

  private revoke(request: LeaseRevokeRequest): LeaseRevokeResponse {
    return rpc(() => {
      this.raftRequests++;
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
  hash(): HashResponse {
    return { header: this.header(), hash: hashBackend(this.backend) };
  }

  /** The key bucket's hash as of `revision` (0: now); compact_revision −1 before any compaction (hash.ts). */
  hashKV(request: HashKVRequest): HashKVResponse {
    return rpc(() => {
      const { hash, currentRev, compactRev } = hashByRev(this.kv, request.revision ?? 0);
      return { header: this.header(currentRev), hash, compact_revision: compactRev };
    });
  }

  /** Rewrites the backend without its free pages; the answer carries no header (quirk). */
  defragment(): DefragmentResponse {
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
  snapshot(): SnapshotResponse[] {
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
  memberAdd(request: MemberAddRequest): MemberAddResponse {
    const member = this.cluster.add(request.peerURLs ?? [], request.isLearner === true, Math.floor(this.clock.now() / 1000));
    this.raftRequests++;
    return { header: this.header(0), member, members: this.cluster.list() };
  }

  memberRemove(request: MemberRemoveRequest): MemberListResponse {
    this.cluster.remove(request.ID);
    this.raftRequests++;
    return this.memberList();
  }

  memberUpdate(request: MemberUpdateRequest): MemberListResponse {
    this.cluster.update(request.ID, request.peerURLs ?? []);
    this.raftRequests++;
    return this.memberList();
  }

  memberPromote(request: MemberPromoteRequest): MemberListResponse {
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
  watch(onResponse?: (response: WatchResponse) => void, options: { autoPump?: boolean } = {}): ServerWatchStream {
    const stream = new ServerWatchStream(this.watchableStore, {
      header: (revision) => this.header(revision),
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
}

/** The writes an alarm can refuse (etcd's capped and corrupt appliers). */
type RestrictedWrite = "put" | "deleteRange" | "txn" | "compaction" | "leaseGrant" | "leaseRevoke";

/** etcd's `isTxnReadonly`: no put or delete anywhere, nested txns included. */
function isTxnReadOnly(request: TxnRequest): boolean {
  const readOnly = (ops: TxnRequest["success"]): boolean =>
    (ops ?? []).every(
      (op) => op.request_put === undefined && op.request_delete_range === undefined && (op.request_txn === undefined || isTxnReadOnly(op.request_txn)),
    );
  return readOnly(request.success) && readOnly(request.failure);
}

/** Runs a handler and converts a sentinel it throws into the RpcError the client sees. */
function rpc<T>(handler: () => T): T {
  try {
    return handler();
  } catch (error) {
    throw toRpcError(error);
  }
}

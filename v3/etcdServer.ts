/**
 * Mirrors etcd release-3.4 `etcdserver/server.go` and `etcdserver/v3_server.go` (plus the lease
 * handlers of `etcdserver/api/v3rpc/lease.go`): one simulated member with its v3 parts wired
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
 *   status()             the maintenance Status answer
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
} from "./rpc.js";
import { NO_LEASE } from "./rpc.js";
import { Backend } from "./backend.js";
import { KVStore } from "./kvstore.js";
import { Applier } from "./apply.js";
import { LeaseNotFoundError, toRpcError } from "./errors.js";
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
}

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
  private readonly leaseIds: LeaseIdGenerator;
  private readonly watchStreams = new Set<ServerWatchStream>();
  private readonly chanBufLen: number | undefined;
  private readonly progressNotifyIntervalMs: number;
  private lastLeaseCheckMs: number;
  private lastProgressNotifyMs: number;
  /** Lease requests that went through raft (grant, revoke): counted into the raft index. */
  private leaseRaftRequests = 0;

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
  }

  /** A header at the current revision. */
  header(revision: number = this.kv.rev()): ResponseHeader {
    return responseHeader(revision, this.member);
  }

  /** Raft entries applied: KV writes and lease grants/revokes. */
  get raftIndex(): number {
    return this.applier.appliedIndex + this.leaseRaftRequests;
  }

  // ── KV service ─────────────────────────────────────────────────────────────────────────────

  range(request: RangeRequest): RangeResponse {
    return this.applier.range(request);
  }
  put(request: PutRequest): PutResponse {
    return this.applier.put(request);
  }
  deleteRange(request: DeleteRangeRequest): DeleteRangeResponse {
    return this.applier.deleteRange(request);
  }
  txn(request: TxnRequest): TxnResponse {
    return this.applier.txn(request);
  }
  compact(request: CompactionRequest): CompactionResponse {
    return this.applier.compaction(request);
  }

  // ── Lease service ──────────────────────────────────────────────────────────────────────────

  /** etcd: `EtcdServer.LeaseGrant` then `applierV3backend.LeaseGrant`. */
  leaseGrant(request: LeaseGrantRequest): LeaseGrantResponse {
    return rpc(() => {
      let id = request.ID ?? NO_LEASE;
      // No ID given: take the generator's next (positive, increasing). As in etcd, an ID someone
      // granted explicitly is not skipped: the grant then fails with "lease already exists".
      while (id === NO_LEASE) id = this.leaseIds.next();
      this.leaseRaftRequests++;
      const lease = this.lessor.grant(id, request.TTL);
      return { header: this.header(), ID: lease.ID, TTL: lease.ttlSeconds, error: "" };
    });
  }

  /** etcd: `EtcdServer.LeaseRevoke`; the keys go in one write txn (one revision). */
  leaseRevoke(request: LeaseRevokeRequest): LeaseRevokeResponse {
    return rpc(() => {
      this.leaseRaftRequests++;
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

  // ── Maintenance ────────────────────────────────────────────────────────────────────────────

  /** The Status answer of a single member that leads itself. */
  status(): StatusResponse {
    return {
      header: this.header(),
      version: SERVER_VERSION,
      dbSize: this.backend.sizeBytes,
      leader: this.member.memberId,
      raftIndex: this.raftIndex,
      raftTerm: this.member.raftTerm,
      raftAppliedIndex: this.raftIndex,
      errors: [],
      dbSizeInUse: this.backend.sizeBytes,
      isLearner: false,
    };
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
      this.leaseRaftRequests++;
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

/** Runs a handler and converts a sentinel it throws into the RpcError the client sees. */
function rpc<T>(handler: () => T): T {
  try {
    return handler();
  } catch (error) {
    throw toRpcError(error);
  }
}

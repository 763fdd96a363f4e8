/**
 * The workload interface: what a lesson may ask of an etcd, through either API. Contracts only.
 *
 * A lesson never touches a store directly. It opens a `Target` (one etcd that speaks both APIs, as
 * a real etcd 3.4 started with `--enable-v2` does) and talks to it through two clients shaped like
 * etcd's own wire APIs:
 *
 *   V2Client  ~ the `/v2/keys` HTTP API: keys are paths, answers are the v2 JSON event or error
 *               bodies (`{"action":"set","node":{…}}`, `{"errorCode":101,…}`), watches are long polls.
 *   V3Client  ~ the gRPC KV, Lease and Watch services, with the request and response messages of
 *               `v3/rpc.ts`; errors are gRPC statuses (`{code: 11, message: "etcdserver: mvcc: …"}`).
 *
 * Because both clients speak only what goes over the network, three adapters can implement them:
 *   scenarios/adapters/v2Local.ts   the in-process v2 store, driven by a simulated clock;
 *   scenarios/adapters/v3Local.ts   the in-process v3 server, driven by the same clock;
 *   a network adapter               a real etcd at a URL (`npm start -- --target http://…`).
 * Every method returns a Promise, so the network adapter needs no tricks. The in-process adapters
 * resolve at once.
 *
 * What only an in-process store can show (the event ring's bounds, the B-tree step of a get, the
 * synced/unsynced watcher groups, the backend's byte size per revision) lives behind optional
 * capability interfaces (`V2Internals`, `V3Internals`). A lesson checks for them with `target.v2Internals`
 * and says so when they are missing, instead of inventing a number.
 *
 * Time: `Target.advance(ms)` lets time pass. In process it moves a `SimulatedClock` and runs what
 * etcd's timers would have run (the v2 SYNC sweep every 500 ms, the lessor's expiry check); against a
 * real etcd it waits for real. So a lesson never reads a clock: it says how much time passes.
 *
 *   const target = await ctx.openTarget();
 *   const put = await target.v3.put({ key: utf8("foo"), value: utf8("bar") });
 *   if (put.ok) put.value.header.revision            // 2 on a fresh store
 *   const set = await target.v2.set("/foo", "bar");
 *   if (set.ok) set.value.node.modifiedIndex         // the store's etcd index after the write
 */
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
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
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchResponse,
} from "../v3/rpc.js";

/** Which of etcd's two APIs a value came from. */
export type Api = "v2" | "v3";

/** Either an answer or etcd's error, never a thrown exception: errors are part of every lesson. */
export type Outcome<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

// ─────────────────────────────────────────────────────────────────────────────────────────────
// v2: the /v2/keys API
// ─────────────────────────────────────────────────────────────────────────────────────────────

/** A v2 node as the HTTP API writes it (`NodeExtern`): empty fields are left out. */
export interface V2Node {
  key?: string;
  value?: string;
  dir?: boolean;
  /** RFC 3339 expiry time, only on nodes with a TTL. */
  expiration?: string;
  /** Whole seconds left, rounded up; left out when 0. */
  ttl?: number;
  nodes?: V2Node[];
  modifiedIndex?: number;
  createdIndex?: number;
}

/** v2 event actions, as the `action` field spells them. */
export type V2Action = "get" | "set" | "create" | "update" | "compareAndSwap" | "delete" | "compareAndDelete" | "expire";

/** A successful v2 answer: the JSON event plus the `X-Etcd-Index` header. */
export interface V2Event {
  action: V2Action;
  node: V2Node;
  prevNode?: V2Node;
  /** The `X-Etcd-Index` header: for a write its new index, for a get the store's current index. */
  etcdIndex: number;
}

/** A v2 error body, `{"errorCode":101,"message":"Compare failed","cause":"[a != b]","index":8}`. */
export interface V2ErrorBody {
  errorCode: number;
  message: string;
  cause?: string;
  index: number;
}

export type V2Outcome<T> = Outcome<T, V2ErrorBody>;

/** PUT parameters (`ttl`, `dir`, `prevExist`, `prevValue`, `prevIndex`, `refresh`). */
export interface V2SetOptions {
  ttlSeconds?: number;
  dir?: boolean;
  /** true → update / compareAndSwap; false → create; absent → set. */
  prevExist?: boolean;
  prevValue?: string;
  prevIndex?: number;
  refresh?: boolean;
}

/** DELETE parameters. With `prevValue` or `prevIndex` the delete is a compareAndDelete. */
export interface V2DeleteOptions {
  dir?: boolean;
  recursive?: boolean;
  prevValue?: string;
  prevIndex?: number;
}

/** GET parameters (not a watch). */
export interface V2GetOptions {
  recursive?: boolean;
  sorted?: boolean;
  quorum?: boolean;
}

/** GET `?wait=true` parameters. */
export interface V2WatchOptions {
  recursive?: boolean;
  /** 0 or absent: current index + 1. */
  waitIndex?: number;
  stream?: boolean;
}

/**
 * One v2 watch: one long-poll HTTP request, holding one connection until its event arrives (or, for
 * `stream=true`, until closed). `etcdIndex` is the `X-Etcd-Index` header sent when the watch began.
 */
export interface V2Watch {
  readonly etcdIndex: number;
  /** Events received so far and not yet taken. A non-stream watch receives at most one. */
  take(): Promise<V2Event[]>;
  /** True once a non-stream watch got its event (the request is over) or the watch was closed. */
  done(): boolean;
  /** The client hangs up. */
  close(): Promise<void>;
}

/** `GET /v2/stats/store`: only the counters lessons use. */
export interface V2StoreStats {
  watchers: number;
  expireCount: number;
  setsSuccess: number;
  compareAndSwapSuccess: number;
  compareAndSwapFail: number;
}

/** The /v2/keys API, one method per kind of HTTP request. */
export interface V2Client {
  get(key: string, options?: V2GetOptions): Promise<V2Outcome<V2Event>>;
  set(key: string, value: string, options?: V2SetOptions): Promise<V2Outcome<V2Event>>;
  /** POST: an in-order key under `dir`, named after the new index (20 zero-padded digits). */
  createInOrder(dir: string, value: string, options?: { ttlSeconds?: number }): Promise<V2Outcome<V2Event>>;
  delete(key: string, options?: V2DeleteOptions): Promise<V2Outcome<V2Event>>;
  /** GET `?wait=true`: answered from the history at once, or registered to wait. 401 comes back as an error. */
  watch(key: string, options?: V2WatchOptions): Promise<V2Outcome<V2Watch>>;
  stats(): Promise<V2StoreStats>;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────
// v3: the gRPC KV, Lease, Watch and Maintenance services
// ─────────────────────────────────────────────────────────────────────────────────────────────

/** A gRPC status: `{code: 11, message: "etcdserver: mvcc: required revision has been compacted"}`. */
export interface V3Status {
  code: number;
  message: string;
}

export type V3Outcome<T> = Outcome<T, V3Status>;

/**
 * One gRPC Watch stream: many watchers share it, each named by `watch_id`. Responses are buffered
 * as they arrive; `take()` hands them over in arrival order.
 */
export interface V3WatchStream {
  send(request: WatchRequest): Promise<void>;
  /** Responses received so far and not yet taken. */
  take(): Promise<WatchResponse[]>;
  close(): Promise<void>;
}

export interface V3Client {
  range(request: RangeRequest): Promise<V3Outcome<RangeResponse>>;
  put(request: PutRequest): Promise<V3Outcome<PutResponse>>;
  deleteRange(request: DeleteRangeRequest): Promise<V3Outcome<DeleteRangeResponse>>;
  txn(request: TxnRequest): Promise<V3Outcome<TxnResponse>>;
  compact(request: CompactionRequest): Promise<V3Outcome<CompactionResponse>>;
  leaseGrant(request: LeaseGrantRequest): Promise<V3Outcome<LeaseGrantResponse>>;
  leaseRevoke(request: LeaseRevokeRequest): Promise<V3Outcome<LeaseRevokeResponse>>;
  /** One request/response round on a keep-alive stream (`etcdctl lease keep-alive --once`). */
  leaseKeepAliveOnce(request: LeaseKeepAliveRequest): Promise<V3Outcome<LeaseKeepAliveResponse>>;
  leaseTimeToLive(request: LeaseTimeToLiveRequest): Promise<V3Outcome<LeaseTimeToLiveResponse>>;
  leaseLeases(): Promise<V3Outcome<LeaseLeasesResponse>>;
  /** Opens a new Watch stream (one per client in etcd's Go client). */
  watch(): Promise<V3WatchStream>;
  status(): Promise<V3Outcome<StatusResponse>>;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────
// The target: one etcd, both APIs, and time
// ─────────────────────────────────────────────────────────────────────────────────────────────

/** One etcd a lesson runs against. Each `openTarget()` gives a fresh, empty one. */
export interface Target {
  /** "in-process" or, e.g., "etcd 3.4.23 at http://127.0.0.1:40123". */
  readonly description: string;
  readonly v2: V2Client;
  readonly v3: V3Client;
  /**
   * Lets `ms` of time pass. In process: the simulated clock moves and the v2 SYNC sweep (every
   * 500 ms) and the lessor's expiry check run as they would have. Against a real etcd: a real wait.
   */
  advance(ms: number): Promise<void>;
  /**
   * The target's time in ms: the simulated clock in process, the wall clock against a real etcd.
   * A lesson that samples on a timeline reads it to wait until a point in time rather than for a
   * duration, so the time its own requests take does not push its samples later:
   *   start = now(); … 3 requests (12 ms) …; advance(start + 1000 - now())   → the sample is at 1000
   */
  now(): number;
  /** Optional views into the in-process stores; a network target leaves them out. */
  readonly v2Internals?: V2Internals;
  readonly v3Internals?: V3Internals;
  close(): Promise<void>;
}

/** Opens fresh targets for one run. `seed` is the run's seed, for anything the adapter randomises. */
export interface TargetFactory {
  readonly description: string;
  open(seed: number): Promise<Target>;
}

// ─────────────────────────────────────────────────────────────────────────────────────────────
// Capabilities only an in-process store has
// ─────────────────────────────────────────────────────────────────────────────────────────────

/** The v2 event history ring: `startIndex`..`lastIndex`, at most `capacity` events. */
export interface V2HistoryWindow {
  startIndex: number;
  lastIndex: number;
  capacity: number;
  /** Events currently held. */
  size: number;
}

/** One step of a traced read, for lesson 3: "visit node /a", "index: foo → rev 4.0", … */
export interface TraceStep {
  layer: string;
  detail: string;
}

export interface V2Internals {
  historyWindow(): V2HistoryWindow;
  /** The whole store serialised as v2 `Save()` does: deterministic JSON text. */
  save(): string;
  /** Nodes visited to answer a get, in visit order (the tree walk). */
  traceGet(key: string, recursive: boolean): TraceStep[];
  /** Every node in the tree (directories and keys, the root excluded). */
  nodeCount(): number;
  /** A new, empty store recovered from `snapshot` (etcd's restart from a .snap file): what it holds. */
  recoverCopy(snapshot: string): { index: number; nodes: number };
}

/** v3 watcher groups inside the watchable store (`synced`, `unsynced`, `victims`). */
export interface V3WatcherGroups {
  synced: number;
  unsynced: number;
  victims: number;
}

/** The v3 backend: revisions stored in the key bucket and their encoded bytes. */
export interface V3BackendSize {
  /** Revision entries (puts and tombstones) held in the key bucket. */
  revisions: number;
  /** Bytes of keys plus marshaled values in the key bucket (a stand-in for bbolt's file size). */
  bytes: number;
}

/** A watch stream whose reader is slow: nothing leaves the server's channel until `read()`. */
export interface SlowWatchStream extends V3WatchStream {
  /** The client reads up to `max` responses from the server's channel; returns how many. */
  read(max?: number): number;
}

export interface V3Internals {
  /** The steps of a range on one key: index lookup, then backend fetch. */
  traceRange(key: Uint8Array, revision: number): TraceStep[];
  backendSize(): V3BackendSize;
  watcherGroups(): V3WatcherGroups;
  /** Runs one pass of the watchable store's catch-up loop (etcd runs it every 100 ms). */
  syncWatchersOnce(): number;
  /**
   * A watch stream whose client reads only when told (`read(max)` moves up to `max` responses off
   * the server's 128-slot channel): the slow reader that makes watchers victims.
   */
  openSlowStream(): SlowWatchStream;
  compactRevision(): number;
  /**
   * A restart over the same backend (etcd's mvcc restore): a new store rebuilds its index by
   * reading every entry of the key bucket. Reports what it rebuilt; the running server is untouched.
   */
  restartFromBackend(): { revision: number; keys: number; entriesScanned: number };
}

// ─────────────────────────────────────────────────────────────────────────────────────────────
// One script, two stores: the common workload
// ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * A key as both APIs can report it. v2 calls the counters indexes, v3 revisions; the fields keep
 * etcd's meaning, not its name, so a table can put them side by side:
 *
 *   v2 node {key:"/a", value:"1", createdIndex:4, modifiedIndex:7}
 *     → {key:"/a", value:"1", created:4, modified:7}
 *   v3 kv   {key:"/a", value:"1", create_revision:2, mod_revision:5, version:3}
 *     → {key:"/a", value:"1", created:2, modified:5, version:3}
 */
export interface KvEntry {
  key: string;
  value: string;
  created: number;
  modified: number;
  /** v3 only: writes since creation. */
  version?: number;
}

/** An error from either API, with the one-line text etcdctl would print. */
export interface WorkloadError {
  api: Api;
  /** v2 errorCode (100, 101, 401 …) or v3 gRPC code (3, 5, 11 …). */
  code: number;
  /** v2: `101: Compare failed ([a != b]) [8]`; v3: `etcdserver: mvcc: required revision has been compacted`. */
  text: string;
}

export type WorkloadOutcome<T> = Outcome<T, WorkloadError>;

/**
 * One script, both stores: the operations lesson 16 runs side by side (the other lessons speak
 * each API directly, because the differences are what they show), each mapped onto the API's own way:
 *
 *   operation        v2 (/v2/keys)                      v3 (gRPC)
 *   put              PUT value=…                        Put
 *   get              GET                                Range on one key
 *   delete           DELETE                             DeleteRange
 *   compareAndSwap   PUT prevValue=…                    Txn(If value(k)=old Then put k new)
 */
export interface Workload {
  readonly api: Api;
  /** "index" for v2, "revision" for v3: the split the lessons teach. */
  readonly counterName: "index" | "revision";
  /** Returns the index or revision the write got. */
  put(key: string, value: string): Promise<WorkloadOutcome<number>>;
  /** v2 answers a missing key with error 100; v3 with an empty result (undefined). */
  get(key: string): Promise<WorkloadOutcome<KvEntry | undefined>>;
  /** Returns how many keys were removed. */
  delete(key: string): Promise<WorkloadOutcome<number>>;
  /** True when swapped, false when the compare failed (v2's 101 is a failed compare, not an error). */
  compareAndSwap(key: string, expected: string, next: string): Promise<WorkloadOutcome<boolean>>;
}

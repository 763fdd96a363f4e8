/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/store.go`.
 *
 * The v2 store: an in-memory tree of directories and keys, one store-wide etcd index that every
 * successful change moves up by exactly one, a 1000-event history, a watcher hub and a TTL heap.
 * The `Store` interface below is the whole v2 API on one screen; `V2Store` implements it.
 *
 * Time is data. The store never reads a clock. A write that sets a TTL receives the absolute expiry
 * in `expireOpts.expireTimeMs` (the HTTP layer computes now + ttl, as etcd does before replicating),
 * every method whose answer shows a `ttl` takes `nowMs` (the reading to count the seconds left from),
 * and expiry happens only when someone calls `deleteExpiredKeys(cutoffMs)`, etcd's SYNC request.
 *
 *   const clock = new SimulatedClock();
 *   const store = new V2Store();
 *   store.set("/t", false, "x", { expireTimeMs: clock.now() + 5_000 }, clock.now());   // ttl 5
 *   clock.advance(5_000);
 *   store.deleteExpiredKeys(clock.now());     →  [ expire event for /t ], index +1
 *
 * Errors are thrown as `V2Error` (see v2error.ts) and change nothing except the stats counters.
 */
import type { Event } from "./event.js";
import type { NodeState } from "./node.js";
import type { StatsJSON } from "./stats.js";
import type { Watcher } from "./watcher.js";

/** The store format version etcd reports (`Store.Version()`). */
export const STORE_VERSION = 2;

/**
 * etcd's `TTLOptionSet`: the absolute expiry and the refresh flag of a write.
 *
 *   {}                                        permanent (no TTL; on update/CAS this removes a TTL)
 *   { expireTimeMs: nowMs + 30_000 }          ttl=30
 *   { expireTimeMs: nowMs }                   ttl=0: expires at the next sweep
 *   { expireTimeMs: nowMs + 30_000, refresh: true }   new TTL, value kept, watchers not told
 */
export interface ExpireOptions {
  /** Absolute expiry in ms since the Unix epoch. Absent or 0 = permanent (Go's zero time). */
  readonly expireTimeMs?: number;
  /** True: a TTL refresh (set, update, compareAndSwap only; create ignores it). */
  readonly refresh?: boolean;
}

/** The whole v2 store API. Every method that fails throws a `V2Error` and changes nothing but stats. */
export interface Store {
  /** Always 2 (etcd's `Version()`). */
  version(): number;
  /** The current etcd index: the index of the last successful change (0 in an empty store). */
  readonly index: number;

  /** Reads a node. `recursive` lists the whole visible subtree, `sorted` sorts `nodes` by key. */
  get(path: string, recursive: boolean, sorted: boolean, nowMs: number): Event;
  /** Creates or replaces a key (or, with `dir`, an empty directory). Action `set`. */
  set(path: string, dir: boolean, value: string, expireOpts: ExpireOptions, nowMs: number): Event;
  /** Creates a node that must not exist (105 otherwise). `unique`: POST, a new in-order child of `path`. */
  create(path: string, dir: boolean, value: string, unique: boolean, expireOpts: ExpireOptions, nowMs: number): Event;
  /** Changes an existing node's value and TTL (a directory: TTL only). Action `update`. */
  update(path: string, value: string, expireOpts: ExpireOptions, nowMs: number): Event;
  /** Update of a file if `prevValue` ("" = any) and `prevIndex` (0 = any) match. Action `compareAndSwap`. */
  compareAndSwap(path: string, prevValue: string, prevIndex: number, value: string, expireOpts: ExpireOptions, nowMs: number): Event;
  /** Removes a key, or a directory with `dir` (empty) or `recursive` (whole subtree). Action `delete`. */
  delete(path: string, dir: boolean, recursive: boolean, nowMs: number): Event;
  /** Removes a file if `prevValue` and `prevIndex` match. Action `compareAndDelete`. */
  compareAndDelete(path: string, prevValue: string, prevIndex: number, nowMs: number): Event;

  /**
   * Starts a watch. `sinceIndex` 0 means "from the next change". An event already in the history
   * (index ≥ sinceIndex) is queued at once; otherwise the watcher waits in the hub.
   * Throws 401 when `sinceIndex` is older than the history keeps.
   */
  watch(path: string, recursive: boolean, stream: boolean, sinceIndex: number): Watcher;

  /** Removes every node whose expiry is ≤ cutoffMs, one `expire` event and one index each; returns them. */
  deleteExpiredKeys(cutoffMs: number): Event[];
  /** True while some node has a TTL (the server sends SYNC only then). */
  hasTTLKeys(): boolean;

  /** The whole store (tree, index, history, stats, TTL order) as deterministic JSON text. */
  save(): string;
  /** Replaces this store's state with a `save()` text; refuses invalid input without changing anything. Watchers stay. */
  recovery(json: string): void;
  /** An independent deep copy without watchers (etcd's `Clone()`). */
  clone(): Store;

  /** The stats counters, `watchers` included, in etcd's order. */
  stats(): StatsJSON;
  /** `JSON.stringify(stats())`: the `/v2/stats/store` body (etcd's `JsonStats()`). */
  jsonStats(): string;

  /** The tree as frozen plain data, sharing unchanged subtrees with earlier calls (cheap before/after copies). */
  tree(): NodeState;
  /** Throws if an internal invariant is broken (index, history, heap, tree links). For tests. */
  checkInvariants(): void;
}

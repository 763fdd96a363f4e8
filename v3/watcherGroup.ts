/**
 * Mirrors etcd release-3.4 `mvcc/watcher_group.go`: a set of watchers organised so that "who
 * watches this key?" (`watcherSetByKey`) costs one map lookup for single-key watchers and one
 * interval-tree stab for range watchers.
 *
 * Single-key watchers sit in a Map from key to watcher set (`keyWatchers`, etcd's
 * `watcherSetByKey` type). Range watchers sit in an interval tree keyed by their half-open
 * interval [key, end); an empty `end` means "every key ≥ key" and is stored as +∞. Watchers on the
 * identical interval share one tree node, whose bucket of values is that interval's watcher set.
 * A key `k` is looked up as the point [k, k + "\0"), the smallest interval holding exactly k.
 *
 *   watch "foo"            →  keyWatchers: {"foo": {w1}}
 *   watch ["a", "c")       →  ranges: [a, c) → {w2}
 *   watch ["b", +∞)        →  ranges: [b, +∞) → {w3}
 *   watcherSetByKey("b")   →  {w2, w3}       ("b" ∈ [a, c) and "b" ∈ [b, +∞); w1 is not asked)
 *
 * Also here: `EventBatch` (the events one watcher gets in one response, capped at 1000 distinct
 * revisions) and `WatcherBatch` (watcher → its batch), built by `newWatcherBatch`.
 *
 * The interval tree is `@flatten-js/interval-tree`, used only through its public API (`insert`,
 * `remove`, `search`, `intersect_any`, `isEmpty`, `keys`, and `IntervalBase` for our own
 * interval type); etcd's is its own `pkg/adt` red-black tree.
 */
import IntervalTreeUntyped, { IntervalBase as IntervalBaseUntyped } from "@flatten-js/interval-tree";
import { toBinaryString } from "../shared/bytes.js";
import { InvariantViolation } from "./errors.js";
import type { Event } from "./rpc.js";
import type { Watcher } from "./watchableStore.js";

/** Most distinct revisions sent to an unsynced watcher in one response (etcd: `watchBatchMaxRevs`). */
export const WATCH_BATCH_MAX_REVS = 1000;

/**
 * +∞ for interval ends (etcd: an empty `StringAffineComparable` compares above every string).
 * Keys are held as latin1 strings (one char per byte, ≤ U+00FF), so the single char U+0100 sorts
 * after every key, and plain `<` on strings keeps working.
 */
const AFFINE_INFINITY = "\u0100";

/**
 * The library's base class for interval types. (The package's bundled .d.ts files use
 * extensionless imports that NodeNext cannot resolve, so its exports type as `any`; the two
 * declarations here restore the types we rely on.)
 */
const IntervalBase = IntervalBaseUntyped as unknown as abstract new (low: string, high: string) => {
  low: string;
  high: string;
};

/**
 * A half-open interval [low, high) of binary key strings (etcd: `adt.Interval` of
 * `StringAffineComparable`). The library orders nodes by (low, high) with `<` and keeps each
 * subtree's span; only the intersection test needs overriding, because the library's intervals
 * are closed and a watcher on ["a", "c") must not see "c".
 *
 *   [a, c) and the point [c, c\0): a < c\0 but c < c fails → no intersection
 */
class KeyInterval extends IntervalBase {
  clone(): KeyInterval {
    return new KeyInterval(this.low, this.high);
  }

  /**
   * The span the tree starts a node's subtree span from. The library's default copies the
   * interval for every node it builds, including the query node of each search; our intervals are
   * never changed after construction (the library only changes the fresh copy `merge` makes,
   * and ours makes none), so the interval itself serves.
   */
  get max(): KeyInterval {
    return this;
  }

  /** The span of both: the smaller low and the larger high (a new interval). */
  merge(other: KeyInterval): KeyInterval {
    return new KeyInterval(this.low < other.low ? this.low : other.low, this.high > other.high ? this.high : other.high);
  }

  not_intersect(other: KeyInterval): boolean {
    return !(this.low < other.high && other.low < this.high);
  }
}

/** The part of the library's `IntervalTree` we use (its public methods), typed. */
interface IntervalTree<V> {
  /** Adds `value` to the bucket of `key`, creating the node if needed. O(log n). */
  insert(key: KeyInterval, value: V): unknown;
  /** Takes `value` out of the bucket of `key`; the node goes with its last value. Undefined if absent. */
  remove(key: KeyInterval, value: V): unknown;
  /** Every value whose interval intersects `key`. O(log n + matches). */
  search(key: KeyInterval): V[];
  /** True when some interval intersects `key`. */
  intersect_any(key: KeyInterval): boolean;
  isEmpty(): boolean;
  /** The distinct intervals, in order. O(n). */
  readonly keys: unknown[];
}
const IntervalTree = IntervalTreeUntyped as unknown as new <V>() => IntervalTree<V>;

/** The interval tree key of a range watcher: [key, end), or [key, +∞) for an empty end. */
function rangeInterval(key: string, end: string): KeyInterval {
  return new KeyInterval(key, end === "" ? AFFINE_INFINITY : end);
}

/** The point [key, key + "\0") (etcd: `adt.NewStringAffinePoint`). */
function pointInterval(key: string): KeyInterval {
  return new KeyInterval(key, key + "\0");
}

/**
 * The events one watcher receives in one response (etcd: `eventBatch`). Events are appended in
 * revision order; once a batch holds `maxRevs` distinct revisions, `moreRev` records the first
 * revision left out and later events are dropped (the watcher stays unsynced and reads them next).
 *
 *   maxRevs 2; add @5, @5, @6, @7, @8  →  evs [@5, @5, @6], revs 2, moreRev 7
 */
export class EventBatch {
  readonly evs: Event[] = [];
  /** Distinct revisions in `evs`. */
  revs = 0;
  /** First revision not included because the batch was full; 0 when nothing was left out. */
  moreRev = 0;

  constructor(private readonly maxRevs: number = WATCH_BATCH_MAX_REVS) {}

  add(event: Event): void {
    if (this.revs > this.maxRevs) return; // full: already recorded moreRev
    const last = this.evs[this.evs.length - 1];
    if (last === undefined) {
      this.revs = 1;
      this.evs.push(event);
      return;
    }
    if (event.kv.mod_revision > last.kv.mod_revision) {
      this.revs++;
      if (this.revs > this.maxRevs) {
        this.moreRev = event.kv.mod_revision;
        return;
      }
    }
    this.evs.push(event);
  }
}

/** Each watcher's batch of matched events (etcd: `watcherBatch`). */
export type WatcherBatch = Map<Watcher, EventBatch>;

/**
 * Maps the watchers of `group` to the events they should get: each event goes to every watcher
 * of its key (`watcherSetByKey`) whose `minRev` ≤ the event's revision ("don't double notify").
 * Cost: O(events × (log ranges + matches)); watchers on other keys are never visited.
 *
 *   group {w1 on "a", w2 on ["a", "c")}; events a@5, b@5  →  {w1: [a@5], w2: [a@5, b@5]}
 */
export function newWatcherBatch(group: WatcherGroup, events: readonly Event[], maxRevs: number = WATCH_BATCH_MAX_REVS): WatcherBatch {
  const batch: WatcherBatch = new Map();
  if (group.size === 0) return batch;
  for (const event of events) {
    for (const watcher of group.watcherSetByKey(toBinaryString(event.kv.key))) {
      if (event.kv.mod_revision < watcher.minRev) continue; // don't double notify
      let eventBatch = batch.get(watcher);
      if (eventBatch === undefined) {
        eventBatch = new EventBatch(maxRevs);
        batch.set(watcher, eventBatch);
      }
      eventBatch.add(event);
    }
  }
  return batch;
}

/** The answer of `watcherSetByKey` when nobody watches the key. */
const NO_WATCHERS: ReadonlySet<Watcher> = new Set<Watcher>();

/** A collection of watchers organised by what they watch (etcd: `watcherGroup`). */
export class WatcherGroup {
  /** Single-key watchers: binary key → set (etcd: `keyWatchers`, of type `watcherSetByKey`). */
  private readonly keyWatchers = new Map<string, Set<Watcher>>();
  /** Range watchers: each distinct interval's bucket holds its watchers (etcd: `ranges`). */
  private readonly ranges = new IntervalTree<Watcher>();
  /** Every watcher of the group (etcd: `watchers`). */
  readonly watchers = new Set<Watcher>();

  /** Number of watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** Number of distinct intervals in the tree (for lessons on range watchers). O(ranges). */
  get rangeCount(): number {
    return this.ranges.keys.length;
  }

  /** Adds a watcher. Adding one twice is a bug (etcd panics "add watcher twice!"). O(1) or O(log ranges). */
  add(watcher: Watcher): void {
    if (this.watchers.has(watcher)) throw new InvariantViolation("watcherGroup.add: add watcher twice");
    this.watchers.add(watcher);
    if (watcher.endString === undefined) {
      let set = this.keyWatchers.get(watcher.keyString);
      if (set === undefined) this.keyWatchers.set(watcher.keyString, (set = new Set()));
      set.add(watcher);
      return;
    }
    // An interval already registered gets the watcher in its bucket; a new one gets a node.
    this.ranges.insert(rangeInterval(watcher.keyString, watcher.endString), watcher);
  }

  /** True when some watcher of the group watches `key` (a binary string). O(1 + log ranges). */
  contains(key: string): boolean {
    return this.keyWatchers.has(key) || (!this.ranges.isEmpty() && this.ranges.intersect_any(pointInterval(key)));
  }

  /**
   * Removes a watcher; false if it was not in the group. O(1), or O(log ranges + watchers on
   * the same interval) for a range watcher.
   */
  delete(watcher: Watcher): boolean {
    if (!this.watchers.delete(watcher)) return false;
    if (watcher.endString === undefined) {
      const set = this.keyWatchers.get(watcher.keyString);
      set?.delete(watcher);
      if (set !== undefined && set.size === 0) this.keyWatchers.delete(watcher.keyString);
      return true;
    }
    if (this.ranges.remove(rangeInterval(watcher.keyString, watcher.endString), watcher) === undefined) {
      throw new InvariantViolation("watcherGroup.delete: could not remove watcher from interval tree");
    }
    return true;
  }

  /**
   * The watchers of `key` (a binary string, Go's `string(key)`): its single-key watchers plus
   * the watchers of every range holding it. Like etcd, the single-key set itself is returned
   * when no range holds the key (no copy); otherwise a new set. Do not modify the answer.
   *
   *   keyWatchers {"b": {w1}}, ranges [a, c) → {w2}:  watcherSetByKey("b") → {w1, w2}
   *                                                   watcherSetByKey("x") → {}
   */
  watcherSetByKey(key: string): ReadonlySet<Watcher> {
    const keyWatchers = this.keyWatchers.get(key);
    if (this.ranges.isEmpty()) return keyWatchers ?? NO_WATCHERS;
    const rangeWatchers = this.ranges.search(pointInterval(key));
    if (rangeWatchers.length === 0) return keyWatchers ?? NO_WATCHERS;
    const set = new Set<Watcher>(keyWatchers);
    for (const watcher of rangeWatchers) set.add(watcher);
    return set;
  }

  /**
   * Picks up to `maxWatchers` watchers to sync (etcd: `choose`/`chooseAll`): the first ones in
   * insertion order. Returns them and the smallest `minRev` among those not compacted; watchers
   * whose `minRev` < `compactRev` are returned apart, for the caller to cancel.
   */
  choose(maxWatchers: number, curRev: number, compactRev: number): { chosen: Watcher[]; compacted: Watcher[]; minRev: number } {
    const chosen: Watcher[] = [];
    const compacted: Watcher[] = [];
    let minRev = Number.MAX_SAFE_INTEGER;
    for (const watcher of this.watchers) {
      if (chosen.length + compacted.length >= maxWatchers) break;
      if (watcher.minRev > curRev) {
        throw new InvariantViolation(`watcher minimum revision ${watcher.minRev} should not exceed current revision ${curRev}`);
      }
      if (watcher.minRev < compactRev) {
        compacted.push(watcher);
        continue;
      }
      chosen.push(watcher);
      if (watcher.minRev < minRev) minRev = watcher.minRev;
    }
    return { chosen, compacted, minRev };
  }
}

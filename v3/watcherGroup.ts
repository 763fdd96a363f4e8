/**
 * Mirrors etcd release-3.4 `mvcc/watcher_group.go`: a set of watchers organised so that "who
 * watches this key?" costs O(1) for single-key watchers and O(log n + matches) for range watchers.
 *
 * Single-key watchers sit in a Map from key to watcher set. Range watchers sit in an interval
 * tree keyed by their half-open interval [key, end); an empty `end` means "every key ≥ key" and
 * is stored as +∞. A key `k` is looked up as a point: the intervals with low ≤ k < high (etcd
 * stabs with the point [k, k+"\0"), the smallest interval holding exactly k; same answer).
 * Watchers on the identical interval share one tree node (one watcher set). Beside the tree,
 * etcdsim (not etcd) caches the union of all watched intervals as a sorted array (`RangeUnion`),
 * so a key no range holds, the usual case for a put, is turned away without walking the tree.
 *
 *   watch "foo"          →  keyWatchers: {"foo": {w1}}
 *   watch ["a", "c")     →  ranges: [a, c) → {w2}
 *   watch ["b", +∞)      →  ranges: [b, +∞) → {w3}
 *   watchersForKey("b")  →  {w2, w3}       ("b" ∈ [a, c) and "b" ∈ [b, +∞); w1 is not asked)
 *
 * Also here: `EventBatch` (the events one watcher gets in one response, capped at 1000 distinct
 * revisions) and `WatcherBatch` (watcher → its batch), built by `newWatcherBatch`.
 */
import IntervalTreeUntyped from "@flatten-js/interval-tree";
import type { Event } from "./rpc.js";
import type { Watcher } from "./watchableStore.js";

/** Most distinct revisions sent to an unsynced watcher in one response (etcd: `watchBatchMaxRevs`). */
export const WATCH_BATCH_MAX_REVS = 1000;

/**
 * +∞ for interval ends. Keys are held as latin1 strings (one char per byte, ≤ U+00FF), so the
 * single char U+0100 sorts after every key, and plain `<` on strings keeps working.
 */
export const AFFINE_INFINITY = "\u0100";

/**
 * A half-open interval [low, high) of binary key strings, in the shape the library's red-black
 * tree calls (`less_than`, `equal_to`, `not_intersect`, `merge`, `max`, `comparable_less_than`).
 * Nodes are ordered by (low, high); only the intersection test is half-open. The tree prunes a
 * subtree when its max high `<` the query's low, which for half-open intervals prunes slightly
 * less than it could (never wrongly), so results stay exact.
 *
 * (The package's bundled .d.ts files use extensionless imports that NodeNext cannot resolve, so
 * its classes type as `any`; this class and `IntervalTree` below restore the types we rely on.)
 */
export class KeyInterval {
  constructor(
    public low: string,
    public high: string,
  ) {}

  clone(): KeyInterval {
    return new KeyInterval(this.low, this.high);
  }

  get max(): KeyInterval {
    return this.clone();
  }

  less_than(other: KeyInterval): boolean {
    return this.low < other.low || (this.low === other.low && this.high < other.high);
  }

  equal_to(other: KeyInterval): boolean {
    return this.low === other.low && this.high === other.high;
  }

  intersect(other: KeyInterval): boolean {
    return !this.not_intersect(other);
  }

  not_intersect(other: KeyInterval): boolean {
    return !(this.low < other.high && other.low < this.high);
  }

  /** The span of both: used by the tree to keep each node's subtree bounds. */
  merge(other: KeyInterval): KeyInterval {
    return new KeyInterval(this.low < other.low ? this.low : other.low, this.high > other.high ? this.high : other.high);
  }

  comparable_less_than(a: string, b: string): boolean {
    return a < b;
  }

  output(): [string, string] {
    return [this.low, this.high];
  }
}

/**
 * The part of `@flatten-js/interval-tree`'s IntervalTree we use: a red-black tree ordered by
 * (low, high) whose every node also keeps `max`, the span of its subtree (smallest low, largest
 * high). Insert and remove are O(log n). Point queries walk the nodes directly (`stab` below).
 */
export interface IntervalTree<V> {
  readonly size: number;
  root: TreeNode<V> | null;
  readonly nil_node: TreeNode<V>;
  insert(key: KeyInterval, value: V): unknown;
  remove(key: KeyInterval, value: V): unknown;
  /** Every (value, interval) whose interval intersects `key`, in (low, high) order. */
  search<R>(key: KeyInterval, map: (value: V, key: KeyInterval) => R): R[];
}
interface TreeNode<V> {
  left: TreeNode<V> | null;
  right: TreeNode<V> | null;
  item: { key?: KeyInterval; values: V[] };
  max: KeyInterval | undefined;
}
export const IntervalTree = IntervalTreeUntyped as unknown as new <V>() => IntervalTree<V>;

/**
 * Calls `visit` with the value of every interval holding `point` (etcd: `IntervalTree.Stab`).
 * A subtree whose span does not hold the point is skipped whole, so a key outside every watched
 * range costs one comparison at the root, and otherwise O(log n + matches) string comparisons,
 * with no allocation. (The library's `search` does the same walk but allocates a query node and
 * two arrays per call, which a put pays for every event.)
 *
 *   intervals [a,c) [b,+∞) [x,y);  stab("b") → [a,c), [b,+∞);  stab("0") → nothing (root span [a,+∞))
 */
function stab<V>(tree: IntervalTree<V>, point: string, visit: (value: V) => void): void {
  stabBelow(tree.root, tree.nil_node, point, visit);
}

/**
 * `stab` for the subtree under `node`. Plain recursive functions, not closures made per call: tsx
 * (esbuild keepNames) wraps every closure creation in a `__name` call, which a put would pay per event.
 */
function stabBelow<V>(node: TreeNode<V> | null, nil: TreeNode<V>, point: string, visit: (value: V) => void): void {
  if (node === null || node === nil) return;
  const span = node.max;
  if (span === undefined || point < span.low || span.high <= point) return;
  stabBelow(node.left, nil, point, visit);
  const key = node.item.key;
  if (key !== undefined && key.low <= point && point < key.high) for (const value of node.item.values) visit(value);
  stabBelow(node.right, nil, point, visit);
}

/** True when some interval holds `point`; stops at the first. */
function stabsAny<V>(tree: IntervalTree<V>, point: string): boolean {
  return stabsAnyBelow(tree.root, tree.nil_node, point);
}

/** `stabsAny` for the subtree under `node` (see `stabBelow` on why it is not a closure). */
function stabsAnyBelow<V>(node: TreeNode<V> | null, nil: TreeNode<V>, point: string): boolean {
  if (node === null || node === nil) return false;
  const span = node.max;
  if (span === undefined || point < span.low || span.high <= point) return false;
  const key = node.item.key;
  return (key !== undefined && key.low <= point && point < key.high) || stabsAnyBelow(node.left, nil, point) || stabsAnyBelow(node.right, nil, point);
}

/** Calls `visit` with every interval of the tree in (low, high) order: an in-order walk. */
function forEachInterval<V>(node: TreeNode<V> | null, nil: TreeNode<V>, visit: (interval: KeyInterval) => void): void {
  if (node === null || node === nil) return;
  forEachInterval(node.left, nil, visit);
  if (node.item.key !== undefined) visit(node.item.key);
  forEachInterval(node.right, nil, visit);
}

/** Digits in an abbreviated key: 6 digits in base 258 stay below 2^53, so a double holds them exactly. */
const ABBREVIATED_DIGITS = 6;

/**
 * The 6 bytes of `text` (a binary string) after its first `skip`, as one number
 * whose order agrees with the strings': each byte b counts as b + 1, the +∞ char U+0100 as 257,
 * and a missing byte (past the end) as 0, so a shorter string sorts first. Equal numbers say
 * nothing (the strings may differ later); different numbers order the strings.
 *
 *   skip 4: "key/0001/02a4" → digits of "0001/0" ;  "key/0001/02a9" → the same number (a tie)
 *           "key/0002/00a0" → a larger number, as "key/0002…" > "key/0001…"
 */
function abbreviate(text: string, skip: number): number {
  let value = 0;
  for (let i = skip; i < skip + ABBREVIATED_DIGITS; i++) value = value * 258 + (i < text.length ? text.charCodeAt(i) + 1 : 0);
  return value;
}

/** `abbreviate` for key bytes (two functions, so each call site sees one argument type). */
function abbreviateBytes(key: Uint8Array, skip: number): number {
  let value = 0;
  for (let i = skip; i < skip + ABBREVIATED_DIGITS; i++) value = value * 258 + (i < key.length ? (key[i] as number) + 1 : 0);
  return value;
}

/**
 * etcdsim's cache, not etcd's: the union of every watched range as disjoint intervals sorted by
 * low, in two flat arrays (`lows[i]`, `highs[i]` bound interval i). "Does any range hold this
 * key?" is then one binary search with no tree walk; the tree is stabbed only on a yes, to find
 * which watchers. A put among many interleaved range watchers almost always gets a no.
 *
 * Invariant: a key k lies in some watched interval ⟺ for the last i with lows[i] ≤ k, k < highs[i].
 * Intervals that overlap or touch are merged, so the highs are increasing too.
 *
 *   watched [a,c) [b,e) [e,f) [x,+∞)  →  lows [a, x], highs [f, +∞)
 *   "d" → last low ≤ "d" is "a", "d" < "f": yes      "g" → "a", "g" ≥ "f": no      "0" → none: no
 *
 * Rebuilt lazily: add and delete only mark it stale when the set of intervals changes, and the
 * next query rebuilds it by one in-order walk of the tree, O(ranges).
 */
class RangeUnion {
  private lows: string[] = [];
  private highs: string[] = [];
  /** Bytes every key from the first low up to the last high starts with. */
  private sharedPrefix = 0;
  /** `abbreviate(lows[i], sharedPrefix)`: the lows as numbers, for a search that rarely compares strings. */
  private abbreviatedLows = new Float64Array(0);
  stale = false;

  rebuild<V>(tree: IntervalTree<V>): void {
    const lows: string[] = [];
    const highs: string[] = [];
    forEachInterval(tree.root, tree.nil_node, (interval) => {
      const last = highs.length - 1;
      if (last >= 0 && interval.low <= (highs[last] as string)) {
        if (interval.high > (highs[last] as string)) highs[last] = interval.high;
        return;
      }
      lows.push(interval.low);
      highs.push(interval.high);
    });
    this.lows = lows;
    this.highs = highs;
    const first = lows[0] ?? "";
    const last = highs[highs.length - 1] ?? "";
    let shared = 0;
    while (shared < first.length && shared < last.length && first.charCodeAt(shared) === last.charCodeAt(shared)) shared++;
    this.sharedPrefix = shared;
    this.abbreviatedLows = Float64Array.from(lows, (low) => abbreviate(low, shared));
    this.stale = false;
  }

  /** True when some interval holds `point` (a binary string). O(log intervals). */
  holds(point: string): boolean {
    const lows = this.lows;
    let lo = 0;
    let hi = lows.length; // the answer index is the last with lows[i] ≤ point: search [lo, hi)
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((lows[mid] as string) <= point) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && point < (this.highs[lo - 1] as string);
  }

  /**
   * `holds` for key bytes, without building the key's string. A key outside [first low, last
   * high) is turned away by two comparisons; a key inside shares their common prefix, so the
   * search compares abbreviated keys (`abbreviate`) as numbers and compares strings only on a tie.
   */
  holdsKey(key: Uint8Array): boolean {
    const lows = this.lows;
    const count = lows.length;
    if (count === 0 || compareKeyToString(key, lows[0] as string) < 0) return false;
    if (compareKeyToString(key, this.highs[count - 1] as string) >= 0) return false;
    const abbreviated = abbreviateBytes(key, this.sharedPrefix);
    const abbreviatedLows = this.abbreviatedLows;
    let lo = 0;
    let hi = count; // the answer is the last i with lows[i] ≤ key: search [lo, hi)
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const low = abbreviatedLows[mid] as number;
      if (low < abbreviated || (low === abbreviated && compareKeyToString(key, lows[mid] as string) >= 0)) lo = mid + 1;
      else hi = mid;
    }
    return compareKeyToString(key, this.highs[lo - 1] as string) < 0;
  }
}

/**
 * Compares key bytes with a latin1 string (one char per byte, or U+0100 for +∞) without building
 * a string: negative, zero or positive, like `compareBytes`.
 */
function compareKeyToString(key: Uint8Array, text: string): number {
  const n = key.length < text.length ? key.length : text.length;
  for (let i = 0; i < n; i++) {
    const d = (key[i] as number) - text.charCodeAt(i);
    if (d !== 0) return d;
  }
  return key.length - text.length;
}

/**
 * A key's fingerprint: its length, first byte and last byte, as one number. Two keys with
 * different fingerprints differ, so a fingerprint no watched key has proves "nobody watches this
 * key" without building the key's string.
 */
function fingerprint(key: Uint8Array): number {
  const n = key.length;
  return n === 0 ? 0 : n * 65536 + (key[0] as number) * 256 + (key[n - 1] as number);
}

/**
 * Key bytes as a latin1 string (one char per byte), the form the maps and the tree hold. Short
 * keys go through `String.fromCharCode` directly, which is several times cheaper than a Buffer view.
 */
export function keyString(key: Uint8Array): string {
  if (key.length <= 64) return String.fromCharCode.apply(null, key as unknown as number[]);
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}

/** The interval tree key of a range watcher: [key, end), or [key, +∞) for an empty end. */
function rangeInterval(key: string, end: string): KeyInterval {
  return new KeyInterval(key, end === "" ? AFFINE_INFINITY : end);
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
 * whose range holds its key and whose `minRev` ≤ the event's revision ("don't double notify").
 * Cost: O(events × (1 + log ranges + matches)); watchers on other keys are never visited.
 */
export function newWatcherBatch(group: WatcherGroup, events: readonly Event[], maxRevs: number = WATCH_BATCH_MAX_REVS): WatcherBatch {
  const batch: WatcherBatch = new Map();
  if (group.size === 0) return batch;
  for (const event of events) {
    group.forEachWatcherOfKey(event.kv.key, (watcher) => {
      if (event.kv.mod_revision < watcher.minRev) return;
      let eventBatch = batch.get(watcher);
      if (eventBatch === undefined) {
        eventBatch = new EventBatch(maxRevs);
        batch.set(watcher, eventBatch);
      }
      eventBatch.add(event);
    });
  }
  return batch;
}

/** A collection of watchers organised by what they watch (etcd: `watcherGroup`). */
export class WatcherGroup {
  /** Single-key watchers: binary key → set (etcd: `keyWatchers`). */
  private readonly keyWatchers = new Map<string, Set<Watcher>>();
  /** Range watchers: the tree holds one watcher set per distinct interval (etcd: `ranges`). */
  private readonly ranges = new IntervalTree<Set<Watcher>>();
  /** The same sets as the tree, found by "key\u0101end" to add or delete without a tree walk. */
  private readonly rangeSets = new Map<string, Set<Watcher>>();
  /** Every watcher of the group (etcd: `watchers`). */
  readonly watchers = new Set<Watcher>();
  /**
   * How many single-key watchers have each fingerprint. Go looks up `m[string(key)]` without
   * allocating; JavaScript must build the string first, so a miss is answered from here instead.
   */
  private readonly keyFingerprints = new Map<number, number>();
  /** The union of the tree's intervals, for a tree-free "no range holds this key" (etcdsim's cache). */
  private readonly rangeUnion = new RangeUnion();

  /** Number of watchers. */
  get size(): number {
    return this.watchers.size;
  }

  /** Number of distinct intervals in the tree (for lessons on range watchers). */
  get rangeCount(): number {
    return this.rangeSets.size;
  }

  /** Adds a watcher. Adding one twice is a bug (etcd panics "add watcher twice!"). O(1) or O(log ranges). */
  add(watcher: Watcher): void {
    if (this.watchers.has(watcher)) throw new Error("InvariantViolation: add watcher twice");
    this.watchers.add(watcher);
    if (watcher.endString === undefined) {
      let set = this.keyWatchers.get(watcher.keyString);
      if (set === undefined) this.keyWatchers.set(watcher.keyString, (set = new Set()));
      set.add(watcher);
      const print = fingerprint(watcher.key);
      this.keyFingerprints.set(print, (this.keyFingerprints.get(print) ?? 0) + 1);
      return;
    }
    const id = watcher.keyString + "\u0101" + watcher.endString;
    let set = this.rangeSets.get(id);
    if (set === undefined) {
      set = new Set();
      this.rangeSets.set(id, set);
      this.ranges.insert(rangeInterval(watcher.keyString, watcher.endString), set);
      this.rangeUnion.stale = true;
    }
    set.add(watcher);
  }

  /** Removes a watcher; false if it was not in the group. O(1) or O(log ranges). */
  delete(watcher: Watcher): boolean {
    if (!this.watchers.delete(watcher)) return false;
    if (watcher.endString === undefined) {
      const set = this.keyWatchers.get(watcher.keyString);
      set?.delete(watcher);
      if (set !== undefined && set.size === 0) this.keyWatchers.delete(watcher.keyString);
      const print = fingerprint(watcher.key);
      const left = (this.keyFingerprints.get(print) ?? 0) - 1;
      if (left > 0) this.keyFingerprints.set(print, left);
      else this.keyFingerprints.delete(print);
      return true;
    }
    const id = watcher.keyString + "\u0101" + watcher.endString;
    const set = this.rangeSets.get(id);
    if (set === undefined) throw new Error("InvariantViolation: range watcher missing from the interval tree");
    set.delete(watcher);
    if (set.size === 0) {
      this.rangeSets.delete(id);
      if (this.ranges.remove(rangeInterval(watcher.keyString, watcher.endString), set) === undefined) {
        throw new Error("InvariantViolation: could not remove watcher interval from the tree");
      }
      this.rangeUnion.stale = true;
    }
    return true;
  }

  /** True when some watcher of the group watches `key` (binary string). O(1 + log ranges). */
  contains(key: string): boolean {
    return this.keyWatchers.has(key) || this.anyRangeHolds(key);
  }

  /**
   * False when no watcher of the group can watch `key`: no single-key watcher has its fingerprint
   * and no watched range holds it (a binary search of the range union cache). O(key length ×
   * log ranges), allocation-free. True means "look it up".
   */
  mayWatch(key: Uint8Array): boolean {
    if (this.keyFingerprints.size > 0 && this.keyFingerprints.has(fingerprint(key))) return true;
    if (this.rangeSets.size === 0) return false;
    return this.unionOfRanges().holdsKey(key);
  }

  /** The range union cache, rebuilt first if watchers were added or removed since the last query. */
  private unionOfRanges(): RangeUnion {
    if (this.rangeUnion.stale) this.rangeUnion.rebuild(this.ranges);
    return this.rangeUnion;
  }

  /** The single-key watchers of `key` (a binary string), or undefined. O(1). Do not modify. */
  keyWatchersOf(key: string): ReadonlySet<Watcher> | undefined {
    return this.keyWatchers.get(key);
  }

  /** Calls `visit` with the watcher set of each watched range holding `key` (a binary string). */
  forEachRangeSetOf(key: string, visit: (watchers: ReadonlySet<Watcher>) => void): void {
    if (this.rangeSets.size > 0 && this.unionOfRanges().holds(key)) stab(this.ranges, key, visit);
  }

  /** True when some range watcher's range holds `key`. */
  anyRangeHolds(key: string): boolean {
    return this.rangeSets.size > 0 && this.unionOfRanges().holds(key) && stabsAny(this.ranges, key);
  }

  /**
   * Calls `visit` once for each watcher of `key` (etcd: `watcherSetByKey`, without building the
   * union: a watcher is in exactly one set, its key's or its interval's, so nothing repeats).
   * `visit` must not add or delete watchers of this group.
   */
  forEachWatcherOfKey(key: Uint8Array, visit: (watcher: Watcher) => void): void {
    const point = keyString(key);
    const set = this.keyWatchers.get(point);
    if (set !== undefined) for (const watcher of set) visit(watcher);
    if (this.rangeSets.size === 0 || !this.unionOfRanges().holds(point)) return;
    stab(this.ranges, point, (rangeSet) => {
      for (const watcher of rangeSet) visit(watcher);
    });
  }

  /** The watchers of `key` as one set (for tests and lessons). */
  watcherSetByKey(key: Uint8Array): Set<Watcher> {
    const out = new Set<Watcher>();
    this.forEachWatcherOfKey(key, (watcher) => out.add(watcher));
    return out;
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
        throw new Error(`InvariantViolation: watcher minimum revision ${watcher.minRev} should not exceed current revision ${curRev}`);
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

/**
 * Mirrors etcd release-3.4 `auth/range_perm_cache.go` (with the `Contains`/`Intersects` walks of
 * `pkg/adt/interval_tree.go`): for each user, the union of its roles' key permissions, one interval
 * set for READ and one for WRITE, and the two questions a request asks of them.
 *
 * A permission becomes a half-open interval of byte keys (bytes held as latin1 strings):
 *   key "k", no range_end        → the point [k, k\0)        (exactly the key k)
 *   key "k", range_end "\0"      → [k, +∞)                   (every key from k on)
 *   key "a", range_end "c"       → [a, c)
 * READWRITE goes into both sets. Roles that do not exist are skipped.
 *
 * The questions (etcd: `checkKeyPoint`, `checkKeyInterval`):
 *   one key k     allowed when some interval holds k.
 *   a range [b,e) allowed when the intervals meeting it, taken by start, run without a gap from at
 *                 or before b to at or after e. Touching intervals join: [a,c) + [c,e) covers [a,e),
 *                 across roles too. An empty or reversed range meets nothing and is denied.
 *
 *   reader: read [/app/, /app0), read [a, c), readwrite single
 *     read("/app/x") yes   readRange([/app/, /app0)) yes   readRange([/, 0)) no   readRange([a, d)) no
 *
 * The cache is rebuilt from the store after every auth change (store.ts), so a change applies to
 * the very next request.
 */
import { toBinaryString } from "../../shared/bytes.js";
import type { Permission } from "../authpb.js";
import { PermissionType } from "../authpb.js";
import { AFFINE_INFINITY, IntervalTree, KeyInterval } from "../watcherGroup.js";

/** The interval a permission covers (etcd: `getMergedPerms`). */
export function permissionInterval(perm: Permission): KeyInterval {
  const key = toBinaryString(perm.key);
  if (perm.range_end.length === 0) return new KeyInterval(key, key + "\0");
  if (perm.range_end.length === 1 && perm.range_end[0] === 0) return new KeyInterval(key, AFFINE_INFINITY);
  return new KeyInterval(key, toBinaryString(perm.range_end));
}

/** The interval a request names: no end → the point; end "\0" → to +∞ (etcd: `checkKeyInterval`). */
export function requestInterval(key: Uint8Array, rangeEnd: Uint8Array | undefined): KeyInterval {
  return permissionInterval({ permType: PermissionType.READ, key, range_end: rangeEnd ?? new Uint8Array() });
}

/** One direction's merged intervals (etcd: an `adt.IntervalTree` in `unifiedRangePermissions`). */
class PermissionSet {
  // The value is a copy of the interval, not the interval itself: the library's search answers
  // `key.output()` ([low, high]) instead of the value when the two are the same object.
  private readonly tree = new IntervalTree<{ readonly low: string; readonly high: string }>();

  insert(interval: KeyInterval): void {
    this.tree.insert(interval, { low: interval.low, high: interval.high });
  }

  /** etcd `Intersects(point)`: some interval holds the key. */
  holds(key: string): boolean {
    return this.tree.intersect_any(new KeyInterval(key, key + "\0"));
  }

  /** etcd `Contains(ivl)`: the intervals meeting `wanted` cover it without a gap. */
  covers(wanted: KeyInterval): boolean {
    if (!(wanted.low < wanted.high)) return false;
    let minLow: string | undefined;
    let maxHigh = "";
    for (const ivl of this.tree.search(wanted)) {
      if (minLow === undefined) {
        minLow = ivl.low;
        maxHigh = ivl.high;
        continue;
      }
      if (maxHigh < ivl.low) return false; // a gap
      if (ivl.high > maxHigh) maxHigh = ivl.high;
    }
    return minLow !== undefined && minLow <= wanted.low && maxHigh >= wanted.high;
  }

  get size(): number {
    return this.tree.size;
  }
}

/** A user's two interval sets (etcd: `unifiedRangePermissions`). */
export class UnifiedRangePermissions {
  readonly read = new PermissionSet();
  readonly write = new PermissionSet();

  /** Built from the permissions of the user's roles, in any order. */
  static of(permissions: Iterable<Permission>): UnifiedRangePermissions {
    const unified = new UnifiedRangePermissions();
    for (const perm of permissions) {
      const ivl = permissionInterval(perm);
      if (perm.permType !== PermissionType.WRITE) unified.read.insert(ivl);
      if (perm.permType !== PermissionType.READ) unified.write.insert(ivl);
    }
    return unified;
  }

  /**
   * etcd `isRangeOpPermitted` after the cache lookup: a request without range_end asks about one
   * key, any other asks about the whole range ("\0" = to the end of the keyspace).
   */
  permits(kind: "read" | "write", key: Uint8Array, rangeEnd: Uint8Array | undefined): boolean {
    const set = kind === "read" ? this.read : this.write;
    if (rangeEnd === undefined || rangeEnd.length === 0) return set.holds(toBinaryString(key));
    return set.covers(requestInterval(key, rangeEnd));
  }
}

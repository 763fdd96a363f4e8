/**
 * Mirrors etcd release-3.4 `mvcc/key_index.go`.
 *
 * A keyIndex remembers every revision at which one key changed. The revisions are grouped into
 * generations: a generation starts when the key is created and ends with the tombstone that deletes
 * it. A deleted key therefore ends with an empty generation, ready for the next creation.
 *
 * Worked example: key "foo" gets put(1.0); put(2.0); tombstone(3.0); put(4.0); tombstone(5.0):
 *
 *   generations:
 *     {empty}                  ← the generation the next put will start
 *     {4.0, 5.0(t)}
 *     {1.0, 2.0, 3.0(t)}
 *
 * compact(n) drops every revision older than n that no read at n or later can need: in each
 * generation it keeps the newest revision ≤ n, and a generation whose tombstone is ≤ n goes
 * entirely. When only the empty generation is left, the whole keyIndex goes.
 *
 *   compact(2):  {empty} {4.0, 5.0(t)} {2.0, 3.0(t)}
 *   compact(4):  {empty} {4.0, 5.0(t)}
 *   compact(5):  {empty}                  ← 5.0(t) is dropped with its generation
 *   compact(6):  {empty}                  → the key SHOULD be removed from the tree index
 *
 * Storage layout (a performance choice, invisible through the methods). The tree index holds one
 * keyIndex per key ever written, so its size per key matters (bench target: ≤ 150 B/key +
 * 40 B/version). Objects and arrays cost 24–48 bytes each in V8, so:
 *   - revisions are plain numbers packed in flat arrays, `[main0, sub0, main1, sub1, …]`, not objects;
 *   - the last generation (the only one for a key that was never deleted) lives inline in the
 *     keyIndex (`ver`, `createdMain/Sub`, `revs`), and a generation whose only revision is the
 *     one that created it needs no array at all (`revs === null`);
 *   - earlier generations (each ending in a tombstone) are `Generation` objects in `older`;
 *   - etcd's `modified` (the newest revision) is not stored: it is the last revision of the last
 *     non-empty generation, so `modifiedMain/modifiedSub` are computed.
 * Measured: 146 → 130 bytes per key for 1M keys of 11 bytes, 28 bytes per extra version.
 * `generations()` rebuilds etcd's picture for lessons and tests.
 */
import { InvariantViolation, RevisionNotFoundError } from "./errors.js";
import type { Revision } from "./revision.js";
import { formatRevision } from "./revision.js";

/**
 * The answer of `KeyIndex.get`, written into a caller-owned object so a range over many keys
 * allocates nothing per key.
 */
export class KeyIndexGet {
  /** The revision of the version visible at the asked revision. */
  modifiedMain = 0;
  modifiedSub = 0;
  /** The revision that created the generation holding it. */
  createdMain = 0;
  createdSub = 0;
  /** Its version: its position in the generation, from 1. */
  ver = 0;
}

/**
 * The list of revisions a compaction keeps (etcd's `available map[revision]struct{}`), as flat
 * (main, sub) pairs: `[main0, sub0, main1, sub1, …]`, in no particular order.
 */
export type KeepList = number[];

/**
 * A generation: the life of a key from its creation to its deletion.
 * Invariant: `revs` is strictly increasing; `ver` ≥ revs.length / 2 (compaction removes
 * revisions but never changes `ver`); a generation stored in `older` ends with its tombstone.
 *
 *   put(2.0); put(3.0); tombstone(4.0)  →  {created 2.0, ver 3, revs [2,0, 3,0, 4,0]}
 */
export class Generation {
  constructor(
    /** How many puts (and the tombstone) the generation has seen. */
    public ver: number,
    /** The revision that created the key. */
    public createdMain: number,
    public createdSub: number,
    /** Flat (main, sub) pairs, oldest first. */
    public revs: number[],
  ) {}

  /** The revisions as objects (for lessons; allocates). */
  revisions(): Revision[] {
    return pairsToRevisions(this.revs);
  }

  /** "{2.0, 3.0, 4.0(t)}"; `tombstoned` marks the last revision. */
  toString(tombstoned = false): string {
    const revs = this.revisions().map((rev, i, all) => formatRevision(rev, tombstoned && i === all.length - 1));
    return revs.length === 0 ? "{empty}" : `{${revs.join(", ")}}`;
  }
}

/** A generation as `generations()` reports it: etcd's `generation` with its revisions decoded. */
export interface GenerationView {
  readonly ver: number;
  readonly created: Revision;
  readonly revs: readonly Revision[];
  /** True when the last revision is the tombstone that ended the generation. */
  readonly tombstoned: boolean;
}

/**
 * All revisions of one key. Invariants (checked by `checkInvariants`):
 *   - every revision across all generations is strictly increasing;
 *   - `modified` is the newest revision of all;
 *   - the last generation is empty (ver 0) or holds `modified`; every older one is non-empty and
 *     ends in a tombstone.
 */
export class KeyIndex {
  /** The key as a latin1 binary string: one char per byte, so string order is byte order. */
  readonly key: string;
  /** Last generation: its version count; 0 means the generation is empty. */
  ver = 0;
  /** Last generation: the revision that created it (0.0 while empty). */
  createdMain = 0;
  createdSub = 0;
  /**
   * Last generation: its revisions as flat pairs; null when it holds none (ver 0) or exactly
   * one that is its created revision (a key put once: the common case, no array needed).
   */
  revs: number[] | null = null;
  /** Earlier generations, oldest first; null when the key was never deleted. */
  older: Generation[] | null = null;

  constructor(key: string) {
    this.key = key;
  }

  /** True when only an empty generation is left: the key can leave the tree index. */
  isEmpty(): boolean {
    return this.ver === 0 && this.older === null;
  }

  /** The main of the newest revision of the key (etcd's `modified.main`); 0 for a fresh keyIndex. */
  get modifiedMain(): number {
    if (this.ver !== 0) return this.revs === null ? this.createdMain : (this.revs[this.revs.length - 2] as number);
    if (this.older === null) return 0;
    const revs = (this.older[this.older.length - 1] as Generation).revs;
    return revs[revs.length - 2] as number;
  }

  /** The sub of the newest revision of the key. */
  get modifiedSub(): number {
    if (this.ver !== 0) return this.revs === null ? this.createdSub : (this.revs[this.revs.length - 1] as number);
    if (this.older === null) return 0;
    const revs = (this.older[this.older.length - 1] as Generation).revs;
    return revs[revs.length - 1] as number;
  }

  /** The newest revision as an object (etcd's `modified`). */
  modified(): Revision {
    return { main: this.modifiedMain, sub: this.modifiedSub };
  }

  /**
   * Records a put at (main, sub): appended to the last generation, which starts a new life of the
   * key if it was empty. Throws InvariantViolation unless (main, sub) is newer than `modified`
   * (etcd panics). O(1) amortized.
   *
   *   {empty}            put(7.0) → {7.0}          (created 7.0, ver 1)
   *   {7.0}              put(9.0) → {7.0, 9.0}     (ver 2)
   */
  put(main: number, sub: number): void {
    const modifiedMain = this.modifiedMain;
    const modifiedSub = this.modifiedSub;
    if (main < modifiedMain || (main === modifiedMain && sub <= modifiedSub)) {
      throw new InvariantViolation(`keyIndex.put: revision ${main}.${sub} is not newer than ${modifiedMain}.${modifiedSub}`);
    }
    if (this.ver === 0) {
      this.createdMain = main;
      this.createdSub = sub;
    } else if (this.revs === null) {
      this.revs = [this.createdMain, this.createdSub, main, sub];
    } else {
      this.revs.push(main, sub);
    }
    this.ver++;
  }

  /**
   * Records a delete at (main, sub): the tombstone is put into the last generation, which then
   * closes, and a new empty generation follows. Throws RevisionNotFoundError if the key is not
   * live (its last generation is empty). O(1).
   *
   *   {7.0, 9.0}  tombstone(12.0) → {empty} {7.0, 9.0, 12.0(t)}
   */
  tombstone(main: number, sub: number): void {
    if (this.isEmpty()) throw new InvariantViolation(`keyIndex.tombstone: unexpected empty keyIndex ${this.key}`);
    if (this.ver === 0) throw new RevisionNotFoundError();
    this.put(main, sub);
    const revs = this.revs ?? [this.createdMain, this.createdSub];
    const closed = new Generation(this.ver, this.createdMain, this.createdSub, revs);
    if (this.older === null) this.older = [closed];
    else this.older.push(closed);
    this.ver = 0;
    this.createdMain = 0;
    this.createdSub = 0;
    this.revs = null;
  }

  /**
   * The version visible at `atRev`, written into `out`; false when the key did not exist then.
   * Generations are searched newest first; an older generation whose tombstone is ≤ atRev means
   * "deleted by then". Inside the generation found, the newest revision ≤ atRev wins, and its
   * version is `ver` minus the revisions after it. O(generations + log revisions): etcd walks the
   * revisions backwards; a binary search gives the same answer.
   *
   *   puts 2, 4; delete 6; puts 8, 10; delete 12; puts 14.0, 14.1; delete 16
   *   get(5) → 4.0 (created 2, ver 2)   get(6), get(7) → false   get(15) → 14.1 (created 14, ver 2)
   */
  get(atRev: number, out: KeyIndexGet): boolean {
    if (this.ver !== 0) {
      const revs = this.revs;
      if (revs === null) {
        if (this.createdMain <= atRev) {
          out.modifiedMain = this.createdMain;
          out.modifiedSub = this.createdSub;
          out.createdMain = this.createdMain;
          out.createdSub = this.createdSub;
          out.ver = this.ver;
          return true;
        }
      } else if ((revs[0] as number) <= atRev) {
        return fill(out, revs, atRev, this.ver, this.createdMain, this.createdSub);
      }
    }
    const older = this.older;
    if (older === null) return false;
    for (let gi = older.length - 1; gi >= 0; gi--) {
      const generation = older[gi] as Generation;
      const revs = generation.revs;
      if ((revs[revs.length - 2] as number) <= atRev) return false; // deleted at or before atRev
      if ((revs[0] as number) <= atRev) {
        return fill(out, revs, atRev, generation.ver, generation.createdMain, generation.createdSub);
      }
    }
    return false;
  }

  /**
   * Every revision with main ≥ rev, oldest first, keeping only the last sub of each main revision
   * (one transaction is one change to an observer). Flat pairs. O(revisions).
   *
   *   {1.0, 2.0, 3.0(t)} {4.0, 4.1, 5.0}   since(2) → 2.0, 3.0, 4.1, 5.0
   */
  since(rev: number): number[] {
    if (this.isEmpty()) throw new InvariantViolation(`keyIndex.since: unexpected empty keyIndex ${this.key}`);
    const generations = this.rawGenerations();
    let gi = generations.length - 1;
    // Start at the newest generation created before rev (or the oldest generation).
    for (; gi > 0; gi--) {
      const generation = generations[gi] as RawGeneration;
      if (generation.ver === 0) continue;
      if (rev > generation.createdMain) break;
    }
    const result: number[] = [];
    let last = 0;
    for (; gi < generations.length; gi++) {
      const revs = (generations[gi] as RawGeneration).revs;
      for (let i = 0; i < revs.length; i += 2) {
        const main = revs[i] as number;
        const sub = revs[i + 1] as number;
        if (main < rev) continue;
        if (main === last) {
          result[result.length - 1] = sub; // a later sub of the same main replaces the earlier one
          continue;
        }
        result.push(main, sub);
        last = main;
      }
    }
    return result;
  }

  /**
   * Drops the history a read at `atRev` or later cannot need, and adds to `keep` the revisions
   * the backend must keep (the newest revision ≤ atRev of the surviving generation, unless that is
   * a tombstone). Afterwards the caller removes the keyIndex if `isEmpty()`. O(revisions).
   * See the header for the worked example.
   */
  compact(atRev: number, keep: KeepList): void {
    if (this.isEmpty()) throw new InvariantViolation(`keyIndex.compact: unexpected empty keyIndex ${this.key}`);
    if (this.older === null) {
      // Fast path, same result: a key never deleted has one live generation that always survives.
      const revs = this.revs;
      if (revs === null) {
        if (this.createdMain <= atRev) keep.push(this.createdMain, this.createdSub);
        return;
      }
      for (let i = revs.length - 2; i >= 0; i -= 2) {
        if ((revs[i] as number) <= atRev) {
          keep.push(revs[i] as number, revs[i + 1] as number);
          if (i > 0) this.revs = revs.slice(i); // stays an array: its one revision is not the created one
          return;
        }
      }
      return;
    }
    const generations = this.rawGenerations();
    const last = generations.length - 1;
    const keepLength = keep.length;
    let { genIdx, revIndex } = doCompact(generations, atRev, keep);
    const generation = generations[genIdx] as RawGeneration;
    if (generation.ver !== 0) {
      if (revIndex !== -1) generation.revs = generation.revs.slice(revIndex * 2);
      // A generation reduced to its tombstone is dropped, and so is the tombstone.
      if (generation.revs.length === 2 && genIdx !== last) {
        keep.length = keepLength;
        genIdx++;
      }
    }
    this.setGenerations(generations.slice(genIdx));
  }

  /**
   * Adds to `keep` the revisions a compaction at `atRev` would keep, without compacting
   * (etcd's keep, used to hash the store as of a revision). O(revisions).
   */
  keep(atRev: number, keep: KeepList): void {
    if (this.isEmpty()) return;
    const generations = this.rawGenerations();
    const keepLength = keep.length;
    const { genIdx, revIndex } = doCompact(generations, atRev, keep);
    const generation = generations[genIdx] as RawGeneration;
    if (generation.ver !== 0 && revIndex === generation.revs.length / 2 - 1 && genIdx !== generations.length - 1) {
      keep.length = keepLength; // the newest revision ≤ atRev is a tombstone: nothing to keep
    }
  }

  /**
   * Rebuilds a keyIndex from the backend (etcd's restore): the key's first surviving version
   * after a compaction may be its 5th, so created and ver come from the stored KeyValue.
   */
  restore(createdMain: number, modifiedMain: number, modifiedSub: number, ver: number): void {
    if (!this.isEmpty()) throw new InvariantViolation(`keyIndex.restore: keyIndex ${this.key} is not empty`);
    this.createdMain = createdMain;
    this.createdSub = 0;
    this.ver = ver;
    this.revs = createdMain === modifiedMain && modifiedSub === 0 ? null : [modifiedMain, modifiedSub];
  }

  /** etcd's picture of the generations, oldest first, the last one possibly empty. */
  generations(): GenerationView[] {
    return this.rawGenerations().map((generation, i, all) => ({
      ver: generation.ver,
      created: { main: generation.createdMain, sub: generation.createdSub },
      revs: pairsToRevisions(generation.revs),
      tombstoned: i < all.length - 1,
    }));
  }

  /** "{empty} {4.0, 5.0(t)} {1.0, 2.0, 3.0(t)}" — newest first, as key_index.go draws it. */
  toString(): string {
    return this.rawGenerations()
      .map((generation, i, all) => new Generation(generation.ver, 0, 0, generation.revs).toString(i < all.length - 1))
      .reverse()
      .join(" ");
  }

  /** Throws InvariantViolation if the layout invariants above do not hold. O(revisions). */
  checkInvariants(): void {
    const fail = (why: string): never => {
      throw new InvariantViolation(`keyIndex ${JSON.stringify(this.key)}: ${why} (${this.toString()})`);
    };
    if (this.revs !== null && (this.ver === 0 || this.revs.length < 2)) fail("inline revs must hold revisions");
    if (this.revs !== null && this.revs.length === 2 && this.revs[0] === this.createdMain && this.revs[1] === this.createdSub) {
      fail("a lone created revision must be inline (revs null)");
    }
    if (this.older !== null && this.older.length === 0) fail("older must be null or non-empty");
    const generations = this.rawGenerations();
    let previousMain = -1;
    let previousSub = -1;
    generations.forEach((generation, i) => {
      const isLast = i === generations.length - 1;
      if (!isLast && generation.revs.length === 0) fail("an older generation is empty");
      if (generation.ver < generation.revs.length / 2) fail("ver below the number of revisions");
      if ((generation.ver === 0) !== (generation.revs.length === 0)) fail("ver 0 iff empty");
      for (let j = 0; j < generation.revs.length; j += 2) {
        const main = generation.revs[j] as number;
        const sub = generation.revs[j + 1] as number;
        if (main < previousMain || (main === previousMain && sub <= previousSub)) fail("revisions not increasing");
        previousMain = main;
        previousSub = sub;
      }
    });
    if (previousMain !== this.modifiedMain || previousSub !== this.modifiedSub) {
      if (!(this.isEmpty() && previousMain === -1)) fail("modified is not the newest revision");
    }
  }

  /** All generations in one shape (allocates; for the non-hot paths). The last one is inline. */
  private rawGenerations(): RawGeneration[] {
    const generations: RawGeneration[] = [];
    if (this.older !== null) {
      for (const g of this.older) generations.push({ ver: g.ver, createdMain: g.createdMain, createdSub: g.createdSub, revs: g.revs });
    }
    const revs = this.ver === 0 ? [] : (this.revs ?? [this.createdMain, this.createdSub]);
    generations.push({ ver: this.ver, createdMain: this.createdMain, createdSub: this.createdSub, revs });
    return generations;
  }

  /** Stores generations back into the compact layout (the last one inline). */
  private setGenerations(generations: RawGeneration[]): void {
    const current = generations[generations.length - 1] as RawGeneration;
    this.ver = current.ver;
    this.createdMain = current.ver === 0 ? 0 : current.createdMain;
    this.createdSub = current.ver === 0 ? 0 : current.createdSub;
    const loneCreated = current.revs.length === 2 && current.revs[0] === current.createdMain && current.revs[1] === current.createdSub;
    this.revs = current.ver === 0 || loneCreated ? null : current.revs;
    this.older =
      generations.length > 1
        ? generations.slice(0, -1).map((g) => new Generation(g.ver, g.createdMain, g.createdSub, g.revs))
        : null;
  }
}

/** One generation in the uniform shape the slow paths use. */
interface RawGeneration {
  ver: number;
  createdMain: number;
  createdSub: number;
  revs: number[];
}

/**
 * Finds the first generation a compaction at atRev keeps (the first whose tombstone is after
 * atRev, or the last), and in it the newest revision ≤ atRev, which goes into `keep`.
 * Returns that generation's index and the revision's pair index (−1 if none).
 */
function doCompact(generations: RawGeneration[], atRev: number, keep: KeepList): { genIdx: number; revIndex: number } {
  let genIdx = 0;
  while (genIdx < generations.length - 1) {
    const revs = (generations[genIdx] as RawGeneration).revs;
    if ((revs[revs.length - 2] as number) > atRev) break;
    genIdx++;
  }
  const revs = (generations[genIdx] as RawGeneration).revs;
  let revIndex = -1;
  for (let i = revs.length / 2 - 1; i >= 0; i--) {
    if ((revs[2 * i] as number) <= atRev) {
      keep.push(revs[2 * i] as number, revs[2 * i + 1] as number);
      revIndex = i;
      break;
    }
  }
  return { genIdx, revIndex };
}

/** Binary-searches the newest pair with main ≤ atRev (the caller knows revs[0] ≤ atRev). */
function fill(out: KeyIndexGet, revs: number[], atRev: number, ver: number, createdMain: number, createdSub: number): boolean {
  let low = 0; // pair index known to be ≤ atRev
  let high = revs.length / 2 - 1;
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if ((revs[2 * mid] as number) <= atRev) low = mid;
    else high = mid - 1;
  }
  out.modifiedMain = revs[2 * low] as number;
  out.modifiedSub = revs[2 * low + 1] as number;
  out.createdMain = createdMain;
  out.createdSub = createdSub;
  out.ver = ver - (revs.length / 2 - 1 - low);
  return true;
}

function pairsToRevisions(revs: readonly number[]): Revision[] {
  const result: Revision[] = [];
  for (let i = 0; i < revs.length; i += 2) result.push({ main: revs[i] as number, sub: revs[i + 1] as number });
  return result;
}

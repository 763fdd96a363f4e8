/**
 * Mirrors etcd release-3.4 `mvcc/key_index.go`.
 *
 * A keyIndex remembers every revision at which one key changed. The revisions are grouped into
 * generations: a generation starts when the key is created and ends with the tombstone that deletes
 * it. A deleted key therefore ends with an empty generation, ready for the next creation. The
 * shape is etcd's: `keyIndex {key, modified, generations}` and `generation {ver, created, revs}`.
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
 * Revisions are immutable `{main, sub}` objects: the one a put creates is shared by the
 * generation's `revs`, its `created` (for the first put) and the keyIndex's `modified`, so a key
 * written once holds one revision object, not three copies.
 */
import { InvariantViolation, RevisionNotFoundError } from "./errors.js";
import type { Revision } from "./revision.js";
import { formatRevision } from "./revision.js";

/** etcd's zero `revision{}`: the `created` of an empty generation and the `modified` of a fresh keyIndex. */
const NO_REVISION: Revision = Object.freeze({ main: 0, sub: 0 });

/**
 * The answer of `KeyIndex.get` (etcd returns `modified, created, ver`), written into a
 * caller-owned object so a range over many keys allocates nothing per key.
 */
export class KeyIndexGet {
  /** The revision of the version visible at the asked revision. */
  modified: Revision = NO_REVISION;
  /** The revision that created the generation holding it. */
  created: Revision = NO_REVISION;
  /** Its version: its position in the generation, from 1. */
  ver = 0;
}

/**
 * The revisions a compaction keeps (etcd's `available map[revision]struct{}`), at most one per
 * key, in key order.
 */
export type KeepList = Revision[];

/**
 * A generation: the life of a key from its creation to its deletion (etcd: `generation`).
 * Invariant: `revs` is strictly increasing; `ver` ≥ revs.length (compaction removes revisions
 * but never changes `ver`); every generation but the last ends with its tombstone.
 *
 *   put(2.0); put(3.0); tombstone(4.0)  →  {ver 3, created 2.0, revs [2.0, 3.0, 4.0]}
 */
export class Generation {
  constructor(
    /** How many puts (and the tombstone) the generation has seen. */
    public ver = 0,
    /** The revision that created the key in this generation (put in its first revision). */
    public created: Revision = NO_REVISION,
    /** Its revisions, oldest first. */
    public revs: Revision[] = [],
  ) {}

  /** True before the generation's first put. */
  isEmpty(): boolean {
    return this.revs.length === 0;
  }

  /**
   * Walks the revisions newest first until `f` returns false, and returns that revision's
   * position (−1 if `f` never returned false).
   *
   *   revs [2.0, 3.0, 4.0]; walk(rev => rev.main > 3) → 1
   */
  walk(f: (rev: Revision) => boolean): number {
    for (let i = this.revs.length - 1; i >= 0; i--) if (!f(this.revs[i] as Revision)) return i;
    return -1;
  }

  /** "{2.0, 3.0, 4.0(t)}"; `tombstoned` marks the last revision. */
  toString(tombstoned = false): string {
    const revs = this.revs.map((rev, i, all) => formatRevision(rev, tombstoned && i === all.length - 1));
    return revs.length === 0 ? "{empty}" : `{${revs.join(", ")}}`;
  }
}

/**
 * All revisions of one key (etcd: `keyIndex`). Invariants (checked by `checkInvariants`):
 *   - every revision across all generations is strictly increasing;
 *   - `modified` is the newest revision of all;
 *   - the last generation may be empty; every older one is non-empty and ends in a tombstone.
 */
export class KeyIndex {
  /** The newest revision of the key (etcd: `modified`); 0.0 for a fresh keyIndex. */
  modified: Revision = NO_REVISION;
  /** Oldest first; the last one is the key's current life, empty while the key is deleted. */
  generations: Generation[] = [new Generation()];

  constructor(
    /** The key as a latin1 binary string: one char per byte, so string order is byte order. */
    readonly key: string,
  ) {}

  /** True when only an empty generation is left: the key can leave the tree index. */
  isEmpty(): boolean {
    return this.generations.length === 1 && (this.generations[0] as Generation).isEmpty();
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
    const modified = this.modified;
    if (main < modified.main || (main === modified.main && sub <= modified.sub)) {
      throw new InvariantViolation(`keyIndex.put: revision ${main}.${sub} is not newer than ${formatRevision(modified)}`);
    }
    const rev: Revision = { main, sub };
    const generation = this.generations[this.generations.length - 1] as Generation;
    if (generation.isEmpty()) {
      // A new life of the key. A one-element literal, not a push onto the empty array: V8 would
      // give a pushed-to empty array room for 17 revisions, and most keys are written once.
      generation.created = rev;
      generation.revs = [rev];
    } else {
      generation.revs.push(rev);
    }
    generation.ver++;
    this.modified = rev;
  }

  /**
   * Rebuilds a keyIndex from the backend (etcd's restore): the key's first surviving version
   * after a compaction may be its 5th, so created and ver come from the stored KeyValue.
   *
   *   restore(created 5.0, modified 7.0, ver 2)  →  {7.0}  (created 5.0, ver 2)
   */
  restore(created: Revision, modified: Revision, ver: number): void {
    if (!this.isEmpty()) throw new InvariantViolation(`keyIndex.restore: keyIndex ${this.key} is not empty`);
    this.modified = modified;
    this.generations = [new Generation(ver, created, [modified])];
  }

  /**
   * Records a delete at (main, sub): the tombstone is put into the last generation, which then
   * closes, and a new empty generation follows. Returns RevisionNotFoundError (thrown) if the key
   * is not live (its last generation is empty). O(1).
   *
   *   {7.0, 9.0}  tombstone(12.0) → {empty} {7.0, 9.0, 12.0(t)}
   */
  tombstone(main: number, sub: number): void {
    if (this.isEmpty()) throw new InvariantViolation(`keyIndex.tombstone: unexpected empty keyIndex ${this.key}`);
    if ((this.generations[this.generations.length - 1] as Generation).isEmpty()) throw new RevisionNotFoundError();
    this.put(main, sub);
    this.generations.push(new Generation());
  }

  /**
   * The version visible at `atRev`, written into `out`; false when the key did not exist then
   * (etcd: ErrRevisionNotFound). In the generation found by `findGeneration`, the newest revision
   * ≤ atRev wins, and its version is `ver` minus the revisions after it. O(generations + revisions).
   *
   *   puts 2, 4; delete 6; puts 8, 10; delete 12; puts 14.0, 14.1; delete 16
   *   get(5) → 4.0 (created 2, ver 2)   get(6), get(7) → false   get(15) → 14.1 (created 14, ver 2)
   */
  get(atRev: number, out: KeyIndexGet): boolean {
    if (this.isEmpty()) throw new InvariantViolation(`keyIndex.get: unexpected empty keyIndex ${this.key}`);
    const generation = this.findGeneration(atRev);
    if (generation === undefined || generation.isEmpty()) return false;
    // etcd: generation.walk(rev => rev.main > atRev), written out because every key of a range pays it.
    const revs = generation.revs;
    for (let n = revs.length - 1; n >= 0; n--) {
      const rev = revs[n] as Revision;
      if (rev.main > atRev) continue;
      out.modified = rev;
      out.created = generation.created;
      out.ver = generation.ver - (revs.length - n - 1);
      return true;
    }
    return false;
  }

  /**
   * Every revision with main ≥ rev, oldest first, keeping only the last sub of each main revision
   * (one transaction is one change to an observer). O(revisions).
   *
   *   {1.0, 2.0, 3.0(t)} {4.0, 4.1, 5.0}   since(2) → 2.0, 3.0, 4.1, 5.0
   */
  since(rev: number): Revision[] {
    if (this.isEmpty()) throw new InvariantViolation(`keyIndex.since: unexpected empty keyIndex ${this.key}`);
    const generations = this.generations;
    // Start at the newest generation created before rev (or the oldest generation).
    let gi = generations.length - 1;
    for (; gi > 0; gi--) {
      const generation = generations[gi] as Generation;
      if (generation.isEmpty()) continue;
      if (rev > generation.created.main) break;
    }
    const revs: Revision[] = [];
    let last = 0;
    for (; gi < generations.length; gi++) {
      for (const r of (generations[gi] as Generation).revs) {
        if (r.main < rev) continue;
        if (r.main === last) {
          revs[revs.length - 1] = r; // a later sub of the same main replaces the earlier one
          continue;
        }
        revs.push(r);
        last = r.main;
      }
    }
    return revs;
  }

  /**
   * Drops the history a read at `atRev` or later cannot need, and adds to `available` the
   * revision the backend must keep (the newest revision ≤ atRev of the surviving generation, unless
   * that is a tombstone). Afterwards the caller removes the keyIndex if `isEmpty()`. O(revisions).
   * See the header for the worked example.
   */
  compact(atRev: number, available: KeepList): void {
    if (this.isEmpty()) throw new InvariantViolation(`keyIndex.compact: unexpected empty keyIndex ${this.key}`);
    let { genIdx, revIndex } = this.doCompact(atRev, available);
    const generation = this.generations[genIdx] as Generation;
    if (!generation.isEmpty()) {
      // Remove the revisions before the one kept.
      if (revIndex !== -1) generation.revs = generation.revs.slice(revIndex);
      // A generation reduced to its tombstone goes, and the tombstone leaves `available`.
      if (generation.revs.length === 1 && genIdx !== this.generations.length - 1) {
        removeKept(available, generation.revs[0] as Revision);
        genIdx++;
      }
    }
    // Remove the earlier generations.
    if (genIdx > 0) this.generations = this.generations.slice(genIdx);
  }

  /**
   * Adds to `available` the revision a compaction at `atRev` would keep, without compacting
   * (etcd's keep, used to hash the store as of a revision). O(revisions).
   */
  keep(atRev: number, available: KeepList): void {
    if (this.isEmpty()) return;
    const { genIdx, revIndex } = this.doCompact(atRev, available);
    const generation = this.generations[genIdx] as Generation;
    if (!generation.isEmpty() && revIndex === generation.revs.length - 1 && genIdx !== this.generations.length - 1) {
      removeKept(available, generation.revs[revIndex] as Revision); // the newest revision ≤ atRev is a tombstone
    }
  }

  /**
   * Finds the first generation a compaction at atRev keeps (the first whose tombstone is after
   * atRev, or the last), and in it the newest revision ≤ atRev, which goes into `available`.
   * Returns that generation's position and the revision's position (−1 if none).
   */
  private doCompact(atRev: number, available: KeepList): { genIdx: number; revIndex: number } {
    let genIdx = 0;
    let generation = this.generations[0] as Generation;
    while (genIdx < this.generations.length - 1) {
      const tomb = (generation.revs[generation.revs.length - 1] as Revision).main;
      if (tomb > atRev) break;
      genIdx++;
      generation = this.generations[genIdx] as Generation;
    }
    const revIndex = generation.walk((rev) => {
      if (rev.main <= atRev) {
        available.push(rev);
        return false;
      }
      return true;
    });
    return { genIdx, revIndex };
  }

  /**
   * The generation holding the version visible at `rev`, or undefined when the key did not exist
   * then: newest first, an older generation whose tombstone is ≤ rev means "deleted by then".
   * Used by `get`; not private because etcd's tests check it on its own (TestKeyIndexFindGeneration).
   *
   *   {empty} {8.0, 10.0, 12.0(t)} {2.0, 4.0, 6.0(t)}   findGeneration(5) → the oldest; (7) → none
   */
  findGeneration(rev: number): Generation | undefined {
    const lastg = this.generations.length - 1;
    for (let cg = lastg; cg >= 0; cg--) {
      const generation = this.generations[cg] as Generation;
      const revs = generation.revs;
      if (revs.length === 0) continue;
      if (cg !== lastg && (revs[revs.length - 1] as Revision).main <= rev) return undefined;
      if ((revs[0] as Revision).main <= rev) return generation;
    }
    return undefined;
  }

  /** "{empty} {4.0, 5.0(t)} {1.0, 2.0, 3.0(t)}" — newest first, as key_index.go draws it. */
  toString(): string {
    const last = this.generations.length - 1;
    return this.generations
      .map((generation, i) => generation.toString(i < last))
      .reverse()
      .join(" ");
  }

  /** Throws InvariantViolation if the invariants above do not hold. O(revisions). */
  checkInvariants(): void {
    const fail = (why: string): never => {
      throw new InvariantViolation(`keyIndex ${JSON.stringify(this.key)}: ${why} (${this.toString()})`);
    };
    if (this.generations.length === 0) fail("no generation");
    let previous: Revision | undefined;
    this.generations.forEach((generation, i) => {
      if (i < this.generations.length - 1 && generation.isEmpty()) fail("an older generation is empty");
      if (generation.ver < generation.revs.length) fail("ver below the number of revisions");
      if ((generation.ver === 0) !== generation.isEmpty()) fail("ver 0 iff empty");
      for (const rev of generation.revs) {
        if (previous !== undefined && (rev.main < previous.main || (rev.main === previous.main && rev.sub <= previous.sub))) {
          fail("revisions not increasing");
        }
        previous = rev;
      }
    });
    if (previous !== undefined && (previous.main !== this.modified.main || previous.sub !== this.modified.sub)) {
      fail("modified is not the newest revision");
    }
  }
}

/** Takes `rev` back out of `available` (etcd: `delete(available, rev)`); it was the last one added. */
function removeKept(available: KeepList, rev: Revision): void {
  const at = available.lastIndexOf(rev);
  if (at !== -1) available.splice(at, 1);
}

/**
 * Mirrors etcd release-3.4 `mvcc/index.go` (named after its type, `treeIndex`, because `index.ts`
 * means "barrel" in TypeScript).
 *
 * The tree index is the in-memory half of the store: a B-tree from key to `KeyIndex`, ordered
 * bytewise, so a range is a walk along the leaves. It answers "which revision of key k was
 * visible at revision r?"; the backend then answers "what was stored at that revision?".
 *
 *   get --rev=66 foo   →  treeIndex.get("foo", 66)  → modified 64.0   (step 1: index)
 *                         backend.get(64, 0)         → {key: foo, value: …, mod_revision: 64}   (step 2)
 *
 * Keys are held as latin1 "binary" strings, one char per byte (`toBinaryString` in shared/bytes.ts). JavaScript compares
 * such strings char by char, which is exactly bytewise order, and natively — faster than comparing
 * Uint8Arrays — and a short string costs less memory than a Uint8Array. etcd uses a B-tree of
 * degree 32 (google/btree); sorted-btree's default node size is 32 entries, close enough.
 *
 * How `end` is read: `undefined` is the single key; `""` is every key ≥ key; otherwise [key, end).
 */
import sortedBtree from "sorted-btree";
import { InvariantViolation, RevisionNotFoundError } from "./errors.js";
import type { KeepList } from "./keyIndex.js";
import { KeyIndex, KeyIndexGet } from "./keyIndex.js";
import type { Revision } from "./revision.js";
import { compareRevision } from "./revision.js";

// sorted-btree is CommonJS: Node's ESM loader hands us module.exports (class at `.default`),
// vitest's loader hands us the class itself. Accept both.
type BTreeClass = typeof import("sorted-btree").default;
const BTree: BTreeClass = (sortedBtree as unknown as { default?: BTreeClass }).default ?? (sortedBtree as unknown as BTreeClass);
type BTree<K, V> = import("sorted-btree").default<K, V>;

/** Bytewise order of index keys: JavaScript's string comparison of latin1 strings. */
function compareIndexKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Above every latin1 string: the upper bound of an open-ended walk (end ""). */
const AFTER_ALL_KEYS = "\u0100";
/** sorted-btree's edit command to drop the current pair; shared so compaction allocates nothing. */
const DELETE_PAIR = { delete: true } as const;

/** The index of every key ever written and not yet compacted away. */
export class TreeIndex {
  private readonly tree: BTree<string, KeyIndex> = new BTree<string, KeyIndex>(undefined, compareIndexKeys);
  /** Scratch answer for `range`/`revisions`, so walks allocate nothing per key. */
  private readonly scratch = new KeyIndexGet();

  /** How many keys the index holds (live or with history). */
  get size(): number {
    return this.tree.size;
  }

  /** The keyIndex of a key, or undefined. O(log keys). */
  keyIndex(key: string): KeyIndex | undefined {
    return this.tree.get(key);
  }

  /**
   * The version of `key` visible at `atRev`, written into `out`; false if the key did not
   * exist then (etcd returns ErrRevisionNotFound). O(log keys + generations).
   */
  get(key: string, atRev: number, out: KeyIndexGet): boolean {
    const keyIndex = this.tree.get(key);
    return keyIndex !== undefined && keyIndex.get(atRev, out);
  }

  /**
   * Calls `visitor` with every keyIndex in [key, end), in key order, including keys deleted by
   * now (the visitor decides with `keyIndex.get`). O(log keys + keys visited).
   */
  visit(key: string, end: string | undefined, visitor: (key: string, keyIndex: KeyIndex) => void): void {
    if (end === undefined) {
      const keyIndex = this.tree.get(key);
      if (keyIndex !== undefined) visitor(key, keyIndex);
      return;
    }
    const high = end === "" ? AFTER_ALL_KEYS : end;
    if (key >= high) return;
    // The visitor goes to the B-tree as is (it calls it with key, value): no wrapper per key.
    this.tree.forRange(key, high, false, visitor);
  }

  /**
   * The keys in [key, end) that existed at `atRev`, with the revision of each one's visible
   * version. O(log keys + keys visited).
   *
   *   puts foo@2, foo1@3, foo2@4; range("foo", "fop", 3) → keys [foo, foo1], revs [2.0, 3.0]
   */
  range(key: string, end: string | undefined, atRev: number): { keys: string[]; revs: Revision[] } {
    const keys: string[] = [];
    const revs: Revision[] = [];
    const out = this.scratch;
    this.visit(key, end, (_key, keyIndex) => {
      if (keyIndex.get(atRev, out)) {
        keys.push(keyIndex.key);
        revs.push(out.modified);
      }
    });
    return { keys, revs };
  }

  /** The revisions of the keys in [key, end) visible at `atRev`, in key order. */
  revisions(key: string, end: string | undefined, atRev: number): Revision[] {
    return this.range(key, end, atRev).revs;
  }

  /** How many keys in [key, end) existed at `atRev`. */
  countRevisions(key: string, end: string | undefined, atRev: number): number {
    let count = 0;
    const out = this.scratch;
    this.visit(key, end, (_key, keyIndex) => {
      if (keyIndex.get(atRev, out)) count++;
    });
    return count;
  }

  /** Records a put of `key` at (main, sub), creating its keyIndex if needed. O(log keys). */
  put(key: string, main: number, sub: number): void {
    let keyIndex = this.tree.get(key);
    if (keyIndex === undefined) {
      keyIndex = new KeyIndex(key);
      this.tree.set(key, keyIndex);
    }
    keyIndex.put(main, sub);
  }

  /** Adds a keyIndex built elsewhere (etcd's Insert, used by restore). Throws if the key is present. */
  insert(keyIndex: KeyIndex): void {
    if (!this.tree.set(keyIndex.key, keyIndex, false)) {
      throw new InvariantViolation(`treeIndex.insert: key ${JSON.stringify(keyIndex.key)} already indexed`);
    }
  }

  /** Records the deletion of a live key at (main, sub). Throws RevisionNotFoundError otherwise. */
  tombstone(key: string, main: number, sub: number): void {
    const keyIndex = this.tree.get(key);
    if (keyIndex === undefined) throw new RevisionNotFoundError();
    keyIndex.tombstone(main, sub);
  }

  /**
   * Every revision with main ≥ rev of the keys in [key, end) — per key only the last sub of each
   * main — sorted by revision. O(keys visited × revisions).
   */
  rangeSince(key: string, end: string | undefined, rev: number): Revision[] {
    const revs: Revision[] = [];
    this.visit(key, end, (_key, keyIndex) => {
      for (const since of keyIndex.since(rev)) revs.push(since);
    });
    if (end !== undefined) revs.sort(compareRevision);
    return revs;
  }

  /**
   * Compacts every keyIndex at `rev` and removes the keys left empty. Returns the revisions the
   * backend must keep (see KeyIndex.compact). O(keys + revisions compacted).
   */
  compact(rev: number): KeepList {
    const keep: KeepList = [];
    this.tree.editAll((_key, keyIndex) => {
      keyIndex.compact(rev, keep);
      return keyIndex.isEmpty() ? DELETE_PAIR : undefined;
    });
    return keep;
  }

  /** The revisions a compaction at `rev` would keep, without compacting. O(keys + revisions). */
  keep(rev: number): KeepList {
    const keep: KeepList = [];
    this.tree.forEachPair((_key, keyIndex) => keyIndex.keep(rev, keep));
    return keep;
  }

  /** Every keyIndex in key order (for inspection and tests). */
  keyIndexes(): KeyIndex[] {
    return this.tree.valuesArray();
  }

  /** Throws InvariantViolation unless the B-tree is valid and every keyIndex is well formed. */
  checkInvariants(): void {
    this.tree.checkValid();
    this.tree.forEachPair((key, keyIndex) => {
      if (keyIndex.key !== key) throw new InvariantViolation(`treeIndex: keyIndex ${keyIndex.key} stored under ${key}`);
      if (keyIndex.isEmpty()) throw new InvariantViolation(`treeIndex: empty keyIndex ${key} left in the tree`);
      keyIndex.checkInvariants();
    });
  }
}

import { describe, expect, it } from "vitest";
import { Generation, KeyIndex, KeyIndexGet, type KeepList } from "../../v3/keyIndex.js";
import { InvariantViolation, RevisionNotFoundError } from "../../v3/errors.js";
import { formatRevision } from "../../v3/revision.js";

/**
 * The key_index_test fixture ("foo"):
 *
 *   puts 2, 4; delete 6; puts 8, 10; delete 12; puts 14.0, 14.1; delete 16
 *
 *   generations (newest first, as key_index.go draws them):
 *     {empty}
 *     {14.0, 14.1, 16.0(t)}
 *     {8.0, 10.0, 12.0(t)}
 *     {2.0, 4.0, 6.0(t)}
 */
function newTestKeyIndex(): KeyIndex {
  const keyIndex = new KeyIndex("foo");
  keyIndex.put(2, 0);
  keyIndex.put(4, 0);
  keyIndex.tombstone(6, 0);
  keyIndex.put(8, 0);
  keyIndex.put(10, 0);
  keyIndex.tombstone(12, 0);
  keyIndex.put(14, 0);
  keyIndex.put(14, 1);
  keyIndex.tombstone(16, 0);
  return keyIndex;
}

const FIXTURE = "{empty} {14.0, 14.1, 16.0(t)} {8.0, 10.0, 12.0(t)} {2.0, 4.0, 6.0(t)}";

/** A keep list as "main.sub" strings, sorted, for readable comparisons. */
function keepOf(keep: KeepList): string[] {
  return keep.map((rev) => formatRevision(rev)).sort();
}

function getAt(keyIndex: KeyIndex, rev: number): { mod: string; created: string; ver: number } | undefined {
  const out = new KeyIndexGet();
  if (!keyIndex.get(rev, out)) return undefined;
  return { mod: formatRevision(out.modified), created: formatRevision(out.created), ver: out.ver };
}

describe("keyIndex: the header's worked example", () => {
  // put(1.0); put(2.0); tombstone(3.0); put(4.0); tombstone(5.0)
  //   {empty} {4.0, 5.0(t)} {1.0, 2.0, 3.0(t)}
  function headerExample(): KeyIndex {
    const keyIndex = new KeyIndex("foo");
    keyIndex.put(1, 0);
    keyIndex.put(2, 0);
    keyIndex.tombstone(3, 0);
    keyIndex.put(4, 0);
    keyIndex.tombstone(5, 0);
    return keyIndex;
  }

  it("draws the generations newest first with an empty generation on top", () => {
    expect(headerExample().toString()).toBe("{empty} {4.0, 5.0(t)} {1.0, 2.0, 3.0(t)}");
  });

  it.each([
    [2, "{empty} {4.0, 5.0(t)} {2.0, 3.0(t)}", false],
    [4, "{empty} {4.0, 5.0(t)}", false],
    [5, "{empty}", true],
    [6, "{empty}", true],
  ])("compact(%i) leaves %s (key removable: %s)", (atRev, diagram, empty) => {
    const keyIndex = headerExample();
    keyIndex.compact(atRev, []);
    expect(keyIndex.toString()).toBe(diagram);
    expect(keyIndex.isEmpty()).toBe(empty);
  });
});

describe("keyIndex.get", () => {
  // Ported from TestKeyIndexGet (mvcc/key_index_test.go): the fixture after compact(4),
  //   {empty} {14.0, 14.1, 16.0(t)} {8.0, 10.0, 12.0(t)} {4.0, 6.0(t)}
  const keyIndex = newTestKeyIndex();
  keyIndex.compact(4, []);

  it.each([
    [17, undefined],
    [16, undefined],
    [15, { mod: "14.1", created: "14.0", ver: 2 }],
    [14, { mod: "14.1", created: "14.0", ver: 2 }],
    [13, undefined],
    [12, undefined],
    [11, { mod: "10.0", created: "8.0", ver: 2 }],
    [10, { mod: "10.0", created: "8.0", ver: 2 }],
    [9, { mod: "8.0", created: "8.0", ver: 1 }],
    [8, { mod: "8.0", created: "8.0", ver: 1 }],
    [7, undefined],
    [6, undefined],
    [5, { mod: "4.0", created: "2.0", ver: 2 }],
    [4, { mod: "4.0", created: "2.0", ver: 2 }],
    [3, undefined],
    [2, undefined],
    [1, undefined],
    [0, undefined],
  ])("at revision %i answers %o", (rev, want) => {
    expect(getAt(keyIndex, rev)).toEqual(want);
  });

  // Spec §3 worked example, on the uncompacted fixture.
  it.each([
    [5, { mod: "4.0", created: "2.0", ver: 2 }],
    [6, undefined],
    [7, undefined],
    [9, { mod: "8.0", created: "8.0", ver: 1 }],
    [15, { mod: "14.1", created: "14.0", ver: 2 }],
    [16, undefined],
    [3, { mod: "2.0", created: "2.0", ver: 1 }],
  ])("on the uncompacted fixture at revision %i answers %o", (rev, want) => {
    expect(getAt(newTestKeyIndex(), rev)).toEqual(want);
  });

  it("finds the newest revision at or below the asked one among many versions", () => {
    const keyIndex = new KeyIndex("k");
    for (let rev = 2; rev <= 200; rev += 2) keyIndex.put(rev, 0);
    expect(getAt(keyIndex, 101)).toEqual({ mod: "100.0", created: "2.0", ver: 50 });
    expect(getAt(keyIndex, 200)).toEqual({ mod: "200.0", created: "2.0", ver: 100 });
    expect(getAt(keyIndex, 1)).toBeUndefined();
  });
});

describe("keyIndex.since", () => {
  // Ported from TestKeyIndexSince: the fixture after compact(4); each main revision reports only its last sub.
  const keyIndex = newTestKeyIndex();
  keyIndex.compact(4, []);
  const all = ["4.0", "6.0", "8.0", "10.0", "12.0", "14.1", "16.0"];

  it.each([
    [17, []],
    [16, all.slice(6)],
    [15, all.slice(6)],
    [14, all.slice(5)],
    [13, all.slice(5)],
    [12, all.slice(4)],
    [11, all.slice(4)],
    [10, all.slice(3)],
    [9, all.slice(3)],
    [8, all.slice(2)],
    [7, all.slice(2)],
    [6, all.slice(1)],
    [5, all.slice(1)],
    [4, all],
    [3, all],
    [0, all],
  ])("since(%i) lists %o", (rev, want) => {
    expect(keyIndex.since(rev).map((since) => formatRevision(since))).toEqual(want);
  });
});

describe("keyIndex.put", () => {
  // Ported from TestKeyIndexPut.
  it("starts a generation on the first put and extends it on the next", () => {
    const keyIndex = new KeyIndex("foo");
    keyIndex.put(5, 0);
    expect(keyIndex.generations).toEqual([{ ver: 1, created: { main: 5, sub: 0 }, revs: [{ main: 5, sub: 0 }] }]);
    expect(keyIndex.modified).toEqual({ main: 5, sub: 0 });
    keyIndex.put(7, 0);
    expect(keyIndex.generations).toEqual([
      { ver: 2, created: { main: 5, sub: 0 }, revs: [{ main: 5, sub: 0 }, { main: 7, sub: 0 }] },
    ]);
    expect(keyIndex.modified).toEqual({ main: 7, sub: 0 });
    keyIndex.checkInvariants();
  });

  it("refuses a revision that is not newer than the last one", () => {
    const keyIndex = new KeyIndex("foo");
    keyIndex.put(5, 1);
    expect(() => keyIndex.put(5, 1)).toThrow(InvariantViolation);
    expect(() => keyIndex.put(5, 0)).toThrow(InvariantViolation);
    expect(() => keyIndex.put(4, 9)).toThrow(InvariantViolation);
    keyIndex.put(5, 2);
    expect(keyIndex.toString()).toBe("{5.1, 5.2}");
  });
});

describe("keyIndex.restore", () => {
  // Ported from TestKeyIndexRestore: a key seen first at 7 with create 5 and version 2.
  it("rebuilds one generation holding only the restored revision", () => {
    const keyIndex = new KeyIndex("foo");
    keyIndex.restore({ main: 5, sub: 0 }, { main: 7, sub: 0 }, 2);
    expect(keyIndex.generations).toEqual([{ ver: 2, created: { main: 5, sub: 0 }, revs: [{ main: 7, sub: 0 }] }]);
    expect(getAt(keyIndex, 7)).toEqual({ mod: "7.0", created: "5.0", ver: 2 });
    keyIndex.put(9, 0);
    expect(getAt(keyIndex, 9)).toEqual({ mod: "9.0", created: "5.0", ver: 3 });
  });
});

describe("keyIndex.tombstone", () => {
  // Ported from TestKeyIndexTombstone.
  it("closes the generation with the tombstone and opens an empty one", () => {
    const keyIndex = new KeyIndex("foo");
    keyIndex.put(5, 0);
    keyIndex.tombstone(7, 0);
    expect(keyIndex.toString()).toBe("{empty} {5.0, 7.0(t)}");
    expect(keyIndex.generations[0]).toMatchObject({ ver: 2, created: { main: 5, sub: 0 } });
    keyIndex.put(8, 0);
    keyIndex.put(9, 0);
    keyIndex.tombstone(15, 0);
    expect(keyIndex.toString()).toBe("{empty} {8.0, 9.0, 15.0(t)} {5.0, 7.0(t)}");
    expect(keyIndex.generations[1]).toMatchObject({ ver: 3, created: { main: 8, sub: 0 } });
    expect(keyIndex.modified).toEqual({ main: 15, sub: 0 });
    keyIndex.checkInvariants();
  });

  it("fails with revision-not-found on a key that is already deleted", () => {
    const keyIndex = new KeyIndex("foo");
    keyIndex.put(5, 0);
    keyIndex.tombstone(7, 0);
    expect(() => keyIndex.tombstone(16, 0)).toThrow(RevisionNotFoundError);
    expect(keyIndex.toString()).toBe("{empty} {5.0, 7.0(t)}");
  });

  it("treats tombstoning a never-written keyIndex as a broken invariant", () => {
    expect(() => new KeyIndex("foo").tombstone(3, 0)).toThrow(InvariantViolation);
  });
});

describe("keyIndex.compact and keyIndex.keep", () => {
  // Ported from TestKeyIndexCompactAndKeep, and spec §3's compaction table, on the fixture:
  //
  //   {empty} {14.0, 14.1, 16.0(t)} {8.0, 10.0, 12.0(t)} {2.0, 4.0, 6.0(t)}
  //
  // compact(C) keeps, per surviving generation, its newest revision ≤ C; a generation whose
  // tombstone is ≤ C disappears with its tombstone.
  const table: [number, string, string[]][] = [
    [1, FIXTURE, []],
    [2, FIXTURE, ["2.0"]],
    [3, FIXTURE, ["2.0"]],
    [4, "{empty} {14.0, 14.1, 16.0(t)} {8.0, 10.0, 12.0(t)} {4.0, 6.0(t)}", ["4.0"]],
    [5, "{empty} {14.0, 14.1, 16.0(t)} {8.0, 10.0, 12.0(t)} {4.0, 6.0(t)}", ["4.0"]],
    [6, "{empty} {14.0, 14.1, 16.0(t)} {8.0, 10.0, 12.0(t)}", []],
    [7, "{empty} {14.0, 14.1, 16.0(t)} {8.0, 10.0, 12.0(t)}", []],
    [8, "{empty} {14.0, 14.1, 16.0(t)} {8.0, 10.0, 12.0(t)}", ["8.0"]],
    [9, "{empty} {14.0, 14.1, 16.0(t)} {8.0, 10.0, 12.0(t)}", ["8.0"]],
    [10, "{empty} {14.0, 14.1, 16.0(t)} {10.0, 12.0(t)}", ["10.0"]],
    [11, "{empty} {14.0, 14.1, 16.0(t)} {10.0, 12.0(t)}", ["10.0"]],
    [12, "{empty} {14.0, 14.1, 16.0(t)}", []],
    [13, "{empty} {14.0, 14.1, 16.0(t)}", []],
    [14, "{empty} {14.1, 16.0(t)}", ["14.1"]],
    [15, "{empty} {14.1, 16.0(t)}", ["14.1"]],
    [16, "{empty}", []],
    [17, "{empty}", []],
  ];

  it.each(table)("compact(%i) on a fresh fixture leaves %s and keeps %o", (atRev, diagram, keep) => {
    const keyIndex = newTestKeyIndex();
    const available: KeepList = [];
    keyIndex.compact(atRev, available);
    expect(keyIndex.toString()).toBe(diagram);
    expect(keepOf(available)).toEqual(keep);
    expect(keyIndex.isEmpty()).toBe(diagram === "{empty}");
    if (!keyIndex.isEmpty()) keyIndex.checkInvariants();
  });

  it.each(table)("keep(%i) reports what compact would keep and changes nothing (→ %s)", (atRev, _diagram, keep) => {
    const keyIndex = newTestKeyIndex();
    const available: KeepList = [];
    keyIndex.keep(atRev, available);
    expect(keepOf(available)).toEqual(keep);
    expect(keyIndex.toString()).toBe(FIXTURE);
  });

  it("gives the same answers when the compactions run one after another on one keyIndex", () => {
    // Ported from the "jump compaction" half of TestKeyIndexCompactAndKeep.
    const keyIndex = newTestKeyIndex();
    for (const [atRev, diagram, keep] of table) {
      if (keyIndex.isEmpty()) {
        expect(diagram).toBe("{empty}");
        continue;
      }
      const available: KeepList = [];
      keyIndex.compact(atRev, available);
      expect(keyIndex.toString(), `after compact(${atRev})`).toBe(diagram);
      expect(keepOf(available), `keep of compact(${atRev})`).toEqual(keep);
    }
  });

  it("keeps the newest version when compacting above the last revision of a live key", () => {
    // Ported from TestKeyIndexCompactOnFurtherRev.
    const keyIndex = new KeyIndex("foo");
    keyIndex.put(1, 0);
    keyIndex.put(2, 0);
    const available: KeepList = [];
    keyIndex.compact(3, available);
    expect(keyIndex.generations).toEqual([{ ver: 2, created: { main: 1, sub: 0 }, revs: [{ main: 2, sub: 0 }] }]);
    expect(keepOf(available)).toEqual(["2.0"]);
    expect(getAt(keyIndex, 3)).toEqual({ mod: "2.0", created: "1.0", ver: 2 });
  });

  it("never changes create revision or version of the surviving versions", () => {
    const keyIndex = newTestKeyIndex();
    keyIndex.compact(10, []);
    expect(getAt(keyIndex, 10)).toEqual({ mod: "10.0", created: "8.0", ver: 2 });
    expect(getAt(keyIndex, 15)).toEqual({ mod: "14.1", created: "14.0", ver: 2 });
  });
});

describe("keyIndex.isEmpty", () => {
  // Ported from TestKeyIndexIsEmpty.
  it("is empty only when nothing but an empty generation is left", () => {
    expect(new KeyIndex("foo").isEmpty()).toBe(true);
    const live = new KeyIndex("foo");
    live.put(2, 0);
    expect(live.isEmpty()).toBe(false);
    const deleted = new KeyIndex("foo");
    deleted.put(2, 0);
    deleted.tombstone(3, 0);
    expect(deleted.isEmpty()).toBe(false);
  });
});

describe("keyIndex.findGeneration", () => {
  // Ported from TestKeyIndexFindGeneration, on the fixture:
  //
  //   {empty} {14.0, 14.1, 16.0(t)} {8.0, 10.0, 12.0(t)} {2.0, 4.0, 6.0(t)}
  //
  // A revision at or after a generation's tombstone finds nothing in it (the key was deleted then).
  const keyIndex = newTestKeyIndex();
  it.each<[number, number | undefined]>([
    [0, undefined],
    [1, undefined],
    [2, 0],
    [3, 0],
    [4, 0],
    [5, 0],
    [6, undefined],
    [7, undefined],
    [8, 1],
    [9, 1],
    [10, 1],
    [11, 1],
    [12, undefined],
    [13, undefined],
  ])("findGeneration(%i) is generation %s", (rev, want) => {
    const found = keyIndex.findGeneration(rev);
    expect(found === undefined ? undefined : keyIndex.generations.indexOf(found)).toBe(want);
  });
});

describe("generation", () => {
  // Ported from TestGenerationIsEmpty.
  it("is empty until its first revision", () => {
    expect(new Generation().isEmpty()).toBe(true);
    expect(new Generation(1, { main: 1, sub: 0 }, [{ main: 1, sub: 0 }]).isEmpty()).toBe(false);
  });

  // Ported from TestGenerationWalk: revs [2.0, 4.0, 6.0], walked newest first until f says stop.
  const generation = new Generation(3, { main: 2, sub: 0 }, [{ main: 2, sub: 0 }, { main: 4, sub: 0 }, { main: 6, sub: 0 }]);
  it.each([
    [7, 2],
    [6, 1],
    [5, 1],
    [4, 0],
    [3, 0],
    [2, -1],
  ])("walk(rev.main >= %i) stops at position %i", (bound, want) => {
    expect(generation.walk((rev) => rev.main >= bound)).toBe(want);
  });
});

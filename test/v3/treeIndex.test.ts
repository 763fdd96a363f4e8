import { describe, expect, it } from "vitest";
import { TreeIndex } from "../../v3/treeIndex.js";
import { fromBinaryString, toBinaryString } from "../../shared/bytes.js";
import { KeyIndexGet } from "../../v3/keyIndex.js";
import { formatRevision, type Revision } from "../../v3/revision.js";
import { RevisionNotFoundError } from "../../v3/errors.js";

function revisionAt(index: TreeIndex, key: string, rev: number): string | undefined {
  const out = new KeyIndexGet();
  return index.get(key, rev, out) ? formatRevision(out.modified) : undefined;
}

function pairs(revs: readonly Revision[]): string[] {
  return revs.map((rev) => formatRevision(rev));
}

describe("treeIndex.get", () => {
  // Ported from TestIndexGet (mvcc/index_test.go): foo put at 2 and 4, deleted at 6.
  const index = new TreeIndex();
  index.put("foo", 2, 0);
  index.put("foo", 4, 0);
  index.tombstone("foo", 6, 0);

  it.each([
    [0, undefined],
    [1, undefined],
    [2, "2.0"],
    [3, "2.0"],
    [4, "4.0"],
    [5, "4.0"],
    [6, undefined],
  ])("at revision %i finds %s", (rev, want) => {
    expect(revisionAt(index, "foo", rev)).toBe(want);
  });

  it("finds nothing for a key never written", () => {
    expect(revisionAt(index, "bar", 5)).toBeUndefined();
  });
});

describe("treeIndex.range", () => {
  // Ported from TestIndexRange: foo@1, foo1@2, foo2@3, read at 3.
  const index = new TreeIndex();
  index.put("foo", 1, 0);
  index.put("foo1", 2, 0);
  index.put("foo2", 3, 0);

  it.each<[string, string | undefined, string[], string[]]>([
    ["foo", undefined, ["foo"], ["1.0"]],
    ["foo", "foo1", ["foo"], ["1.0"]],
    ["foo", "fop", ["foo", "foo1", "foo2"], ["1.0", "2.0", "3.0"]],
    ["foo1", "fop", ["foo1", "foo2"], ["2.0", "3.0"]],
    ["foo2", "fop", ["foo2"], ["3.0"]],
    ["foo", "", ["foo", "foo1", "foo2"], ["1.0", "2.0", "3.0"]],
    ["foo3", "fop", [], []],
    ["fop", "foo", [], []],
    ["foo", "foo", [], []],
  ])("range(%s, %s) at 3 returns %o", (key, end, keys, revs) => {
    const result = index.range(key, end, 3);
    expect(result.keys).toEqual(keys);
    expect(pairs(result.revs)).toEqual(revs);
    expect(index.countRevisions(key, end, 3)).toBe(keys.length);
  });

  it("leaves out keys created after the read revision", () => {
    expect(index.range("foo", "fop", 2).keys).toEqual(["foo", "foo1"]);
  });

  it("orders keys bytewise, not by UTF-16 code unit", () => {
    const bytewise = new TreeIndex();
    const keys = [new Uint8Array([0xff]), new Uint8Array([0x61]), new Uint8Array([0xc3, 0xa9]), new Uint8Array([0x61, 0x00])];
    keys.forEach((key, i) => bytewise.put(toBinaryString(key), i + 2, 0));
    const found = bytewise.range(toBinaryString(new Uint8Array([0])), "", 10).keys.map((key) => Array.from(fromBinaryString(key)));
    expect(found).toEqual([[0x61], [0x61, 0x00], [0xc3, 0xa9], [0xff]]);
  });
});

describe("treeIndex.tombstone", () => {
  // Ported from TestIndexTombstone.
  it("hides the key from reads at the tombstone and refuses a second tombstone", () => {
    const index = new TreeIndex();
    index.put("foo", 1, 0);
    index.tombstone("foo", 2, 0);
    expect(revisionAt(index, "foo", 2)).toBeUndefined();
    expect(() => index.tombstone("foo", 3, 0)).toThrow(RevisionNotFoundError);
    expect(() => index.tombstone("bar", 3, 0)).toThrow(RevisionNotFoundError);
  });
});

describe("treeIndex.rangeSince", () => {
  // Ported from TestIndexRangeSince: foo@1, foo1@2, foo2@3, foo2@4, foo1@5, foo@6.
  const index = new TreeIndex();
  [["foo", 1], ["foo1", 2], ["foo2", 3], ["foo2", 4], ["foo1", 5], ["foo", 6]].forEach(([key, rev]) => index.put(key as string, rev as number, 0));

  it.each<[string, string | undefined, string[]]>([
    ["foo", undefined, ["1.0", "6.0"]],
    ["foo", "foo1", ["1.0", "6.0"]],
    ["foo", "fop", ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0"]],
    ["foo1", "fop", ["2.0", "3.0", "4.0", "5.0"]],
    ["foo2", "fop", ["3.0", "4.0"]],
    ["foo1", "foo2", ["2.0", "5.0"]],
    ["foo", "", ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0"]],
  ])("since 1 over [%s, %s) lists %o in revision order", (key, end, want) => {
    expect(pairs(index.rangeSince(key, end, 1))).toEqual(want);
  });

  it("skips revisions below the asked one", () => {
    expect(pairs(index.rangeSince("foo", "fop", 4))).toEqual(["4.0", "5.0", "6.0"]);
  });
});

describe("treeIndex.compact", () => {
  // After the spirit of TestIndexCompactAndKeep: every read at or after the compaction revision
  // answers as before, keep() predicts compact(), and fully deleted keys leave the tree.
  function build(): TreeIndex {
    const index = new TreeIndex();
    index.put("foo", 1, 0);
    index.put("foo1", 2, 0);
    index.put("foo2", 3, 0);
    index.put("foo2", 4, 0);
    index.put("foo", 5, 0);
    index.put("foo1", 6, 0);
    index.tombstone("foo1", 7, 0);
    index.tombstone("foo", 8, 0);
    index.put("foo", 9, 0);
    return index;
  }

  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])("compact(%i) keeps every read at or after it and matches keep()", (atRev) => {
    const index = build();
    const before = new Map<string, (string | undefined)[]>();
    for (const key of ["foo", "foo1", "foo2"]) before.set(key, [...Array(11).keys()].map((rev) => revisionAt(index, key, rev)));
    const predicted = pairs(index.keep(atRev)).sort();
    const kept = pairs(index.compact(atRev)).sort();
    expect(kept).toEqual(predicted);
    for (const key of ["foo", "foo1", "foo2"]) {
      for (let rev = atRev; rev <= 10; rev++) expect(revisionAt(index, key, rev), `${key}@${rev}`).toBe(before.get(key)?.[rev]);
    }
    index.checkInvariants();
  });

  it("removes a key whose last generation ended at or before the compaction", () => {
    const index = build();
    index.compact(7);
    expect(index.keyIndex("foo1")).toBeUndefined();
    expect(index.keyIndex("foo")?.toString()).toBe("{9.0} {5.0, 8.0(t)}");
    expect(index.size).toBe(2);
  });
});

describe("toBinaryString (the index's key form)", () => {
  it("maps every byte of a short key to one char and back", () => {
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 4 + 3) & 0xff);
    expect(Array.from(fromBinaryString(toBinaryString(bytes)))).toEqual(Array.from(bytes));
  });

  it("maps every byte to one char and back", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const key = toBinaryString(bytes);
    expect(key.length).toBe(256);
    expect(Array.from(fromBinaryString(key))).toEqual(Array.from(bytes));
  });

  it("handles keys longer than the fast path", () => {
    const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
    expect(Array.from(fromBinaryString(toBinaryString(bytes)))).toEqual(Array.from(bytes));
  });
});

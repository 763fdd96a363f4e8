import { describe, expect, it } from "vitest";
import { utf8 } from "../../shared/bytes.js";
import { Backend, entrySize, keyValueProtoSize, varintSize } from "../../v3/backend.js";
import type { KeyValue } from "../../v3/rpc.js";
import { InvariantViolation } from "../../v3/errors.js";
import { formatRevisionKey } from "../../v3/revision.js";

function kv(key: string, main: number, value = "v", version = 1, create = main): KeyValue {
  return { key: utf8(key), create_revision: create, mod_revision: main, version, value: utf8(value), lease: 0n };
}
function tombstone(key: string): KeyValue {
  return { key: utf8(key), create_revision: 0, mod_revision: 0, version: 0, value: new Uint8Array(0), lease: 0n };
}
function revisions(backend: Backend): string[] {
  return backend.entriesBetween().map((e) => `${e.main}.${e.sub}${e.tombstone ? "t" : ""}`);
}

describe("Backend key bucket", () => {
  it("returns what was stored at each revision, and nothing elsewhere", () => {
    const backend = new Backend();
    const a = kv("a", 2);
    const b = kv("b", 3);
    const c = kv("c", 3);
    backend.put(2, 0, a);
    backend.put(3, 0, b);
    backend.put(3, 1, c);
    expect(backend.get(2, 0)).toBe(a);
    expect(backend.get(3, 0)).toBe(b);
    expect(backend.get(3, 1)).toBe(c);
    expect(backend.get(2, 1)).toBeUndefined();
    expect(backend.get(4, 0)).toBeUndefined();
    expect(backend.get(1, 0)).toBeUndefined();
    expect(backend.entries).toBe(3);
  });

  it("accepts only the next revision: the next sub of the same main, or sub 0 of a newer main", () => {
    const backend = new Backend();
    backend.put(2, 0, kv("a", 2));
    expect(() => backend.put(2, 0, kv("a", 2))).toThrow(InvariantViolation);
    expect(() => backend.put(2, 2, kv("a", 2))).toThrow(InvariantViolation);
    expect(() => backend.put(3, 1, kv("a", 3))).toThrow(InvariantViolation);
    expect(() => backend.put(1, 0, kv("a", 1))).toThrow(InvariantViolation);
    backend.put(5, 0, kv("a", 5));
    expect(revisions(backend)).toEqual(["2.0", "5.0"]);
  });

  it("walks [from, to) in revision order and shows tombstones with their 18-byte key", () => {
    const backend = new Backend();
    backend.put(2, 0, kv("a", 2));
    backend.put(3, 0, kv("b", 3));
    backend.put(4, 0, tombstone("a"));
    backend.put(4, 1, tombstone("b"));
    backend.put(5, 0, kv("c", 5));
    const seen: string[] = [];
    backend.range(3, 5, (main, sub) => seen.push(`${main}.${sub}`));
    expect(seen).toEqual(["3.0", "4.0", "4.1"]);
    const entries = backend.entriesBetween(4, 5);
    expect(entries.map((e) => [formatRevisionKey(e.revisionKey), e.tombstone])).toEqual([
      ["0000000000000004_0000000000000000t", true],
      ["0000000000000004_0000000000000001t", true],
    ]);
  });

  it("deletes on compaction every revision at or below it except the kept ones", () => {
    const backend = new Backend();
    backend.put(2, 0, kv("a", 2));
    backend.put(3, 0, kv("a", 3, "v", 2, 2));
    backend.put(4, 0, tombstone("a"));
    backend.put(5, 0, kv("b", 5));
    backend.put(5, 1, kv("c", 5));
    backend.put(6, 0, kv("b", 6, "v", 2, 5));
    expect(backend.compact(5, [{ main: 5, sub: 1 }, { main: 5, sub: 0 }])).toBe(3);
    expect(revisions(backend)).toEqual(["5.0", "5.1", "6.0"]);
    expect(backend.compact(6, [{ main: 6, sub: 0 }, { main: 5, sub: 1 }])).toBe(1);
    expect(revisions(backend)).toEqual(["5.1", "6.0"]);
    expect(backend.finishedCompactRev).toBe(6);
    backend.checkInvariants();
    backend.put(7, 0, kv("d", 7));
    expect(backend.get(7, 0)?.key).toEqual(utf8("d"));
  });

  it("starts over cleanly when a compaction empties the bucket", () => {
    const backend = new Backend();
    backend.put(2, 0, kv("a", 2));
    backend.put(3, 0, tombstone("a"));
    backend.compact(3, []);
    expect(backend.entries).toBe(0);
    expect(backend.sizeBytes).toBe(0);
    backend.put(4, 0, kv("b", 4));
    expect(revisions(backend)).toEqual(["4.0"]);
    backend.checkInvariants();
  });
});

describe("Backend size model", () => {
  it("counts the bbolt key, the protobuf KeyValue and a 16-byte leaf header per entry", () => {
    // foo=bar at 2: key (1+1+3) + create (1+1) + mod (1+1) + version (1+1) + value (1+1+3) = 16 bytes of protobuf.
    const put = kv("foo", 2, "bar");
    expect(keyValueProtoSize(put)).toBe(16);
    expect(entrySize(put)).toBe(17 + 16 + 16);
    // A tombstone stores only the key, under an 18-byte bbolt key.
    expect(entrySize(tombstone("foo"))).toBe(18 + 5 + 16);
  });

  it("grows with puts and shrinks with compaction", () => {
    const backend = new Backend();
    backend.put(2, 0, kv("foo", 2, "bar"));
    backend.put(3, 0, kv("foo", 3, "baz", 2, 2));
    expect(backend.sizeBytes).toBe(2 * 49);
    backend.compact(3, [{ main: 3, sub: 0 }]);
    expect(backend.sizeBytes).toBe(49);
  });

  it("sizes varints 7 bits per byte", () => {
    expect([0, 127, 128, 16383, 16384, 2 ** 35].map(varintSize)).toEqual([1, 1, 2, 2, 3, 6]);
    expect(keyValueProtoSize({ ...kv("k", 2), lease: -1n })).toBe(keyValueProtoSize(kv("k", 2)) + 11);
  });
});

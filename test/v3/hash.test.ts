import { describe, expect, it } from "vitest";
import { utf8 } from "../../shared/bytes.js";
import { KVStore } from "../../v3/kvstore.js";
import { NO_LEASE } from "../../v3/rpc.js";
import { CompactedError, FutureRevError } from "../../v3/errors.js";
import { crc32c, hashByRev } from "../../v3/hash.js";
import { marshalKeyValue } from "../../v3/kvPb.js";

/** put foo bar; put foo bar2; del foo; put a 1; put "b b" "" — the history of grpc.md §5.2 (revisions 2…6). */
function specHistory(): KVStore {
  const store = new KVStore();
  store.put(utf8("foo"), utf8("bar"), NO_LEASE);
  store.put(utf8("foo"), utf8("bar2"), NO_LEASE);
  store.deleteRange(utf8("foo"), undefined);
  store.put(utf8("a"), utf8("1"), NO_LEASE);
  store.put(utf8("b b"), utf8(""), NO_LEASE);
  return store;
}

describe("crc32c", () => {
  it("gives the standard CRC-32C check value for 123456789", () => {
    expect(crc32c(utf8("123456789"))).toBe(0xe3069283);
  });
});

describe("marshalKeyValue", () => {
  it("writes the fields in number order and leaves zero values out", () => {
    const bytes = marshalKeyValue({ key: utf8("foo"), create_revision: 2, mod_revision: 2, version: 1, value: utf8("bar"), lease: 0n });
    expect(Buffer.from(bytes).toString("hex")).toBe("0a03666f6f1002180220012a03626172");
  });

  it("writes a negative lease as a ten-byte varint", () => {
    const bytes = marshalKeyValue({ key: utf8("k"), create_revision: 0, mod_revision: 0, version: 0, value: new Uint8Array(), lease: -1n });
    expect(bytes.length).toBe(3 + 1 + 10);
  });
});

describe("hashByRev", () => {
  it("equals the hashes a real etcd gave for the same history (grpc.md §5.2)", () => {
    const store = specHistory();
    expect(hashByRev(store, 0)).toEqual({ hash: 3642540985, currentRev: 6, compactRev: -1 });
    expect(hashByRev(store, 3).hash).toBe(3581052765);
  });

  it("hashes only the rows a compaction would keep once compacted (grpc.md §5.2)", () => {
    const store = specHistory();
    store.compact(3);
    expect(hashByRev(store, 6)).toEqual({ hash: 1830657466, currentRev: 6, compactRev: 3 });
    expect(hashByRev(store, 4).hash).toBe(3537877773);
  });

  it("refuses a revision at or below the compaction, and one in the future", () => {
    const store = specHistory();
    store.compact(3);
    expect(() => hashByRev(store, 3)).toThrow(CompactedError);
    expect(() => hashByRev(store, 2)).toThrow(CompactedError);
    expect(() => hashByRev(store, 7)).toThrow(FutureRevError);
  });
});

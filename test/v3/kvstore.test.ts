import { describe, expect, it } from "vitest";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import { KVStore } from "../../v3/kvstore.js";
import type { LeaseHooks, TxnWrite } from "../../v3/kv.js";
import type { KeyValue, LeaseID } from "../../v3/rpc.js";
import { NO_LEASE } from "../../v3/rpc.js";
import { Backend } from "../../v3/backend.js";
import { CompactedError, FutureRevError, InvariantViolation } from "../../v3/errors.js";
import { StoreInspector } from "../../v3/inspect.js";

const FROM_KEY = new Uint8Array(0);

function keysOf(kvs: KeyValue[]): string[] {
  return kvs.map((kv) => fromUtf8(kv.key));
}

/** foo@2, foo1@3, foo2@4: the fixture of kv_test.go's range tests. */
function threeKeys(): KVStore {
  const store = new KVStore();
  store.put(utf8("foo"), utf8("bar"), 1n);
  store.put(utf8("foo1"), utf8("bar1"), 2n);
  store.put(utf8("foo2"), utf8("bar2"), 3n);
  return store;
}

describe("KVStore.range", () => {
  // Ported from TestKVRange (mvcc/kv_test.go).
  it.each<[string, string | undefined, string[]]>([
    ["foo", undefined, ["foo"]],
    ["foo", "foo/", ["foo"]],
    ["foo", "fop", ["foo", "foo1", "foo2"]],
    ["foo1", "fop", ["foo1", "foo2"]],
    ["foo2", "fop", ["foo2"]],
    ["foo3", "fop", []],
    ["foo", "", ["foo", "foo1", "foo2"]],
  ])("range(%s, %s) returns %o and reports the current revision", (key, end, want) => {
    const store = threeKeys();
    const result = store.range(utf8(key), end === undefined ? undefined : end === "" ? FROM_KEY : utf8(end));
    expect(keysOf(result.kvs)).toEqual(want);
    expect(result.count).toBe(want.length);
    expect(result.rev).toBe(4);
  });

  it("returns the stored KeyValues with create, mod, version and lease", () => {
    const result = threeKeys().range(utf8("foo"), utf8("fop"));
    expect(result.kvs.map((kv) => [kv.create_revision, kv.mod_revision, kv.version, kv.lease])).toEqual([
      [2, 2, 1, 1n],
      [3, 3, 1, 2n],
      [4, 4, 1, 3n],
    ]);
  });

  // Ported from TestKVRangeRev.
  it.each([
    [-1, ["foo", "foo1", "foo2"]],
    [0, ["foo", "foo1", "foo2"]],
    [1, []],
    [2, ["foo"]],
    [3, ["foo", "foo1"]],
    [4, ["foo", "foo1", "foo2"]],
  ])("range at revision %i sees %o, still reporting revision 4", (rev, want) => {
    const result = threeKeys().range(utf8("foo"), utf8("fop"), { rev });
    expect(keysOf(result.kvs)).toEqual(want);
    expect(result.rev).toBe(4);
  });

  // Ported from TestKVRangeBadRev: after compact(4) and one delete (revision 5).
  it.each<[number, (new () => Error) | undefined]>([
    [-1, undefined],
    [0, undefined],
    [1, CompactedError],
    [2, CompactedError],
    [3, CompactedError],
    [4, undefined],
    [5, undefined],
    [6, FutureRevError],
    [100, FutureRevError],
  ])("range at revision %i after compact(4) %s", (rev, error) => {
    const store = threeKeys();
    store.compact(4);
    store.deleteRange(utf8("foo"), undefined);
    if (error === undefined) expect(() => store.range(utf8("foo"), utf8("fop"), { rev })).not.toThrow();
    else expect(() => store.range(utf8("foo"), utf8("fop"), { rev })).toThrow(error);
  });

  // Ported from TestKVRangeLimit.
  it.each([
    [0, 3],
    [1, 1],
    [2, 2],
    [3, 3],
    [100, 3],
  ])("with limit %i returns %i kvs and counts all 3", (limit, returned) => {
    const result = threeKeys().range(utf8("foo"), utf8("fop"), { limit });
    expect(result.kvs.length).toBe(returned);
    expect(result.count).toBe(3);
  });

  it("counts without fetching when asked only to count", () => {
    const result = threeKeys().range(utf8("foo"), utf8("fop"), { count: true });
    expect(result).toEqual({ kvs: [], rev: 4, count: 3 });
  });

  it("works with binary keys, ordered bytewise", () => {
    const store = new KVStore();
    for (const key of [[0xff, 0x00], [0x00], [0x7f], [0xff]]) store.put(new Uint8Array(key), utf8("v"), NO_LEASE);
    const result = store.range(new Uint8Array([0]), FROM_KEY);
    expect(result.kvs.map((kv) => Array.from(kv.key))).toEqual([[0x00], [0x7f], [0xff], [0xff, 0x00]]);
  });
});

describe("KVStore.put", () => {
  // Ported from TestKVPutMultipleTimes.
  it("advances the revision and the version on every put, keeping the create revision", () => {
    const store = new KVStore();
    for (let i = 0; i < 10; i++) {
      const rev = store.put(utf8("foo"), utf8("bar"), BigInt(i));
      expect(rev).toBe(i + 2);
      const kv = store.range(utf8("foo"), undefined).kvs[0];
      expect(kv).toMatchObject({ create_revision: 2, mod_revision: i + 2, version: i + 1, lease: BigInt(i) });
    }
    store.checkInvariants();
  });

  it("starts at revision 1 so the first write is revision 2", () => {
    const store = new KVStore();
    expect(store.rev()).toBe(1);
    expect(store.firstRev()).toBe(-1);
    expect(store.put(utf8("a"), utf8("1"), NO_LEASE)).toBe(2);
  });

  it("restarts version and create revision after a delete", () => {
    const store = new KVStore();
    store.put(utf8("k"), utf8("1"), NO_LEASE);
    store.put(utf8("k"), utf8("2"), NO_LEASE);
    store.deleteRange(utf8("k"), undefined);
    store.put(utf8("k"), utf8("3"), NO_LEASE);
    expect(store.range(utf8("k"), undefined).kvs[0]).toMatchObject({ create_revision: 5, mod_revision: 5, version: 1 });
  });
});

describe("KVStore.deleteRange", () => {
  // Ported from TestKVDeleteRange.
  it.each<[string, string | undefined, number, number]>([
    ["foo", undefined, 1, 5],
    ["foo", "foo1", 1, 5],
    ["foo", "fop", 3, 5],
    ["foo1", "fop", 2, 5],
    ["foo2", "fop", 1, 5],
    ["foo3", "fop", 0, 4],
    ["foo", "", 3, 5],
  ])("deleteRange(%s, %s) deletes %i keys at revision %i", (key, end, deleted, rev) => {
    const store = threeKeys();
    const result = store.deleteRange(utf8(key), end === undefined ? undefined : end === "" ? FROM_KEY : utf8(end));
    expect(result).toEqual({ deleted, rev });
    expect(store.rev()).toBe(rev);
    store.checkInvariants();
  });

  // Ported from TestKVDeleteMultipleTimes.
  it("does not advance the revision when deleting an already deleted key", () => {
    const store = new KVStore();
    store.put(utf8("foo"), utf8("bar"), NO_LEASE);
    expect(store.deleteRange(utf8("foo"), undefined)).toEqual({ deleted: 1, rev: 3 });
    for (let i = 0; i < 10; i++) expect(store.deleteRange(utf8("foo"), undefined)).toEqual({ deleted: 0, rev: 3 });
  });

  it("stores one tombstone per key at one revision, subs in key order", () => {
    const store = threeKeys();
    store.deleteRange(utf8("foo"), utf8("fop"));
    const entries = new StoreInspector(store).backendEntries(5, 6);
    expect(entries.map((entry) => [entry.revision.sub, fromUtf8(entry.kv.key), entry.tombstone])).toEqual([
      [0, "foo", true],
      [1, "foo1", true],
      [2, "foo2", true],
    ]);
  });
});

describe("KVStore transactions", () => {
  // Ported from TestKVOperationInSequence.
  it("runs put, range, delete, range in sequence with one revision per write", () => {
    const store = new KVStore();
    for (let i = 0; i < 5; i++) {
      const base = i * 2 + 1;
      expect(store.put(utf8("foo"), utf8("bar"), NO_LEASE)).toBe(base + 1);
      expect(store.range(utf8("foo"), undefined).kvs[0]).toMatchObject({ create_revision: base + 1, mod_revision: base + 1, version: 1 });
      expect(store.deleteRange(utf8("foo"), undefined)).toEqual({ deleted: 1, rev: base + 2 });
      expect(store.range(utf8("foo"), undefined).kvs).toEqual([]);
    }
  });

  // Ported from TestKVTxnOperationInSequence.
  it("sees its own writes inside a write transaction and commits them under one revision", () => {
    const store = new KVStore();
    const txn = store.write();
    expect(txn.put(utf8("foo"), utf8("bar"), NO_LEASE)).toBe(2);
    const inside = txn.range(utf8("foo"), undefined);
    expect(inside.rev).toBe(2);
    expect(inside.kvs[0]).toMatchObject({ mod_revision: 2, version: 1 });
    expect(txn.deleteRange(utf8("foo"), undefined)).toEqual({ deleted: 1, rev: 2 });
    expect(txn.range(utf8("foo"), undefined).kvs).toEqual([]);
    expect(store.rev()).toBe(1);
    txn.end();
    expect(store.rev()).toBe(2);
    expect(new StoreInspector(store).backendEntries().map((e) => `${e.revision.main}.${e.revision.sub}${e.tombstone ? "t" : ""}`)).toEqual([
      "2.0",
      "2.1t",
    ]);
  });

  // Ported from TestKVTxnNonBlockRange: a read opened before a write commits keeps its revision.
  it("lets a read transaction keep its revision while a write commits", () => {
    const store = threeKeys();
    const read = store.read();
    store.put(utf8("foo"), utf8("changed"), NO_LEASE);
    const result = read.range(utf8("foo"), undefined);
    expect(result.rev).toBe(4);
    expect(fromUtf8(result.kvs[0]?.value ?? new Uint8Array())).toBe("bar");
    read.end();
  });

  it("reports changes in sub order, a delete as its key with every other field zero", () => {
    const store = threeKeys();
    const txn = store.write();
    txn.put(utf8("a"), utf8("1"), NO_LEASE);
    txn.deleteRange(utf8("foo1"), undefined);
    const changes = txn.changes();
    txn.end();
    expect(changes.map((kv) => [fromUtf8(kv.key), kv.create_revision, kv.mod_revision, kv.version, kv.lease])).toEqual([
      ["a", 5, 5, 1, 0n],
      ["foo1", 0, 0, 0, 0n],
    ]);
  });

  it("refuses a second write transaction while one is open", () => {
    const store = new KVStore();
    const txn = store.write();
    expect(() => store.write()).toThrow(InvariantViolation);
    txn.end();
    expect(() => store.write().end()).not.toThrow();
  });

  it("can be wrapped: a subclass overriding write() sees every commit, including single puts", () => {
    const commits: { rev: number; keys: string[] }[] = [];
    class Recording extends KVStore {
      override write(): TxnWrite {
        const inner = super.write();
        const store = this;
        return Object.assign(Object.create(inner) as TxnWrite, {
          end(): void {
            const changes = inner.changes();
            if (changes.length > 0) commits.push({ rev: inner.rev() + 1, keys: changes.map((kv) => fromUtf8(kv.key)) });
            inner.end();
            void store;
          },
        });
      }
    }
    const store = new Recording();
    store.put(utf8("a"), utf8("1"), NO_LEASE);
    store.deleteRange(utf8("missing"), undefined);
    store.deleteRange(utf8("a"), undefined);
    expect(commits).toEqual([
      { rev: 2, keys: ["a"] },
      { rev: 3, keys: ["a"] },
    ]);
  });
});

describe("KVStore.compact", () => {
  // Ported from TestKVCompactReserveLastValue; spec §3's store-level example.
  it.each([
    [1, 2, "bar0"],
    [2, 3, "bar1"],
    [3, 4, undefined],
    [4, 5, "bar2"],
  ])("after compact(%i) a read at %i returns %s", (compactRev, readRev, value) => {
    const store = new KVStore();
    store.put(utf8("foo"), utf8("bar0"), 1n);
    store.put(utf8("foo"), utf8("bar1"), 2n);
    store.deleteRange(utf8("foo"), undefined);
    store.put(utf8("foo"), utf8("bar2"), 3n);
    store.compact(compactRev);
    const kvs = store.range(utf8("foo"), undefined, { rev: readRev }).kvs;
    expect(kvs.map((kv) => fromUtf8(kv.value))).toEqual(value === undefined ? [] : [value]);
    if (compactRev === 2) expect(kvs[0]).toMatchObject({ version: 2, create_revision: 2 });
    if (compactRev === 4) expect(kvs[0]).toMatchObject({ version: 1, create_revision: 5 });
    store.checkInvariants();
  });

  // Ported from TestKVCompactBad.
  it("refuses compacting at or below the last compaction and above the current revision", () => {
    const store = threeKeys();
    expect(() => store.compact(0)).not.toThrow();
    expect(() => store.compact(1)).not.toThrow();
    expect(() => store.compact(1)).toThrow(CompactedError);
    expect(() => store.compact(4)).not.toThrow();
    expect(() => store.compact(5)).toThrow(FutureRevError);
    expect(() => store.compact(100)).toThrow(FutureRevError);
    expect(store.firstRev()).toBe(4);
  });

  it("lets a fresh store compact at 0 once", () => {
    const store = new KVStore();
    store.compact(0);
    expect(() => store.compact(0)).toThrow(CompactedError);
    expect(store.compactMainRev).toBe(0);
  });

  it("removes history and tombstones from the backend but keeps each live key's newest version", () => {
    const store = new KVStore();
    store.put(utf8("a"), utf8("1"), NO_LEASE); // 2
    store.put(utf8("a"), utf8("2"), NO_LEASE); // 3
    store.put(utf8("b"), utf8("1"), NO_LEASE); // 4
    store.deleteRange(utf8("b"), undefined); // 5
    store.put(utf8("c"), utf8("1"), NO_LEASE); // 6
    const sizeBefore = store.backend.sizeBytes;
    store.compact(5);
    const inspector = new StoreInspector(store);
    expect(inspector.backendEntries().map((e) => `${e.revision.main}.${e.revision.sub}`)).toEqual(["3.0", "6.0"]);
    expect(inspector.keyIndex("b")).toBeUndefined();
    expect(store.backend.sizeBytes).toBeLessThan(sizeBefore);
    expect(store.backend.finishedCompactRev).toBe(5);
    expect(store.backend.scheduledCompactRev).toBe(5);
    expect(store.rev()).toBe(6);
    store.checkInvariants();
  });
});

describe("KVStore restore", () => {
  // Ported from TestKVRestore: a store rebuilt from the same backend answers every read the same.
  it("rebuilds index, revision and compaction from the backend", () => {
    const store = new KVStore();
    store.put(utf8("foo"), utf8("bar0"), 1n);
    store.put(utf8("foo"), utf8("bar1"), 2n);
    store.put(utf8("foo"), utf8("bar2"), 3n);
    store.put(utf8("foo2"), utf8("bar0"), 1n);
    store.deleteRange(utf8("foo"), undefined);
    store.put(utf8("foo3"), utf8("x"), NO_LEASE);
    store.compact(4);
    const attached: [LeaseID, string][] = [];
    const leases: LeaseHooks = { exists: () => true, getLease: () => NO_LEASE, attach: (id, key) => attached.push([id, key]), detach: () => {} };
    const restored = new KVStore({ backend: store.backend, leases });
    expect(restored.rev()).toBe(store.rev());
    expect(restored.firstRev()).toBe(4);
    for (let rev = 4; rev <= store.rev(); rev++) {
      expect(restored.range(utf8("a"), FROM_KEY, { rev })).toEqual(store.range(utf8("a"), FROM_KEY, { rev }));
    }
    expect(attached).toEqual([[1n, "foo2"]]);
    restored.checkInvariants();
    expect(restored.put(utf8("foo"), utf8("again"), NO_LEASE)).toBe(store.rev() + 1);
  });

  // After TestRestoreContinueUnfinishedCompaction (mvcc/kvstore_test.go).
  it("finishes a compaction that was scheduled but not finished", () => {
    const backend = new Backend();
    const store = new KVStore({ backend });
    store.put(utf8("foo"), utf8("bar0"), NO_LEASE);
    store.put(utf8("foo"), utf8("bar1"), NO_LEASE);
    store.put(utf8("foo"), utf8("bar2"), NO_LEASE);
    backend.scheduledCompactRev = 3; // as if the member stopped right after scheduling
    const restored = new KVStore({ backend });
    expect(restored.firstRev()).toBe(3);
    expect(backend.finishedCompactRev).toBe(3);
    expect(new StoreInspector(restored).backendEntries().map((e) => e.revision.main)).toEqual([3, 4]);
    restored.checkInvariants();
  });

  it("keeps the compacted revision as the current one when compaction removed every newer entry", () => {
    const store = new KVStore();
    store.put(utf8("foo"), utf8("bar"), NO_LEASE);
    store.deleteRange(utf8("foo"), undefined);
    store.compact(3);
    const restored = new KVStore({ backend: store.backend });
    expect(restored.rev()).toBe(3);
    expect(restored.range(utf8("foo"), undefined).kvs).toEqual([]);
  });
});

describe("KVStore lease hooks", () => {
  // After TestStorePut / TestStoreDeleteRange's lessor expectations (mvcc/kvstore_test.go).
  function recordingHooks(): { hooks: LeaseHooks; calls: string[]; attachedTo: Map<string, LeaseID> } {
    const calls: string[] = [];
    const attachedTo = new Map<string, LeaseID>();
    const hooks: LeaseHooks = {
      exists: () => true,
      getLease: (key) => attachedTo.get(key) ?? NO_LEASE,
      attach: (id, key) => {
        calls.push(`attach ${id} ${key}`);
        attachedTo.set(key, id);
      },
      detach: (id, key) => {
        calls.push(`detach ${id} ${key}`);
        attachedTo.delete(key);
      },
    };
    return { hooks, calls, attachedTo };
  }

  it("attaches, moves and detaches keys as puts and deletes change their lease", () => {
    const { hooks, calls } = recordingHooks();
    const store = new KVStore({ leases: hooks });
    store.put(utf8("k"), utf8("1"), 7n);
    store.put(utf8("k"), utf8("2"), 8n);
    store.put(utf8("k"), utf8("3"), NO_LEASE);
    store.put(utf8("k"), utf8("4"), 9n);
    store.deleteRange(utf8("k"), undefined);
    expect(calls).toEqual(["attach 7 k", "detach 7 k", "attach 8 k", "detach 8 k", "attach 9 k", "detach 9 k"]);
  });

  it("re-attaches when a key is put again with the same lease (detach, then attach)", () => {
    const { hooks, calls } = recordingHooks();
    const store = new KVStore({ leases: hooks });
    store.put(utf8("k"), utf8("1"), 7n);
    store.put(utf8("k"), utf8("2"), 7n);
    expect(calls).toEqual(["attach 7 k", "detach 7 k", "attach 7 k"]);
  });
});

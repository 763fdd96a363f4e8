/**
 * Behaviour of the v2 store's operations, ported from etcd release-3.4
 * `etcdserver/api/v2store/store_test.go` (in our own words) and extended with the points of the
 * spec that real etcd 3.4.23 was observed to do (indexes shown relative to the first user write).
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import type { Event } from "../../v2/event.js";
import { V2Store } from "../../v2/store.js";
import {
  EcodeDirNotEmpty,
  EcodeKeyNotFound,
  EcodeNodeExist,
  EcodeNotDir,
  EcodeNotFile,
  EcodeRootROnly,
  EcodeTestFailed,
  V2Error,
} from "../../v2/v2error.js";

const NOW = new SimulatedClock().now();

/** Runs `operation`, expects a V2Error, and returns it. */
function failure(operation: () => unknown): V2Error {
  try {
    operation();
  } catch (error) {
    expect(error).toBeInstanceOf(V2Error);
    return error as V2Error;
  }
  throw new Error("expected a V2Error, got success");
}

/** The wire body of an event, as plain data. */
function wire(event: Event): unknown {
  return JSON.parse(JSON.stringify(event));
}

function storeWith(...keys: Array<[string, string]>): V2Store {
  const store = new V2Store();
  for (const [key, value] of keys) store.set(key, false, value, {}, NOW);
  return store;
}

describe("V2Store.get", () => {
  it("reads a key with its value and indexes (ported from TestStoreGetValue)", () => {
    const store = storeWith(["/foo", "bar"]);
    const event = store.get("/foo", false, false, NOW);
    expect(event.action).toBe("get");
    expect(event.etcdIndex).toBe(1);
    expect(wire(event)).toEqual({ action: "get", node: { key: "/foo", value: "bar", modifiedIndex: 1, createdIndex: 1 } });
    store.checkInvariants();
  });

  it("lists a directory one level deep unless recursive, leaving hidden children out", () => {
    const store = storeWith(["/dir/a", "1"], ["/dir/_h", "2"], ["/dir/sub/b", "3"], ["/dir/_hd/c", "4"]);
    const flat = store.get("/dir", false, true, NOW).node;
    expect(flat.nodes?.map((n) => n.key)).toEqual(["/dir/a", "/dir/sub"]);
    expect(flat.nodes?.[1]).toEqual({ key: "/dir/sub", dir: true, modifiedIndex: 3, createdIndex: 3 });
    const deep = store.get("/dir", true, true, NOW).node;
    expect(deep.nodes?.[1]?.nodes).toEqual([{ key: "/dir/sub/b", value: "3", modifiedIndex: 3, createdIndex: 3 }]);
  });

  it("shows a directory whose children are all hidden without a nodes field", () => {
    const store = storeWith(["/e/_h", "1"]);
    expect(wire(store.get("/e", true, false, NOW))).toEqual({ action: "get", node: { key: "/e", dir: true, modifiedIndex: 1, createdIndex: 1 } });
  });

  it("reads hidden nodes directly and lists the visible children of a hidden directory", () => {
    const store = storeWith(["/_hd/x", "1"], ["/_hd/_y", "2"]);
    expect(store.get("/_hd/_y", false, false, NOW).node.value).toBe("2");
    expect(store.get("/_hd", true, false, NOW).node.nodes?.map((n) => n.key)).toEqual(["/_hd/x"]);
  });

  it("sorts children bytewise at every level when asked (ported from TestStoreGetSorted)", () => {
    const store = storeWith(["/x/z", "1"], ["/x/y/c", "2"], ["/x/y/a", "3"], ["/x/y/b", "4"], ["/x/Z", "5"]);
    const node = store.get("/x", true, true, NOW).node;
    expect(node.nodes?.map((n) => n.key)).toEqual(["/x/Z", "/x/y", "/x/z"]);
    expect(node.nodes?.[1]?.nodes?.map((n) => n.key)).toEqual(["/x/y/a", "/x/y/b", "/x/y/c"]);
  });

  it("keeps insertion order when not sorted", () => {
    const store = storeWith(["/q/b", "1"], ["/q/d", "2"], ["/q/a", "3"]);
    expect(store.get("/q", false, false, NOW).node.nodes?.map((n) => n.key)).toEqual(["/q/b", "/q/d", "/q/a"]);
  });

  it("shows the root without key or indexes", () => {
    const store = storeWith(["/a", "1"]);
    expect(wire(store.get("/", false, false, NOW))).toEqual({ action: "get", node: { dir: true, nodes: [{ key: "/a", value: "1", modifiedIndex: 1, createdIndex: 1 }] } });
    expect(wire(new V2Store().get("/", false, false, NOW))).toEqual({ action: "get", node: { dir: true } });
  });

  it("cleans the path the way Go's path.Clean does", () => {
    const store = storeWith(["tr/", "1"]);
    expect(store.get("//tr/./", false, false, NOW).node.key).toBe("/tr");
    expect(store.get("/x/../tr", false, false, NOW).node.key).toBe("/tr");
  });

  it("answers 100 with the first missing component as cause", () => {
    const store = storeWith(["/a/b", "1"]);
    const error = failure(() => store.get("/a/c/d/e", false, false, NOW));
    expect([error.errorCode, error.message, error.cause, error.index]).toEqual([EcodeKeyNotFound, "Key not found", "/a/c", 1]);
  });

  it("answers 104 with the file in the way as cause", () => {
    const store = storeWith(["/f", "1"]);
    const error = failure(() => store.get("/f/x/y", false, false, NOW));
    expect([error.errorCode, error.message, error.cause]).toEqual([EcodeNotDir, "Not a directory", "/f"]);
  });

  it("does not move the index", () => {
    const store = storeWith(["/a", "1"]);
    store.get("/a", false, false, NOW);
    failure(() => store.get("/b", false, false, NOW));
    expect(store.index).toBe(1);
  });
});

describe("V2Store.set", () => {
  it("creates a key, then replaces it with a new node (ported from TestSet)", () => {
    const store = new V2Store();
    const first = store.set("/message", false, "Hello", {}, NOW);
    expect(wire(first)).toEqual({ action: "set", node: { key: "/message", value: "Hello", modifiedIndex: 1, createdIndex: 1 } });
    expect(first.isCreated()).toBe(true);
    const second = store.set("/message", false, "World", {}, NOW);
    expect(wire(second)).toEqual({
      action: "set",
      node: { key: "/message", value: "World", modifiedIndex: 2, createdIndex: 2 },
      prevNode: { key: "/message", value: "Hello", modifiedIndex: 1, createdIndex: 1 },
    });
    expect(second.isCreated()).toBe(false);
    expect(second.etcdIndex).toBe(2);
    store.checkInvariants();
  });

  it("keeps an empty value as a value", () => {
    const store = new V2Store();
    expect(wire(store.set("/e", false, "", {}, NOW))).toEqual({ action: "set", node: { key: "/e", value: "", modifiedIndex: 1, createdIndex: 1 } });
  });

  it("creates missing parent directories at the same index, permanent", () => {
    const store = new V2Store();
    store.set("/a/b/c", false, "x", {}, NOW);
    expect(wire(store.get("/a", true, true, NOW))).toEqual({
      action: "get",
      node: { key: "/a", dir: true, nodes: [{ key: "/a/b", dir: true, nodes: [{ key: "/a/b/c", value: "x", modifiedIndex: 1, createdIndex: 1 }], modifiedIndex: 1, createdIndex: 1 }], modifiedIndex: 1, createdIndex: 1 },
    });
  });

  it("never changes the parent directory's modifiedIndex when writing a child", () => {
    const store = storeWith(["/d/a", "1"], ["/d/b", "2"]);
    expect(store.get("/d", false, false, NOW).node.modifiedIndex).toBe(1);
  });

  it("makes an empty directory with dir, ignoring the value", () => {
    const store = new V2Store();
    expect(wire(store.set("/d", true, "ignored", {}, NOW))).toEqual({ action: "set", node: { key: "/d", dir: true, modifiedIndex: 1, createdIndex: 1 } });
  });

  it("refuses to replace a directory with 102, even with dir", () => {
    const store = new V2Store();
    store.set("/d", true, "", {}, NOW);
    for (const dir of [false, true]) {
      const error = failure(() => store.set("/d", dir, "v", {}, NOW));
      expect([error.errorCode, error.cause, error.index]).toEqual([EcodeNotFile, "/d", 1]);
    }
    expect(store.index).toBe(1);
  });

  it("turns a file into a directory with dir, reporting the file as prevNode", () => {
    const store = storeWith(["/f", "1"]);
    expect(wire(store.set("/f", true, "", {}, NOW))).toEqual({
      action: "set",
      node: { key: "/f", dir: true, modifiedIndex: 2, createdIndex: 2 },
      prevNode: { key: "/f", value: "1", modifiedIndex: 1, createdIndex: 1 },
    });
  });

  it("answers 104 when a parent is a file, creating nothing", () => {
    const store = storeWith(["/f", "1"]);
    const error = failure(() => store.set("/f/x/y", false, "2", {}, NOW));
    expect([error.errorCode, error.cause, error.index]).toEqual([EcodeNotDir, "/f", 1]);
    expect(store.index).toBe(1);
    store.checkInvariants();
  });

  it("refuses the root with 107", () => {
    const store = new V2Store();
    for (const dir of [false, true]) {
      const error = failure(() => store.set("/", dir, "v", {}, NOW));
      expect([error.errorCode, error.message, error.cause, error.index]).toEqual([EcodeRootROnly, "Root is read only", "/", 0]);
    }
  });
});

describe("V2Store.create", () => {
  it("creates a key (ported from TestStoreCreateValue)", () => {
    const store = new V2Store();
    const event = store.create("/foo", false, "bar", false, {}, NOW);
    expect(wire(event)).toEqual({ action: "create", node: { key: "/foo", value: "bar", modifiedIndex: 1, createdIndex: 1 } });
    expect(event.isCreated()).toBe(true);
  });

  it("creates an empty directory (ported from TestStoreCreateDirectory)", () => {
    const store = new V2Store();
    expect(wire(store.create("/foo", true, "", false, {}, NOW))).toEqual({ action: "create", node: { key: "/foo", dir: true, modifiedIndex: 1, createdIndex: 1 } });
  });

  it("fails with 105 when the node exists (ported from TestStoreCreateFailsIfExists)", () => {
    const store = new V2Store();
    store.create("/foo", true, "", false, {}, NOW);
    const error = failure(() => store.create("/foo", false, "bar", false, {}, NOW));
    expect([error.errorCode, error.message, error.cause, error.index]).toEqual([EcodeNodeExist, "Key already exists", "/foo", 1]);
    expect(store.index).toBe(1);
  });

  it("names in-order keys after the new index, 20 digits zero-padded", () => {
    const store = storeWith(["/other", "x"]);
    const first = store.create("/queue", false, "job1", true, {}, NOW);
    const second = store.create("/queue", false, "job2", true, {}, NOW);
    expect(first.node.key).toBe("/queue/00000000000000000002");
    expect(second.node.key).toBe("/queue/00000000000000000003");
    expect(store.get("/queue", false, true, NOW).node.nodes?.map((n) => n.value)).toEqual(["job1", "job2"]);
  });

  it("creates in-order children of the root and in-order directories", () => {
    const store = new V2Store();
    expect(store.create("/", false, "v", true, {}, NOW).node.key).toBe("/00000000000000000001");
    expect(wire(store.create("/q", true, "", true, {}, NOW))).toEqual({ action: "create", node: { key: "/q/00000000000000000002", dir: true, modifiedIndex: 2, createdIndex: 2 } });
  });

  it("answers 104 for an in-order key under a file", () => {
    const store = storeWith(["/f", "1"]);
    const error = failure(() => store.create("/f", false, "2", true, {}, NOW));
    expect([error.errorCode, error.cause]).toEqual([EcodeNotDir, "/f"]);
  });

  it("refuses the root with 107", () => {
    const error = failure(() => new V2Store().create("/", true, "", false, {}, NOW));
    expect([error.errorCode, error.cause]).toEqual([EcodeRootROnly, "/"]);
  });

  it("ignores refresh and creates the key with the given value", () => {
    const store = new V2Store();
    const event = store.create("/r", false, "", false, { expireTimeMs: NOW + 80_000, refresh: true }, NOW);
    expect(event.node.value).toBe("");
    expect(event.refresh).toBe(false);
  });
});

describe("V2Store.update", () => {
  it("changes the value and modifiedIndex, keeping createdIndex (ported from TestStoreUpdateValue)", () => {
    const store = storeWith(["/foo", "bar"]);
    expect(wire(store.update("/foo", "baz", {}, NOW))).toEqual({
      action: "update",
      node: { key: "/foo", value: "baz", modifiedIndex: 2, createdIndex: 1 },
      prevNode: { key: "/foo", value: "bar", modifiedIndex: 1, createdIndex: 1 },
    });
    expect(store.get("/foo", false, false, NOW).node.value).toBe("baz");
  });

  it("wipes the value when none is given (the TTL-only update gotcha)", () => {
    const store = storeWith(["/foo", "bar"]);
    store.update("/foo", "", { expireTimeMs: NOW + 50_000 }, NOW);
    expect(store.get("/foo", false, false, NOW).node.value).toBe("");
  });

  it("refuses a value on a directory with 102 (ported from TestStoreUpdateFailsIfDirectory)", () => {
    const store = new V2Store();
    store.create("/foo", true, "", false, {}, NOW);
    const error = failure(() => store.update("/foo", "baz", {}, NOW));
    expect([error.errorCode, error.message, error.cause, error.index]).toEqual([EcodeNotFile, "Not a file", "/foo", 1]);
  });

  it("answers 100 for a missing key and 107 for the root", () => {
    const store = new V2Store();
    expect(failure(() => store.update("/nope", "v", {}, NOW)).errorCode).toBe(EcodeKeyNotFound);
    expect(failure(() => store.update("/", "", {}, NOW)).errorCode).toBe(EcodeRootROnly);
  });

  it("shows the new index on a directory's event but keeps the stored modifiedIndex (quirk)", () => {
    const store = new V2Store();
    store.set("/d", true, "", {}, NOW);
    const event = store.update("/d", "", { expireTimeMs: NOW + 100_000 }, NOW);
    expect(wire(event)).toEqual({
      action: "update",
      node: { key: "/d", dir: true, expiration: "2026-01-01T00:01:40Z", ttl: 100, modifiedIndex: 2, createdIndex: 1 },
      prevNode: { key: "/d", dir: true, modifiedIndex: 1, createdIndex: 1 },
    });
    expect(store.get("/d", false, false, NOW).node.modifiedIndex).toBe(1);
    store.checkInvariants();
  });
});

describe("V2Store.compareAndSwap", () => {
  it("swaps when prevValue matches (ported from TestStoreCompareAndSwapPrevValue)", () => {
    const store = storeWith(["/foo", "bar"]);
    expect(wire(store.compareAndSwap("/foo", "bar", 0, "baz", {}, NOW))).toEqual({
      action: "compareAndSwap",
      node: { key: "/foo", value: "baz", modifiedIndex: 2, createdIndex: 1 },
      prevNode: { key: "/foo", value: "bar", modifiedIndex: 1, createdIndex: 1 },
    });
  });

  it("swaps when prevIndex matches (ported from TestStoreCompareAndSwapPrevIndex)", () => {
    const store = storeWith(["/foo", "bar"]);
    expect(store.compareAndSwap("/foo", "", 1, "baz", {}, NOW).node.modifiedIndex).toBe(2);
  });

  it("needs both tests to pass when both are given", () => {
    const store = storeWith(["/foo", "bar"]);
    const error = failure(() => store.compareAndSwap("/foo", "bar", 7, "baz", {}, NOW));
    expect(error.cause).toBe("[7 != 1]");
    expect(store.compareAndSwap("/foo", "bar", 1, "baz", {}, NOW).node.value).toBe("baz");
  });

  it.each([
    ["value only", "wrong", 0, "[wrong != cas1]"],
    ["index only", "", 1, "[1 != 2]"],
    ["both", "wrong", 1, "[wrong != cas1] [1 != 2]"],
  ])("fails with 101 listing only the failed tests: %s (ported from TestStoreCompareAndSwapPrev*FailsIfNotMatch)", (_name, prevValue, prevIndex, cause) => {
    const store = storeWith(["/other", "x"], ["/cas", "cas1"]);
    const error = failure(() => store.compareAndSwap("/cas", prevValue, prevIndex, "new", {}, NOW));
    expect([error.errorCode, error.message, error.cause, error.index]).toEqual([EcodeTestFailed, "Compare failed", cause, 2]);
    expect(store.get("/cas", false, false, NOW).node.value).toBe("cas1");
    expect(store.index).toBe(2);
  });

  it("answers 102 on a directory, 100 on a missing key and 107 on the root", () => {
    const store = new V2Store();
    store.set("/d", true, "", {}, NOW);
    expect(failure(() => store.compareAndSwap("/d", "x", 0, "v", {}, NOW)).errorCode).toBe(EcodeNotFile);
    expect(failure(() => store.compareAndSwap("/nope", "x", 0, "v", {}, NOW)).errorCode).toBe(EcodeKeyNotFound);
    expect(failure(() => store.compareAndSwap("/", "x", 0, "v", {}, NOW)).errorCode).toBe(EcodeRootROnly);
  });
});

describe("V2Store.delete", () => {
  it("removes a key (ported from TestStoreDeleteValue)", () => {
    const store = storeWith(["/foo", "bar"]);
    expect(wire(store.delete("/foo", false, false, NOW))).toEqual({
      action: "delete",
      node: { key: "/foo", modifiedIndex: 2, createdIndex: 1 },
      prevNode: { key: "/foo", value: "bar", modifiedIndex: 1, createdIndex: 1 },
    });
    expect(failure(() => store.get("/foo", false, false, NOW)).errorCode).toBe(EcodeKeyNotFound);
  });

  it("removes a file whatever dir and recursive say", () => {
    const store = storeWith(["/a", "1"], ["/b", "2"]);
    store.delete("/a", true, false, NOW);
    store.delete("/b", true, true, NOW);
    expect(store.index).toBe(4);
  });

  it("removes an empty directory with dir (ported from TestStoreDeleteDirectory)", () => {
    const store = new V2Store();
    store.create("/foo", true, "", false, {}, NOW);
    expect(wire(store.delete("/foo", true, false, NOW))).toEqual({
      action: "delete",
      node: { key: "/foo", dir: true, modifiedIndex: 2, createdIndex: 1 },
      prevNode: { key: "/foo", dir: true, modifiedIndex: 1, createdIndex: 1 },
    });
  });

  it("needs dir or recursive for a directory (ported from TestStoreDeleteDirectoryFailsIfNonRecursiveAndDir)", () => {
    const store = new V2Store();
    store.create("/foo", true, "", false, {}, NOW);
    const error = failure(() => store.delete("/foo", false, false, NOW));
    expect([error.errorCode, error.cause]).toEqual([EcodeNotFile, "/foo"]);
  });

  it("refuses a non-empty directory without recursive with 108", () => {
    const store = storeWith(["/d2/a/b", "1"]);
    const error = failure(() => store.delete("/d2", true, false, NOW));
    expect([error.errorCode, error.message, error.cause, error.index]).toEqual([EcodeDirNotEmpty, "Directory not empty", "/d2", 1]);
    expect(store.get("/d2/a/b", false, false, NOW).node.value).toBe("1");
  });

  it("removes a whole subtree with one index and one event keyed by the directory", () => {
    const store = storeWith(["/dir/a", "1"], ["/dir/b/c", "2"]);
    const event = store.delete("/dir", false, true, NOW);
    expect(wire(event)).toEqual({
      action: "delete",
      node: { key: "/dir", dir: true, modifiedIndex: 3, createdIndex: 1 },
      prevNode: { key: "/dir", dir: true, modifiedIndex: 1, createdIndex: 1 },
    });
    expect(store.index).toBe(3);
    expect(store.tree().children).toEqual([]);
    store.checkInvariants();
  });

  it("refuses the root with 107, even recursively (ported from TestRootRdOnly)", () => {
    const store = new V2Store();
    for (const [dir, recursive] of [[false, false], [true, false], [true, true]] as const) {
      const error = failure(() => store.delete("/", dir, recursive, NOW));
      expect([error.errorCode, error.cause]).toEqual([EcodeRootROnly, "/"]);
    }
    expect(failure(() => store.update("/", "", {}, NOW)).errorCode).toBe(EcodeRootROnly);
    expect(failure(() => store.compareAndSwap("/", "", 0, "", {}, NOW)).errorCode).toBe(EcodeRootROnly);
    expect(failure(() => store.set("/", true, "", {}, NOW)).errorCode).toBe(EcodeRootROnly);
    expect(failure(() => store.create("/", true, "", false, {}, NOW)).errorCode).toBe(EcodeRootROnly);
  });
});

describe("V2Store.compareAndDelete", () => {
  it("removes a file when prevValue matches (ported from TestStoreCompareAndDeletePrevValue)", () => {
    const store = storeWith(["/foo", "bar"]);
    expect(wire(store.compareAndDelete("/foo", "bar", 0, NOW))).toEqual({
      action: "compareAndDelete",
      node: { key: "/foo", modifiedIndex: 2, createdIndex: 1 },
      prevNode: { key: "/foo", value: "bar", modifiedIndex: 1, createdIndex: 1 },
    });
  });

  it("removes a file when prevIndex matches (ported from TestStoreCompareAndDeletePrevIndex)", () => {
    const store = storeWith(["/foo", "bar"]);
    expect(store.compareAndDelete("/foo", "", 1, NOW).node.modifiedIndex).toBe(2);
  });

  it("fails with 101 and keeps the file (ported from TestStoreCompareAndDelete*FailsIfNotMatch)", () => {
    const store = storeWith(["/foo", "bar"]);
    expect(failure(() => store.compareAndDelete("/foo", "baz", 0, NOW)).cause).toBe("[baz != bar]");
    expect(failure(() => store.compareAndDelete("/foo", "", 100, NOW)).cause).toBe("[100 != 1]");
    expect(failure(() => store.compareAndDelete("/foo", "baz", 100, NOW)).cause).toBe("[baz != bar] [100 != 1]");
    expect(store.get("/foo", false, false, NOW).node.value).toBe("bar");
  });

  it("refuses a directory with 102 (ported from TestStoreCompareAndDeleteDirectoryFail)", () => {
    const store = new V2Store();
    store.create("/foo", true, "", false, {}, NOW);
    const error = failure(() => store.compareAndDelete("/foo", "", 0, NOW));
    expect([error.errorCode, error.cause]).toEqual([EcodeNotFile, "/foo"]);
  });

  it("answers 102 with no cause on the root (quirk: no read-only check)", () => {
    const error = failure(() => new V2Store().compareAndDelete("/", "x", 0, NOW));
    expect(error.errorCode).toBe(EcodeNotFile);
    expect(error.toJSON()).toEqual({ errorCode: 102, message: "Not a file", index: 0 });
  });
});

describe("the etcd index", () => {
  it("moves by exactly one per successful change and never on failures or reads", () => {
    const store = new V2Store();
    const steps: Array<[() => unknown, number]> = [
      [() => store.set("/a", false, "1", {}, NOW), 1],
      [() => store.create("/b", false, "1", false, {}, NOW), 2],
      [() => store.update("/a", "2", {}, NOW), 3],
      [() => store.compareAndSwap("/a", "2", 0, "3", {}, NOW), 4],
      [() => store.create("/q", false, "", true, {}, NOW), 5],
      [() => store.delete("/b", false, false, NOW), 6],
      [() => store.compareAndDelete("/a", "3", 0, NOW), 7],
    ];
    for (const [operation, index] of steps) {
      operation();
      expect(store.index).toBe(index);
      failure(() => store.create("/", true, "", false, {}, NOW));
      failure(() => store.update("/missing", "v", {}, NOW));
      failure(() => store.get("/missing", false, false, NOW));
      expect(store.index).toBe(index);
      store.checkInvariants();
    }
  });
});

describe("internal /0 records (etcd's membership)", () => {
  it("spends one index each, never shows them to a listing or a watch, and keeps them through save and recovery", () => {
    const store = new V2Store();
    store.internalWrite("create", "/0/members/8e9e05c52164694d/raftAttributes", '{"peerURLs":["http://localhost:2380"]}');
    store.internalWrite("set", "/0/members/8e9e05c52164694d/attributes", '{"name":"default","clientURLs":["http://localhost:2379"]}');
    store.internalWrite("set", "/0/version", "3.4.0");
    expect(store.index).toBe(3);
    expect(() => store.internalWrite("create", "/0/version", "3.5.0")).toThrow(/Key already exists/);
    expect(store.index).toBe(3);
    // A user key of the same name lives in the keys tree, apart from them.
    expect(store.set("/0", false, "mine", {}, 0).node).toMatchObject({ key: "/0", modifiedIndex: 4 });
    expect(store.get("/", true, true, 0).node.nodes?.map((n) => n.key)).toEqual(["/0"]);
    // A watch from index 1 skips the internal events and finds the user's set.
    const fromOne = store.watch("/", true, false, 1);
    expect(fromOne.eventChan.take()?.index).toBe(4);
    fromOne.remove();
    // A live watch on the root is not told of an internal write.
    const live = store.watch("/", true, false, 0);
    store.internalWrite("delete", "/0/members/8e9e05c52164694d", "");
    expect(live.eventChan.length).toBe(0);
    store.checkInvariants();
    const copy = new V2Store();
    copy.recovery(store.save());
    expect(copy.save()).toBe(store.save());
    expect(copy.internalRecords()).toEqual(new Map([["/0/version", "3.4.0"]]));
    expect(copy.stats()).toMatchObject({ createSuccess: 1, createFail: 1, setsSuccess: 3, deleteSuccess: 1 });
    live.remove();
  });
});

/**
 * TTL behaviour of the v2 store, ported from etcd release-3.4
 * `etcdserver/api/v2store/store_ttl_test.go` in our own words. Time moves only through a
 * SimulatedClock; expiry happens only when the test calls `deleteExpiredKeys`, as etcd's SYNC does.
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import type { Event } from "../../v2/event.js";
import { MIN_EXPIRE_TIME_MS, V2Store } from "../../v2/store.js";
import { EcodeKeyNotFound, V2Error } from "../../v2/v2error.js";

function setup(): { clock: SimulatedClock; store: V2Store; ttl: (seconds: number) => { expireTimeMs: number } } {
  const clock = new SimulatedClock();
  return { clock, store: new V2Store(), ttl: (seconds) => ({ expireTimeMs: clock.now() + seconds * 1000 }) };
}

function wire(event: Event | undefined): unknown {
  return JSON.parse(JSON.stringify(event));
}

function errorOf(operation: () => unknown): V2Error {
  try {
    operation();
  } catch (error) {
    if (error instanceof V2Error) return error;
    throw error;
  }
  throw new Error("expected a V2Error");
}

describe("TTL fields", () => {
  it("shows the absolute expiration and the seconds left on write and read", () => {
    const { clock, store, ttl } = setup();
    expect(wire(store.set("/t", false, "x", ttl(3), clock.now()))).toEqual({
      action: "set",
      node: { key: "/t", value: "x", expiration: "2026-01-01T00:00:03Z", ttl: 3, modifiedIndex: 1, createdIndex: 1 },
    });
    clock.advance(1_500);
    expect(store.get("/t", false, false, clock.now()).node.ttl).toBe(2); // 1.5 s left rounds up
    clock.advance(500);
    expect(store.get("/t", false, false, clock.now()).node.ttl).toBe(1);
    store.checkInvariants();
  });

  it("keeps milliseconds in the expiration and drops trailing zeros", () => {
    const { clock, store } = setup();
    const event = store.set("/t", false, "x", { expireTimeMs: clock.now() + 5_250 }, clock.now());
    expect(event.node.expiration).toBe("2026-01-01T00:00:05.25Z");
    expect(event.node.ttl).toBe(6);
  });

  it("treats ttl=0 as 'expire now': expiration shown, ttl left out, gone at the next sweep", () => {
    const { clock, store, ttl } = setup();
    const event = store.set("/z", false, "x", ttl(0), clock.now());
    expect(event.node.expiration).toBe("2026-01-01T00:00:00Z");
    expect("ttl" in event.node).toBe(false);
    expect(store.deleteExpiredKeys(clock.now()).map((e) => e.node.key)).toEqual(["/z"]);
  });

  it("lets a key that expired but was not swept be read, with a negative ttl when overdue (ported from the unverified spec §5.2)", () => {
    const { clock, store, ttl } = setup();
    store.set("/t", false, "x", ttl(1), clock.now());
    clock.advance(2_500);
    expect(store.get("/t", false, false, clock.now()).node.ttl).toBe(-1);
  });

  it("treats expiry times before 2000 as permanent on create (ported from TestMinExpireTime)", () => {
    const { clock, store } = setup();
    const event = store.create("/old", false, "x", false, { expireTimeMs: MIN_EXPIRE_TIME_MS - 1 }, clock.now());
    expect(event.node.expiration).toBeUndefined();
    expect(store.hasTTLKeys()).toBe(false);
  });

  it("keeps an expiry before 2000 on update, which then expires at the next sweep (quirk)", () => {
    const { clock, store } = setup();
    store.set("/k", false, "x", {}, clock.now());
    store.update("/k", "y", { expireTimeMs: MIN_EXPIRE_TIME_MS - 1 }, clock.now());
    expect(store.deleteExpiredKeys(clock.now()).map((e) => e.action)).toEqual(["expire"]);
  });
});

describe("changing a TTL", () => {
  it("update replaces the TTL and a missing TTL makes the key permanent (ported from TestStoreUpdateValueTTL)", () => {
    const { clock, store, ttl } = setup();
    store.set("/foo", false, "bar", {}, clock.now());
    const withTTL = store.update("/foo", "baz", ttl(5), clock.now());
    expect(withTTL.node.ttl).toBe(5);
    expect(store.hasTTLKeys()).toBe(true);
    store.update("/foo", "baz", {}, clock.now());
    expect(store.get("/foo", false, false, clock.now()).node.expiration).toBeUndefined();
    expect(store.hasTTLKeys()).toBe(false);
    clock.advance(10_000);
    expect(store.deleteExpiredKeys(clock.now())).toEqual([]);
    store.checkInvariants();
  });

  it("update gives a directory a TTL and it expires with its children (ported from TestStoreUpdateDirTTL)", () => {
    const { clock, store, ttl } = setup();
    store.create("/foo", true, "", false, {}, clock.now());
    store.create("/foo/bar", false, "baz", false, {}, clock.now());
    const event = store.update("/foo", "", ttl(5), clock.now());
    expect(event.node.dir).toBe(true);
    expect(event.node.ttl).toBe(5);
    clock.advance(5_000);
    expect(store.deleteExpiredKeys(clock.now()).map((e) => [e.action, e.node.key, e.node.dir])).toEqual([["expire", "/foo", true]]);
    expect(errorOf(() => store.get("/foo/bar", false, false, clock.now())).errorCode).toBe(EcodeKeyNotFound);
    store.checkInvariants();
  });

  it("compareAndSwap replaces the TTL, absent meaning permanent", () => {
    const { clock, store, ttl } = setup();
    store.set("/c", false, "a", ttl(5), clock.now());
    expect(store.compareAndSwap("/c", "a", 0, "b", ttl(9), clock.now()).node.ttl).toBe(9);
    store.compareAndSwap("/c", "b", 0, "c", {}, clock.now());
    expect(store.hasTTLKeys()).toBe(false);
  });

  it("set drops the old TTL because it replaces the node", () => {
    const { clock, store, ttl } = setup();
    store.set("/s", false, "a", ttl(5), clock.now());
    const event = store.set("/s", false, "b", {}, clock.now());
    expect(event.prevNode?.ttl).toBe(5);
    expect(event.node.ttl).toBeUndefined();
    expect(store.hasTTLKeys()).toBe(false);
    store.checkInvariants();
  });

  it("moving a node's expiry earlier or later reorders the sweep", () => {
    const { clock, store, ttl } = setup();
    store.set("/a", false, "1", ttl(10), clock.now());
    store.set("/b", false, "2", ttl(20), clock.now());
    store.update("/a", "1", ttl(30), clock.now());
    clock.advance(25_000);
    expect(store.deleteExpiredKeys(clock.now()).map((e) => e.node.key)).toEqual(["/b"]);
  });
});

describe("refresh", () => {
  it("keeps the value, takes an index, and tells no watcher (ported from TestStoreRefresh / TestStoreWatchNoRefresh)", () => {
    const { clock, store, ttl } = setup();
    store.set("/r", false, "v", ttl(10), clock.now());
    const watcher = store.watch("/r", false, false, 0);
    const set = store.set("/r", false, "", { ...ttl(60), refresh: true }, clock.now());
    expect(wire(set)).toEqual({
      action: "set",
      node: { key: "/r", value: "v", expiration: "2026-01-01T00:01:00Z", ttl: 60, modifiedIndex: 2, createdIndex: 2 },
      prevNode: { key: "/r", value: "v", expiration: "2026-01-01T00:00:10Z", ttl: 10, modifiedIndex: 1, createdIndex: 1 },
    });
    expect(set.refresh).toBe(true);
    const update = store.update("/r", "", { ...ttl(70), refresh: true }, clock.now());
    expect([update.node.value, update.node.createdIndex, update.node.modifiedIndex]).toEqual(["v", 2, 3]);
    const cas = store.compareAndSwap("/r", "v", 0, "", { ...ttl(80), refresh: true }, clock.now());
    expect([cas.node.value, cas.node.modifiedIndex, cas.refresh]).toEqual(["v", 4, true]);
    expect(store.index).toBe(4);
    expect(watcher.eventChan.length).toBe(0);
    expect(watcher.removed).toBe(false);
    store.checkInvariants();
  });

  it("fails with 100 on a missing key through set", () => {
    const { clock, store, ttl } = setup();
    const error = errorOf(() => store.set("/nope", false, "", { ...ttl(60), refresh: true }, clock.now()));
    expect([error.errorCode, error.cause]).toEqual([EcodeKeyNotFound, "/nope"]);
    expect(store.index).toBe(0);
  });

  it("is skipped by history scans, so a watch from its index gets the next real change", () => {
    const { clock, store, ttl } = setup();
    store.set("/r", false, "v", ttl(10), clock.now());
    store.update("/r", "", { ...ttl(60), refresh: true }, clock.now()); // index 2
    store.set("/r", false, "after", {}, clock.now()); // index 3
    const event = store.watch("/r", false, false, 2).eventChan.take();
    expect(event?.node.modifiedIndex).toBe(3);
  });

  it("postpones expiry (ported from TestStoreWatchExpireRefresh)", () => {
    const { clock, store, ttl } = setup();
    store.set("/foo", false, "bar", ttl(5), clock.now());
    clock.advance(4_000);
    store.update("/foo", "", { ...ttl(5), refresh: true }, clock.now());
    clock.advance(4_000);
    expect(store.deleteExpiredKeys(clock.now())).toEqual([]);
    clock.advance(1_000);
    expect(store.deleteExpiredKeys(clock.now()).map((e) => e.node.key)).toEqual(["/foo"]);
  });
});

describe("deleteExpiredKeys", () => {
  it("expires nodes in expiry order with consecutive indexes and etcd's event shape", () => {
    const { clock, store, ttl } = setup();
    store.set("/keep", false, "k", {}, clock.now());
    store.set("/tdir", true, "", ttl(6), clock.now());
    store.set("/t", false, "x", ttl(5), clock.now());
    clock.advance(7_000);
    const events = store.deleteExpiredKeys(clock.now());
    // The sweep runs 2 s after /t expired and 1 s after /tdir did, so their prevNode ttl is overdue.
    expect(events.map(wire)).toEqual([
      {
        action: "expire",
        node: { key: "/t", modifiedIndex: 4, createdIndex: 3 },
        prevNode: { key: "/t", value: "x", expiration: "2026-01-01T00:00:05Z", ttl: -2, modifiedIndex: 3, createdIndex: 3 },
      },
      {
        action: "expire",
        node: { key: "/tdir", dir: true, modifiedIndex: 5, createdIndex: 2 },
        prevNode: { key: "/tdir", dir: true, expiration: "2026-01-01T00:00:06Z", ttl: -1, modifiedIndex: 2, createdIndex: 2 },
      },
    ]);
    expect(store.index).toBe(5);
    expect(store.stats().expireCount).toBe(2);
    expect(store.hasTTLKeys()).toBe(false);
    store.checkInvariants();
  });

  it("leaves nodes whose expiry is after the cutoff", () => {
    const { clock, store, ttl } = setup();
    store.set("/t", false, "x", ttl(5), clock.now());
    clock.advance(4_999);
    expect(store.deleteExpiredKeys(clock.now())).toEqual([]);
    expect(store.index).toBe(1);
    clock.advance(1);
    expect(store.deleteExpiredKeys(clock.now())).toHaveLength(1);
  });

  it("expires keys with equal expiry in the order they got it", () => {
    const { clock, store, ttl } = setup();
    for (const key of ["/c", "/a", "/b", "/e", "/d"]) store.set(key, false, "x", ttl(5), clock.now());
    store.update("/a", "x", ttl(5), clock.now()); // same time, given later
    clock.advance(5_000);
    expect(store.deleteExpiredKeys(clock.now()).map((e) => e.node.key)).toEqual(["/c", "/b", "/e", "/d", "/a"]);
  });

  it("expires a directory as a unit: children vanish silently and leave the heap", () => {
    const { clock, store, ttl } = setup();
    store.set("/tdir", true, "", ttl(5), clock.now());
    store.set("/tdir/a", false, "1", ttl(60), clock.now());
    store.set("/tdir/b", false, "2", {}, clock.now());
    const childWatcher = store.watch("/tdir/a", false, false, 0);
    clock.advance(5_000);
    const events = store.deleteExpiredKeys(clock.now());
    expect(events.map((e) => e.node.key)).toEqual(["/tdir"]);
    expect(store.hasTTLKeys()).toBe(false);
    // A watcher on a child hears the directory's expire event.
    expect(childWatcher.eventChan.take()?.node.key).toBe("/tdir");
    expect(errorOf(() => store.get("/tdir/a", false, false, clock.now())).cause).toBe("/tdir");
    store.checkInvariants();
  });

  it("notifies a watcher on the expiring key (ported from TestStoreWatchExpire)", () => {
    const { clock, store, ttl } = setup();
    store.create("/foo", false, "bar", false, ttl(4), clock.now());
    store.create("/foofoo", false, "barbarbar", false, ttl(5), clock.now());
    store.create("/foodir", true, "", false, ttl(6), clock.now());
    let watcher = store.watch("/", true, false, 0);
    expect(watcher.eventChan.take()).toBeUndefined();
    clock.advance(4_500);
    store.deleteExpiredKeys(clock.now());
    let event = watcher.eventChan.take();
    expect([event?.action, event?.node.key, event?.node.modifiedIndex]).toEqual(["expire", "/foo", 4]);
    watcher = store.watch("/", true, false, 5);
    clock.advance(1_000);
    store.deleteExpiredKeys(clock.now());
    event = watcher.eventChan.take();
    expect([event?.action, event?.node.key]).toEqual(["expire", "/foofoo"]);
    watcher = store.watch("/", true, false, 6);
    clock.advance(1_000);
    store.deleteExpiredKeys(clock.now());
    event = watcher.eventChan.take();
    expect([event?.action, event?.node.key, event?.node.dir]).toEqual(["expire", "/foodir", true]);
  });

  it("hides the expiry of a hidden key from a recursive watch but not from a watch on it (ported from TestStoreWatchExpireWithHiddenKey)", () => {
    const { clock, store, ttl } = setup();
    store.create("/_foo", false, "bar", false, ttl(1), clock.now());
    store.create("/foofoo", false, "barbarbar", false, ttl(2), clock.now());
    const recursive = store.watch("/", true, false, 0);
    const direct = store.watch("/_foo", false, false, 0);
    clock.advance(1_000);
    store.deleteExpiredKeys(clock.now());
    expect(recursive.eventChan.take()).toBeUndefined();
    expect(direct.eventChan.take()?.node.key).toBe("/_foo");
    clock.advance(1_000);
    store.deleteExpiredKeys(clock.now());
    expect(recursive.eventChan.take()?.node.key).toBe("/foofoo");
  });
});

describe("an on-time sweep", () => {
  it("leaves ttl out of the prevNode, as real etcd's 500 ms sweep usually does", () => {
    const { clock, store, ttl } = setup();
    store.set("/t", false, "x", ttl(5), clock.now());
    clock.advance(5_400);
    const [event] = store.deleteExpiredKeys(clock.now());
    expect(wire(event)).toEqual({
      action: "expire",
      node: { key: "/t", modifiedIndex: 2, createdIndex: 1 },
      prevNode: { key: "/t", value: "x", expiration: "2026-01-01T00:00:05Z", modifiedIndex: 1, createdIndex: 1 },
    });
  });
});

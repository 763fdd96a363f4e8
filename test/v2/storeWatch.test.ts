/**
 * Watching the v2 store: live notification, history replay and the 1000-event window. Ported from
 * the watch tests of etcd release-3.4 `etcdserver/api/v2store/store_test.go` (TestStoreWatch*) in
 * our own words, plus the quirks spec §6 records from a real etcd 3.4.23.
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import type { Event } from "../../v2/event.js";
import { V2Store } from "../../v2/store.js";
import { EcodeEventIndexCleared, V2Error } from "../../v2/v2error.js";
import { WATCHER_BUFFER_CAPACITY } from "../../v2/watcher.js";

const NOW = new SimulatedClock().now();

function summary(event: Event | undefined): [string, string | undefined, number] | undefined {
  return event === undefined ? undefined : [event.action, event.node.key, event.index];
}

describe("a one-shot watch on a key", () => {
  it.each([
    ["create", (s: V2Store) => s.create("/foo", false, "bar", false, {}, NOW)],
    ["update", (s: V2Store) => s.update("/foo", "baz", {}, NOW)],
    ["delete", (s: V2Store) => s.delete("/foo", false, false, NOW)],
    ["compareAndSwap", (s: V2Store) => s.compareAndSwap("/foo", "bar", 0, "baz", {}, NOW)],
    ["compareAndDelete", (s: V2Store) => s.compareAndDelete("/foo", "bar", 0, NOW)],
  ])("hears a %s of that key and then leaves the hub (ported from TestStoreWatch*)", (action, write) => {
    const store = new V2Store();
    if (action !== "create") store.create("/foo", false, "bar", false, {}, NOW);
    const watcher = store.watch("/foo", false, false, 0);
    expect(watcher.startIndex).toBe(store.index);
    expect(store.stats().watchers).toBe(1);
    const event = write(store);
    expect(watcher.eventChan.take()).toBe(event);
    expect(watcher.removed).toBe(true);
    expect(store.stats().watchers).toBe(0);
    store.checkInvariants();
  });

  it("waits for a key that does not exist yet", () => {
    const store = new V2Store();
    const watcher = store.watch("/later", false, false, 0);
    store.set("/other", false, "x", {}, NOW);
    expect(watcher.eventChan.length).toBe(0);
    store.set("/later", false, "x", {}, NOW);
    expect(summary(watcher.eventChan.take())).toEqual(["set", "/later", 2]);
  });

  it("ignores events older than its sinceIndex and stays registered", () => {
    const store = new V2Store();
    const watcher = store.watch("/k", false, false, 3);
    store.set("/k", false, "1", {}, NOW); // index 1: before sinceIndex 3
    store.set("/k", false, "2", {}, NOW); // index 2
    expect(watcher.eventChan.length).toBe(0);
    expect(watcher.removed).toBe(false);
    store.set("/k", false, "3", {}, NOW);
    expect(summary(watcher.eventChan.take())).toEqual(["set", "/k", 3]);
  });
});

describe("a recursive watch on a directory", () => {
  it.each([
    ["create", (s: V2Store) => s.create("/foo/bar", false, "baz", false, {}, NOW)],
    ["update", (s: V2Store) => s.update("/foo/bar", "baz", {}, NOW)],
    ["delete", (s: V2Store) => s.delete("/foo/bar", false, false, NOW)],
    ["compareAndSwap", (s: V2Store) => s.compareAndSwap("/foo/bar", "baz", 0, "bat", {}, NOW)],
  ])("hears a %s below it (ported from TestStoreWatchRecursive*)", (action, write) => {
    const store = new V2Store();
    if (action !== "create") store.create("/foo/bar", false, "baz", false, {}, NOW);
    const watcher = store.watch("/foo", true, false, 0);
    const event = write(store);
    expect(watcher.eventChan.take()).toBe(event);
  });

  it("sees every key when it watches the root", () => {
    const store = new V2Store();
    const watcher = store.watch("/", true, true, 0);
    store.set("/a/b/c", false, "1", {}, NOW);
    store.set("/z", false, "2", {}, NOW);
    expect(watcher.eventChan.drain().map(summary)).toEqual([["set", "/a/b/c", 1], ["set", "/z", 2]]);
  });

  it("is not told about children when it is not recursive", () => {
    const store = new V2Store();
    store.set("/dir", true, "", {}, NOW);
    const watcher = store.watch("/dir", false, false, 0);
    store.set("/dir/child", false, "1", {}, NOW);
    expect(watcher.eventChan.length).toBe(0);
    store.update("/dir", "", { expireTimeMs: NOW + 10_000 }, NOW);
    expect(summary(watcher.eventChan.take())).toEqual(["update", "/dir", 3]);
  });
});

describe("a stream watch", () => {
  it("keeps receiving until removed (ported from TestStoreWatchStream)", () => {
    const store = new V2Store();
    const watcher = store.watch("/foo", false, true, 0);
    store.create("/foo", false, "bar", false, {}, NOW);
    store.update("/foo", "baz", {}, NOW);
    expect(watcher.eventChan.drain().map(summary)).toEqual([["create", "/foo", 1], ["update", "/foo", 2]]);
    expect(store.stats().watchers).toBe(1);
    watcher.remove();
    expect(watcher.eventChan.closed).toBe(true);
    expect(store.stats().watchers).toBe(0);
    store.set("/foo", false, "again", {}, NOW);
    expect(watcher.eventChan.length).toBe(0);
    store.checkInvariants();
  });

  it("is dropped and closed when 100 events wait unread (ported from TestStoreWatchSlowConsumer)", () => {
    const store = new V2Store();
    const watcher = store.watch("/foo", true, true, 0);
    for (let i = 1; i <= WATCHER_BUFFER_CAPACITY + 1; i++) store.set("/foo", false, String(i), {}, NOW);
    expect(watcher.removed).toBe(true);
    expect(watcher.eventChan.closed).toBe(true);
    expect(watcher.eventChan.length).toBe(WATCHER_BUFFER_CAPACITY);
    expect(store.stats().watchers).toBe(0);
    store.checkInvariants();
  });

  it("gets a deletion twice when it sits on the deleted node (quirk)", () => {
    const store = new V2Store();
    store.set("/dup", false, "x", {}, NOW);
    const onNode = store.watch("/dup", false, true, 0);
    const onRoot = store.watch("/", true, true, 0);
    const event = store.delete("/dup", false, false, NOW);
    expect(onNode.eventChan.drain()).toEqual([event, event]);
    expect(onRoot.eventChan.drain()).toEqual([event]);
  });

  it("answered from the history gets that one event and nothing after it (quirk)", () => {
    const store = new V2Store();
    store.set("/h", false, "1", {}, NOW);
    const watcher = store.watch("/h", false, true, 1);
    store.set("/h", false, "2", {}, NOW);
    expect(watcher.eventChan.drain().map(summary)).toEqual([["set", "/h", 1]]);
    expect(watcher.eventChan.closed).toBe(false);
    expect(store.stats().watchers).toBe(0);
  });
});

describe("removal of a directory", () => {
  it("notifies watchers registered on any removed path, children first", () => {
    const store = new V2Store();
    store.set("/dir/a", false, "1", {}, NOW);
    store.set("/dir/sub/b", false, "2", {}, NOW);
    const onA = store.watch("/dir/a", false, false, 0);
    const onB = store.watch("/dir/sub/b", false, false, 0);
    const event = store.delete("/dir", false, true, NOW);
    expect(onA.eventChan.take()).toBe(event);
    expect(onB.eventChan.take()).toBe(event);
    expect(event.node.key).toBe("/dir");
  });

  it("tells stream watchers below the directory once, and a stream watcher on the directory itself twice (as real etcd did)", () => {
    const store = new V2Store();
    store.set("/w/a/b", false, "1", {}, NOW);
    const onLeaf = store.watch("/w/a/b", false, true, 0);
    const onMiddle = store.watch("/w/a", false, true, 0);
    const onDir = store.watch("/w", true, true, 0);
    const onRoot = store.watch("/", true, true, 0);
    store.set("/_hid/x", false, "1", {}, NOW);
    const event = store.delete("/w", false, true, NOW);
    expect([onLeaf, onMiddle, onDir, onRoot].map((w) => w.eventChan.drain().length)).toEqual([1, 1, 2, 1]);
    expect(event.index).toBe(3);
  });

  it("answers a history watch below the removed directory, and one on a longer name too (quirk: plain string prefix)", () => {
    const store = new V2Store();
    store.set("/dir/a", false, "1", {}, NOW);
    store.delete("/dir", true, true, NOW);
    expect(summary(store.watch("/dir/a/deeper", false, false, 1).eventChan.take())).toEqual(["delete", "/dir", 2]);
    expect(summary(store.watch("/dirx", false, false, 2).eventChan.take())).toEqual(["delete", "/dir", 2]);
  });
});

describe("hidden keys", () => {
  it("are seen by a watch on the hidden key itself (ported from TestStoreWatchCreateWithHiddenKey)", () => {
    const store = new V2Store();
    const watcher = store.watch("/_foo", false, false, 0);
    store.create("/_foo", false, "bar", false, {}, NOW);
    expect(summary(watcher.eventChan.take())).toEqual(["create", "/_foo", 1]);
  });

  it("are not seen by a recursive watch above them (ported from TestStoreWatchRecursiveCreateWithHiddenKey)", () => {
    const store = new V2Store();
    const watcher = store.watch("/foo", true, false, 0);
    store.create("/foo/_bar", false, "baz", false, {}, NOW);
    store.create("/foo/_baz/quux", false, "1", false, {}, NOW);
    store.update("/foo/_bar", "x", {}, NOW);
    store.delete("/foo/_bar", false, false, NOW);
    expect(watcher.eventChan.length).toBe(0);
    store.create("/foo/visible", false, "1", false, {}, NOW);
    expect(summary(watcher.eventChan.take())).toEqual(["create", "/foo/visible", 5]);
  });

  it("only count below the watched path (ported from TestStoreWatchRecursiveCreateDeeperThanHiddenKey)", () => {
    const store = new V2Store();
    const watcher = store.watch("/_foo/bar", true, false, 0);
    store.create("/_foo/bar/baz", false, "baz", false, {}, NOW);
    expect(summary(watcher.eventChan.take())).toEqual(["create", "/_foo/bar/baz", 1]);
    const underHidden = store.watch("/_foo", true, true, 0);
    store.set("/_foo/x", false, "1", {}, NOW);
    store.set("/_foo/_y", false, "1", {}, NOW);
    expect(underHidden.eventChan.drain().map(summary)).toEqual([["set", "/_foo/x", 2]]);
  });

  it("are returned by history scans anyway (quirk)", () => {
    const store = new V2Store();
    store.set("/h/_hidden", false, "1", {}, NOW);
    expect(summary(store.watch("/h", true, false, 1).eventChan.take())).toEqual(["set", "/h/_hidden", 1]);
  });
});

describe("watching from the history", () => {
  it("returns the first matching event at or after sinceIndex, stamped with the current index", () => {
    const store = new V2Store();
    store.set("/a", false, "1", {}, NOW);
    store.set("/b", false, "1", {}, NOW);
    store.set("/a", false, "2", {}, NOW);
    const watcher = store.watch("/a", false, false, 2);
    const event = watcher.eventChan.take();
    expect(summary(event)).toEqual(["set", "/a", 3]);
    expect(event?.etcdIndex).toBe(3);
    expect(watcher.startIndex).toBe(3);
    expect(store.stats().watchers).toBe(0);
  });

  it("goes live when sinceIndex is in the future", () => {
    const store = new V2Store();
    store.set("/a", false, "1", {}, NOW);
    const watcher = store.watch("/a", false, false, 5);
    expect(watcher.eventChan.length).toBe(0);
    expect(store.stats().watchers).toBe(1);
  });

  it("keeps 1000 events: after 1100 writes sinceIndex 1 is cleared with etcd's exact 401", () => {
    const store = new V2Store();
    for (let i = 1; i <= 1100; i++) store.set("/other", false, String(i), {}, NOW);
    let error: unknown;
    try {
      store.watch("/other", false, false, 1);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(V2Error);
    const v2 = error as V2Error;
    expect(v2.errorCode).toBe(EcodeEventIndexCleared);
    expect(v2.message).toBe("The event in requested index is outdated and cleared");
    expect(v2.cause).toBe("the requested history has been cleared [101/1]");
    expect(v2.index).toBe(1100);
    expect(JSON.stringify(v2)).toBe(
      '{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [101/1]","index":1100}',
    );
    expect(v2.toString()).toBe("The event in requested index is outdated and cleared (the requested history has been cleared [101/1])");
    expect(summary(store.watch("/other", false, false, 101).eventChan.take())).toEqual(["set", "/other", 101]);
    expect(store.stats().watchers).toBe(0);
    store.checkInvariants();
  });

  it("treats sinceIndex 0 as the next index", () => {
    const store = new V2Store();
    store.set("/a", false, "1", {}, NOW);
    const watcher = store.watch("/a", false, false, 0);
    expect(watcher.sinceIndex).toBe(2);
    expect(watcher.eventChan.length).toBe(0);
  });
});

describe("delivery", () => {
  it("reaches a listener synchronously inside the write", () => {
    const store = new V2Store();
    const seen: string[] = [];
    store.watch("/k", false, true, 0).eventChan.onEvent((event) => seen.push(`${event.action}@${event.index}`));
    store.set("/k", false, "1", {}, NOW);
    expect(seen).toEqual(["set@1"]);
  });

  it("refuses a listener that calls back into the store during the write", () => {
    const store = new V2Store();
    let refused: unknown;
    store.watch("/k", false, false, 0).eventChan.onEvent(() => {
      try {
        store.get("/k", false, false, NOW);
      } catch (error) {
        refused = error;
      }
    });
    store.set("/k", false, "1", {}, NOW);
    expect(String(refused)).toMatch(/watch listener/);
    expect(store.get("/k", false, false, NOW).node.value).toBe("1");
  });

  it("can be awaited as an async iterator", async () => {
    const store = new V2Store();
    const watcher = store.watch("/k", false, true, 0);
    store.set("/k", false, "1", {}, NOW);
    store.set("/k", false, "2", {}, NOW);
    const values: Array<string | undefined> = [];
    const reading = (async () => {
      for await (const event of watcher.eventChan) values.push(event.node.value);
    })();
    store.set("/k", false, "3", {}, NOW);
    await Promise.resolve();
    watcher.remove();
    await reading;
    expect(values).toEqual(["1", "2", "3"]);
  });
});

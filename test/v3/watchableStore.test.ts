/**
 * The watchable store and its WatchStream, ported by behaviour from etcd's
 * `mvcc/watchable_store_test.go` and `mvcc/watcher_test.go`, over the real KVStore.
 */
import { describe, expect, it } from "vitest";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import { EventType } from "../../v3/rpc.js";
import { KVStore } from "../../v3/kvstore.js";
import { WatchableStore, type WatchableStoreOptions } from "../../v3/watchableStore.js";
import { AUTO_WATCH_ID, filterNoPut, type WatchResponse } from "../../v3/watcher.js";
import { ERR_EMPTY_WATCHER_RANGE, ERR_WATCHER_DUPLICATE_ID, ERR_WATCHER_NOT_EXIST } from "../../v3/errors.js";

function setup(options: WatchableStoreOptions = {}) {
  const kv = new KVStore();
  const store = new WatchableStore(kv, kv.backend, options);
  return { kv, store };
}
const b = utf8;
const keysOf = (response: WatchResponse | undefined) => response?.events.map((e) => `${e.type === EventType.PUT ? "PUT" : "DEL"} ${fromUtf8(e.kv.key)}@${e.kv.mod_revision}`);

describe("watchableStore.watch", () => {
  it("files a watcher from revision 0 or the future as synced and one from the past as unsynced", () => {
    const { store } = setup();
    store.put(b("foo"), b("bar"), 0n); // rev 2
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 0);
    stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 9);
    stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 1);
    stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 2);
    expect(store.watcherGroups()).toEqual({ synced: 2, unsynced: 2, victims: 0 });
    expect([...store.synced.watchers].map((w) => w.minRev).sort()).toEqual([3, 9]);
    store.checkInvariants();
  });

  it("delivers a put to a synced watcher when the write transaction ends (ported from TestWatch)", () => {
    const { store } = setup();
    const stream = store.newWatchStream();
    const id = stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 0);
    store.put(b("foo"), b("bar"), 0n);
    const response = stream.ch.take();
    expect(response?.watchID).toBe(id);
    expect(response?.revision).toBe(2);
    expect(keysOf(response)).toEqual(["PUT foo@2"]);
  });

  it("sends all events of one transaction in one response, in sub order, with DELETE kvs holding only key and revision", () => {
    const { store } = setup();
    store.put(b("t/b"), b("1"), 0n);
    store.put(b("t/c"), b("1"), 0n); // rev 3
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("t/"), b("t0"), 0);
    const txn = store.write();
    txn.put(b("t/z"), b("1"), 0n);
    txn.deleteRange(b("t/b"), undefined);
    txn.put(b("t/a"), b("1"), 0n);
    txn.deleteRange(b("t/c"), undefined);
    txn.end();
    const response = stream.ch.take();
    expect(keysOf(response)).toEqual(["PUT t/z@4", "DEL t/b@4", "PUT t/a@4", "DEL t/c@4"]);
    expect(response?.events[1]?.kv).toEqual({ key: b("t/b"), create_revision: 0, mod_revision: 4, version: 0, value: new Uint8Array(), lease: 0n });
    expect(stream.ch.length).toBe(0);
  });

  it("sends nothing for a write transaction that changed nothing", () => {
    const { store } = setup();
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("a"), b(""), 0);
    store.deleteRange(b("missing"), undefined);
    expect(stream.ch.length).toBe(0);
    expect(store.rev()).toBe(1);
  });

  it("sends a watcher from a future revision only events from that revision on (ported from TestWatchFutureRev)", () => {
    const { store } = setup();
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 10);
    for (let i = 0; i < 10; i++) store.put(b("foo"), b(`v${i}`), 0n); // revs 2..11
    const responses = stream.ch.drain();
    expect(responses.map((r) => r.revision)).toEqual([10, 11]);
  });
});

describe("WatchStream", () => {
  it("assigns IDs from 0 upwards (ported from TestWatcherWatchID)", () => {
    const { store } = setup();
    const stream = store.newWatchStream();
    const ids = Array.from({ length: 10 }, () => stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 0));
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("uses a custom ID, skips it when auto-assigning, and refuses it twice (ported from TestWatcherRequestsCustomID)", () => {
    const { store } = setup();
    const stream = store.newWatchStream();
    expect(stream.watch(1, b("foo"), undefined, 0)).toBe(1);
    expect(stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 0)).toBe(0);
    expect(stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 0)).toBe(2);
    expect(() => stream.watch(1, b("foo"), undefined, 0)).toThrow(ERR_WATCHER_DUPLICATE_ID);
    expect(stream.watch(-7, b("foo"), undefined, 0)).toBe(-7);
  });

  it("refuses an inverted range without consuming an ID, but accepts an empty end (ported from TestWatcherWatchWrongRange)", () => {
    const { store } = setup();
    const stream = store.newWatchStream();
    expect(() => stream.watch(AUTO_WATCH_ID, b("foa"), b("foa"), 1)).toThrow(ERR_EMPTY_WATCHER_RANGE);
    expect(() => stream.watch(AUTO_WATCH_ID, b("fob"), b("foa"), 1)).toThrow(ERR_EMPTY_WATCHER_RANGE);
    expect(stream.watch(AUTO_WATCH_ID, b("foo"), new Uint8Array(), 1)).toBe(0);
  });

  it("delivers every key of a prefix range (ported from TestWatcherWatchPrefix)", () => {
    const { store } = setup();
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("foo"), b("fop"), 0);
    store.put(b("foo"), b("1"), 0n);
    store.put(b("fooo"), b("1"), 0n);
    store.put(b("fop"), b("1"), 0n);
    expect(stream.ch.drain().map((r) => keysOf(r)?.[0])).toEqual(["PUT foo@2", "PUT fooo@3"]);
  });

  it("delivers one DELETE per key of a deleted range (ported from TestWatchDeleteRange)", () => {
    const { store } = setup();
    for (const k of ["foo_0", "foo_1", "foo_2"]) store.put(b(k), b("bar"), 0n);
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("foo_"), b("foo`"), 0);
    store.deleteRange(b("foo_"), b("foo`"));
    expect(keysOf(stream.ch.take())).toEqual(["DEL foo_0@5", "DEL foo_1@5", "DEL foo_2@5"]);
  });

  it("cancels by ID and refuses a second cancel (ported from TestWatchStreamCancelWatcherByID)", () => {
    const { store } = setup();
    const stream = store.newWatchStream();
    const id = stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 0);
    expect(() => stream.cancel(id + 1)).toThrow(ERR_WATCHER_NOT_EXIST);
    stream.cancel(id);
    expect(() => stream.cancel(id)).toThrow(ERR_WATCHER_NOT_EXIST);
    store.put(b("foo"), b("bar"), 0n);
    expect(stream.ch.length).toBe(0);
    expect(store.watcherGroups()).toEqual({ synced: 0, unsynced: 0, victims: 0 });
  });

  it("cancels an unsynced watcher (ported from TestCancelUnsynced)", () => {
    const { store } = setup();
    store.put(b("foo"), b("bar"), 0n);
    const stream = store.newWatchStream();
    const ids = Array.from({ length: 5 }, () => stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 1));
    expect(store.unsynced.size).toBe(5);
    ids.forEach((id) => stream.cancel(id));
    expect(store.unsynced.size).toBe(0);
  });

  it("answers a progress request only for a synced watcher (ported from TestWatcherRequestProgress)", () => {
    const { store } = setup();
    store.put(b("foo"), b("bar"), 0n);
    const stream = store.newWatchStream();
    const id = stream.watch(AUTO_WATCH_ID, b("notfoo"), undefined, 1);
    stream.requestProgress(id);
    expect(stream.ch.length).toBe(0);
    store.syncWatchers();
    stream.requestProgress(id);
    expect(stream.ch.take()).toEqual({ watchID: id, events: [], revision: 2, compactRevision: 0 });
  });

  it("drops filtered events and sends nothing when all were filtered (ported from TestWatcherWatchWithFilter)", () => {
    const { store } = setup();
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 0, [filterNoPut]);
    store.put(b("foo"), b("bar"), 0n);
    expect(stream.ch.length).toBe(0);
    store.deleteRange(b("foo"), undefined);
    expect(keysOf(stream.ch.take())).toEqual(["DEL foo@3"]);
  });
});

describe("watchableStore.syncWatchers", () => {
  it("catches unsynced watchers up from the backend and moves them to synced (ported from TestSyncWatchers)", () => {
    const { store } = setup();
    store.put(b("foo"), b("bar"), 0n);
    const stream = store.newWatchStream();
    for (let i = 0; i < 100; i++) stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 1);
    expect(store.syncWatchers()).toBe(0);
    expect(store.watcherGroups()).toEqual({ synced: 100, unsynced: 0, victims: 0 });
    const responses = stream.ch.drain();
    expect(responses.length).toBe(100);
    expect(responses.every((r) => r.revision === 2 && keysOf(r)?.join() === "PUT foo@2")).toBe(true);
    store.checkInvariants();
  });

  it("handles at most 512 watchers per pass", () => {
    const { store } = setup();
    store.put(b("foo"), b("bar"), 0n);
    const stream = store.newWatchStream(10_000);
    for (let i = 0; i < 600; i++) stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 1);
    expect(store.syncWatchers()).toBe(88);
    expect(store.syncWatchers()).toBe(0);
  });

  it("sends at most the batch cap of revisions per response and stays unsynced until done (ported from TestWatchBatchUnsynced)", () => {
    const { store } = setup({ watchBatchMaxRevs: 4 });
    for (let i = 0; i < 12; i++) store.put(b("foo"), b(`v${i}`), 0n); // revs 2..13
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 1);
    expect(store.syncWatchers()).toBe(1);
    expect(store.syncWatchers()).toBe(1);
    expect(store.syncWatchers()).toBe(0);
    const responses = stream.ch.drain();
    expect(responses.map((r) => r.events.length)).toEqual([4, 4, 4]);
    expect(responses.flatMap((r) => r.events.map((e) => e.kv.mod_revision))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(store.synced.size).toBe(1);
  });

  it("catches up at most 1000 revisions per response by default, etcd's watchBatchMaxRevs", () => {
    const { store } = setup();
    for (let i = 0; i < 1500; i++) store.put(b("foo"), b(`v${i}`), 0n); // revs 2..1501
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 1);
    expect(store.syncWatchers()).toBe(1);
    expect(store.syncWatchers()).toBe(0);
    const responses = stream.ch.drain();
    expect(responses.map((r) => r.events.length)).toEqual([1000, 500]);
    expect(responses.map((r) => [r.events[0]?.kv.mod_revision, r.events.at(-1)?.kv.mod_revision])).toEqual([[2, 1001], [1002, 1501]]);
  });

  it("cancels a watcher behind the compacted revision with compact_revision (ported from TestWatchCompacted)", () => {
    const { store } = setup();
    for (let i = 0; i < 10; i++) store.put(b("foo"), b(`v${i}`), 0n); // revs 2..11
    store.compact(5);
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 3);
    const atCompact = stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 5);
    store.syncWatchers();
    const responses = stream.ch.drain();
    expect(responses[0]).toEqual({ watchID: 0, events: [], revision: 0, compactRevision: 5 });
    // Starting exactly at the compacted revision is allowed: it reads 5..11.
    expect(responses[1]?.watchID).toBe(atCompact);
    expect(responses[1]?.events.map((e) => e.kv.mod_revision)).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect(store.watcherGroups()).toEqual({ synced: 1, unsynced: 0, victims: 0 });
  });

  it("replays a delete at the start revision and a delete older than a later put (history, not the index)", () => {
    const { store } = setup();
    store.put(b("k"), b("1"), 0n); // 2
    store.deleteRange(b("k"), undefined); // 3
    store.put(b("k"), b("2"), 0n); // 4
    const stream = store.newWatchStream();
    stream.watch(AUTO_WATCH_ID, b("k"), undefined, 3);
    store.syncWatchers();
    expect(keysOf(stream.ch.take())).toEqual(["DEL k@3", "PUT k@4"]);
  });
});

describe("watchableStore victims", () => {
  it("makes a watcher a victim when its stream's channel is full and delivers later in order (ported from TestWatchVictims)", () => {
    const { store } = setup({ chanBufLen: 1 });
    const streams = Array.from({ length: 3 }, () => store.newWatchStream());
    streams.forEach((stream) => stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 0));
    const received: number[][] = streams.map(() => []);
    for (let i = 0; i < 5; i++) store.put(b("foo"), b(`v${i}`), 0n); // revs 2..6
    expect(store.victimCount).toBe(3);
    store.checkInvariants();
    // Drain and retry until everyone caught up: the victim batch, then a catch-up sync.
    for (let round = 0; round < 20 && received.some((revs) => revs.length < 5); round++) {
      streams.forEach((stream, i) => {
        for (const response of stream.ch.drain()) received[i]?.push(...response.events.map((e) => e.kv.mod_revision));
      });
      store.syncVictims();
      store.syncWatchers();
      store.checkInvariants();
    }
    received.forEach((revs) => expect(revs).toEqual([2, 3, 4, 5, 6]));
    expect(store.watcherGroups()).toEqual({ synced: 3, unsynced: 0, victims: 0 });
  });

  it("cancels a watcher that waits as a victim", () => {
    const { store } = setup({ chanBufLen: 1 });
    const stream = store.newWatchStream();
    const id = stream.watch(AUTO_WATCH_ID, b("foo"), undefined, 0);
    store.put(b("foo"), b("1"), 0n);
    store.put(b("foo"), b("2"), 0n);
    expect(store.victimCount).toBe(1);
    stream.cancel(id);
    expect(store.watcherGroups()).toEqual({ synced: 0, unsynced: 0, victims: 0 });
  });
});

describe("watchableStore performance shape", () => {
  it("finds no watcher for an unrelated key among 10k key and 1k range watchers", () => {
    const { store } = setup();
    const stream = store.newWatchStream(1_000_000);
    for (let i = 0; i < 10_000; i++) stream.watch(AUTO_WATCH_ID, b(`key${i}`), undefined, 0);
    for (let i = 0; i < 1_000; i++) stream.watch(AUTO_WATCH_ID, b(`r${i}/`), b(`r${i}0`), 0);
    expect(store.synced.contains("unrelated")).toBe(false);
    expect(store.synced.watcherSetByKey("unrelated").size).toBe(0);
    // Spy on every watcher's send: an unrelated put must reach none of them.
    let sends = 0;
    const trySend = stream.ch.trySend.bind(stream.ch); // every watcher here posts into this one channel
    stream.ch.trySend = (response) => (sends++, trySend(response));
    store.put(b("unrelated"), b("v"), 0n);
    expect(sends).toBe(0);
    store.put(b("key42"), b("v"), 0n);
    store.put(b("r7/x"), b("v"), 0n);
    expect(sends).toBe(2);
    expect(stream.ch.length).toBe(2);
  });
});

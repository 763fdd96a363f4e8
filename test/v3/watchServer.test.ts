/**
 * The server side of a Watch stream (v3rpc `serverWatchStream`) through the EtcdServer facade:
 * spec §8, including the captured gateway stream of §8.8 replayed in process.
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import { EventType, WatchFilterType, type WatchResponse } from "../../v3/rpc.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { ERR_EMPTY_WATCHER_RANGE, ERR_WATCHER_DUPLICATE_ID } from "../../v3/errors.js";

function setup(options: { progressNotifyIntervalMs?: number; chanBufLen?: number } = {}) {
  const clock = new SimulatedClock();
  const server = new EtcdServer({ clock, ...options });
  return { clock, server };
}
/** A response reduced to what a test asserts on. */
function brief(r: WatchResponse) {
  return {
    id: r.watch_id,
    rev: r.header.revision,
    ...(r.created ? { created: true } : {}),
    ...(r.canceled ? { canceled: true } : {}),
    ...(r.cancel_reason !== "" ? { reason: r.cancel_reason } : {}),
    ...(r.compact_revision !== 0 ? { compact: r.compact_revision } : {}),
    ...(r.events.length > 0 ? { events: r.events.map((e) => `${e.type === EventType.PUT ? "PUT" : "DEL"} ${fromUtf8(e.kv.key)}@${e.kv.mod_revision}`) } : {}),
  };
}

describe("ServerWatchStream", () => {
  it("answers the captured request sequence of spec §8.8 the way etcd 3.4.23 did", () => {
    const { server } = setup();
    for (let i = 0; i < 8; i++) server.put({ key: utf8(`pre${i}`), value: utf8("x") }); // current revision 9
    const stream = server.watch();
    stream.recv({ create_request: { key: utf8("foo") } });
    stream.recv({ create_request: { key: utf8("a"), range_end: new Uint8Array([0]), filters: [WatchFilterType.NOPUT] } });
    stream.recv({ create_request: { key: utf8("foo"), watch_id: 0 } });
    stream.recv({ progress_request: {} });
    stream.recv({ cancel_request: { watch_id: 0 } });
    stream.recv({ cancel_request: { watch_id: 42 } });
    stream.recv({ create_request: { key: utf8("foo"), range_end: utf8("a") } });
    stream.recv({ create_request: { key: utf8("foo"), progress_notify: true } });
    server.put({ key: utf8("foo"), value: utf8("5") });
    server.put({ key: utf8("zz"), value: utf8("1") });
    server.deleteRange({ key: utf8("zz") });
    expect(stream.take().map(brief)).toEqual([
      { id: 0, rev: 9, created: true },
      { id: 1, rev: 9, created: true },
      { id: 2, rev: 9, created: true },
      { id: -1, rev: 9 },
      { id: 0, rev: 9, canceled: true },
      { id: -1, rev: 9, created: true, canceled: true, reason: ERR_EMPTY_WATCHER_RANGE },
      { id: 3, rev: 9, created: true },
      { id: 2, rev: 10, events: ["PUT foo@10"] },
      { id: 3, rev: 10, events: ["PUT foo@10"] },
      { id: 1, rev: 12, events: ["DEL zz@12"] },
    ]);
  });

  it("refuses a duplicate explicit ID with a created+canceled answer", () => {
    const { server } = setup();
    const stream = server.watch();
    stream.recv({ create_request: { key: utf8("a"), watch_id: 7 } });
    stream.recv({ create_request: { key: utf8("b"), watch_id: 7 } });
    expect(stream.take().map(brief)).toEqual([
      { id: 7, rev: 1, created: true },
      { id: -1, rev: 1, created: true, canceled: true, reason: ERR_WATCHER_DUPLICATE_ID },
    ]);
  });

  it("treats an empty key as \\0 and range_end \\0 as every key from key on", () => {
    const { server } = setup();
    const stream = server.watch();
    stream.recv({ create_request: { key: new Uint8Array(), range_end: new Uint8Array([0]) } });
    server.put({ key: utf8("\u0001"), value: utf8("x") });
    server.put({ key: utf8("zzz"), value: utf8("x") });
    expect(stream.take().slice(1).map((r) => brief(r).events)).toEqual([["PUT \u0001@2"], ["PUT zzz@3"]]);
  });

  it("attaches prev_kv read at mod_revision - 1, except to creates and when compacted", () => {
    const { server } = setup();
    server.put({ key: utf8("k"), value: utf8("one") }); // 2
    const stream = server.watch();
    stream.recv({ create_request: { key: utf8("k"), prev_kv: true, start_revision: 2 } });
    server.put({ key: utf8("k"), value: utf8("two") }); // 3 (unsynced watcher: not live)
    server.deleteRange({ key: utf8("k") }); // 4
    server.syncWatchers();
    const events = stream.take()[1]?.events ?? [];
    expect(events.map((e) => fromUtf8(e.prev_kv?.value ?? utf8("-")))).toEqual(["-", "one", "two"]);
    // Once compacted, the revision before is gone: no prev_kv.
    const later = server.watch(undefined, { autoPump: false });
    later.recv({ create_request: { key: utf8("k"), prev_kv: true } });
    server.put({ key: utf8("k"), value: utf8("three") }); // 5, a create
    server.put({ key: utf8("k"), value: utf8("four") }); // 6
    server.compact({ revision: 6 });
    later.pump();
    expect(later.take()[2]?.events[0]?.prev_kv).toBeUndefined();
  });

  it("cancels a watcher behind a compaction with compact_revision and no header revision (spec §8.6)", () => {
    const { server } = setup();
    for (let i = 0; i < 5; i++) server.put({ key: utf8("k"), value: utf8(`${i}`) }); // 2..6
    server.compact({ revision: 4 });
    const stream = server.watch();
    stream.recv({ create_request: { key: utf8("k"), start_revision: 3 } });
    server.syncWatchers();
    expect(stream.take().map(brief)).toEqual([
      { id: 0, rev: 6, created: true },
      { id: 0, rev: 0, canceled: true, compact: 4 },
    ]);
  });

  it("sends nothing more for a cancelled watcher, even responses already queued", () => {
    const { server } = setup();
    const stream = server.watch(undefined, { autoPump: false });
    stream.recv({ create_request: { key: utf8("k") } });
    server.put({ key: utf8("k"), value: utf8("x") });
    stream.recv({ cancel_request: { watch_id: 0 } });
    stream.pump();
    expect(stream.take().map(brief)).toEqual([
      { id: 0, rev: 1, created: true },
      { id: 0, rev: 2, canceled: true },
    ]);
  });

  it("sends progress notifications to synced watchers that asked, skipping the tick after events", () => {
    const { clock, server } = setup({ progressNotifyIntervalMs: 1_000 });
    const stream = server.watch();
    stream.recv({ create_request: { key: utf8("k"), progress_notify: true } });
    stream.recv({ create_request: { key: utf8("other") } });
    stream.take();
    clock.advance(1_000);
    server.tick();
    expect(stream.take().map(brief)).toEqual([{ id: 0, rev: 1 }]);
    server.put({ key: utf8("k"), value: utf8("x") });
    clock.advance(1_000);
    server.tick();
    expect(stream.take().map(brief)).toEqual([{ id: 0, rev: 2, events: ["PUT k@2"] }]);
    clock.advance(1_000);
    server.tick();
    expect(stream.take().map(brief)).toEqual([{ id: 0, rev: 2 }]);
  });

  it("holds events in the channel without a reader, then makes the stream's watchers victims at 128", () => {
    const { server } = setup();
    const slow = server.watch(undefined, { autoPump: false });
    const fast = server.watch();
    slow.recv({ create_request: { key: utf8("k") } });
    fast.recv({ create_request: { key: utf8("k") } });
    for (let i = 0; i < 130; i++) server.put({ key: utf8("k"), value: utf8(`${i}`) });
    expect(server.watcherGroups()).toEqual({ synced: 1, unsynced: 0, victims: 1 });
    expect(fast.take().length).toBe(131);
    // The reader catches up: the victim batch, then the missed revisions from the backend.
    const revs: number[] = [];
    for (let round = 0; round < 5; round++) {
      slow.pump();
      server.tick();
      slow.pump();
    }
    for (const response of slow.take()) revs.push(...response.events.map((e) => e.kv.mod_revision));
    expect(revs).toEqual(Array.from({ length: 130 }, (_, i) => i + 2));
    expect(server.watcherGroups()).toEqual({ synced: 2, unsynced: 0, victims: 0 });
  });

  it("counts watchers per stream (many watchers, one stream)", () => {
    const { server } = setup();
    const a = server.watch();
    const b = server.watch();
    for (let i = 0; i < 5; i++) a.recv({ create_request: { key: utf8(`k${i}`) } });
    b.recv({ create_request: { key: utf8("x") } });
    expect(server.watchersPerStream()).toEqual([5, 1]);
    a.close();
    expect(server.watchStreamCount).toBe(1);
    expect(server.watcherGroups().synced).toBe(1);
  });
});

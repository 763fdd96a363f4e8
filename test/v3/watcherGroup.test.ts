/**
 * WatcherGroup and EventBatch, ported by behaviour from etcd's `mvcc/watcher_group_test.go` and
 * the interval-tree cases of `pkg/adt/interval_tree_test.go` that watchers rely on.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { compareBytes, fromUtf8, toBinaryString, utf8 } from "../../shared/bytes.js";
import { EventType, type Event } from "../../v3/rpc.js";
import { Watcher } from "../../v3/watchableStore.js";
import { WatchChannel } from "../../v3/watcher.js";
import { EventBatch, WatcherGroup, newWatcherBatch } from "../../v3/watcherGroup.js";

const ch = new WatchChannel();
let nextId = 0;
function watcher(key: string, end?: string, minRev = 1): Watcher {
  return new Watcher(utf8(key), end === undefined ? undefined : utf8(end), minRev, nextId++, [], ch);
}
function put(key: string, rev: number): Event {
  return { type: EventType.PUT, kv: { key: utf8(key), create_revision: rev, mod_revision: rev, version: 1, value: utf8("v"), lease: 0n } };
}
/** `watcherSetByKey` for key bytes (it takes Go's `string(key)`, a binary string). */
function watchersOf(group: WatcherGroup, key: Uint8Array): ReadonlySet<Watcher> {
  return group.watcherSetByKey(toBinaryString(key));
}
function ids(set: ReadonlySet<Watcher>): number[] {
  return [...set].map((w) => w.id).sort((a, b) => a - b);
}

describe("WatcherGroup", () => {
  it("finds single-key watchers by exact key only", () => {
    const group = new WatcherGroup();
    const foo = watcher("foo");
    group.add(foo);
    expect(ids(watchersOf(group, utf8("foo")))).toEqual([foo.id]);
    expect(watchersOf(group, utf8("fo")).size).toBe(0);
    expect(watchersOf(group, utf8("foo\0")).size).toBe(0);
  });

  it("finds range watchers whose half-open interval holds the key", () => {
    const group = new WatcherGroup();
    const ac = watcher("a", "c");
    const bInf = watcher("b", "");
    const cd = watcher("c", "d");
    [ac, bInf, cd].forEach((w) => group.add(w));
    expect(ids(watchersOf(group, utf8("a")))).toEqual([ac.id]);
    expect(ids(watchersOf(group, utf8("b")))).toEqual([ac.id, bInf.id].sort((x, y) => x - y));
    expect(ids(watchersOf(group, utf8("c")))).toEqual([bInf.id, cd.id].sort((x, y) => x - y)); // "c" is outside [a, c)
    expect(ids(watchersOf(group, utf8("\xff\xff")))).toEqual([bInf.id]); // +∞ end holds every later key
    expect(watchersOf(group, utf8("0")).size).toBe(0);
  });

  it("shares one interval for watchers on the identical range and removes it with the last one", () => {
    const group = new WatcherGroup();
    const w1 = watcher("a", "b");
    const w2 = watcher("a", "b");
    group.add(w1);
    group.add(w2);
    expect(group.rangeCount).toBe(1);
    expect(group.delete(w1)).toBe(true);
    expect(ids(watchersOf(group, utf8("a")))).toEqual([w2.id]);
    expect(group.delete(w2)).toBe(true);
    expect(group.rangeCount).toBe(0);
    expect(group.contains("a")).toBe(false);
    expect(group.delete(w2)).toBe(false);
  });

  it("refuses to add a watcher twice", () => {
    const group = new WatcherGroup();
    const w = watcher("k");
    group.add(w);
    expect(() => group.add(w)).toThrow(/twice/);
  });

  it("chooses at most the requested number and sets compacted watchers apart (ported from TestWatcherGroupChoose)", () => {
    const group = new WatcherGroup();
    const old = watcher("a", undefined, 2);
    const fresh = watcher("b", undefined, 8);
    const fresher = watcher("c", undefined, 9);
    [old, fresh, fresher].forEach((w) => group.add(w));
    const all = group.choose(512, 10, 5);
    expect(all.compacted).toEqual([old]);
    expect(all.chosen).toEqual([fresh, fresher]);
    expect(all.minRev).toBe(8);
    expect(group.choose(2, 10, 0).chosen.length).toBe(2);
  });

  it("agrees with a brute-force scan for random keys and ranges (property)", () => {
    const key = fc.uint8Array({ minLength: 0, maxLength: 3, max: 4 }).map((bytes) => bytes.map((b) => [0x00, 0x61, 0x62, 0x63, 0xff][b] as number));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(key, fc.option(key, { nil: undefined })), { minLength: 1, maxLength: 30 }),
        fc.array(key, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (specs, probes, removals) => {
          const group = new WatcherGroup();
          const watchers = specs
            .filter(([k, e]) => e === undefined || e.length === 0 || compareBytes(k, e) < 0)
            .map(([k, e]) => new Watcher(k, e, 1, nextId++, [], ch));
          watchers.forEach((w) => group.add(w));
          const removed = new Set<Watcher>();
          for (const r of removals) {
            const w = watchers[r % Math.max(1, watchers.length)];
            if (w !== undefined && !removed.has(w)) {
              group.delete(w);
              removed.add(w);
            }
          }
          for (const probe of probes) {
            const expected = watchers
              .filter((w) => !removed.has(w))
              .filter((w) =>
                w.end === undefined ? compareBytes(w.key, probe) === 0 : compareBytes(w.key, probe) <= 0 && (w.end.length === 0 || compareBytes(probe, w.end) < 0),
              )
              .map((w) => w.id)
              .sort((a, b) => a - b);
            expect(ids(watchersOf(group, probe))).toEqual(expected);
            expect(group.contains(Buffer.from(probe).toString("latin1"))).toBe(expected.length > 0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("EventBatch", () => {
  it("stops at the revision cap and records the first revision left out (ported from TestWatchBatchUnsynced's batching)", () => {
    const batch = new EventBatch(2);
    [5, 5, 6, 7, 8].forEach((rev, i) => batch.add(put(`k${i}`, rev)));
    expect(batch.evs.map((e) => e.kv.mod_revision)).toEqual([5, 5, 6]);
    expect(batch.revs).toBe(3); // counted past the cap, which is how "full" is remembered
    expect(batch.moreRev).toBe(7);
  });

  it("holds up to 1000 revisions by default", () => {
    const batch = new EventBatch();
    for (let rev = 1; rev <= 1001; rev++) batch.add(put("k", rev));
    expect(batch.evs.length).toBe(1000);
    expect(batch.moreRev).toBe(1001);
  });
});

describe("newWatcherBatch", () => {
  it("gives each watcher only events at or after its minRev, for keys it watches", () => {
    const group = new WatcherGroup();
    const early = watcher("k", undefined, 2);
    const late = watcher("k", undefined, 4);
    const range = watcher("a", "z", 1);
    [early, late, range].forEach((w) => group.add(w));
    const batch = newWatcherBatch(group, [put("k", 2), put("k", 3), put("k", 4), put("zz", 4)]);
    expect(batch.get(early)?.evs.map((e) => e.kv.mod_revision)).toEqual([2, 3, 4]);
    expect(batch.get(late)?.evs.map((e) => e.kv.mod_revision)).toEqual([4]);
    expect(batch.get(range)?.evs.map((e) => fromUtf8(e.kv.key))).toEqual(["k", "k", "k"]);
  });
});

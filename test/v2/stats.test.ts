/**
 * The store's counters, ported from etcd release-3.4 `etcdserver/api/v2store/stats_test.go`
 * (TestStoreStats*) in our own words, plus the counting quirks a real etcd 3.4.23 showed (spec §8).
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { STATS_FIELDS, type StatsField } from "../../v2/stats.js";
import { V2Store } from "../../v2/store.js";

const NOW = new SimulatedClock().now();

/** Runs `operation` (ignoring its V2Error) and returns which counters moved, and by how much. */
function moved(store: V2Store, operation: () => unknown): Partial<Record<StatsField, number>> {
  const before = store.stats();
  try {
    operation();
  } catch {
    // failures are counted too; that is what is being measured
  }
  const after = store.stats();
  const delta: Partial<Record<StatsField, number>> = {};
  for (const field of STATS_FIELDS) if (after[field] !== before[field]) delta[field] = after[field] - before[field];
  return delta;
}

function seeded(): V2Store {
  const store = new V2Store();
  store.set("/foo", false, "bar", {}, NOW);
  store.set("/dir", true, "", {}, NOW);
  return store;
}

describe("stats counters", () => {
  it.each<[string, (s: V2Store) => unknown, Partial<Record<StatsField, number>>]>([
    ["a successful get", (s) => s.get("/foo", false, false, NOW), { getsSuccess: 1 }],
    ["a failed get", (s) => s.get("/nope", false, false, NOW), { getsFail: 1 }],
    ["a successful set", (s) => s.set("/foo", false, "x", {}, NOW), { setsSuccess: 1 }],
    ["a set on a directory", (s) => s.set("/dir", false, "x", {}, NOW), { setsFail: 1 }],
    ["a successful create", (s) => s.create("/new", false, "x", false, {}, NOW), { createSuccess: 1 }],
    ["a create of an existing key", (s) => s.create("/foo", false, "x", false, {}, NOW), { createFail: 1 }],
    ["a successful update", (s) => s.update("/foo", "x", {}, NOW), { updateSuccess: 1 }],
    ["an update of a missing key", (s) => s.update("/nope", "x", {}, NOW), { updateFail: 1 }],
    ["a successful compareAndSwap", (s) => s.compareAndSwap("/foo", "bar", 0, "x", {}, NOW), { compareAndSwapSuccess: 1 }],
    ["a failed compareAndSwap", (s) => s.compareAndSwap("/foo", "wrong", 0, "x", {}, NOW), { compareAndSwapFail: 1 }],
    ["a compareAndSwap on a directory", (s) => s.compareAndSwap("/dir", "wrong", 0, "x", {}, NOW), { compareAndSwapFail: 1 }],
    ["a successful delete", (s) => s.delete("/foo", false, false, NOW), { deleteSuccess: 1 }],
    ["a delete of a missing key", (s) => s.delete("/nope", false, false, NOW), { deleteFail: 1 }],
    ["a delete of a directory without dir", (s) => s.delete("/dir", false, false, NOW), { deleteFail: 1 }],
    ["a successful compareAndDelete", (s) => s.compareAndDelete("/foo", "bar", 0, NOW), { compareAndDeleteSuccess: 1 }],
    ["a compareAndDelete of a missing key", (s) => s.compareAndDelete("/nope", "bar", 0, NOW), { compareAndDeleteFail: 1 }],
    ["a watch", (s) => s.watch("/foo", false, false, 0), { watchers: 1 }],
  ])("count %s (ported from TestStoreStats*)", (_name, operation, expected) => {
    const store = seeded();
    expect(moved(store, () => operation(store))).toEqual(expected);
  });

  it.each<[string, (s: V2Store) => unknown, Partial<Record<StatsField, number>>]>([
    ["an update of the root as a success", (s) => s.update("/", "", {}, NOW), { updateSuccess: 1 }],
    ["an update giving a directory a value as a success", (s) => s.update("/dir", "x", {}, NOW), { updateSuccess: 1 }],
    ["a compareAndSwap on the root as a success", (s) => s.compareAndSwap("/", "x", 0, "y", {}, NOW), { compareAndSwapSuccess: 1 }],
    ["a delete of the root as a success", (s) => s.delete("/", true, true, NOW), { deleteSuccess: 1 }],
    ["a compareAndDelete that fails its test as a success", (s) => s.compareAndDelete("/foo", "wrong", 0, NOW), { compareAndDeleteSuccess: 1 }],
    ["a compareAndDelete on a directory as a success", (s) => s.compareAndDelete("/dir", "", 0, NOW), { compareAndDeleteSuccess: 1 }],
    ["a create through a file as setsFail and createFail", (s) => s.create("/foo/x", false, "", false, {}, NOW), { setsFail: 1, createFail: 1 }],
    ["a POST under a file as setsFail and createFail", (s) => s.create("/foo", false, "", true, {}, NOW), { setsFail: 1, createFail: 1 }],
  ])("count %s, as etcd does (quirk)", (_name, operation, expected) => {
    const store = seeded();
    expect(moved(store, () => operation(store))).toEqual(expected);
  });

  it("counts every expired node (ported from TestStoreStatsExpireCount)", () => {
    const clock = new SimulatedClock();
    const store = new V2Store();
    store.create("/foo", false, "bar", false, { expireTimeMs: clock.now() + 500 }, clock.now());
    store.create("/d", true, "", false, { expireTimeMs: clock.now() + 500 }, clock.now());
    store.create("/d/child", false, "", false, { expireTimeMs: clock.now() + 500 }, clock.now());
    expect(store.stats().expireCount).toBe(0);
    clock.advance(600);
    store.deleteExpiredKeys(clock.now());
    expect(store.stats().expireCount).toBe(2); // /foo and /d; /d/child vanished with its directory
  });

  it("counts watchers registered right now (ported from TestStoreStatsWatchers)", () => {
    const store = seeded();
    const stream = store.watch("/foo", false, true, 0);
    store.watch("/foo", false, false, 0);
    store.watch("/foo", false, false, 1); // answered from the history: never registered
    expect(store.stats().watchers).toBe(2);
    store.set("/foo", false, "x", {}, NOW);
    expect(store.stats().watchers).toBe(1);
    stream.remove();
    expect(store.stats().watchers).toBe(0);
  });

  it("prints the counters in etcd's order", () => {
    const store = seeded();
    expect(Object.keys(JSON.parse(store.jsonStats()) as object)).toEqual([...STATS_FIELDS]);
    expect(store.jsonStats()).toMatch(/^\{"getsSuccess":0,"getsFail":0,"setsSuccess":2,"setsFail":0,"deleteSuccess":0,/);
  });
});

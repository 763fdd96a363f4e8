/**
 * Snapshots of the v2 store: `save()` / `recovery()` (etcd's Save/Recovery, ported from
 * TestStoreRecover and TestStoreRecoverWithExpiration in `etcdserver/api/v2store/store_test.go`,
 * in our own words), `clone()`, and the snapshot file helpers, which must refuse truncated,
 * corrupted and foreign files without changing the store.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import type { Event } from "../../v2/event.js";
import { loadSnapshotFile, readSnapshotFile, saveSnapshotFile, SnapshotError, SNAPSHOT_FILE_FORMAT, SNAPSHOT_FORMAT_VERSION } from "../../v2/snapshot.js";
import { V2Store } from "../../v2/store.js";
import { V2Error } from "../../v2/v2error.js";

const directory = mkdtempSync(join(tmpdir(), "etcdsim-v2-snapshot-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A store with some of everything: dirs, hidden keys, TTLs with ties, in-order keys, refresh, deletes. */
function busyStore(clock: SimulatedClock): V2Store {
  const store = new V2Store({ historyCapacity: 50 });
  const now = clock.now();
  store.set("/b", false, "2", {}, now);
  store.set("/a/x", false, "1", {}, now);
  store.set("/a/_hidden", false, "h", {}, now);
  store.set("/9", false, "integer-like name", {}, now);
  store.set("/1", false, "another", {}, now);
  store.create("/queue", false, "job", true, {}, now);
  store.create("/queue", true, "", true, {}, now);
  store.set("/t1", false, "x", { expireTimeMs: now + 5_000 }, now);
  store.set("/t2", false, "y", { expireTimeMs: now + 5_000 }, now);
  store.set("/t0", false, "z", { expireTimeMs: now + 5_000 }, now);
  store.set("/tdir", true, "", { expireTimeMs: now + 8_000 }, now);
  store.set("/tdir/child", false, "c", { expireTimeMs: now + 20_000 }, now);
  store.update("/t1", "", { expireTimeMs: now + 5_000, refresh: true }, now);
  store.update("/a", "", { expireTimeMs: now + 30_000 }, now); // directory TTL: stale modifiedIndex quirk
  store.compareAndSwap("/b", "2", 0, "3", {}, now);
  store.delete("/a/x", false, false, now);
  store.set("/gone/deep", false, "1", {}, now);
  store.delete("/gone", false, true, now);
  for (let i = 0; i < 60; i++) store.set("/loop", false, String(i), {}, now); // wraps the 50-event history
  try {
    store.get("/nope", false, false, now);
  } catch {
    // counted as getsFail, which the snapshot must keep
  }
  return store;
}

/** Every answer a client could get, as text: reads, watches from every index, stats, the sweep. */
function answers(store: V2Store, clock: SimulatedClock): string[] {
  const now = clock.now();
  const out: string[] = [];
  const attempt = (label: string, operation: () => unknown): void => {
    try {
      out.push(`${label} ${JSON.stringify(operation())}`);
    } catch (error) {
      out.push(`${label} ${error instanceof V2Error ? JSON.stringify(error) : String(error)}`);
    }
  };
  out.push(`index ${store.index}`, `stats ${store.jsonStats()}`, `ttl ${store.hasTTLKeys()}`);
  for (const path of ["/", "/a", "/queue", "/tdir", "/t1", "/b", "/loop", "/a/_hidden", "/nope/x"]) {
    for (const [recursive, sorted] of [[false, false], [true, false], [true, true]] as const) {
      attempt(`get ${path} ${recursive} ${sorted}`, () => store.get(path, recursive, sorted, now));
    }
  }
  for (let since = 0; since <= store.index + 1; since++) {
    attempt(`watch / ${since}`, () => store.watch("/", true, false, since).eventChan.drain().map((e: Event) => [e, e.etcdIndex]));
    attempt(`watch /t1 ${since}`, () => store.watch("/t1", false, false, since).eventChan.drain());
  }
  return out;
}

describe("save and recovery", () => {
  it("produce the same text for equal stores", () => {
    const clock = new SimulatedClock();
    expect(busyStore(clock).save()).toBe(busyStore(clock).save());
  });

  it("rebuild a store whose every answer is identical (ported from TestStoreRecover)", () => {
    const clock = new SimulatedClock();
    const original = busyStore(clock);
    const text = original.save();
    const recovered = new V2Store();
    recovered.recovery(text);
    recovered.checkInvariants();
    expect(recovered.save()).toBe(text);
    expect(recovered.tree()).toEqual(original.tree());
    expect(answers(recovered, clock)).toEqual(answers(original, clock));

    // The future matches too: the same sweeps and writes give the same events.
    for (const step of [4_000, 1_000, 3_000, 12_000, 10_000]) {
      clock.advance(step);
      expect(JSON.stringify(recovered.deleteExpiredKeys(clock.now()))).toBe(JSON.stringify(original.deleteExpiredKeys(clock.now())));
      expect(JSON.stringify(recovered.create("/queue", false, "more", true, {}, clock.now()))).toBe(
        JSON.stringify(original.create("/queue", false, "more", true, {}, clock.now())),
      );
    }
    expect(recovered.save()).toBe(original.save());
    recovered.checkInvariants();
  });

  it("keeps expired-but-unswept nodes until the next sweep (ported from TestStoreRecoverWithExpiration)", () => {
    const clock = new SimulatedClock();
    const store = new V2Store();
    store.set("/foo/x", false, "bar", {}, clock.now());
    store.set("/foo/y", false, "baz", { expireTimeMs: clock.now() + 5 }, clock.now());
    const text = store.save();
    clock.advance(6);
    const recovered = new V2Store();
    recovered.recovery(text);
    expect(recovered.get("/foo/y", false, false, clock.now()).node.value).toBe("baz");
    recovered.deleteExpiredKeys(clock.now());
    expect(() => recovered.get("/foo/y", false, false, clock.now())).toThrow(V2Error);
    expect(recovered.get("/foo/x", false, false, clock.now()).node.value).toBe("bar");
  });

  it("leaves registered watchers in place, as etcd does", () => {
    const clock = new SimulatedClock();
    const target = new V2Store();
    const watcher = target.watch("/b", false, false, 0);
    const source = busyStore(clock);
    target.recovery(source.save());
    expect(target.stats().watchers).toBe(1);
    target.set("/b", false, "new", {}, clock.now());
    expect(watcher.eventChan.take()?.node.value).toBe("new");
  });

  it("refuses invalid text and leaves the store as it was", () => {
    const clock = new SimulatedClock();
    const store = busyStore(clock);
    const before = store.save();
    const text = JSON.parse(before) as Record<string, unknown>;
    const tampered: Array<[string, string]> = [
      ["truncated", before.slice(0, before.length - 10)],
      ["not json", "hello"],
      ["foreign format", JSON.stringify({ ...text, format: "something-else" })],
      ["etcd's own snapshot layout", JSON.stringify({ Root: {}, CurrentIndex: 3, CurrentVersion: 2 })],
      ["index behind the history", JSON.stringify({ ...text, currentIndex: (text["currentIndex"] as number) - 1 })],
      ["missing stats", JSON.stringify({ ...text, stats: {} })],
      ["ttl order missing a node", JSON.stringify({ ...text, ttlKeys: [] })],
      ["a child under the wrong parent", before.replace('"path":"/a/_hidden"', '"path":"/b/_hidden"')],
    ];
    for (const [name, bad] of tampered) {
      expect(() => store.recovery(bad), name).toThrow(SnapshotError);
      expect(store.save(), name).toBe(before);
    }
    store.checkInvariants();
  });
});

describe("clone", () => {
  it("copies everything but the watchers and stays independent", () => {
    const clock = new SimulatedClock();
    const original = busyStore(clock);
    original.watch("/b", false, false, 0);
    const copy = original.clone();
    expect(copy.save()).toBe(original.save());
    expect([copy.stats().watchers, original.stats().watchers]).toEqual([0, 1]);
    copy.set("/b", false, "only in the copy", {}, clock.now());
    expect(original.get("/b", false, false, clock.now()).node.value).toBe("3");
    clock.advance(60_000);
    expect(copy.deleteExpiredKeys(clock.now()).map((e) => e.node.key)).toEqual(original.deleteExpiredKeys(clock.now()).map((e) => e.node.key));
    copy.checkInvariants();
    original.checkInvariants();
  });
});

describe("snapshot files", () => {
  it("round-trip through a file written atomically, leaving no temporary file", () => {
    const clock = new SimulatedClock();
    const store = busyStore(clock);
    const file = join(directory, "roundtrip.snap");
    saveSnapshotFile(file, store);
    saveSnapshotFile(file, store); // overwriting works too
    expect(readdirSync(directory).filter((name) => name.startsWith("roundtrip"))).toEqual(["roundtrip.snap"]);
    const loaded = new V2Store();
    loadSnapshotFile(file, loaded);
    expect(loaded.save()).toBe(store.save());
  });

  it.each<[string, (raw: string) => string, RegExp]>([
    ["an empty file", () => "", /no header line/],
    ["a truncated file", (raw) => raw.slice(0, Math.floor(raw.length * 0.7)), /truncated/],
    ["a corrupted file", (raw) => raw.slice(0, -5) + (raw.at(-5) === "1" ? "2" : "1") + raw.slice(-4), /corrupted/],
    ["a foreign JSON file", () => '{"name":"package.json"}\n{}', /not a v2 snapshot file/],
    ["a file of another kind", () => "PK\u0003\u0004 binary junk\nmore", /not a v2 snapshot file/],
    ["a file from a newer format", (raw) => raw.replace(`"formatVersion":${SNAPSHOT_FORMAT_VERSION}`, '"formatVersion":99'), /unsupported/],
  ])("refuse %s with a clear error and change nothing", (_name, damage, message) => {
    const clock = new SimulatedClock();
    const file = join(directory, `damaged-${_name.replace(/\W+/g, "-")}.snap`);
    saveSnapshotFile(file, busyStore(clock));
    writeFileSync(file, damage(readFileSync(file, "utf8")));
    const store = new V2Store();
    store.set("/mine", false, "kept", {}, clock.now());
    const before = store.save();
    expect(() => loadSnapshotFile(file, store)).toThrow(SnapshotError);
    expect(() => readSnapshotFile(file)).toThrow(message);
    expect(store.save()).toBe(before);
  });

  it("refuse a well-formed file whose body is not a valid store, changing nothing", () => {
    const body = JSON.stringify({ format: "etcdsim/v2store", formatVersion: 1, version: 2, currentIndex: 5 });
    const header = JSON.stringify({ format: SNAPSHOT_FILE_FORMAT, formatVersion: SNAPSHOT_FORMAT_VERSION, bytes: Buffer.byteLength(body), sha256: createHash("sha256").update(body).digest("hex") });
    const file = join(directory, "wellformed-invalid.snap");
    writeFileSync(file, `${header}\n${body}`);
    const store = new V2Store();
    expect(() => loadSnapshotFile(file, store)).toThrow(/node \/ is not an object/);
    expect(store.index).toBe(0);
  });

  it("report a missing file as a SnapshotError", () => {
    const missing = join(directory, "does-not-exist.snap");
    expect(existsSync(missing)).toBe(false);
    expect(() => readSnapshotFile(missing)).toThrow(SnapshotError);
  });
});

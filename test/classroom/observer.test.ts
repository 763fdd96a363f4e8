/**
 * The classroom's view model without a browser: the frame builder reads both stores, frames add up
 * to the same model a snapshot gives, recorded states replay exactly, and the renderers draw what
 * the model says (the Learn Git Branching split: the engine is tested headless).
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { utf8 } from "../../shared/bytes.js";
import { V2Store } from "../../v2/store.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { FrameBuilder } from "../../classroom/observer.js";
import { FrameLog } from "../../classroom/frameLog.js";
import { decodeFrame } from "../../classroom/frameWire.js";
import { applyFrame, emptyModel, parseGenerations, snapshotFrame, treeOrder, type Frame, type Model } from "../../classroom/viewModel.js";
import * as draw from "../../classroom/page/render.js";
import { LessonPlayer, parseSteps, shippedLessons } from "../../classroom/lessonPlayer.js";

function setup(): { clock: SimulatedClock; v2: V2Store; v3: EtcdServer; builder: FrameBuilder } {
  const clock = new SimulatedClock();
  const v2 = new V2Store();
  const v3 = new EtcdServer({ clock });
  return { clock, v2, v3, builder: new FrameBuilder({ v2, v3, clock }) };
}

/** Plain data of a model, for comparing two of them. */
function plain(model: Model): unknown {
  return JSON.parse(JSON.stringify(snapshotFrame(model)));
}

function put(v3: EtcdServer, key: string, value: string): number {
  return Number(v3.put({ key: utf8(key), value: utf8(value) }).header.revision);
}

describe("FrameBuilder", () => {
  it("builds nothing when nothing changed", () => {
    const { builder } = setup();
    builder.build();
    expect(builder.build()).toBeUndefined();
  });

  it("sends a v2 set as one upsert of the node and one ring event", () => {
    const { clock, v2, builder } = setup();
    builder.build();
    v2.set("/dir/a", false, "1", {}, clock.now());
    const frame = builder.build();
    expect(frame?.v2?.upsert.map((row) => row.path)).toEqual(["/dir", "/dir/a"]);
    expect(frame?.v2?.ring?.append).toEqual([{ index: 1, action: "set", key: "/dir/a" }]);
    expect(frame?.v2?.index).toBe(1);
  });

  it("sends only the changed node when one key of a thousand changes (unchanged subtrees are skipped)", () => {
    const { clock, v2, builder } = setup();
    for (let i = 0; i < 1000; i++) v2.set(`/k/${i}`, false, "x", {}, clock.now());
    builder.build();
    v2.set("/k/500", false, "y", {}, clock.now());
    const frame = builder.build();
    expect(frame?.v2?.upsert.map((row) => `${row.path}=${row.value}`)).toEqual(["/k/500=y"]);
  });

  it("removes a deleted directory and everything under it", () => {
    const { clock, v2, builder } = setup();
    v2.set("/d/x/y", false, "1", {}, clock.now());
    builder.build();
    v2.delete("/d", true, true, clock.now());
    expect([...(builder.build()?.v2?.remove ?? [])].sort()).toEqual(["/d", "/d/x", "/d/x/y"]);
    expect(builder.model.v2.nodes.size).toBe(0);
  });

  it("marks hidden keys and carries a TTL key's deadline on the server clock", () => {
    const { clock, v2, builder } = setup();
    v2.set("/_hidden", false, "h", {}, clock.now());
    v2.set("/ttl", false, "t", { expireTimeMs: clock.now() + 5_000 }, clock.now());
    builder.build();
    expect(builder.model.v2.nodes.get("/_hidden")?.hidden).toBe(true);
    expect(builder.model.v2.nodes.get("/ttl")?.expireTimeMs).toBe(clock.now() + 5_000);
    clock.advance(5_000);
    v2.deleteExpiredKeys(clock.now());
    const frame = builder.build();
    expect(frame?.v2?.remove).toEqual(["/ttl"]);
    expect(frame?.v2?.ring?.append.at(-1)).toEqual({ index: 3, action: "expire", key: "/ttl" });
  });

  it("keeps the ring at the history's bounds: after 1,001 writes the oldest kept index is 2", () => {
    const { clock, v2, builder } = setup();
    for (let i = 0; i < 1001; i++) {
      v2.set(`/w/${i % 7}`, false, String(i), {}, clock.now());
      if (i % 100 === 0) builder.build();
    }
    builder.build();
    const ring = builder.model.v2.ring;
    expect([ring.startIndex, ring.lastIndex, ring.events.length]).toEqual([2, 1001, 1000]);
    expect(ring.events[0]?.index).toBe(2);
  });

  it("sends a v3 put as the key's generations and one log entry", () => {
    const { v3, builder } = setup();
    builder.build();
    const rev = put(v3, "foo", "bar");
    const frame = builder.build();
    expect(frame?.v3?.upsert).toEqual([{ sortKey: "foo", key: "foo", generations: [[`${rev}.0`]] }]);
    expect(frame?.v3?.logAppend).toEqual([{ main: rev, sub: 0, key: "foo", value: "bar", tombstone: false, lease: "" }]);
  });

  it("shows a delete as a tombstone ending the generation and an {empty} one after it", () => {
    const { v3, builder } = setup();
    put(v3, "foo", "1");
    put(v3, "foo", "2");
    v3.deleteRange({ key: utf8("foo") });
    builder.build();
    expect(builder.model.v3.keys.get("foo")?.generations).toEqual([["2.0", "3.0", "4.0(t)"], []]);
    expect(builder.model.v3.log.at(-1)).toMatchObject({ main: 4, tombstone: true });
  });

  it("rereads every key and the whole log after a compaction, and drops keys compaction removed", () => {
    const { v3, builder } = setup();
    put(v3, "gone", "1");
    v3.deleteRange({ key: utf8("gone") });
    put(v3, "kept", "1");
    const rev = put(v3, "kept", "2");
    builder.build();
    expect(builder.model.v3.keys.has("gone")).toBe(true);
    v3.compact({ revision: rev });
    const frame = builder.build();
    expect(frame?.v3?.compactRev).toBe(rev);
    expect(frame?.v3?.remove).toEqual(["gone"]);
    expect(builder.model.v3.log.map((row) => `${row.main}.${row.sub}`)).toEqual([`${rev}.0`]);
    expect(builder.model.v3.keys.get("kept")?.generations).toEqual([[`${rev}.0`]]);
  });

  it("lists a lease with its deadline and keys, and the v3 watchers with their group", () => {
    const { clock, v3, builder } = setup();
    const { ID } = v3.leaseGrant({ TTL: 10 });
    v3.put({ key: utf8("leased"), value: utf8("v"), lease: ID });
    const stream = v3.watch();
    stream.recv({ create_request: { key: utf8("a"), range_end: utf8("b") } });
    builder.build();
    expect(builder.model.v3.leases).toEqual([{ id: ID.toString(16), ttlSeconds: 10, expiryMs: clock.now() + 10_000, keys: ["leased"] }]);
    expect(builder.model.v3.watchers).toEqual([{ stream: 1, id: 0, key: "a", end: "b", minRev: 3, group: "synced" }]);
  });
});

describe("frames and snapshots", () => {
  it("add up to the model a snapshot gives, however they are cut", () => {
    const { clock, v2, v3, builder } = setup();
    const page = emptyModel();
    for (let step = 0; step < 40; step++) {
      v2.set(`/s/${step % 5}`, false, String(step), step % 3 === 0 ? { expireTimeMs: clock.now() + 700 } : {}, clock.now());
      put(v3, `k${step % 4}`, String(step));
      if (step === 20) v3.compact({ revision: 10 });
      clock.advance(300);
      v2.deleteExpiredKeys(clock.now());
      const frame = builder.build();
      if (frame !== undefined) applyFrame(page, JSON.parse(JSON.stringify(frame)) as Frame);
    }
    expect(plain(page)).toEqual(plain(builder.model));
    expect(plain(applyFrame(emptyModel(), snapshotFrame(builder.model)))).toEqual(plain(builder.model));
  });
});

describe("FrameLog", () => {
  function recorded(count: number, kept = 50, keyframeEvery = 10): { log: FrameLog; builder: FrameBuilder; models: Map<number, unknown>; v3: EtcdServer } {
    const { v3, builder } = setup();
    const log = new FrameLog(kept, keyframeEvery);
    const models = new Map<number, unknown>();
    for (let i = 0; i < count; i++) {
      put(v3, `key${i % 3}`, String(i));
      const frame = builder.build();
      if (frame === undefined) throw new Error("a put must make a frame");
      log.record(frame, builder.model);
      models.set(frame.seq, plain(builder.model));
    }
    return { log, builder, models, v3 };
  }

  it("resumes a page with the frames after the one it last applied", () => {
    const { log, builder } = recorded(30);
    const texts = log.resume(27, builder.model);
    expect(texts.map((text) => /^id: (\d+)/.exec(text)?.[1])).toEqual(["28", "29", "30"]);
  });

  it("sends a page that fell behind the kept frames one snapshot, marked behind", () => {
    const { log, builder } = recorded(120);
    expect(log.oldestSeq()).toBe(70);
    const texts = log.resume(12, builder.model);
    expect(texts).toHaveLength(1);
    const frame = decodeFrame((texts[0] as string).split("data: ")[1] as string);
    expect([frame.seq, frame.reset, frame.behind]).toEqual([120, true, true]);
  });

  it("replays any kept frame to exactly the model that existed then", () => {
    const { log, models } = recorded(120);
    for (const seq of [70, 71, 99, 100, 101, 119, 120]) expect(plain(log.stateAt(seq) as Model)).toEqual(models.get(seq));
    expect(log.stateAt(69)).toBeUndefined();
    expect(log.stateAt(121)).toBeUndefined();
  });
});

describe("the page's renderers", () => {
  it("draw a waiting watcher's pin red once its waitIndex is older than the ring keeps", () => {
    const model = emptyModel();
    model.v2.ring = { startIndex: 10, lastIndex: 1009, capacity: 1000, events: [] };
    model.v2.watchers = [{ conn: 1, key: "/w", recursive: false, stream: false, waitIndex: 9 }, { conn: 2, key: "/w", recursive: false, stream: false, waitIndex: 10 }];
    const html = draw.v2Ring(model);
    expect(html).toContain('class="pin red" data-wait="9"');
    expect(html).toContain('class="pin" data-wait="10"');
    expect(html).toContain("the requested history has been cleared [10/9]");
    expect(draw.v2Watchers(model)).toContain("2 watches on 2 TCP connections");
  });

  it("count a TTL down in whole seconds and say when it waits for the SYNC sweep", () => {
    const row = { path: "/t", dir: false, value: "x", createdIndex: 1, modifiedIndex: 1, expireTimeMs: 10_000, hidden: false };
    expect(draw.v2NodeRow(row, 7_500)).toContain('data-ttl="3"');
    expect(draw.v2NodeRow(row, 10_200)).toContain("waiting for SYNC");
  });

  it("draw generations with tombstones marked and escape keys", () => {
    const html = draw.v3KeyRow({ sortKey: "<k>", key: "<k>", generations: [["2.0", "3.0(t)"], []] });
    expect(html).toContain("&#60;k&#62;");
    expect(html).toContain('<span class="rev tomb">3.0(t)</span>');
    expect(html).toContain("{empty}");
  });

  it("fade log entries at or below the compaction revision", () => {
    expect(draw.v3LogRow({ main: 4, sub: 0, key: "a", value: "1", tombstone: false, lease: "" }, 5)).toContain("v3log kept");
    expect(draw.v3LogRow({ main: 6, sub: 0, key: "a", value: "1", tombstone: false, lease: "" }, 5)).not.toContain("kept");
  });
});

describe("viewModel helpers", () => {
  it("order the v2 tree with each directory followed by its children", () => {
    expect(["/a-b", "/a/b", "/a", "/b"].sort(treeOrder)).toEqual(["/a", "/a/b", "/a-b", "/b"]);
  });

  it("read keyIndex's drawing back into generations, oldest first", () => {
    expect(parseGenerations("{empty} {4.0, 5.0(t)} {1.0, 2.0, 3.0(t)}")).toEqual([["1.0", "2.0", "3.0(t)"], ["4.0", "5.0(t)"], []]);
  });
});

describe("LessonPlayer", () => {
  it("replays a step to the same frame every time it is shown, forward or back", async () => {
    const player = LessonPlayer.fromScript(shippedLessons().get("01-history-window") as string);
    const first = await player.goto(2);
    await player.goto(4);
    const again = await player.goto(2);
    expect(again).toEqual(first);
  });

  it("shows the stores after each step: the tombstone, then the compaction", async () => {
    const player = LessonPlayer.fromScript(shippedLessons().get("01-history-window") as string);
    const model = async (step: number): Promise<Model> => applyFrame(emptyModel(), (await player.goto(step)).frame);
    expect((await model(1)).v3.keys.get("app/config")?.generations).toEqual([["2.0", "3.0", "4.0"]]);
    expect((await model(3)).v3.keys.get("app/config")?.generations).toEqual([["2.0", "3.0", "4.0", "5.0(t)"], []]);
    expect((await model(3)).v2.nodes.has("/app/config")).toBe(false);
    const compacted = await model(4);
    expect(compacted.v3.compactRev).toBe(3);
    expect((await player.goto(4)).transcript.at(-1)).toBe("Error: etcdserver: mvcc: required revision has been compacted");
  });

  it("expires v2 keys one index each and a lease's keys in one revision", async () => {
    const player = LessonPlayer.fromScript(shippedLessons().get("02-ttl-vs-lease") as string);
    const before = applyFrame(emptyModel(), (await player.goto(2)).frame);
    const after = applyFrame(emptyModel(), (await player.goto(3)).frame);
    expect(after.v2.index - before.v2.index).toBe(3);
    expect(after.v3.rev - before.v3.rev).toBe(1);
    expect([after.v2.nodes.size, after.v3.leases.length]).toEqual([1, 0]); // only the /session directory is left
  });

  it("runs a step's simulated clock on when asked, and shows the same state for the same step and time", async () => {
    const player = LessonPlayer.fromScript(shippedLessons().get("02-ttl-vs-lease") as string);
    const fresh = await player.goto(1);
    const model = (view: { frame: Frame }): Model => applyFrame(emptyModel(), view.frame);
    expect(model(fresh).v2.nodes.has("/session/a")).toBe(true);
    const later = await player.goto(1, 2_000);
    expect(later.elapsedMs).toBe(2_000);
    expect(model(later).nowMs - model(fresh).nowMs).toBe(2_000);
    expect(model(later).v3.leases.length).toBe(1);
    // Past the 5 s TTLs: the v2 keys went at a SYNC sweep (one index each), the lease's keys in one revision.
    const expired = model(await player.goto(1, 5_600));
    expect([expired.v2.index - model(fresh).v2.index, expired.v3.rev - model(fresh).v3.rev]).toEqual([3, 1]);
    expect(expired.v3.leases.length).toBe(0);
    expect(await player.goto(1, 2_000)).toEqual(later); // back in time within a step: replayed, identical
    expect(await player.goto(1)).toEqual(fresh);
    expect((await player.goto(1, Number.NaN)).elapsedMs).toBe(0);
    await player.close();
  });

  it("parses a script into steps with their narration and commands", () => {
    expect(parseSteps("# T\n## one\n# say\nput a 1\n\n## two\nget a\n")).toEqual([
      { title: "one", narration: ["say"], lines: ["put a 1"] },
      { title: "two", narration: [], lines: ["get a"] },
    ]);
  });
});

describe("the shipped lessons", () => {
  it.each([...shippedLessons().keys()])("%s plays to its last step and back to its first", async (name) => {
    const player = LessonPlayer.fromScript(shippedLessons().get(name) as string);
    expect(player.steps.length).toBeGreaterThan(0);
    const last = await player.goto(player.steps.length);
    expect(last.step).toBe(player.steps.length);
    const first = await player.goto(1);
    expect(first).toEqual(await player.goto(1));
  });
});

import { describe, expect, it } from "vitest";
import { decodeFrame, encodeFrame } from "../../classroom/frameWire.js";
import type { Frame, RingEvent, TimelineRow, V2NodeRow, V3KeyRow, V3LogRow } from "../../classroom/viewModel.js";

// Every field of every packed row type is set, and typed: a field added to a row type must be added
// here to compile, and then the round trip fails until frameWire's column list names it too.
const node: V2NodeRow = { path: "/_hidden/ttl", dir: false, value: "v", createdIndex: 4, modifiedIndex: 7, expireTimeMs: 1_500, hidden: true };
const ring: RingEvent = { index: 7, action: "compareAndSwap", key: "/_hidden/ttl" };
const key: V3KeyRow = { sortKey: "\u00ff", key: "\\xff", generations: [["2.0", "3.0(t)"], []] };
const log: V3LogRow = { main: 3, sub: 1, key: "\\xff", value: "", tombstone: true, lease: "694d7e1f1c5b2a05" };
const request: TimelineRow = {
  n: 12,
  transport: "grpc",
  seq: 9,
  atMs: 1_796_393_658_064,
  conn: 4,
  api: "v3",
  method: "/etcdserverpb.KV/Put",
  target: "foo",
  status: 0,
  v2Index: 3,
  v3Rev: 22,
  durationMs: 1,
};

const full: Frame = {
  seq: 9,
  nowMs: 1_000,
  reset: true,
  behind: true,
  v2: { index: 7, upsert: [node], remove: ["/gone"], ring: { startIndex: 1, lastIndex: 7, capacity: 1000, append: [ring] }, watchers: [] },
  v3: {
    rev: 22,
    compactRev: 2,
    dbSizeBytes: 20_480,
    upsert: [key],
    remove: ["old"],
    logAppend: [log],
    logReset: [log, { ...log, main: 4, sub: 0, tombstone: false, lease: "" }],
    logHidden: 3,
    leases: [{ id: "694d7e1f1c5b2a05", ttlSeconds: 10, expiryMs: 11_000, keys: ["\\xff"] }],
    watchers: [{ stream: 1, id: 0, key: "a", end: "b", minRev: 5, group: "unsynced" }],
  },
  connections: [{ conn: 4, remote: "127.0.0.1:5", userAgent: "etcdctl", requests: 2, v2Watches: 0, v3Streams: 1 }],
  timelineAppend: [request],
};

describe("the classroom feed's wire form", () => {
  it("gives back the frame it was given, every field of every row", () => {
    expect(decodeFrame(encodeFrame(full))).toEqual(full);
  });

  it("leaves out what a frame leaves out, and keeps a frame with nothing in it as small as it was", () => {
    const quiet: Frame = { seq: 10, nowMs: 1_250 };
    expect(decodeFrame(encodeFrame(quiet))).toEqual(quiet);
    expect(encodeFrame(quiet)).toBe(JSON.stringify(quiet));
    const noRing: Frame = { seq: 11, nowMs: 1_500, v2: { index: 8, upsert: [], remove: [] } };
    expect(decodeFrame(encodeFrame(noRing))).toEqual(noRing);
  });

  it("sends a busy frame in about half the bytes of plain JSON, and keeps reset and behind readable", () => {
    const busy: Frame = {
      seq: 12,
      nowMs: 2_000,
      v3: {
        rev: 500,
        compactRev: -1,
        dbSizeBytes: 20_480,
        upsert: Array.from({ length: 400 }, (_, i) => ({ sortKey: `key/${i}`, key: `key/${i}`, generations: [[`${i + 2}.0`, `${i + 10_002}.0`]] })),
        remove: [],
        logAppend: Array.from({ length: 400 }, (_, i) => ({ main: i + 10_002, sub: 0, key: `key/${i}`, value: `r1-${i}`, tombstone: false, lease: "" })),
      },
      timelineAppend: Array.from({ length: 400 }, (_, i) => ({ ...request, n: 10_000 + i, transport: "http" as const, method: "POST", target: "/v3/kv/put", status: 200 })),
    };
    const wire = encodeFrame(busy);
    expect(decodeFrame(wire)).toEqual(busy);
    expect(wire.length / JSON.stringify(busy).length).toBeLessThan(0.6);
    expect(encodeFrame(full)).toContain('"reset":true,"behind":true');
  });
});

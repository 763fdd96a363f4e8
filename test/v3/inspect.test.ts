import { describe, expect, it } from "vitest";
import { utf8 } from "../../shared/bytes.js";
import { Applier } from "../../v3/apply.js";
import { KVStore } from "../../v3/kvstore.js";
import { StoreInspector, describeTrace } from "../../v3/inspect.js";

/** foo is written at 60, 64 and deleted at 70; other keys fill the revisions in between. */
function lessonStore(): { store: KVStore; inspector: StoreInspector } {
  const store = new KVStore();
  const applier = new Applier({ kv: store });
  for (let rev = 2; rev <= 72; rev++) {
    if (rev === 60) applier.put({ key: utf8("foo"), value: utf8("first") });
    else if (rev === 64) applier.put({ key: utf8("foo"), value: utf8("bar") });
    else if (rev === 70) applier.deleteRange({ key: utf8("foo") });
    else applier.put({ key: utf8(`other${rev}`), value: utf8("x") });
  }
  return { store, inspector: new StoreInspector(store) };
}

describe("StoreInspector.traceGet", () => {
  it("shows get --rev=66 as an index lookup then a backend lookup", () => {
    const { inspector } = lessonStore();
    const trace = inspector.traceGet("foo", 66);
    expect(trace.index).toMatchObject({ found: true, modified: { main: 64, sub: 0 }, created: { main: 60, sub: 0 }, version: 2 });
    expect(trace.index.diagram).toBe("{empty} {60.0, 64.0, 70.0(t)}");
    expect(trace.backend?.revisionKey).toBe("0000000000000040_0000000000000000");
    expect(describeTrace(trace)).toEqual([
      'step 1  tree index  "foo" generations {empty} {60.0, 64.0, 70.0(t)}',
      "                    newest revision ≤ 66 → 64.0 (created 60, version 2)",
      "step 2  backend     key 0000000000000040_0000000000000000 → foo=bar (create 60, mod 64, ver 2)",
    ]);
  });

  it("stops after step 1 when the key was deleted by then", () => {
    const { inspector } = lessonStore();
    const trace = inspector.traceGet("foo", 71);
    expect(trace.index.found).toBe(false);
    expect(trace.backend).toBeUndefined();
    expect(describeTrace(trace)[1]).toContain("not found");
  });

  it("refuses compacted and future revisions like a read would", () => {
    const { store, inspector } = lessonStore();
    store.compact(65);
    expect(inspector.traceGet("foo", 64).refused).toBe("compacted");
    expect(inspector.traceGet("foo", 65).index.modified).toEqual({ main: 64, sub: 0 });
    expect(inspector.traceGet("foo", 99).refused).toBe("future");
  });
});

describe("StoreInspector views", () => {
  it("lists backend entries in revision order, decoded", () => {
    const { inspector } = lessonStore();
    const entries = inspector.backendEntries(69, 71);
    expect(entries.map((e) => [e.revision.main, e.tombstone, e.revisionKey])).toEqual([
      [69, false, "0000000000000045_0000000000000000"],
      [70, true, "0000000000000046_0000000000000000t"],
    ]);
  });

  it("reports the compacted revision, the backend size and the keyIndex", () => {
    const { store, inspector } = lessonStore();
    const before = inspector.backendSizeBytes();
    expect(inspector.compactedRevision()).toBe(-1);
    store.compact(70);
    expect(inspector.compactedRevision()).toBe(70);
    expect(inspector.backendSizeBytes()).toBeLessThan(before);
    expect(inspector.keyIndex("foo")).toBeUndefined();
    expect(inspector.keyIndex("other71")?.diagram).toBe("{71.0}");
    expect(inspector.indexedKeys().length).toBe(68);
    expect(inspector.currentRevision()).toBe(72);
  });
});

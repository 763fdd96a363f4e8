/**
 * Lesson 3 · How a get works.
 *
 *   v2: walk the tree                         v3: two lookups
 *   "/" → "services" → "web" → "2"            index (B-tree of keyIndex): "services/web/2" → revision 6.0
 *   one children-map lookup per component     backend (key bucket by revision): 6.0 → KeyValue
 *
 * v2 finds a key by walking its path from the root; v3 never walks anything: its keys are flat, so
 * one B-tree lookup finds the key's revisions, and the revision is the backend key of the value.
 * Reading an old revision is the same two steps with another revision.
 */
import type { Lesson } from "./lesson.js";
import { must, rangeOf, v2Cell, v3Cell } from "./lessonKit.js";
import { fromUtf8, utf8 } from "../shared/bytes.js";
import { runIfMain } from "./standalone.js";

const KEY = "services/web/2";

export const lesson: Lesson = {
  id: 3,
  slug: "how-a-get-works",
  title: "How a get works",
  lesson: "A v2 get walks the tree one path component at a time. A v3 range looks the key up in an in-memory B-tree index, which gives a revision, and reads the value stored under that revision in the backend.",
  youWillSee: [
    `a get of ${KEY} traced step by step in both stores`,
    "the key's generations in v3's index, and a read at an old revision taking the same two steps",
    "what the path depth costs each store",
  ],
  tryChanging: ["KEY (a deeper path, or a key that was deleted)", "the writes before the trace, to grow more generations"],
  async run(ctx) {
    const target = await ctx.openTarget();
    const { v2, v3 } = target;

    ctx.step("Write a few services, change one of them, delete and recreate it", `Both stores get the same writes; ${KEY} is written, overwritten, deleted and written again.`);
    const writes: Array<[string, string | null]> = [
      ["services/web/1", "10.0.0.1"],
      [KEY, "10.0.0.2"],
      ["services/web/3", "10.0.0.3"],
      ["config/timeout", "5s"],
      [KEY, "10.0.0.22"],
      [KEY, null],
      [KEY, "10.0.0.222"],
    ];
    let oldRevision = 0;
    for (const [key, value] of writes) {
      if (value === null) {
        must(await v2.delete(`/${key}`), "v2 delete");
        must(await v3.deleteRange({ key: utf8(key) }), "v3 delete");
      } else {
        must(await v2.set(`/${key}`, value), "v2 set");
        const put = must(await v3.put({ key: utf8(key), value: utf8(value) }), "v3 put");
        if (value === "10.0.0.22") oldRevision = put.header.revision;
      }
    }
    const get2 = await v2.get(`/${KEY}`);
    const get3 = await v3.range(rangeOf(KEY));
    ctx.table(
      [
        { label: `get ${KEY}`, v2: v2Cell(get2, (e) => `${e.node.value} (modifiedIndex ${e.node.modifiedIndex})`), v3: v3Cell(get3, (r) => `${fromUtf8(r.kvs[0]?.value ?? new Uint8Array())} (mod_revision ${r.kvs[0]?.mod_revision})`) },
      ],
      { labelHeader: "request" },
    );

    const v2i = target.v2Internals;
    const v3i = target.v3Internals;
    if (v2i === undefined || v3i === undefined) {
      ctx.limitation("tracing a read needs the in-process stores (their tree, index and backend); this target shows only the answers above");
      return;
    }

    ctx.step(`Trace get ${KEY}`, "Each row is one step the store takes. v2's steps come from its tree, v3's from its index and backend.");
    const trace2 = v2i.traceGet(`/${KEY}`, false);
    const trace3 = v3i.traceRange(utf8(KEY), 0);
    const rows = [];
    for (let i = 0; i < Math.max(trace2.length, trace3.length); i++) {
      const a = trace2[i];
      const b = trace3[i];
      rows.push({ label: `step ${i + 1}`, v2: a === undefined ? "" : a.detail, v3: b === undefined ? "" : `[${b.layer}] ${b.detail}` });
    }
    ctx.table(rows, { labelHeader: "" });

    ctx.step(`Read the past: get ${KEY} --rev ${oldRevision}`, "v3 takes the same two steps with another revision: the index picks the newest revision ≤ the one asked for, in the generation alive then. v2 has no past to read.");
    const traceOld = v3i.traceRange(utf8(KEY), oldRevision);
    ctx.table(
      traceOld.map((step, i) => ({ label: `step ${i + 1}`, v2: i === 0 ? "(no reads at an old index)" : "", v3: `[${step.layer}] ${step.detail}` })),
      { labelHeader: "" },
    );

    ctx.step("What depth costs", "The same lookup for keys one to five levels deep.");
    const depthRows = [];
    const v2Steps: number[] = [];
    const v3Steps: number[] = [];
    for (let depth = 1; depth <= 5; depth++) {
      const parts = Array.from({ length: depth }, (_, i) => (i === 0 ? `k${depth}` : String.fromCharCode(97 + i)));
      const key = parts.join("/");
      must(await v2.set(`/${key}`, "x"), "set");
      must(await v3.put({ key: utf8(key), value: utf8("x") }), "put");
      const a = v2i.traceGet(`/${key}`, false).filter((s) => s.detail.startsWith("look up")).length;
      const b = v3i.traceRange(utf8(key), 0).filter((s) => s.layer !== "request").length;
      v2Steps.push(a);
      v3Steps.push(b);
      depthRows.push({ label: key, v2: `${a} children-map ${a === 1 ? "lookup" : "lookups"}`, v3: `${b} steps: index lookup, keyIndex.get, backend read` });
    }
    ctx.table(depthRows, { labelHeader: "key" });
    ctx.measure("v2LookupsAtDepth5", v2Steps[4] ?? 0);
    ctx.measure("v3StepsAtDepth5", v3Steps[4] ?? 0);
    ctx.claim({
      id: "v2-walks-v3-looks-up",
      claim: "v2's lookups grow with the path depth; v3's steps do not",
      v2Value: v2Steps.join(", "),
      v3Value: v3Steps.join(", "),
      holds: v2Steps.every((n, i) => n === i + 1) && v3Steps.every((n) => n === v3Steps[0]),
    });
    const oldStep = traceOld.find((s) => s.layer === "backend");
    ctx.claim({
      id: "old-revision-same-path",
      claim: "a read at an old revision takes the same index → backend path and finds the old value",
      v2Value: null,
      v3Value: oldStep === undefined ? "not found" : "found",
      holds: oldStep !== undefined && oldStep.detail.includes("10.0.0.22\""),
    });

    ctx.whatJustHappened(
      "v2's store is a tree of nodes, each directory a map from child name to node; a get follows the path from the root, one map lookup per component, then copies the node out (and, for a recursive get, everything below it).",
      "v3's treeIndex is a B-tree over whole keys. Each entry is a keyIndex listing the key's revisions in generations (one per life of the key, ended by a tombstone). The revision found there is, byte for byte, the key under which the backend stores the KeyValue. That is why reading the past costs nothing extra: any revision not yet compacted is still a backend key.",
    );
    ctx.myth("v3 stores the current value in its index.", "The index holds only revisions; every value, current or old, lives in the backend under its revision.");
  },
};

await runIfMain(import.meta.url, lesson);

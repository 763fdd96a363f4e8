/**
 * Lesson 13 · Persistence.
 *
 *   v2: the store lives in memory                       v3: the store lives in its backend
 *   every SNAPSHOT_COUNT writes: save() the WHOLE        every write: put one revision into the
 *   store as JSON (tree + 1000-event history)            key bucket (tens of bytes)
 *   crash: load the last snapshot, then replay the       crash: reopen the backend, rebuild the index
 *   raft log written since (up to SNAPSHOT_COUNT)        by scanning the key bucket
 *
 * Both also keep a raft WAL; this lesson counts what each store itself must write and read.
 * Everything is bytes and entries, measured from the stores, never time.
 */
import type { Lesson } from "./lesson.js";
import { utf8 } from "../shared/bytes.js";
import { must } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";

/** etcd 3.4's --snapshot-count defaults to 100000; scaled down so the lesson stays quick. */
export const SNAPSHOT_COUNT = 1000;
export const STORE_SIZES = [1000, 2000, 4000, 8000];
/** The crash happens this many writes after the last snapshot. */
export const WRITES_AFTER_SNAPSHOT = 600;
const VALUE = "x".repeat(32);

export const lesson: Lesson = {
  id: 13,
  slug: "persistence",
  title: "Persistence",
  lesson: "v2 keeps its store in memory and persists it by saving the whole store as one JSON snapshot every N writes; v3 writes each change into its backend. So v2's persistence cost grows with the size of the store, and a crash between snapshots leaves v2 with an old copy to replay forward from.",
  youWillSee: [
    `what each store writes to persist ${SNAPSHOT_COUNT} writes, for stores of ${STORE_SIZES.join(", ")} keys`,
    "a crash between two snapshots, and what each store has when it comes back",
    "recovery work as the store grows: snapshot bytes to parse vs backend entries to scan",
  ],
  tryChanging: ["SNAPSHOT_COUNT", "STORE_SIZES", "WRITES_AFTER_SNAPSHOT"],
  async run(ctx) {
    const probe = await ctx.openTarget();
    if (probe.v2Internals === undefined || probe.v3Internals === undefined) {
      ctx.limitation("snapshots and backend sizes are inside the stores; this target cannot show them");
      return;
    }

    ctx.step(
      "Grow the store and measure what persisting costs",
      `For each size, write that many distinct keys (32-byte values) to both stores. v2's cost per ${SNAPSHOT_COUNT} writes is one save() of the whole store; v3's is ${SNAPSHOT_COUNT} backend entries.`,
    );
    const snapshotBytes: number[] = [];
    const v3BytesPer: number[] = [];
    const entriesScanned: number[] = [];
    const nodesRebuilt: number[] = [];
    const rows = [];
    for (const size of STORE_SIZES) {
      const target = await ctx.openTarget();
      const v2i = target.v2Internals;
      const v3i = target.v3Internals;
      if (v2i === undefined || v3i === undefined) return;
      for (let i = 0; i < size; i++) {
        must(await target.v2.set(`/data/k${i}`, VALUE), "set");
        must(await target.v3.put({ key: utf8(`data/k${i}`), value: utf8(VALUE) }), "put");
      }
      const snapshot = v2i.save();
      const backend = v3i.backendSize();
      const bytesPerWrite = backend.bytes / backend.revisions;
      snapshotBytes.push(snapshot.length);
      v3BytesPer.push(Math.round(bytesPerWrite * SNAPSHOT_COUNT));
      entriesScanned.push(v3i.restartFromBackend().entriesScanned);
      nodesRebuilt.push(v2i.recoverCopy(snapshot).nodes);
      rows.push({
        label: `${size} keys`,
        v2: `${snapshot.length} bytes per snapshot`,
        v3: `${Math.round(bytesPerWrite * SNAPSHOT_COUNT)} bytes per ${SNAPSHOT_COUNT} writes (${backend.bytes} bytes in all)`,
      });
      ctx.progress(rows.length, STORE_SIZES.length + 1);
    }
    ctx.table(rows, { labelHeader: "store size", title: `Bytes written to persist ${SNAPSHOT_COUNT} writes` });
    ctx.table(
      STORE_SIZES.map((size, i) => ({
        label: `${size} keys`,
        v2: `parse ${snapshotBytes[i]} bytes, rebuild ${nodesRebuilt[i]} nodes`,
        v3: `scan ${entriesScanned[i]} key-bucket entries`,
      })),
      { labelHeader: "store size", title: "Recovery work on restart (measured by recovering a copy of each store)" },
    );

    ctx.step(
      "Crash between two snapshots",
      `Write ${SNAPSHOT_COUNT} keys, take the snapshot etcd would take, write ${WRITES_AFTER_SNAPSHOT} more, then crash. v2 comes back from its last snapshot; v3 reopens its backend and rebuilds the index.`,
    );
    const crash = await ctx.openTarget();
    const c2 = crash.v2Internals;
    const c3 = crash.v3Internals;
    if (c2 === undefined || c3 === undefined) return;
    let lastSnapshot = "";
    let indexBefore = 0;
    let revisionBefore = 0;
    for (let i = 1; i <= SNAPSHOT_COUNT + WRITES_AFTER_SNAPSHOT; i++) {
      indexBefore = must(await crash.v2.set(`/data/k${i}`, VALUE), "set").etcdIndex;
      revisionBefore = must(await crash.v3.put({ key: utf8(`data/k${i}`), value: utf8(VALUE) }), "put").header.revision;
      if (i % SNAPSHOT_COUNT === 0) lastSnapshot = c2.save();
    }
    const recovered2 = c2.recoverCopy(lastSnapshot);
    const recovered3 = c3.restartFromBackend();
    ctx.table(
      [
        { label: "before the crash", v2: `index ${indexBefore}`, v3: `revision ${revisionBefore}` },
        { label: "what the store reloads", v2: `snapshot: ${lastSnapshot.length} bytes of JSON`, v3: `backend: ${recovered3.entriesScanned} key-bucket entries scanned` },
        { label: "state after reloading", v2: `index ${recovered2.index}, ${recovered2.nodes} nodes`, v3: `revision ${recovered3.revision}, ${recovered3.keys} keys` },
        { label: "left to replay from the raft log", v2: `${indexBefore - recovered2.index} entries`, v3: `${revisionBefore - recovered3.revision} entries` },
      ],
      { labelHeader: "" },
    );
    ctx.progress(STORE_SIZES.length + 1, STORE_SIZES.length + 1);
    ctx.measure("v2ReplayAfterCrash", indexBefore - recovered2.index);
    ctx.measure("v3ReplayAfterCrash", revisionBefore - recovered3.revision);

    const first = snapshotBytes[0] ?? 1;
    const last = snapshotBytes[snapshotBytes.length - 1] ?? 0;
    const v3First = v3BytesPer[0] ?? 1;
    const v3Last = v3BytesPer[v3BytesPer.length - 1] ?? 0;
    ctx.claim({
      id: "snapshot-grows-with-store",
      claim: `persisting ${SNAPSHOT_COUNT} writes costs v2 a whole-store snapshot that grows with the store; v3 writes the same bytes per write at any size`,
      v2Value: `${first} → ${last} bytes`,
      v3Value: `${v3First} → ${v3Last} bytes`,
      holds: last > first * 3 && Math.abs(v3Last - v3First) / v3First < 0.2,
    });
    ctx.claim({
      id: "crash-between-snapshots",
      claim: `after a crash ${WRITES_AFTER_SNAPSHOT} writes past the last snapshot, v2 reloads an older store and must replay ${WRITES_AFTER_SNAPSHOT} log entries; v3's backend already holds every write`,
      v2Value: indexBefore - recovered2.index,
      v3Value: revisionBefore - recovered3.revision,
      holds: indexBefore - recovered2.index === WRITES_AFTER_SNAPSHOT && revisionBefore === recovered3.revision,
    });
    ctx.claim({
      id: "recovery-grows",
      claim: "recovery work grows with the store in both: v2 parses a bigger snapshot, v3 scans more backend entries to rebuild its index",
      v2Value: `${first} → ${last} bytes`,
      v3Value: `${entriesScanned[0]} → ${entriesScanned[entriesScanned.length - 1]} entries`,
      holds: last > first && (entriesScanned[entriesScanned.length - 1] ?? 0) > (entriesScanned[0] ?? 0),
    });
    ctx.limitation(
      "the in-process v3 backend commits every write at once; real etcd batches backend commits (every 100 ms or 10,000 writes) and replays the raft log after the backend's consistent_index, so a real v3 crash also replays a few entries",
    );

    ctx.whatJustHappened(
      `v2's persistent form is a copy of the whole store: every ${SNAPSHOT_COUNT} writes etcd serialises the entire tree plus the 1000-event history, so the bytes written per ${SNAPSHOT_COUNT} writes grew from ${first} to ${last} as the store grew. Between snapshots only the raft log has the changes; after the crash v2 came back at index ${recovered2.index} and needed ${indexBefore - recovered2.index} log entries to catch up.`,
      `v3's backend is the store: each write added one revision of about ${Math.round(v3Last / SNAPSHOT_COUNT)} bytes, whatever the store's size, and after the crash the reopened backend already held revision ${recovered3.revision}. Its recovery cost is the index rebuild: one scan of the key bucket (${entriesScanned[entriesScanned.length - 1]} entries for ${STORE_SIZES[STORE_SIZES.length - 1]} keys).`,
    );
    ctx.myth(
      "etcd v2 loses the writes made since its last snapshot when it crashes.",
      "It does not: the raft WAL has them and they are replayed. What v2 pays is rewriting the whole store at every snapshot and replaying up to snapshot-count entries on every restart.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

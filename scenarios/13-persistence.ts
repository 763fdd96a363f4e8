/**
 * Lesson 13 · Persistence, measured on etcdsim's real data dir.
 *
 * Each step starts an etcdsim member on a fresh data dir under the OS temp dir (the code `npm run
 * serve` runs: `member/wal/*.wal`, `member/snap/*.snap`, `member/snap/db`), drives it through the
 * workload interface over loopback (v2 HTTP, v3 gRPC), reads the files, and removes the dir:
 *
 *   every write, v2 or v3      → one WAL entry, fdatasynced before the answer   (100-200 bytes)
 *   every --snapshot-count     → a `.snap`: the v2 store + membership, never v3 keys
 *   every 100 ms               → the v3 backend commits its batch (keyed by revision)
 *   kill -9, then start        → newest `.snap`, open the db, replay the WAL after it: nothing lost
 *
 * Determinism: the member's clock is simulated, so the backend commits only when the lesson lets
 * 100 ms pass or a snapshot forces it, and every byte, file and entry count below is the same on every
 * run (the golden output pins it). Recovery *time* is wall-clock and is not: on a shared machine the
 * same start takes 40 ms or 400 ms, and at lesson sizes the fixed cost of starting a member hides the
 * store's share. So the lesson shows and checks the recovery *work* (bytes of `.snap` parsed, WAL
 * entries replayed, keys rebuilt from the db), which is what the time is spent on, and leaves the
 * milliseconds to `npm run bench -- durable` (a restart over 1M revisions, timed against a baseline).
 *
 * Against `--target` (a real etcd elsewhere) the files are not on this machine: the lesson says so
 * and stops. test/durability/lesson13Real.test.ts checks the same headline claims on a real etcd 3.4
 * started by the test (WAL growth per write, `.snap` cadence of a v3-only workload, kill -9).
 */
import type { Lesson, LessonContext } from "./lesson.js";
import { utf8 } from "../shared/bytes.js";
import { DataDirEtcd } from "./dataDirEtcd.js";
import { must } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";

/** etcd 3.4's --snapshot-count defaults to 100,000; scaled down so the lesson stays quick. */
export const SNAPSHOT_COUNT = 20;
/** Writes per API when measuring bytes per write. */
export const WRITES = 20;
/** Store sizes (keys per API) for the recovery step. */
export const STORE_SIZES = [200, 600, 1800];
const VALUE = "x".repeat(32);
/** Keys per v3 txn when loading the recovery stores (one WAL entry each). */
const TXN_KEYS = 100;

export const lesson: Lesson = {
  id: 13,
  slug: "persistence",
  title: "Persistence",
  lesson:
    "In etcd 3.x both APIs go through one write-ahead log: every v2 and every v3 write is appended and fdatasynced before it is answered. What differs is the store behind the log: v2's tree is saved whole into a .snap every --snapshot-count entries, v3's backend gets each revision as a row. A kill -9 between snapshots loses neither.",
  youWillSee: [
    `bytes appended to the WAL per v2 write and per v3 write, and the v3 backend file's growth (${WRITES} writes each)`,
    `the .snap files cut every ${SNAPSHOT_COUNT} entries, for a v2 workload and a v3-only one`,
    "the backend file after a compaction and a defrag",
    "kill -9 between two snapshots, and what each API has after the restart",
    `recovery work as the store grows (${STORE_SIZES.join(", ")} keys)`,
  ],
  tryChanging: ["SNAPSHOT_COUNT", "WRITES", "STORE_SIZES"],
  async run(ctx) {
    try {
      await persistenceSteps(ctx);
    } finally {
      // A step that throws leaves its members' data dirs behind; the lesson removes them all.
      await DataDirEtcd.removeLeftovers();
    }
  },
};

/** The lesson's steps (run): every member they start is removed by the end, or by run's finally. */
async function persistenceSteps(ctx: LessonContext): Promise<void> {
  const probe = await ctx.openTarget();
  if (probe.v2Internals === undefined || probe.v3Internals === undefined) {
    ctx.limitation("this lesson reads the data dir's files, which are on the machine running the lessons only for etcdsim's own member; a real etcd's are checked by the durability tests");
    return;
  }
  await probe.close();
  const total = 5;

  // ── 1. bytes per write ─────────────────────────────────────────────────────────────────────
  ctx.step(
    "Bytes written per write",
    `A fresh member on a data dir. Write ${WRITES} v2 keys, then ${WRITES} v3 keys (32-byte values), and count the bytes appended to member/wal; then let the 100 ms batch interval pass and see member/snap/db.`,
  );
  const m1 = await DataDirEtcd.start({ snapshotCount: 1_000_000 });
  const wal0 = m1.walBytes();
  for (let i = 0; i < WRITES; i++) must(await m1.target.v2.set(`/data/k${String(i).padStart(5, "0")}`, VALUE), "set");
  const wal1 = m1.walBytes();
  m1.commitBackend();
  const db0 = m1.dbFileBytes();
  for (let i = 0; i < WRITES; i++) must(await m1.target.v3.put({ key: utf8(`data/k${String(i).padStart(5, "0")}`), value: utf8(VALUE) }), "put");
  const wal2 = m1.walBytes();
  const dbBefore = m1.dbFileBytes();
  m1.commitBackend();
  const db1 = m1.dbFileBytes();
  const v2PerWrite = (wal1 - wal0) / WRITES;
  const v3PerWrite = (wal2 - wal1) / WRITES;
  ctx.table(
    [
      { label: "WAL bytes appended", v2: `${wal1 - wal0} (${v2PerWrite.toFixed(1)} per write)`, v3: `${wal2 - wal1} (${v3PerWrite.toFixed(1)} per write)` },
      { label: "backend file (db)", v2: "unchanged: v2 keys are not in it", v3: `${db0} → ${dbBefore} before the commit → ${db1} after it` },
    ],
    { labelHeader: "", title: `${WRITES} writes each, on the real files` },
  );
  ctx.measure("walBytesPerV2Write", Math.round(v2PerWrite));
  ctx.measure("walBytesPerV3Write", Math.round(v3PerWrite));

  // Compaction and defrag on the same member: revisions dropped, pages freed, the file rewritten.
  // Ten txns each rewrite every key with a 512-byte value: 10 × WRITES rows, all but the last WRITES
  // of them garbage once compacted.
  let compactAt = 0;
  for (let round = 0; round < 10; round++) {
    const success = [];
    for (let i = 0; i < WRITES; i++) success.push({ request_put: { key: utf8(`data/k${String(i).padStart(5, "0")}`), value: utf8(`${round}`.repeat(512)) } });
    compactAt = must(await m1.target.v3.txn({ compare: [], success, failure: [] }), "txn").header.revision;
  }
  m1.commitBackend();
  const beforeCompact = must(await m1.target.v3.status(), "status");
  must(await m1.target.v3.compact({ revision: compactAt, physical: true }), "compact");
  m1.commitBackend();
  const afterCompact = must(await m1.target.v3.status(), "status");
  await m1.member.backend.defragFile();
  const afterDefrag = must(await m1.target.v3.status(), "status");
  ctx.table(
    [
      { label: `${WRITES} keys rewritten 10 times`, v2: "", v3: `file ${beforeCompact.dbSize}, in use ${beforeCompact.dbSizeInUse}` },
      { label: "compacted to the newest revision", v2: "", v3: `file ${afterCompact.dbSize}, in use ${afterCompact.dbSizeInUse}` },
      { label: "defragmented", v2: "", v3: `file ${afterDefrag.dbSize}, in use ${afterDefrag.dbSizeInUse}` },
    ],
    { labelHeader: "v3 backend", title: "Compaction frees pages inside the file; defrag gives them back (etcd's endpoint status)" },
  );
  await m1.close();
  m1.remove();
  ctx.progress(1, total);

  // ── 2. snapshots ───────────────────────────────────────────────────────────────────────────
  ctx.step(
    "Snapshots every --snapshot-count entries",
    `Two fresh members with --snapshot-count ${SNAPSHOT_COUNT}: one gets ${3 * SNAPSHOT_COUNT} v2 writes, the other ${3 * SNAPSHOT_COUNT} v3 writes only. Each .snap holds the v2 store and the membership, never v3 keys.`,
  );
  const snaps: Record<"v2" | "v3", number[]> = { v2: [], v3: [] };
  // The two members run side by side (each one's writes in order, so its files are the same every run).
  await Promise.all(
    (["v2", "v3"] as const).map(async (api) => {
      const m = await DataDirEtcd.start({ snapshotCount: SNAPSHOT_COUNT });
      for (let i = 0; i < 3 * SNAPSHOT_COUNT; i++) {
        const key = `data/k${String(i).padStart(5, "0")}`;
        if (api === "v2") must(await m.target.v2.set(`/${key}`, VALUE), "set");
        else must(await m.target.v3.put({ key: utf8(key), value: utf8(VALUE) }), "put");
      }
      snaps[api] = m.snapFiles().map((file) => file.bytes);
      await m.close();
      m.remove();
    }),
  );
  ctx.table(
    [
      { label: ".snap files cut", v2: snaps.v2.length, v3: snaps.v3.length },
      { label: "their sizes (bytes)", v2: snaps.v2.join(", "), v3: snaps.v3.join(", ") },
    ],
    { labelHeader: "", title: `${3 * SNAPSHOT_COUNT} writes, --snapshot-count ${SNAPSHOT_COUNT}` },
  );
  ctx.progress(2, total);

  // ── 3. kill -9 between snapshots ──────────────────────────────────────────────────────────
  // Interleaved, 2 entries per pair after the 4 start-up entries: the kill lands about half way between two .snap files.
  const crashWrites = Math.floor((SNAPSHOT_COUNT * 3) / 4);
  ctx.step(
    "kill -9 between two snapshots",
    `A member with --snapshot-count ${SNAPSHOT_COUNT} takes ${crashWrites} v2 and ${crashWrites} v3 writes, interleaved, and is killed (in process: no backend commit, no WAL sync, no snapshot on the way out). A new member starts on the same data dir.`,
  );
  const c1 = await DataDirEtcd.start({ snapshotCount: SNAPSHOT_COUNT });
  let lastIndex = 0;
  let lastRevision = 0;
  for (let i = 0; i < crashWrites; i++) {
    const key = `data/k${String(i).padStart(5, "0")}`;
    lastIndex = must(await c1.target.v2.set(`/${key}`, `${VALUE}${i}`), "set").etcdIndex;
    lastRevision = must(await c1.target.v3.put({ key: utf8(key), value: utf8(`${VALUE}${i}`) }), "put").header.revision;
  }
  const snapsBefore = c1.snapFiles();
  await c1.kill();
  const c2 = await c1.restart();
  const replayed = c2.member.dir.entries.length;
  const snapLoaded = c2.member.dir.snapshot?.index ?? 0;
  let v2Present = 0;
  let v3Present = 0;
  for (let i = 0; i < crashWrites; i++) {
    const key = `data/k${String(i).padStart(5, "0")}`;
    const got2 = await c2.target.v2.get(`/${key}`);
    if (got2.ok && got2.value.node.value === `${VALUE}${i}`) v2Present++;
    const got3 = await c2.target.v3.range({ key: utf8(key) });
    if (got3.ok && got3.value.kvs.length === 1 && Buffer.from(got3.value.kvs[0]?.value ?? []).toString() === `${VALUE}${i}`) v3Present++;
  }
  const status = must(await c2.target.v3.status(), "status");
  const next2 = must(await c2.target.v2.set("/data/after", VALUE), "set").etcdIndex;
  const next3 = must(await c2.target.v3.put({ key: utf8("data/after"), value: utf8(VALUE) }), "put").header.revision;
  await c2.close();
  c2.remove();
  ctx.table(
    [
      { label: "acknowledged before the kill", v2: `${crashWrites} keys, index ${lastIndex}`, v3: `${crashWrites} keys, revision ${lastRevision}` },
      { label: "what the restart loaded", v2: `.snap at raft index ${snapLoaded} (${snapsBefore.length} cut)`, v3: `db (revision ${status.header.revision})` },
      { label: "WAL entries after the .snap", v2: `${replayed}, replayed (v2 always)`, v3: `the same ${replayed}: v3 ones past the db's consistent_index` },
      { label: "acknowledged writes present", v2: `${v2Present} of ${crashWrites}`, v3: `${v3Present} of ${crashWrites}` },
      { label: "next write gets", v2: `index ${next2} (the restart logged its attributes: one index)`, v3: `revision ${next3}` },
    ],
    { labelHeader: "" },
  );
  ctx.measure("v2LostAfterKill", crashWrites - v2Present);
  ctx.measure("v3LostAfterKill", crashWrites - v3Present);
  ctx.progress(3, total);

  // ── 4. recovery against store size ────────────────────────────────────────────────────────
  ctx.step(
    "Recovery as the store grows",
    `For each size, load that many v2 keys (straight into the member's log, all in flight together) and v3 keys (in txns of ${TXN_KEYS}) into a member, let it cut a .snap (as it would every --snapshot-count entries), stop it cleanly and start a new one on the same dir. The table shows the work the start did; its time differs from run to run and is left to the benchmarks (npm run bench -- durable).`,
  );
  const snapBytes: number[] = [];
  const rebuilt: number[] = [];
  const rows = [];
  for (const size of STORE_SIZES) {
    const m = await DataDirEtcd.start({ snapshotCount: 1_000_000 });
    await m.loadV2(Array.from({ length: size }, (_, i) => `/data/k${String(i).padStart(6, "0")}`), VALUE);
    for (let start = 0; start < size; start += TXN_KEYS) {
      const success = [];
      for (let i = start; i < Math.min(size, start + TXN_KEYS); i++) success.push({ request_put: { key: utf8(`data/k${String(i).padStart(6, "0")}`), value: utf8(VALUE) } });
      must(await m.target.v3.txn({ compare: [], success, failure: [] }), "txn");
    }
    m.etcd.saveSnapshot();
    await m.close();
    const again = await m.restart();
    const loaded = again.member.dir.snapshot?.data.length ?? 0;
    const entries = again.member.dir.entries.length;
    const keys = must(await again.target.v3.range({ key: utf8("data/"), range_end: utf8("data0"), count_only: true }), "range").count;
    await again.close();
    again.remove();
    snapBytes.push(loaded);
    rebuilt.push(keys);
    rows.push({ label: `${size} keys each`, v2: `parse a .snap of ${loaded} bytes, replay ${entries} WAL entries`, v3: `rebuild the index of ${keys} keys from the db` });
  }
  ctx.table(rows, { labelHeader: "store size", title: "What a start on the data dir does" });
  ctx.progress(4, total);

  // ── claims ────────────────────────────────────────────────────────────────────────────────
  ctx.claim({
    id: "both-apis-log",
    claim: "every v2 write and every v3 write is appended to the WAL before it is answered, a few hundred bytes each at most",
    v2Value: `${v2PerWrite.toFixed(1)} bytes per write`,
    v3Value: `${v3PerWrite.toFixed(1)} bytes per write`,
    holds: v2PerWrite > 0 && v3PerWrite > 0 && v2PerWrite < 500 && v3PerWrite < 500,
  });
  ctx.claim({
    id: "v3-only-still-snapshots",
    claim: `a v3-only workload still cuts a .snap every ${SNAPSHOT_COUNT} entries, and its .snap does not grow with the v3 keys; v2's grows with its store`,
    v2Value: `${snaps.v2.length} files, ${snaps.v2[0]} → ${snaps.v2[snaps.v2.length - 1]} bytes`,
    v3Value: `${snaps.v3.length} files, ${snaps.v3[0]} → ${snaps.v3[snaps.v3.length - 1]} bytes`,
    holds:
      snaps.v3.length === snaps.v2.length &&
      snaps.v3.length >= 2 &&
      Math.max(...snaps.v3) - Math.min(...snaps.v3) < 64 &&
      (snaps.v2[snaps.v2.length - 1] ?? 0) > (snaps.v2[0] ?? 0) * 1.5,
  });
  ctx.claim({
    id: "defrag-shrinks",
    claim: "compaction frees pages inside the db file without shrinking it; defrag rewrites the file and shrinks it",
    v2Value: "",
    v3Value: `${beforeCompact.dbSize} → ${afterCompact.dbSize} → ${afterDefrag.dbSize} bytes`,
    holds: afterCompact.dbSize >= beforeCompact.dbSize && afterCompact.dbSizeInUse < beforeCompact.dbSizeInUse && afterDefrag.dbSize < afterCompact.dbSize,
  });
  ctx.claim({
    id: "kill-loses-nothing",
    claim: "kill -9 between two snapshots loses no acknowledged write in either API, and the counters go on from where they were",
    v2Value: `${crashWrites - v2Present} lost`,
    v3Value: `${crashWrites - v3Present} lost`,
    holds: v2Present === crashWrites && v3Present === crashWrites && next3 === lastRevision + 1 && next2 > lastIndex,
  });
  const firstSnap = snapBytes[0] ?? 0;
  const lastSnap = snapBytes[snapBytes.length - 1] ?? 0;
  const growth = (STORE_SIZES[STORE_SIZES.length - 1] ?? 1) / (STORE_SIZES[0] ?? 1);
  ctx.claim({
    id: "recovery-grows",
    claim: "a start's work grows with the store in both: v2 parses a .snap that grows with its keys, v3 rebuilds its index from every key in the db",
    v2Value: `${firstSnap} → ${lastSnap} bytes of .snap`,
    v3Value: `${rebuilt[0]} → ${rebuilt[rebuilt.length - 1]} keys`,
    holds: lastSnap > (firstSnap * growth) / 2 && rebuilt.every((keys, i) => keys === STORE_SIZES[i]),
  });
  ctx.limitation(
    "byte and file counts come from etcdsim's own data dir; a real etcd 3.4's WAL records are the same protobufs, its db is bbolt where etcdsim's is LMDB, so db sizes differ (the durability tests compare WAL and .snap behaviour with a real etcd)",
  );

  ctx.whatJustHappened(
    `Both APIs wrote through one log: ${v2PerWrite.toFixed(1)} WAL bytes per v2 write, ${v3PerWrite.toFixed(1)} per v3 write, each fdatasynced before the answer. v2 keys never reach the db; v3 keys reach it in batches when the 100 ms interval passes (${dbBefore} → ${db1} bytes at the commit).`,
    `The .snap is the v2 store's: with v2 writes it grew (${snaps.v2.join(", ")} bytes), with v3-only writes it stayed the same size (${snaps.v3.join(", ")}) and was still cut every ${SNAPSHOT_COUNT} entries.`,
    `After kill -9, the start loaded the .snap at raft index ${snapLoaded}, opened the db and replayed the ${replayed} WAL entries after the .snap: ${v2Present} of ${crashWrites} v2 and ${v3Present} of ${crashWrites} v3 writes were there.`,
  );
  ctx.myth("etcd v2 loses the writes made since its last snapshot when it crashes.", `In etcd 3.x v2 writes go through the same WAL as v3's: after kill -9 all ${v2Present} acknowledged v2 writes came back, ${replayed} WAL entries replayed over the .snap.`);
  ctx.myth("v3 no longer takes snapshots.", `It does: a v3-only workload cut ${snaps.v3.length} .snap files here (the v2 store and membership, ${snaps.v3[0]} bytes each). v3's own data travels as the whole db file instead: the Snapshot RPC (etcdctl snapshot save) streams it, and a leader sends it to a follower too far behind (not measured here: one member, no followers; the snapshot tool's tests check the RPC).`);
  ctx.progress(total, total);
}

await runIfMain(import.meta.url, lesson);

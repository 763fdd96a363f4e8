/**
 * Lesson 16 · Index vs revision: what moves each counter.
 *
 *   operation                      v2 etcd index            v3 revision
 *   one put                        +1                       +1
 *   ten keys in one go             +10 (ten sets)           +1 (one txn)
 *   delete a subtree / prefix      +1                       +1
 *   delete a missing key           +0 (error 100)           +0 (deleted 0)
 *   TTL refresh / keep-alive       +1                       +0
 *   five keys expire               +5                       +1 (one revoke)
 *
 * Both counters are store-wide and never go back. The difference is what counts as one change:
 * v2 counts events, v3 counts committed write transactions that changed something.
 */
import type { Lesson } from "./lesson.js";
import { utf8 } from "../shared/bytes.js";
import { deleteOp, must, putOp, rangeOf } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";
import { v2Workload, v3Workload } from "./kvWorkload.js";
import type { Target, Workload, WorkloadOutcome } from "./workload.js";

/** Keys written together in one go (ten sets in v2, one txn in v3). */
export const BATCH = 10;
/** Keys that expire together (five TTLs in v2, one lease in v3). */
export const EXPIRING = 5;

interface Row {
  label: string;
  v2: number;
  v3: number;
  v2Note: string;
  v3Note: string;
}

async function counters(target: Target): Promise<{ v2: number; v3: number }> {
  const a = await target.v2.get("/");
  const b = must(await target.v3.range(rangeOf("\0", { fromKey: true, revision: 0 })), "range");
  return { v2: a.ok ? a.value.etcdIndex : a.error.index, v3: b.header.revision };
}

export const lesson: Lesson = {
  id: 16,
  slug: "index-vs-revision",
  title: "Index vs revision",
  lesson: "v2's etcd index moves once per event; v3's revision moves once per write transaction that changed something. The same work can cost many indexes and one revision, or one index and no revision.",
  youWillSee: [
    "each operation done to both stores, with how far each counter moved (measured before and after)",
    "expiries, no-op deletes, refreshes and multi-key writes, where the two counters disagree",
  ],
  tryChanging: ["BATCH, the number of keys written together", "EXPIRING, the number of keys that expire together"],
  async run(ctx) {
    const target = await ctx.openTarget();
    const { v2, v3 } = target;
    const rows: Row[] = [];
    const measureStep = async (label: string, act: () => Promise<{ v2Note: string; v3Note: string }>): Promise<Row> => {
      const before = await counters(target);
      const notes = await act();
      const after = await counters(target);
      const row = { label, v2: after.v2 - before.v2, v3: after.v3 - before.v3, ...notes };
      rows.push(row);
      return row;
    };

    ctx.step(
      "Do the same thing to both stores, and watch the counters",
      "Each row reads the counter before and after (v2: X-Etcd-Index of GET /; v3: header.revision of a range). The first five rows are one script run through the common Workload (scenarios/workload.ts) on both APIs; the rest use what only one API has.",
    );
    const sides = [v2Workload(v2), v3Workload(v3)] as const;
    /** One common-workload operation on both stores; each note is the answer or etcd's error. */
    const both = async <T>(op: (w: Workload) => Promise<WorkloadOutcome<T>>, show: (value: T, side: Workload) => string): Promise<{ v2Note: string; v3Note: string }> => {
      const notes: string[] = [];
      for (const side of sides) {
        const outcome = await op(side);
        notes.push(outcome.ok ? show(outcome.value, side) : `error ${outcome.error.code}`);
      }
      return { v2Note: notes[0] ?? "", v3Note: notes[1] ?? "" };
    };
    await measureStep("put a new key", () => both((w) => w.put("/a", "1"), (n, w) => `put /a → ${w.counterName} ${n}`));
    await measureStep("put the same value again", () => both((w) => w.put("/a", "1"), (n, w) => `put /a → ${w.counterName} ${n}`));
    await measureStep("read a key", () => both((w) => w.get("/a"), (e) => `get /a → ${e === undefined ? "(none)" : `"${e.value}"`}`));
    const missing = await measureStep("delete a key that does not exist", () => both((w) => w.delete("/nope"), (n) => `deleted ${n}`));
    await measureStep("a compare that fails", () => both((w) => w.compareAndSwap("/a", "wrong", "2"), (swapped) => `swapped: ${swapped}`));
    const many = await measureStep(`write ${BATCH} keys together`, async () => {
      for (let i = 0; i < BATCH; i++) must(await v2.set(`/batch/k${i}`, "x"), "set");
      must(await v3.txn({ success: Array.from({ length: BATCH }, (_, i) => putOp(`batch/k${i}`, "x")) }), "txn");
      return { v2Note: `${BATCH} sets (no transactions)`, v3Note: `one txn of ${BATCH} puts` };
    });
    const subtree = await measureStep(`delete those ${BATCH} keys`, async () => {
      must(await v2.delete("/batch", { recursive: true }), "delete dir");
      const b = must(await v3.deleteRange(rangeOf("batch/", { prefix: true })), "delete prefix");
      return { v2Note: "recursive delete of /batch", v3Note: `delete --prefix: ${b.deleted} tombstones` };
    });
    await measureStep("a txn that only reads and deletes nothing", async () => {
      must(await v3.txn({ success: [{ request_range: rangeOf("/a") }, deleteOp("nope")] }), "txn");
      return { v2Note: "(no txn)", v3Note: "range + delete of a missing key" };
    });

    // TTLs: EXPIRING keys with a 5 s TTL in v2; EXPIRING keys on one 5 s lease in v3.
    must(await v2.set("/ttl", "", { dir: true }), "mkdir");
    for (let i = 0; i < EXPIRING; i++) must(await v2.set(`/ttl/k${i}`, "x", { ttlSeconds: 5 }), "ttl set");
    const lease = must(await v3.leaseGrant({ TTL: 5 }), "grant");
    for (let i = 0; i < EXPIRING; i++) must(await v3.put({ key: utf8(`ttl/k${i}`), value: utf8("x"), lease: lease.ID }), "put on lease");
    const refresh = await measureStep("keep the TTL keys alive once", async () => {
      for (let i = 0; i < EXPIRING; i++) must(await v2.set(`/ttl/k${i}`, "", { ttlSeconds: 5, refresh: true, prevExist: true }), "refresh");
      const b = must(await v3.leaseKeepAliveOnce({ ID: lease.ID }), "keep-alive");
      return { v2Note: `${EXPIRING} refreshes (one per key)`, v3Note: `1 keep-alive (TTL ${b.TTL})` };
    });
    await measureStep("grant a lease", async () => {
      must(await v3.leaseGrant({ TTL: 60 }), "grant");
      return { v2Note: "(no leases)", v3Note: "lease grant" };
    });
    const expiry = await measureStep(`let ${EXPIRING} keys expire (wait 7 s)`, async () => {
      await target.advance(7000);
      const left = must(await v3.range(rangeOf("ttl/", { prefix: true })), "range");
      return { v2Note: `${EXPIRING} expire events`, v3Note: `one revoke; ${left.count} keys left` };
    });
    await measureStep("compact the history", async () => {
      const now = await counters(target);
      must(await v3.compact({ revision: now.v3 }), "compact");
      return { v2Note: "(nothing to compact)", v3Note: `compact to ${now.v3}` };
    });

    ctx.table(
      rows.map((r) => ({ label: r.label, v2: `+${r.v2} · ${r.v2Note}`, v3: `+${r.v3} · ${r.v3Note}` })),
      { labelHeader: "operation", title: "How far each counter moved" },
    );
    for (const row of rows) {
      ctx.measure(`${row.label}:v2`, row.v2);
      ctx.measure(`${row.label}:v3`, row.v3);
    }

    ctx.claim({
      id: "batch-costs",
      claim: `${BATCH} keys written together cost ${BATCH} v2 indexes and one v3 revision`,
      v2Value: many.v2,
      v3Value: many.v3,
      holds: many.v2 === BATCH && many.v3 === 1,
    });
    ctx.claim({
      id: "expiry-costs",
      claim: `${EXPIRING} keys expiring cost ${EXPIRING} v2 indexes (one expire event each) and one v3 revision (one revoke transaction)`,
      v2Value: expiry.v2,
      v3Value: expiry.v3,
      holds: expiry.v2 === EXPIRING && expiry.v3 === 1,
    });
    ctx.claim({
      id: "refresh-costs",
      claim: "keeping keys alive moves v2's index once per key and v3's revision not at all",
      v2Value: refresh.v2,
      v3Value: refresh.v3,
      holds: refresh.v2 === EXPIRING && refresh.v3 === 0,
    });
    ctx.claim({
      id: "no-op-costs-nothing",
      claim: "deleting a missing key and a subtree delete: 0 and 1 in both stores",
      v2Value: `${missing.v2} / ${subtree.v2}`,
      v3Value: `${missing.v3} / ${subtree.v3}`,
      holds: missing.v2 === 0 && missing.v3 === 0 && subtree.v2 === 1 && subtree.v3 === 1,
    });

    ctx.whatJustHappened(
      `v2 gives every event an index of its own: each set, each refresh (which watchers never even see), each expired key. v3 gives a revision to a write transaction that changed something: ${BATCH} puts in one txn share one revision (with sub-revisions 0–${BATCH - 1} inside it), a lease that expires deletes all its keys in one transaction, and keep-alives, lease grants, reads and compactions touch no revision at all.`,
      "So \"index 5000\" in v2 and \"revision 5000\" in v3 do not mean the same amount of work, and neither counts requests: failed compares and no-op deletes leave both alone.",
    );
    ctx.myth(
      "The revision counts writes.",
      `It counts write transactions that changed something: one txn of ${BATCH} puts moved it by ${many.v3}, an expiry of ${EXPIRING} keys by ${expiry.v3}, a keep-alive by ${refresh.v3}.`,
    );
  },
};

await runIfMain(import.meta.url, lesson);

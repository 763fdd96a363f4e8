/**
 * Lesson 14 · Reads under writes.
 *
 *   v2: one readers-writer lock for the whole store (v2store `worldLock`)
 *       GET /?recursive=true  ── holds the read lock while it copies every node ──┐
 *       PUT /x                ── needs the write lock: waits ─────────────────────┴─► runs
 *   v3: MVCC — a read pinned at revision R reads R's versions from the backend
 *       range … --rev R (page 1) │ put x (R+1) │ range … --rev R (page 2) │ put y (R+2) │ …
 *       writers never wait; the read still sees exactly revision R
 *
 * JavaScript runs one thing at a time, so the v2 lock is modelled explicitly in this lesson: a
 * `WorldLock` that counts work in steps (one step = one node copied by the read), with writers
 * arriving every WRITE_EVERY_STEPS steps. The node counts come from the store's real answers.
 */
import type { Lesson } from "./lesson.js";
import { must, rangeOf } from "./lessonKit.js";
import { v2Leaves } from "./kvWorkload.js";
import { fromUtf8, utf8 } from "../shared/bytes.js";
import { runIfMain } from "./standalone.js";

export const STORE_SIZES = [1000, 5000, 10_000];
/** A writer arrives every this many steps of read work (one step = one node copied). */
export const WRITE_EVERY_STEPS = 50;
/** Page size of the v3 long read (etcdctl get --prefix --limit with --rev pinned). */
export const PAGE = 500;

/**
 * v2's world lock as counted steps. A reader holding it for `steps` makes every writer that
 * arrives meanwhile wait until the reader is done (`Lock` is exclusive, `RLock` shared; etcd's
 * sync.RWMutex also stops new readers once a writer waits).
 *
 *   read holds 120 steps, writers arrive at 0, 50, 100  →  they wait 120, 70, 20 steps
 */
export class WorldLock {
  /** Writers that arrived while the read held the lock, and the steps each waited. */
  static writersDuring(holdSteps: number, writeEverySteps: number): { delayed: number; waitSteps: number; longestWait: number } {
    let delayed = 0;
    let waitSteps = 0;
    let longestWait = 0;
    for (let arrival = 0; arrival < holdSteps; arrival += writeEverySteps) {
      delayed += 1;
      const wait = holdSteps - arrival;
      waitSteps += wait;
      if (wait > longestWait) longestWait = wait;
    }
    return { delayed, waitSteps, longestWait };
  }
}

export const lesson: Lesson = {
  id: 14,
  slug: "reads-under-writes",
  title: "Reads under writes",
  lesson: "v2 protects its whole store with one readers-writer lock, so a long read (a big recursive GET, or a snapshot) holds up every writer until it finishes. A v3 read is pinned to a revision and reads old versions while new ones are written: writers do not wait, and the read stays consistent.",
  youWillSee: [
    `a recursive read of stores of ${STORE_SIZES.join(", ")} keys, with a write arriving every ${WRITE_EVERY_STEPS} nodes copied`,
    "how many writers v2 holds back and for how long (in nodes copied), and the same read done page by page at a fixed revision in v3 with the writes in between",
  ],
  tryChanging: ["WRITE_EVERY_STEPS", "STORE_SIZES", "PAGE"],
  async run(ctx) {
    const rows = [];
    const v2Delayed: number[] = [];
    const v3Consistent: boolean[] = [];
    const v3WritesDuring: number[] = [];
    ctx.step(
      "A long read while writes keep coming",
      "v2: GET /data?recursive=true copies every node under the read lock; the lock model counts the writers that arrive meanwhile. v3: the same read as a range over data/ at the revision R it started at, page by page, with the writes that arrived during each page committed between pages.",
    );
    for (const size of STORE_SIZES) {
      const target = await ctx.openTarget();
      const { v2, v3 } = target;
      for (let i = 0; i < size; i++) {
        must(await v2.set(`/data/k${String(i).padStart(5, "0")}`, "old"), "set");
        must(await v3.put({ key: utf8(`data/k${String(i).padStart(5, "0")}`), value: utf8("old") }), "put");
      }
      // v2: one call, holding the store's read lock for as many steps as nodes it copies.
      const read2 = must(await v2.get("/data", { recursive: true, sorted: true }), "get");
      const copied = v2Leaves(read2.node).length + 1;
      const lock = WorldLock.writersDuring(copied, WRITE_EVERY_STEPS);
      v2Delayed.push(lock.delayed);
      // v3: pages at revision R; the writers that would have arrived during a page commit after it.
      const startRev = must(await v3.range(rangeOf("data/", { prefix: true, revision: 0 })), "rev").header.revision;
      let from = "data/";
      let seen = 0;
      let sawNew = false;
      let writes = 0;
      let stepsSinceWrite = 0;
      for (;;) {
        const page = must(await v3.range({ ...rangeOf(from, { end: "data0", revision: startRev }), limit: PAGE }), "page");
        for (const kv of page.kvs) if (fromUtf8(kv.value) !== "old") sawNew = true;
        seen += page.kvs.length;
        stepsSinceWrite += page.kvs.length;
        while (stepsSinceWrite >= WRITE_EVERY_STEPS) {
          stepsSinceWrite -= WRITE_EVERY_STEPS;
          must(await v3.put({ key: utf8(`data/k${String(writes % size).padStart(5, "0")}`), value: utf8("new") }), "put");
          writes += 1;
        }
        const last = page.kvs[page.kvs.length - 1];
        if (!page.more || last === undefined) break;
        from = fromUtf8(last.key) + "\0";
      }
      const endRev = must(await v3.range(rangeOf("data/", { prefix: true, revision: 0 })), "rev").header.revision;
      v3Consistent.push(seen === size && !sawNew);
      v3WritesDuring.push(endRev - startRev);
      rows.push({
        label: `${size} keys`,
        v2: `read copies ${copied} nodes; ${lock.delayed} writers wait, longest ${lock.longestWait} nodes`,
        v3: `read ${seen} keys at revision ${startRev}, all "old"; ${endRev - startRev} writes committed meanwhile, none waited`,
      });
      ctx.progress(rows.length, STORE_SIZES.length);
    }
    ctx.table(rows, { labelHeader: "store" });

    const snapshotTarget = await ctx.openTarget();
    const nodes = snapshotTarget.v2Internals;
    if (nodes !== undefined) {
      ctx.step("Snapshots take the write lock", "v2's Save() (every snapshot-count writes) clones the whole store under the exclusive lock: while it runs, neither readers nor writers get in.");
      const size = STORE_SIZES[STORE_SIZES.length - 1] ?? 0;
      for (let i = 0; i < size; i++) must(await snapshotTarget.v2.set(`/data/k${i}`, "old"), "set");
      const cloned = nodes.nodeCount();
      const blocked = WorldLock.writersDuring(cloned, WRITE_EVERY_STEPS);
      ctx.table(
        [{ label: `save() of ${size} keys`, v2: `clones ${cloned} nodes; ${blocked.delayed} writers and every reader wait`, v3: "(the backend is the store: nothing to clone)" }],
        { labelHeader: "" },
      );
    }

    ctx.measure("v2WritersDelayedAtMax", v2Delayed[v2Delayed.length - 1] ?? 0);
    ctx.claim({
      id: "v2-read-blocks-writers",
      claim: "in v2 the writers held back by one long read grow with the store",
      v2Value: v2Delayed.join(", "),
      v3Value: null,
      holds: v2Delayed.every((n, i) => i === 0 || n > (v2Delayed[i - 1] ?? 0)),
    });
    ctx.claim({
      id: "v3-read-at-revision",
      claim: "a v3 read at a revision sees one consistent snapshot while writes commit, and no writer waits",
      v2Value: null,
      v3Value: `writes meanwhile ${v3WritesDuring.join(", ")}; consistent ${v3Consistent.every(Boolean)}`,
      holds: v3Consistent.every(Boolean) && v3WritesDuring.every((n) => n > 0),
    });
    ctx.limitation(
      "JavaScript runs one operation at a time, so v2's lock contention is computed by a counted-step model of its world lock from the measured node counts, not observed as waiting",
    );

    ctx.whatJustHappened(
      `v2's store is one tree behind one RWMutex. A recursive GET holds the read lock while it copies each node of the answer, and every write needs the exclusive lock, so with a write arriving every ${WRITE_EVERY_STEPS} nodes the writers queue behind the read: ${v2Delayed.join(", ")} of them for the three sizes. A snapshot (Save) is worse: it holds the exclusive lock, stopping readers too.`,
      "v3 never overwrites a value: a write adds a new revision. A read pinned at revision R only looks at revisions ≤ R, so it can take as long as it likes while writes add revisions above R; it still returns exactly the store as of R, and etcd 3.4 serves such reads from a concurrent read transaction that writers do not wait for.",
    );
    ctx.myth(
      "Big reads are harmless because they do not change anything.",
      "In v2 a big read blocks every writer for its whole duration; in v3 it does not block writers, but it still pins old revisions and costs memory to answer — page it with --limit at a fixed --rev.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

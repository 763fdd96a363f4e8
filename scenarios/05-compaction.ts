/**
 * Lesson 5 · Compaction.
 *
 *   v3 backend before compact(R)                after compact(R)
 *   foo@2 foo@3 … foo@R-1 foo@R foo@R+1 …       foo@R foo@R+1 …      ← the newest version ≤ R stays
 *   reads at < R: fine                          reads at < R: "required revision has been compacted"
 *   watch from < R: replays                     watch from < R: canceled, compact_revision R
 *
 * v3 keeps every revision until someone compacts; etcd's auto-compactor does it on a schedule
 * (`--auto-compaction-mode=periodic|revision --auto-compaction-retention=…`). v2 has nothing to
 * compact: its history is a fixed ring of 1000 events that forgets on its own.
 */
import type { Lesson } from "./lesson.js";
import { utf8 } from "../shared/bytes.js";
import { must, rangeOf, v3Cell } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";
import type { Target } from "./workload.js";

export const KEYS = 10;
export const WRITES = 1000;
/** The simulated day: writes arrive at a steady rate, one batch per "hour". */
export const HOURS = 8;
export const WRITES_PER_HOUR = 250;
/** `--auto-compaction-mode=revision --auto-compaction-retention=500`: keep the last 500 revisions, checked every 5 min. */
export const REVISION_RETENTION = 500;
/** `--auto-compaction-mode=periodic --auto-compaction-retention=1h`. */
export const PERIODIC_RETENTION_HOURS = 1;
/** Default `--quota-backend-bytes` is 2 GiB; the lesson uses a tiny quota so the arithmetic is visible. */
export const QUOTA_BYTES = 256 * 1024;

async function dbSize(target: Target): Promise<number> {
  const status = must(await target.v3.status(), "status");
  return status.dbSizeInUse;
}

async function currentRevision(target: Target): Promise<number> {
  return must(await target.v3.range(rangeOf("\0", { fromKey: true, revision: 0 })), "range").header.revision;
}

export const lesson: Lesson = {
  id: 5,
  slug: "compaction",
  title: "Compaction",
  lesson: "v3's history grows with every write until it is compacted. Compaction drops old revisions (keeping each key's newest one), shrinks the backend, and from then on old reads fail and old watches are cancelled. v2 has nothing to compact.",
  youWillSee: [
    `${WRITES} writes over ${KEYS} keys, the backend size before and after a manual compaction`,
    "ErrCompacted on a read and a cancelled watch carrying compact_revision",
    "auto-compaction in revision and periodic mode over a simulated day of writes",
    "the space quota, as arithmetic over the measured sizes",
  ],
  tryChanging: ["REVISION_RETENTION", "PERIODIC_RETENTION_HOURS", "KEYS (compaction keeps one version per key)"],
  async run(ctx) {
    const target = await ctx.openTarget();
    const { v2, v3 } = target;

    ctx.step(`Write ${WRITES} times over ${KEYS} keys`, "Same writes to both stores. v3's backend keeps them all; v2 keeps the current values and its 1000-event ring.");
    let firstRev = 0;
    for (let i = 0; i < WRITES; i++) {
      const key = `k${i % KEYS}`;
      must(await v2.set(`/${key}`, `value ${i}`), "set");
      const put = must(await v3.put({ key: utf8(key), value: utf8(`value ${i}`) }), "put");
      if (i === 0) firstRev = put.header.revision;
    }
    const before = await dbSize(target);
    const revisionsBefore = target.v3Internals?.backendSize().revisions;
    const rev = await currentRevision(target);
    const v2SaveBefore = target.v2Internals?.save().length;

    ctx.step(`Compact at revision ${rev}`, `etcdctl compaction ${rev}: everything older than ${rev} goes, except each key's newest version at or before ${rev}.`);
    // physical: wait until the old revisions are really gone (etcd removes them in the background).
    const compacted = await v3.compact({ revision: rev, physical: true });
    // Give the backend its commit interval (100 ms in etcd) before reading its size.
    await target.advance(1000);
    const after = await dbSize(target);
    const revisionsAfter = target.v3Internals?.backendSize().revisions;
    const again = await v3.compact({ revision: rev });
    const future = await v3.compact({ revision: rev + 100 });
    const oldRead = await v3.range(rangeOf("k0", { revision: firstRev }));
    const atRead = await v3.range(rangeOf("k0", { revision: rev }));
    const stream = await v3.watch();
    await stream.send({ create_request: { key: utf8("k0"), start_revision: firstRev } });
    await target.advance(1000);
    const watchAnswers = await stream.take();
    await stream.close();
    const cancel = watchAnswers.find((r) => r.canceled);
    ctx.table(
      [
        { label: `compaction --physical ${rev}`, v2: "(nothing to compact)", v3: v3Cell(compacted, () => `compacted revision ${rev}`) },
        { label: `compaction ${rev} again`, v2: "", v3: v3Cell(again, () => "OK") },
        { label: `compaction ${rev + 100}`, v2: "", v3: v3Cell(future, () => "OK") },
        { label: `get k0 --rev ${firstRev}`, v2: "(no reads at an index)", v3: v3Cell(oldRead, (r) => `${r.count} key`) },
        { label: `get k0 --rev ${rev}`, v2: "", v3: v3Cell(atRead, (r) => `${r.count} key (the newest version ≤ ${rev} was kept)`) },
        {
          label: `watch k0 --rev ${firstRev}`,
          v2: "(see lesson 4: 401 once out of the ring)",
          v3: cancel === undefined ? "not canceled" : `canceled=true, compact_revision=${cancel.compact_revision}`,
        },
        { label: "backend revisions before / after", v2: "", v3: revisionsBefore === undefined ? "(not visible on this target)" : `${revisionsBefore} / ${revisionsAfter}` },
        { label: "db size in use before / after (bytes)", v2: v2SaveBefore === undefined ? "" : `snapshot ${v2SaveBefore} bytes, unchanged`, v3: `${before} / ${after}` },
      ],
      { labelHeader: "request" },
    );
    ctx.measure("dbSizeBefore", before);
    ctx.measure("dbSizeAfter", after);
    ctx.claim({
      id: "compaction-shrinks",
      claim: `compacting ${WRITES} revisions of ${KEYS} keys shrinks the v3 backend; v2 has nothing to compact`,
      v2Value: null,
      // Byte counts differ between the in-process size model and bbolt's pages; the table has them.
      v3Value: after < before ? "smaller after compaction" : "not smaller after compaction",
      holds: compacted.ok && after < before,
    });
    ctx.claim({
      id: "compacted-errors",
      claim: "after compaction, an old read fails with ErrCompacted and an old watch is cancelled with compact_revision",
      v2Value: null,
      v3Value: oldRead.ok ? "read worked" : oldRead.error.message,
      holds: !oldRead.ok && oldRead.error.message === "etcdserver: mvcc: required revision has been compacted" && cancel?.compact_revision === rev && atRead.ok,
    });

    ctx.step(
      `Auto-compaction over a simulated day: ${HOURS} hours × ${WRITES_PER_HOUR} writes`,
      `Three v3 stores get the same writes: one never compacted, one with --auto-compaction-mode=revision --auto-compaction-retention=${REVISION_RETENTION} (every 5 minutes: compact to current − ${REVISION_RETENTION}), one with --auto-compaction-mode=periodic --auto-compaction-retention=${PERIODIC_RETENTION_HOURS}h (every hour: compact to the revision seen an hour ago). The compactor is etcd's policy (compactor/revision.go, periodic.go) driving the public Compact call.`,
    );
    const modes = ["none", "revision", "periodic"] as const;
    const sizes: Record<(typeof modes)[number], number[]> = { none: [], revision: [], periodic: [] };
    const stepsPerHour = 12; // 5-minute steps
    for (const mode of modes) {
      const t = await ctx.openTarget();
      const revisionAtHour: number[] = [await currentRevision(t)];
      let written = 0;
      for (let hour = 1; hour <= HOURS; hour++) {
        for (let step = 0; step < stepsPerHour; step++) {
          const batch = Math.round((WRITES_PER_HOUR * (step + 1)) / stepsPerHour) - Math.round((WRITES_PER_HOUR * step) / stepsPerHour);
          for (let i = 0; i < batch; i++, written++) must(await t.v3.put({ key: utf8(`k${written % KEYS}`), value: utf8(`value ${written}`) }), "put");
          // Five minutes pass here; nothing in the store depends on it, so no time is simulated.
          if (mode === "revision") {
            const target = (await currentRevision(t)) - REVISION_RETENTION;
            if (target > 0) await t.v3.compact({ revision: target });
          }
        }
        const now = await currentRevision(t);
        revisionAtHour.push(now);
        if (mode === "periodic" && hour >= PERIODIC_RETENTION_HOURS) {
          const target = revisionAtHour[hour - PERIODIC_RETENTION_HOURS] ?? 0;
          if (target > 1) await t.v3.compact({ revision: target });
        }
        sizes[mode].push(await dbSize(t));
        ctx.progress(modes.indexOf(mode) * HOURS + hour, modes.length * HOURS);
      }
    }
    const hours = Array.from({ length: HOURS }, (_, i) => `${i + 1}h`);
    const first = (xs: number[]): number => xs[0] ?? 0;
    const peak = (xs: number[]): number => Math.max(...xs);
    ctx.table(
      [
        { label: "no compaction", v2: "(nothing to compact)", v3: `${first(sizes.none)} → ${sizes.none[HOURS - 1]} bytes, peak ${peak(sizes.none)}` },
        { label: `revision mode, keep ${REVISION_RETENTION}`, v2: "(nothing to compact)", v3: `${first(sizes.revision)} → ${sizes.revision[HOURS - 1]} bytes, peak ${peak(sizes.revision)}` },
        { label: `periodic mode, ${PERIODIC_RETENTION_HOURS}h`, v2: "(nothing to compact)", v3: `${first(sizes.periodic)} → ${sizes.periodic[HOURS - 1]} bytes, peak ${peak(sizes.periodic)}` },
      ],
      { labelHeader: `db size in use, hour 1 → ${HOURS}` },
    );
    ctx.chart({
      id: "backend-size-vs-compaction",
      title: "v3 backend size with and without auto-compaction",
      kind: "lines",
      xLabel: "hour",
      yLabel: "db size in use (bytes)",
      x: hours,
      series: [
        { name: "no compaction", api: "v3", values: sizes.none },
        { name: `revision mode, keep ${REVISION_RETENTION}`, api: "v3", values: sizes.revision },
        { name: `periodic mode, ${PERIODIC_RETENTION_HOURS}h`, api: "v3", values: sizes.periodic },
      ],
    });
    const last = (xs: number[]): number => xs[xs.length - 1] ?? 0;
    const growth = last(sizes.none) / Math.max(1, sizes.none[1] ?? 1);
    const flatRevision = last(sizes.revision) / Math.max(1, sizes.revision[1] ?? 1);
    const flatPeriodic = last(sizes.periodic) / Math.max(1, sizes.periodic[1] ?? 1);
    ctx.claim({
      id: "auto-compaction-bounds-size",
      claim: "without compaction the backend keeps growing hour after hour; with either auto-compaction mode it stops growing once the retention is reached",
      v2Value: null,
      v3Value: [`none ${growth > 2 ? "grows" : "flat"}`, `revision ${flatRevision < 1.5 ? "bounded" : "grows"}`, `periodic ${flatPeriodic < 1.5 ? "bounded" : "grows"}`].join(", "),
      holds: growth > 2 && flatRevision < 1.5 && flatPeriodic < 1.5 && last(sizes.revision) < last(sizes.none) && last(sizes.periodic) < last(sizes.none),
    });

    ctx.step(
      "The space quota",
      `etcd refuses writes once the backend passes --quota-backend-bytes (2 GiB by default): it raises a NOSPACE alarm and every put fails with "etcdserver: mvcc: database space exceeded" until you compact, defragment and disarm the alarm. With a ${QUOTA_BYTES}-byte quota, the measured growth gives:`,
    );
    const perWrite = (last(sizes.none) - (sizes.none[0] ?? 0)) / ((HOURS - 1) * WRITES_PER_HOUR);
    const hoursToQuota = (QUOTA_BYTES - (sizes.none[0] ?? 0)) / (perWrite * WRITES_PER_HOUR) + 1;
    ctx.table(
      [
        { label: "bytes per write (no compaction)", v2: "", v3: Math.round(perWrite) },
        { label: `hours until a ${QUOTA_BYTES}-byte quota`, v2: "(no quota: memory only)", v3: `${hoursToQuota.toFixed(1)} without compaction; never with it (peak ${Math.max(...sizes.revision)} bytes)` },
      ],
      { labelHeader: "" },
    );
    ctx.limitation("the store does not implement the quota alarm itself; the hours above are arithmetic over the measured backend sizes");

    ctx.whatJustHappened(
      `v3 wrote every change as a new revision; ${WRITES} writes to ${KEYS} keys became ${revisionsBefore ?? WRITES} backend entries. compact(${rev}) kept only the newest version of each key (${revisionsAfter ?? KEYS} entries) and raised the floor below which reads and watches are refused: the read at ${firstRev} failed with ErrCompacted, and the watch from ${firstRev} was cancelled with compact_revision ${rev}, so its client knows to re-read and watch from there.`,
      "In production nobody compacts by hand: the auto-compactor does it on a schedule, by revision count or by time. v2 never needed any of this, because it never kept more than 1000 events; that is exactly why it cannot replay (lesson 4).",
    );
    ctx.myth(
      "Compaction frees disk space.",
      "Compaction frees space inside the backend file for reuse (db size in use); the file itself only shrinks after `etcdctl defrag`.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

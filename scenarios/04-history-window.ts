/**
 * Lesson 4 · The history window.
 *
 *   v2: a ring of the last 1000 events, shared by every key       v3: every revision, until compacted
 *
 *   index:  1 2 3 … 500 501 … 1500                                 revision: 2 3 4 … 1501
 *           └ evicted ┘ └── kept: 1000 ──┘                                   └──── all kept ────┘
 *
 * A watcher that was away (a restart, a network blip) comes back and asks for "everything since the
 * point I saw last". v2 answers from its ring, or with 401 EventIndexCleared when the point has
 * fallen out; v3 replays from its revision history.
 */
import type { Lesson } from "./lesson.js";
import { utf8 } from "../shared/bytes.js";
import { eventCount, must, parseClearedCause, v2Cell } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";
import type { Target } from "./workload.js";

export const WRITES = 1500;
/** Where "kept vs written" is measured; the run goes on to the last one, or to WRITES if that is further. */
const CHECKPOINTS = [250, 500, 1000, 1500, 2000];
export const QUIET_WRITES = 10;
export const NOISY_WRITES = 1000;
/** v2's event ring (`newWatchHub(1000)` in etcd's v2store). */
const V2_HISTORY = 1000;

/** v2's kept events, measured over the wire: a watch at waitIndex 1 either starts or tells the ring's start. */
async function v2Kept(target: Target, lastIndex: number, firstIndex: number): Promise<number> {
  const probe = await target.v2.watch("/probe-never-written", { waitIndex: firstIndex });
  if (probe.ok) {
    await probe.value.close();
    return lastIndex - firstIndex + 1;
  }
  const cleared = parseClearedCause(probe.error.cause);
  return cleared === undefined ? 0 : lastIndex - cleared.startIndex + 1;
}

/** v3's replayable events from `fromRevision`: a watch that starts there, after the catch-up loop ran. */
async function v3Replay(target: Target, key: string, fromRevision: number, prefix = false): Promise<{ events: number; responses: number; cancel: string }> {
  const stream = await target.v3.watch();
  const k = utf8(key);
  await stream.send({
    create_request: { key: k, start_revision: fromRevision, ...(prefix ? { range_end: new Uint8Array([0]) } : {}) },
  });
  // The catch-up loop (syncWatchersLoop) runs every 100 ms; give it a second to replay.
  await target.advance(1000);
  const responses = (await stream.take()).filter((r) => !r.created);
  await stream.close();
  const canceled = responses.find((r) => r.canceled);
  return {
    events: eventCount(responses),
    responses: responses.filter((r) => r.events.length > 0).length,
    cancel: canceled === undefined ? "" : `canceled, compact_revision ${canceled.compact_revision}`,
  };
}

export const lesson: Lesson = {
  id: 4,
  slug: "history-window",
  title: "The history window",
  lesson: "v2 remembers only the last 1000 events of the whole store; v3 remembers every revision until it is compacted. A watcher that resumes from an old point is refused by v2 and served by v3.",
  youWillSee: [
    `${WRITES} writes, then a watcher resuming from the first: v2 answers 401 EventIndexCleared, v3 replays all of them`,
    "events kept vs events written, as the writes pile up",
    "writes to OTHER keys evicting a quiet key's history in v2: the window is global",
  ],
  tryChanging: ["WRITES (try 999 and 1001): npm start -- 4 --set WRITES=999", "NOISY_WRITES: how many other writes it takes to lose the quiet key's history (try 990 and 991)"],
  params: {
    WRITES: { default: WRITES, min: 1, max: 5000, description: "writes before the watcher resumes from the first", suggested: [999, 1000, 1001, 2500] },
    NOISY_WRITES: { default: NOISY_WRITES, min: 0, max: 5000, description: "writes to other keys after the quiet key's", suggested: [990, 991] },
  },
  async run(ctx) {
    const WRITES = ctx.param("WRITES");
    const NOISY_WRITES = ctx.param("NOISY_WRITES");
    const target = await ctx.openTarget();
    const { v2, v3 } = target;

    ctx.step(
      `Write /jobs/status ${WRITES} times`,
      "Each v2 write is one event in the ring; each v3 write is one revision in the backend.",
    );
    let first2 = 0;
    let first3 = 0;
    let resumed2 = false;
    let last2 = 0;
    let last3 = 0;
    const kept2: number[] = [];
    const kept3: number[] = [];
    const written: number[] = [];
    const total = Math.max(CHECKPOINTS[CHECKPOINTS.length - 1] ?? 0, WRITES);
    const checkpoints = [...new Set([...CHECKPOINTS, WRITES, total])].sort((a, b) => a - b);
    for (let i = 1; i <= total; i++) {
      const a = must(await v2.set("/jobs/status", `run ${i}`), "v2 set");
      const b = must(await v3.put({ key: utf8("jobs/status"), value: utf8(`run ${i}`) }), "v3 put");
      if (i === 1) {
        first2 = a.etcdIndex;
        first3 = b.header.revision;
      }
      last2 = a.etcdIndex;
      last3 = b.header.revision;
      if (checkpoints.includes(i)) {
        written.push(i);
        kept2.push(await v2Kept(target, last2, first2));
        // v3 keeps every revision until compacted: a read at the first revision still works.
        const oldest = await v3.range({ key: utf8("jobs/status"), revision: first3 });
        kept3.push(oldest.ok ? last3 - first3 + 1 : 0);
      }
      if (i === WRITES) {
        ctx.step(
          `A watcher comes back and asks for everything since the first write`,
          `v2: GET /v2/keys/jobs/status?wait=true&waitIndex=${first2}. v3: a watch on jobs/status with start_revision ${first3}.`,
        );
        const resume2 = await v2.watch("/jobs/status", { waitIndex: first2 });
        if (resume2.ok) await resume2.value.close();
        const resume3 = await v3Replay(target, "jobs/status", first3);
        ctx.table(
          [
            { label: "writes so far", v2: `index ${first2} … ${last2}`, v3: `revision ${first3} … ${last3}` },
            { label: "resume from the first write", v2: v2Cell(resume2, () => "watch started"), v3: `${resume3.events} events replayed in ${resume3.responses} ${resume3.responses === 1 ? "response" : "responses"}` },
          ],
          { labelHeader: "" },
        );
        ctx.measure("v2ResumeErrorCode", resume2.ok ? 0 : resume2.error.errorCode);
        ctx.measure("v3ReplayedEvents", resume3.events);
        const applies = WRITES > V2_HISTORY;
        ctx.claim({
          id: "v2-401-v3-replays",
          claim: `after ${WRITES} writes, a watcher resuming from the first write gets 401 from v2 and all ${WRITES} events from v3`,
          when: `WRITES > ${V2_HISTORY}`,
          v2Value: resume2.ok ? "started" : resume2.error.errorCode,
          v3Value: resume3.events,
          holds: !resume2.ok && resume2.error.errorCode === 401 && resume3.events === WRITES,
          ...(applies ? {} : { notApplicable: true }),
        });
        // Narration from what was measured: the ring either lost the first index or still had it.
        ctx.say(
          resume2.ok
            ? `v2 still had index ${first2}: only ${WRITES} events have been written, and its ring keeps the last ${V2_HISTORY}. Write more than ${V2_HISTORY} and the first one falls out.`
            : `The 401 cause names the ring's bounds: [oldest kept index / index asked for]. ${WRITES} events have pushed index ${first2} out of the last ${V2_HISTORY}.`,
          `v3 replayed ${resume3.events} events in ${resume3.responses} ${resume3.responses === 1 ? "response" : "responses"}: the catch-up loop sends at most 1000 revisions per batch.`,
        );
        resumed2 = resume2.ok;
      }
      ctx.progress(i, total);
    }

    ctx.step("Events kept vs events written", "Measured after each checkpoint: v2 by asking for the oldest index, v3 by reading at the first revision.");
    ctx.table(
      written.map((w, i) => ({ label: `${w} writes`, v2: `${kept2[i]} kept`, v3: `${kept3[i]} kept` })),
      { labelHeader: "written" },
    );
    ctx.chart({
      id: "history-window",
      title: "Events kept vs events written",
      kind: "lines",
      xLabel: "events written",
      yLabel: "events a watcher can still resume from",
      x: written.map(String),
      series: [
        { name: "v2 (event ring)", api: "v2", values: kept2 },
        { name: "v3 (revisions)", api: "v3", values: kept3 },
      ],
      inText: false,
    });
    const cap = Math.max(...kept2);
    ctx.measure("v2KeptMax", cap);
    ctx.claim({
      id: "v2-window-is-1000",
      claim: "v2 never keeps more than 1000 events; v3 keeps every one it was given",
      v2Value: cap,
      v3Value: Math.max(...kept3),
      holds: cap === 1000 && kept3[kept3.length - 1] === written[written.length - 1],
    });

    ctx.step(
      "The window is global: a quiet key loses its history to noisy neighbours",
      `Write /quiet ${QUIET_WRITES} times, then ${NOISY_WRITES} writes to other keys (/noisy/0 … /noisy/${NOISY_WRITES - 1}). Then resume a watch on /quiet from its first write.`,
    );
    const fresh = await ctx.openTarget();
    let quietFirst2 = 0;
    let quietFirst3 = 0;
    for (let i = 1; i <= QUIET_WRITES; i++) {
      const a = must(await fresh.v2.set("/quiet", `q${i}`), "set quiet");
      const b = must(await fresh.v3.put({ key: utf8("quiet"), value: utf8(`q${i}`) }), "put quiet");
      if (i === 1) {
        quietFirst2 = a.etcdIndex;
        quietFirst3 = b.header.revision;
      }
    }
    for (let i = 0; i < NOISY_WRITES; i++) {
      must(await fresh.v2.set(`/noisy/${i}`, "x"), "set noisy");
      must(await fresh.v3.put({ key: utf8(`noisy/${i}`), value: utf8("x") }), "put noisy");
    }
    const quiet2 = await fresh.v2.watch("/quiet", { waitIndex: quietFirst2 });
    if (quiet2.ok) await quiet2.value.close();
    const quiet3 = await v3Replay(fresh, "quiet", quietFirst3);
    ctx.table(
      [
        { label: `writes to quiet`, v2: QUIET_WRITES, v3: QUIET_WRITES },
        { label: `writes to other keys`, v2: NOISY_WRITES, v3: NOISY_WRITES },
        { label: "resume /quiet from its first write", v2: v2Cell(quiet2, () => "watch started"), v3: `${quiet3.events} events replayed` },
      ],
      { labelHeader: "" },
    );
    ctx.measure("quietV3Replayed", quiet3.events);
    // The quiet key's first event is index quietFirst2; it is evicted once more than V2_HISTORY
    // events follow it, counting itself: QUIET_WRITES + NOISY_WRITES > V2_HISTORY.
    ctx.claim({
      id: "window-is-global",
      claim: `${NOISY_WRITES} writes to other keys are enough to erase a quiet key's ${QUIET_WRITES}-event history in v2; v3 still replays it`,
      when: `NOISY_WRITES > ${V2_HISTORY - QUIET_WRITES}`,
      v2Value: quiet2.ok ? "started" : quiet2.error.errorCode,
      v3Value: quiet3.events,
      holds: !quiet2.ok && quiet2.error.errorCode === 401 && quiet3.events === QUIET_WRITES,
      ...(QUIET_WRITES + NOISY_WRITES > V2_HISTORY ? {} : { notApplicable: true }),
    });
    ctx.say(
      quiet2.ok
        ? `v2 still had /quiet's first event: ${QUIET_WRITES} + ${NOISY_WRITES} events fit in its ring of ${V2_HISTORY}.`
        : `v2 lost /quiet's first event: ${QUIET_WRITES} + ${NOISY_WRITES} events do not fit in its ring of ${V2_HISTORY}, whichever keys they were on.`,
    );

    ctx.whatJustHappened(
      `v2's history is one ring of ${cap} events for the whole store (etcd sizes it for 20,000 writes/s × 2 × 50 ms of round trip). ${
        resumed2
          ? `After ${WRITES} writes index ${first2} was still in it; past ${V2_HISTORY} it goes, and so does every event of a key that merely stayed quiet while others were busy.`
          : `Once ${WRITES} events had passed, index ${first2} was gone, and so was every event of a key that merely stayed quiet while others were busy.`
      } The client is told to GET the key again and watch from X-Etcd-Index + 1, losing the changes in between.`,
      `v3 keeps each revision in its backend and replays from any revision that is not compacted; the price is that history grows until someone compacts it (lesson 5).`,
    );
    ctx.myth(
      "A v2 watcher that uses waitIndex never misses an event.",
      "Only while its index is among the last 1000 events of the whole store. Busy neighbours can push it out in well under a second.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

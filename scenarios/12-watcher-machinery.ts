/**
 * Lesson 12 · Inside the watcher machinery.
 *
 *   v2 watcherHub: watchers listed by path          v3 watchableStore: watchers in groups
 *   event on /foo/bar/baz → check the lists at       synced    caught up: get each new event at once
 *     "/", "/foo", "/foo/bar", "/foo/bar/baz"        unsynced  behind: replayed from the backend,
 *   a slow watcher (100 buffered events) is                    ≤ 1000 revisions per batch
 *     dropped                                        victims   their stream's channel (128) was full:
 *                                                              the batch waits and is retried
 */
import type { Lesson } from "./lesson.js";
import { utf8 } from "../shared/bytes.js";
import { eventCount, inParallel, must } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";
import type { V2Watch } from "./workload.js";

export const HISTORY = 2500;
export const BURST = 150;
export const HOT_WRITES = 200;
/** A v2 watcher's event channel (`newWatcher` buffers 100 events in etcd's v2store). */
const V2_WATCHER_BUFFER = 100;
/** A v3 watch stream's response channel (`chanBufLen = 128` in etcd's mvcc). */
const V3_STREAM_BUFFER = 128;

export const lesson: Lesson = {
  id: 12,
  slug: "watcher-machinery",
  title: "Inside the watcher machinery",
  lesson: "v2's watcher hub keeps watchers in lists by path and, for each event, checks the lists of the key and all its parents. v3's watchable store keeps watchers in groups: synced ones get events as they happen, unsynced ones are replayed from the backend in batches, and a watcher whose stream is full becomes a victim until its reader catches up.",
  youWillSee: [
    "which v2 watchers an event on /foo/bar/baz reaches, and why",
    `a v3 watcher starting ${HISTORY} revisions back, caught up in batches of at most 1000 revisions`,
    "a slow reader: a v2 watcher dropped after 100 buffered events, a v3 watcher parked as a victim and resumed",
  ],
  tryChanging: ["HISTORY: npm start -- 12 --set HISTORY=999", "BURST (100 or fewer: the v2 watcher keeps up)", "HOT_WRITES (128 or fewer: there is no victim)"],
  params: {
    HISTORY: { default: HISTORY, min: 1, max: 20000, description: "revisions the catch-up watcher starts behind", suggested: [999, 1000, 1001, 5000] },
    BURST: { default: BURST, min: 1, max: 1000, description: "v2 keys expiring in one sweep", suggested: [100, 101] },
    HOT_WRITES: { default: HOT_WRITES, min: 1, max: 2000, description: "puts while the v3 reader does not read", suggested: [100, 128, 129] },
  },
  async run(ctx) {
    const HISTORY = ctx.param("HISTORY");
    const BURST = ctx.param("BURST");
    const HOT_WRITES = ctx.param("HOT_WRITES");
    const target = await ctx.openTarget();
    const { v2, v3 } = target;

    ctx.step(
      "v2: one event, the lists of every parent path",
      "Six v2 watchers, registered at different paths, and three v3 watchers on one stream. Then one write to /foo/bar/baz (foo/bar/baz in v3).",
    );
    const specs: Array<{ label: string; path: string; recursive: boolean }> = [
      { label: "/ recursive", path: "/", recursive: true },
      { label: "/foo recursive", path: "/foo", recursive: true },
      { label: "/foo (key only)", path: "/foo", recursive: false },
      { label: "/foo/bar/baz (key only)", path: "/foo/bar/baz", recursive: false },
      { label: "/foo/other recursive", path: "/foo/other", recursive: true },
      { label: "/foo/_hidden recursive", path: "/foo/_hidden", recursive: true },
    ];
    const watches: V2Watch[] = [];
    for (const spec of specs) watches.push(must(await v2.watch(spec.path, { recursive: spec.recursive }), "watch"));
    const stream = await v3.watch();
    await stream.send({ create_request: { key: utf8("foo/"), range_end: utf8("foo0") } });
    await stream.send({ create_request: { key: utf8("foo/bar/baz") } });
    await stream.send({ create_request: { key: utf8("foo") } });
    await stream.take();
    must(await v2.set("/foo/bar/baz", "1"), "set");
    must(await v3.put({ key: utf8("foo/bar/baz"), value: utf8("1") }), "put");
    const v3Got = await stream.take();
    await stream.close();
    const got: boolean[] = [];
    for (const watch of watches) got.push((await watch.take()).length > 0);
    ctx.table(
      specs.map((spec, i) => ({ label: spec.label, v2: got[i] ? "notified" : "not notified", v3: "" })).concat([
        { label: "v3, one stream: id 0 prefix foo/, id 1 key foo/bar/baz, id 2 key foo", v2: "", v3: `${v3Got.length} responses, to watch ids ${v3Got.map((r) => r.watch_id).join(", ")}` },
      ]),
      { labelHeader: "watcher" },
    );
    for (const watch of watches) await watch.close();
    ctx.claim({
      id: "v2-hub-parents",
      claim: "an event on /foo/bar/baz reaches the recursive watchers on its parents and the watcher on the key itself, and no one else",
      v2Value: specs.filter((_, i) => got[i]).map((s) => s.label).join("; "),
      v3Value: null,
      holds: got.join() === [true, true, false, true, false, false].join(),
    });
    ctx.say(
      "v2 walks the event's path: for \"/\", \"/foo\", \"/foo/bar\" and \"/foo/bar/baz\" it checks the watchers listed there; a watcher on a parent takes the event only if it is recursive. v3 instead asks its watcher group which watchers' keys or ranges contain the key: a map for single keys, an interval tree for ranges.",
    );

    const v3i = target.v3Internals;
    if (v3i === undefined) {
      ctx.limitation("watcher groups, catch-up batches and victims are inside the server; this target cannot show them");
      return;
    }

    ctx.step(
      `v3: a watcher that starts ${HISTORY} revisions back`,
      `Write ${HISTORY} revisions, then open two watchers on the same key: one from now (synced at once), one from the first revision (unsynced). Then run the catch-up loop one pass at a time.`,
    );
    const fresh = await ctx.openTarget();
    const fi = fresh.v3Internals ?? v3i;
    let first = 0;
    for (let i = 0; i < HISTORY; i++) {
      const put = must(await fresh.v3.put({ key: utf8("jobs/log"), value: utf8(`line ${i}`) }), "put");
      if (i === 0) first = put.header.revision;
    }
    const catchUp = await fresh.v3.watch();
    await catchUp.send({ create_request: { key: utf8("jobs/log") } });
    await catchUp.send({ create_request: { key: utf8("jobs/log"), start_revision: first } });
    await catchUp.take();
    const groupsRows = [];
    const before = fi.watcherGroups();
    groupsRows.push({ label: "after creating both", v2: "", v3: `synced ${before.synced}, unsynced ${before.unsynced}` });
    const batches: number[] = [];
    for (let pass = 1; pass <= 10; pass++) {
      const left = fi.syncWatchersOnce();
      const responses = (await catchUp.take()).filter((r) => r.events.length > 0);
      for (const r of responses) batches.push(r.events.length);
      const g = fi.watcherGroups();
      groupsRows.push({ label: `catch-up pass ${pass}`, v2: "", v3: `${responses.map((r) => `${r.events.length} events`).join(", ") || "nothing"}; synced ${g.synced}, unsynced ${g.unsynced}` });
      if (left === 0) break;
    }
    await catchUp.close();
    ctx.table(groupsRows, { labelHeader: "" });
    ctx.measure("catchUpBatches", batches.length);
    ctx.claim({
      id: "catch-up-batches",
      claim: `a watcher ${HISTORY} revisions behind is replayed in batches of at most 1000 revisions, then joins the synced group`,
      v2Value: null,
      v3Value: batches.join(" + "),
      holds: batches.length === Math.ceil(HISTORY / 1000) && batches.every((b) => b <= 1000) && batches.reduce((a, b) => a + b, 0) === HISTORY && fi.watcherGroups().unsynced === 0,
    });

    ctx.step(
      "A slow reader",
      `v2: a stream watch on /burst, then ${BURST} keys under it expire in one sweep. v3: a stream whose client does not read, watching "hot", then ${HOT_WRITES} puts to hot; after that the client reads everything.`,
    );
    const slowTarget = await ctx.openTarget();
    const si = slowTarget.v3Internals ?? v3i;
    must(await slowTarget.v2.set("/burst", "", { dir: true }), "mkdir");
    // All sent at once, so that over a network too they expire together, in one sweep.
    await inParallel(BURST, BURST, async (i) => {
      must(await slowTarget.v2.set(`/burst/k${i}`, "x", { ttlSeconds: 2 }), "set");
    });
    const slow2 = must(await slowTarget.v2.watch("/burst", { recursive: true, stream: true }), "watch");
    await slowTarget.advance(3000);
    const got2 = (await slow2.take()).length;
    const dropped2 = slow2.done();
    await slow2.close();
    const slow3 = si.openSlowStream();
    await slow3.send({ create_request: { key: utf8("hot") } });
    await slow3.take();
    for (let i = 0; i < HOT_WRITES; i++) must(await slowTarget.v3.put({ key: utf8("hot"), value: utf8(String(i)) }), "put");
    const parked = si.watcherGroups();
    const read1 = slow3.read();
    await slowTarget.advance(100);
    const read2 = slow3.read();
    const after = si.watcherGroups();
    const delivered = eventCount(await slow3.take());
    await slow3.close();
    ctx.table(
      [
        { label: "events produced at once", v2: `${BURST} expire events (one sweep)`, v3: `${HOT_WRITES} puts, one response each` },
        { label: "while the reader is slow", v2: `buffer of 100 full → watcher dropped: ${dropped2}`, v3: `synced ${parked.synced}, victims ${parked.victims}` },
        { label: "after the reader catches up", v2: `${got2} events received, then the stream ended`, v3: `read ${read1} + ${read2} responses; synced ${after.synced}, victims ${after.victims}` },
        { label: "events received in total", v2: got2, v3: delivered },
      ],
      { labelHeader: "" },
    );
    // Both halves need a burst bigger than the buffer it tests: more than 100 events for the v2
    // watcher, more than 128 responses for the v3 stream.
    ctx.claim({
      id: "slow-reader",
      claim: "a slow v2 watcher is dropped and loses events; a slow v3 watcher is parked as a victim and gets every event once its reader catches up",
      when: `BURST > ${V2_WATCHER_BUFFER} and HOT_WRITES > ${V3_STREAM_BUFFER}`,
      v2Value: `${got2}/${BURST}, ${dropped2 ? "dropped" : "not dropped"}`,
      v3Value: `${delivered}/${HOT_WRITES}, ${parked.victims === 1 ? "victim then synced" : "never a victim"}`,
      holds: dropped2 && got2 < BURST && parked.victims === 1 && after.victims === 0 && delivered === HOT_WRITES,
      ...(BURST > V2_WATCHER_BUFFER && HOT_WRITES > V3_STREAM_BUFFER ? {} : { notApplicable: true }),
    });
    ctx.say(
      dropped2
        ? `v2: ${BURST} events overflowed the watcher's buffer of ${V2_WATCHER_BUFFER}; it was dropped after ${got2}.`
        : `v2: ${BURST} events fit in the watcher's buffer of ${V2_WATCHER_BUFFER}; it received ${got2} and was not dropped.`,
      parked.victims === 1
        ? `v3: ${HOT_WRITES} responses overflowed the stream's channel of ${V3_STREAM_BUFFER}; the watcher waited as a victim and then got all ${delivered}.`
        : `v3: ${HOT_WRITES} responses fit in the stream's channel of ${V3_STREAM_BUFFER}, so the watcher never became a victim; it got all ${delivered}.`,
    );

    ctx.whatJustHappened(
      "v2's hub is a map from path to a list of watchers; notifying an event means walking the key's path and checking each list, so the cost follows the depth of the key, and every watcher is one long poll with a 100-event buffer. When a burst outruns the reader, the hub drops the watcher and the client must start again (and may find its index cleared, lesson 4).",
      `v3 splits watchers by how far behind they are. New events go only to synced watchers; an unsynced one is fed from the backend by a loop that sends at most 1000 revisions per batch (here ${batches.join(" + ")}), then moves it to synced. A watcher whose stream channel (128 responses) is full is not dropped: its pending batch is set aside as a victim and retried until the reader makes room.`,
    );
    ctx.myth(
      "A slow v3 watcher slows down writers.",
      "Writers never wait: events for a full stream are parked with the victim and retried by a background loop; only that watcher falls behind.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

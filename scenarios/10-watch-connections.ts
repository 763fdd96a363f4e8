/**
 * Lesson 10 · Watch connections.
 *
 *   v2: one HTTP long poll per watch                 v3: one gRPC stream per client
 *   client 1 ──GET ?wait=true /a──►                  client 1 ══ stream ══► watch a, b, c
 *            ──GET ?wait=true /b──►  server                                   (watch_id 0, 1, 2)
 *            ──GET ?wait=true /c──►
 *   each answer ends its request: the client must send a new one to keep watching
 *
 * N clients each watch M keys. Connections, watchers and the requests needed to keep watching
 * after one change per key are counted on both sides.
 */
import type { Lesson } from "./lesson.js";
import { utf8 } from "../shared/bytes.js";
import { must } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";
import type { V2Watch } from "./workload.js";

export const GRID: ReadonlyArray<[clients: number, watchersPerClient: number]> = [
  [1, 1],
  [1, 10],
  [10, 10],
  [100, 10],
];

interface Cell {
  label: string;
  watchers: number;
  v2Connections: number;
  v2ServerWatchers: number;
  v2Rewatches: number;
  v2Events: number;
  v3Streams: number;
  v3Watchers: number;
  v3Rewatches: number;
  v3Events: number;
  v2Still: number;
  v3Still: number;
}

export const lesson: Lesson = {
  id: 10,
  slug: "watch-connections",
  title: "Watch connections",
  lesson: "Every v2 watch is its own HTTP long poll: N clients with M watches hold N×M connections, and each event ends a request that must be sent again. A v3 client multiplexes all its watchers over one gRPC stream that stays open.",
  youWillSee: [
    "connections and server-side watchers for 1×1 up to 100×10 watchers, counted on both stores",
    "one change per watched key, and the requests each API needs to keep watching afterwards",
  ],
  tryChanging: ["GRID", "make the v2 watches stream=true (fewer re-polls, but still one connection per watch)"],
  async run(ctx) {
    const cells: Cell[] = [];
    ctx.step(
      "Open the watchers",
      "v2: one GET ?wait=true per watched key. v3: one Watch stream per client, one create request per key on it.",
    );
    for (const [clients, perClient] of GRID) {
      const target = await ctx.openTarget();
      const { v2, v3 } = target;
      const keys: string[] = [];
      for (let c = 0; c < clients; c++) for (let k = 0; k < perClient; k++) keys.push(`c${c}/k${k}`);
      for (const key of keys) {
        must(await v2.set(`/w/${key}`, "0"), "set");
        must(await v3.put({ key: utf8(`w/${key}`), value: utf8("0") }), "put");
      }
      const v2Watches: V2Watch[] = [];
      for (const key of keys) v2Watches.push(must(await v2.watch(`/w/${key}`), "watch"));
      const streams = [];
      let created = 0;
      for (let c = 0; c < clients; c++) {
        const stream = await v3.watch();
        for (let k = 0; k < perClient; k++) await stream.send({ create_request: { key: utf8(`w/c${c}/k${k}`) } });
        created += (await stream.take()).filter((r) => r.created && !r.canceled).length;
        streams.push(stream);
      }
      const serverWatchers = (await v2.stats()).watchers;
      const groups = target.v3Internals?.watcherGroups();

      // One change to every watched key.
      for (const key of keys) {
        must(await v2.set(`/w/${key}`, "1"), "set");
        must(await v3.put({ key: utf8(`w/${key}`), value: utf8("1") }), "put");
      }
      let v2Events = 0;
      for (const watch of v2Watches) v2Events += (await watch.take()).length;
      let v3Events = 0;
      let v3Canceled = 0;
      for (const stream of streams) {
        const responses = await stream.take();
        v3Events += responses.reduce((n, r) => n + r.events.length, 0);
        v3Canceled += responses.filter((r) => r.canceled).length;
      }
      // Watchers still registered after their event: the rest must be asked for again.
      const v2Still = (await v2.stats()).watchers;
      const groupsAfter = target.v3Internals?.watcherGroups();
      const v3Still = groupsAfter === undefined ? created - v3Canceled : groupsAfter.synced + groupsAfter.unsynced;
      let v2Rewatches = 0;
      for (let i = 0; i < v2Watches.length; i++) {
        // A finished long poll must be sent again, from the next index, to keep watching.
        if ((v2Watches[i] as V2Watch).done()) {
          v2Rewatches += 1;
          const next = must(await v2.watch(`/w/${keys[i]}`), "re-watch");
          await next.close();
        }
      }
      for (const stream of streams) await stream.close();
      for (const watch of v2Watches) await watch.close();
      const label = `${clients}×${perClient}`;
      cells.push({
        label,
        watchers: keys.length,
        v2Connections: v2Watches.length,
        v2ServerWatchers: serverWatchers,
        v2Rewatches,
        v2Events,
        v3Streams: streams.length,
        v3Watchers: groups === undefined ? created : groups.synced + groups.unsynced,
        v3Rewatches: keys.length - v3Still,
        v2Still,
        v3Still,
        v3Events,
      });
      ctx.progress(cells.length, GRID.length);
    }

    ctx.table(
      cells.flatMap((c) => [
        { label: `${c.label}: connections`, v2: `${c.v2Connections} long poll${c.v2Connections === 1 ? "" : "s"}`, v3: `${c.v3Streams} stream${c.v3Streams === 1 ? "" : "s"}` },
        { label: `${c.label}: watchers on the server`, v2: c.v2ServerWatchers, v3: c.v3Watchers },
        { label: `${c.label}: events received`, v2: c.v2Events, v3: c.v3Events },
        { label: `${c.label}: still watching after it`, v2: c.v2Still, v3: c.v3Still },
        { label: `${c.label}: requests to keep watching`, v2: c.v2Rewatches, v3: c.v3Rewatches },
      ]),
      { labelHeader: "clients × watchers", title: "Counted after one change per watched key" },
    );
    ctx.chart({
      id: "connections-vs-watchers",
      title: "Connections held for the same watchers",
      kind: "bars",
      xLabel: "clients × watchers per client",
      yLabel: "connections",
      x: cells.map((c) => c.label),
      series: [
        { name: "v2 long polls", api: "v2", values: cells.map((c) => c.v2Connections) },
        { name: "v3 streams", api: "v3", values: cells.map((c) => c.v3Streams) },
      ],
    });
    const biggest = cells[cells.length - 1];
    if (biggest !== undefined) {
      ctx.measure("v2ConnectionsAtMax", biggest.v2Connections);
      ctx.measure("v3StreamsAtMax", biggest.v3Streams);
      ctx.claim({
        id: "connections-scale",
        claim: `for ${biggest.label} watchers v2 holds one connection per watch and v3 one stream per client`,
        v2Value: biggest.v2Connections,
        v3Value: biggest.v3Streams,
        holds: cells.every((c, i) => c.v2Connections === c.watchers && c.v3Streams === GRID[i]?.[0] && c.v3Watchers === c.watchers),
      });
      ctx.claim({
        id: "rewatch",
        claim: "after one event per key, every v2 watch must be sent again; v3 watchers stay registered",
        v2Value: biggest.v2Rewatches,
        v3Value: biggest.v3Rewatches,
        holds: cells.every((c) => c.v2Rewatches === c.watchers && c.v2Still === 0 && c.v3Rewatches === 0 && c.v2Events === c.watchers && c.v3Events === c.watchers),
      });
    }

    ctx.whatJustHappened(
      "A v2 watch is a GET that the server holds open until one event arrives; then the response ends. Each one costs an HTTP connection (or a slot in a client's connection pool) and a goroutine on the server for as long as it waits, and after every event the client must send a new request with waitIndex = last index + 1, or miss what happens in between.",
      "A v3 client opens one bidirectional gRPC stream and sends a create request per watcher; events for all of them come back on the same stream, tagged with watch_id, and the watchers stay registered. The server's cost per watcher is a small entry in the synced group, not a connection.",
    );
    ctx.myth(
      "v2 watches are cheap because they are just HTTP requests.",
      "Each is a held-open request: 1000 watches are 1000 connections and 1000 waiting goroutines, and 1000 new requests after every round of events.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

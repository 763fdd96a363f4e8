/**
 * Lesson 11 · Prefix and range watches.
 *
 *   v2 can watch:  one key                  /app            (recursive=false)
 *                  one directory subtree    /app/**         (recursive=true)
 *   v3 can watch:  one key                  app
 *                  any prefix               [app, apq)      matches app, app/x, app1, apple
 *                  any range                [b, d)          matches b…, c…, not d
 *                  everything from a key    [m, "\0")
 *
 * The same writes go to both stores; each watcher reports what it received.
 */
import type { Lesson } from "./lesson.js";
import { prefixEnd } from "./kvWorkload.js";
import { must } from "./lessonKit.js";
import { fromUtf8, utf8 } from "../shared/bytes.js";
import { runIfMain } from "./standalone.js";
import type { V2Watch } from "./workload.js";

const WRITES = ["app", "app/x", "app/y/z", "app1", "apple", "b/1", "c", "d", "m", "z"];

export const lesson: Lesson = {
  id: 11,
  slug: "prefix-watches",
  title: "Prefix and range watches",
  lesson: "A v2 watch covers one key or one directory subtree. A v3 watch covers any byte range: a prefix that cuts through names (app → app1, apple), an interval [b, d), or everything from a key onwards.",
  youWillSee: [
    `${WRITES.length} writes (${WRITES.join(", ")}) delivered to watchers of each kind`,
    "v2's recursive watch stopping at directory boundaries, where v3's prefix does not",
  ],
  tryChanging: ["the list of WRITES", "the v3 range [b, d) to [b, d\\0)"],
  async run(ctx) {
    const target = await ctx.openTarget();
    const { v2, v3 } = target;

    ctx.step("Open the watchers", "v2: stream watches on /app (key only), /app (recursive) and / (recursive). v3: one stream with watches on the key app, the prefix app, the range [b, d) and from m onwards.");
    const v2Watches: Array<{ label: string; watch: V2Watch }> = [
      { label: "/app (key only)", watch: must(await v2.watch("/app", { stream: true }), "watch") },
      { label: "/app recursive", watch: must(await v2.watch("/app", { stream: true, recursive: true }), "watch") },
      { label: "/ recursive", watch: must(await v2.watch("/", { stream: true, recursive: true }), "watch") },
    ];
    const stream = await v3.watch();
    const v3Specs: Array<{ label: string; key: string; end?: Uint8Array }> = [
      { label: "key app", key: "app" },
      { label: "prefix app", key: "app", end: prefixEnd(utf8("app")) },
      { label: "range [b, d)", key: "b", end: utf8("d") },
      { label: "from m (--from-key)", key: "m", end: new Uint8Array([0]) },
    ];
    for (const spec of v3Specs) {
      await stream.send({ create_request: { key: utf8(spec.key), ...(spec.end === undefined ? {} : { range_end: spec.end }) } });
    }
    const created = (await stream.take()).filter((r) => r.created).map((r) => r.watch_id);

    ctx.step("Write the keys", "The same keys go to both stores, in this order. In v2, /app is written first as a key, so app/x and app/y/z have no directory to go into.");
    const writeRows = [];
    for (const key of WRITES) {
      const a = await v2.set(`/${key}`, "v");
      const b = must(await v3.put({ key: utf8(key), value: utf8("v") }), "put");
      writeRows.push({ label: `put ${key}`, v2: a.ok ? `index ${a.value.etcdIndex}` : `Error: ${a.error.errorCode}: ${a.error.message} (${a.error.cause ?? ""})`, v3: `revision ${b.header.revision}` });
    }
    ctx.table(writeRows, { labelHeader: "write" });

    const responses = await stream.take();
    const received = new Map<number, string[]>();
    for (const r of responses) for (const e of r.events) received.set(r.watch_id, [...(received.get(r.watch_id) ?? []), fromUtf8(e.kv.key)]);
    const v2Rows: Array<{ label: string; keys: string[] }> = [];
    for (const { label, watch } of v2Watches) v2Rows.push({ label, keys: (await watch.take()).map((e) => (e.node.key ?? "").slice(1)) });
    const v3Rows = v3Specs.map((spec, i) => ({ label: spec.label, keys: received.get(created[i] ?? -1) ?? [] }));
    const rows = [];
    for (let i = 0; i < Math.max(v2Rows.length, v3Rows.length); i++) {
      const a = v2Rows[i];
      const b = v3Rows[i];
      rows.push({
        label: `watcher ${i + 1}`,
        v2: a === undefined ? "" : `${a.label}: ${a.keys.join(" ") || "(nothing)"}`,
        v3: b === undefined ? "" : `${b.label}: ${b.keys.join(" ") || "(nothing)"}`,
      });
    }
    ctx.table(rows, { labelHeader: "", title: "What each watcher received" });
    for (const { watch } of v2Watches) await watch.close();
    await stream.close();

    const prefix = v3Rows[1]?.keys ?? [];
    const range = v3Rows[2]?.keys ?? [];
    const recursive = v2Rows[1]?.keys ?? [];
    ctx.measure("v3PrefixEvents", prefix.length);
    ctx.measure("v3RangeEvents", range.length);
    ctx.claim({
      id: "v3-prefix-cuts-names",
      claim: "a v3 prefix watch on \"app\" also sees app1 and apple; v2's recursive watch on /app sees only its own subtree",
      v2Value: recursive.join(" ") || "(nothing)",
      v3Value: prefix.join(" "),
      holds: prefix.includes("app1") && prefix.includes("apple") && !recursive.includes("app1") && !recursive.includes("apple"),
    });
    ctx.claim({
      id: "v3-range-half-open",
      claim: "a v3 range watch [b, d) sees b/1 and c but not d",
      v2Value: null,
      v3Value: range.join(" "),
      holds: range.includes("b/1") && range.includes("c") && !range.includes("d"),
    });

    ctx.whatJustHappened(
      "v2's tree decides what a watch can cover: a key or a directory and everything under it. Because /app became a key first, v2 refused app/x and app/y/z outright (104 Not a directory), so even the layout of names is constrained by the watch model.",
      "v3 matches events against byte intervals. A prefix is the interval [app, apq); a range is any [start, end). The watchable store keeps single-key watchers in a map and range watchers in an interval tree, and an event goes to every interval that contains its key.",
    );
    ctx.myth(
      "A v3 prefix watch on \"/app\" only sees keys under \"/app/\".",
      "It sees every key that starts with the bytes \"/app\", including \"/apple\". Put the trailing slash in the prefix when you mean a directory.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

/**
 * v3 put with 10k watchers on unrelated keys, and with 10k unrelated range watchers, against the
 * same puts with no watchers.
 *
 * All three sides are a watchable store over a fresh MVCC store taking the same 50k puts, on keys
 * "key/0000/0000" … "key/0049/0999" in seeded random order. The watchers sit between those keys,
 * interleaved with them (every fifth key, plus "~"), so they share the written part of the key space
 * but match no put: no shortcut on the bounds of the watched space can answer for them, and what a
 * put pays is the lookup etcd's watcherGroup makes for each event (a map probe for key watchers,
 * an interval-tree stab for range watchers). Each watcher has its own channel, which must stay empty.
 *
 *   puts:            "key/0000/0000", "key/0000/0001", …
 *   key watchers:    "key/0000/0000~", "key/0000/0005~", … (10k)
 *   range watchers:  ["key/0000/0000~", "key/0000/0000~~"), … (10k distinct intervals, none holds a put key)
 */
import { utf8 } from "../shared/bytes.js";
import { KVStore } from "../v3/kvstore.js";
import { NO_LEASE } from "../v3/rpc.js";
import { WatchChannel } from "../v3/watcher.js";
import { WatchableStore } from "../v3/watchableStore.js";
import { pairedTrials, type PairedResult } from "./harness.js";
import type { BenchContext } from "./main.js";
import { slowdownRow, type Row } from "./table.js";
import { BENCH_VALUE, benchKeyText, shuffledKeys } from "./workload.js";

const WATCHERS = 10_000;
const PUTS = 50_000;
/** Watcher i sits just after put key STRIDE × i, so the watchers spread over all the written keys. */
const STRIDE = PUTS / WATCHERS;

type WatcherKind = "none" | "key" | "range";

/** A fresh watchable store with 10k watchers of `kind`, and the channels they would hear on. */
function storeWith(kind: WatcherKind): { store: WatchableStore; channels: WatchChannel[] } {
  const kv = new KVStore();
  const store = new WatchableStore(kv, kv.backend);
  const channels: WatchChannel[] = [];
  if (kind === "none") return { store, channels };
  for (let i = 0; i < WATCHERS; i++) {
    const name = `${benchKeyText(STRIDE * i)}~`;
    const ch = new WatchChannel();
    channels.push(ch);
    if (kind === "key") store.watch(utf8(name), undefined, 0, i, ch, []);
    else store.watch(utf8(name), utf8(`${name}~`), 0, i, ch, []);
  }
  return { store, channels };
}

function compare(kind: WatcherKind, keys: readonly Uint8Array[]): PairedResult {
  let channels: WatchChannel[] = [];
  const phase = (which: WatcherKind) => () => {
    const made = storeWith(which);
    if (which !== "none") channels = made.channels;
    return () => {
      for (const key of keys) made.store.put(key, BENCH_VALUE, NO_LEASE);
    };
  };
  const result = pairedTrials({ trials: 9 }, phase("none"), phase(kind));
  const heard = channels.filter((ch) => ch.length > 0).length;
  if (heard > 0) throw new Error(`${heard} unrelated v3 ${kind} watchers received events`);
  return result;
}

export async function run(context: BenchContext): Promise<Row[]> {
  const keys = shuffledKeys(PUTS, context.seed);
  const rows: Row[] = [];
  for (const [kind, measure] of [
    ["key", "v3 put, 10k watchers on unrelated keys"],
    ["range", "v3 put, 10k unrelated range watchers"],
  ] as const) {
    const result = compare(kind, keys);
    context.log(`${kind}: none ${result.baselineMs.toFixed(1)} ms, 10k ${result.subjectMs.toFixed(1)} ms`);
    rows.push(
      slowdownRow({
        bench: "v3-put-watchers",
        measure,
        subjectMsPerOp: result.subjectMs / PUTS,
        baselineMsPerOp: result.baselineMs / PUTS,
        slowdown: result.slowdown,
        baselineLabel: "no watchers",
        atMost: 1.2,
      }),
    );
  }
  return rows;
}

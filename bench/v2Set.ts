/**
 * v2 set throughput against a plain nested-object tree (`plainTree.ts`).
 *
 * Both sides set the same 100k new keys, "/key/0000/0000" … "/key/0099/0999", in one seeded random
 * order, into a fresh tree each trial. The v2 side pays for what etcd's `store.Set` does on top:
 * path cleaning, node objects with indexes, the returned event with its node and prevNode, the
 * 1000-event history and the watcher hub's notify walk.
 */
import { V2Store } from "../v2/store.js";
import { pairedTrials } from "./harness.js";
import type { BenchContext } from "./main.js";
import { plainSet, type PlainDir } from "./plainTree.js";
import { throughputRow, type Row } from "./table.js";
import { BENCH_VALUE_TEXT, shuffledKeyTexts } from "./workload.js";

const KEYS = 100_000;
/** Any fixed time: no key here has a TTL, so it only fills the `nowMs` parameter. */
const NOW_MS = 0;

/** The v2 paths of `count` bench keys, in seeded random order. */
export function v2Paths(count: number, seed: number): string[] {
  return shuffledKeyTexts(count, seed).map((text) => `/${text}`);
}

export async function run(context: BenchContext): Promise<Row[]> {
  const paths = v2Paths(KEYS, context.seed);
  const result = pairedTrials(
    { trials: 5 },
    () => {
      const root: PlainDir = {};
      return () => {
        for (const path of paths) plainSet(root, path, BENCH_VALUE_TEXT);
      };
    },
    () => {
      const store = new V2Store();
      return () => {
        for (const path of paths) store.set(path, false, BENCH_VALUE_TEXT, {}, NOW_MS);
      };
    },
  );
  context.log(`median plain ${result.baselineMs.toFixed(1)} ms, v2 ${result.subjectMs.toFixed(1)} ms`);
  return [
    throughputRow({
      bench: "v2-set",
      measure: "v2 set, 100k new keys",
      count: KEYS,
      subjectMs: result.subjectMs,
      baselineMs: result.baselineMs,
      slowdown: result.slowdown,
      baselineLabel: "nested objects",
      unit: "sets/s",
      atLeast: 1 / 3,
      atLeastText: "1/3",
      missNote:
        "bounded by etcd's set shape and by what it keeps: internalGet walks the path, then internalCreate walks it " +
        "again making the directories (the baseline walks once); then a 9-field Node in a children Map, an Event " +
        "with a frozen NodeExtern view, a slot in the 1000-event history and stats; a large share of the time is GC " +
        "of those objects, where the nested-object baseline keeps one property per key",
    }),
  ];
}

/**
 * v2 set with 10k watchers on unrelated paths, against the same sets with no watchers.
 *
 * etcd's watcher hub keeps watchers in a map from path to list, and a change to "/key/0001/0234"
 * looks up only "/", "/key", "/key/0001" and "/key/0001/0234" (watcher_hub.go `notify`), however
 * many watchers wait elsewhere; the target is at most 1.2× slower. The watchers sit on paths of the
 * same shape that are never written (`unrelatedKeyText`), siblings of the written keys, half of
 * them recursive: they share every directory the sets write into but none of their paths.
 *
 *   50k sets:             /key/0000/0000 … /key/0049/0999, seeded random order
 *   10k stream watchers:  /key/0000/00a0 (non-recursive), /key/0000/00a5 (recursive), …
 */
import { V2Store } from "../v2/store.js";
import type { Watcher } from "../v2/watcher.js";
import { pairedTrials } from "./harness.js";
import type { BenchContext } from "./main.js";
import { slowdownRow, type Row } from "./table.js";
import { v2Paths } from "./v2Set.js";
import { BENCH_VALUE_TEXT, unrelatedKeyText } from "./workload.js";

const WATCHERS = 10_000;
const SETS = 50_000;
/** Watcher i sits next to set path STRIDE × i, so the watchers spread over all the written directories. */
const STRIDE = SETS / WATCHERS;
const NOW_MS = 0;

export async function run(context: BenchContext): Promise<Row[]> {
  const paths = v2Paths(SETS, context.seed);
  let woken = 0;
  // Each phase holds only its own store and watchers, so neither side runs on a heap the other left.
  const result = pairedTrials(
    { trials: 7 },
    () => {
      const store = new V2Store();
      return () => {
        for (const path of paths) store.set(path, false, BENCH_VALUE_TEXT, {}, NOW_MS);
      };
    },
    () => {
      const store = new V2Store();
      const watched: Watcher[] = [];
      for (let i = 0; i < WATCHERS; i++) {
        watched.push(store.watch(`/${unrelatedKeyText(STRIDE * i)}`, i % 2 === 1, true, 0));
      }
      return () => {
        for (const path of paths) store.set(path, false, BENCH_VALUE_TEXT, {}, NOW_MS);
        // Every watcher must still be waiting: none was told of a set it does not cover.
        for (const watcher of watched) if (watcher.eventChan.length > 0) woken++;
      };
    },
  );
  if (woken > 0) throw new Error(`${woken} times an unrelated v2 watcher received events`);
  context.log(`median none ${result.baselineMs.toFixed(1)} ms, 10k watchers ${result.subjectMs.toFixed(1)} ms`);
  return [
    slowdownRow({
      bench: "v2-set-watchers",
      measure: "v2 set, 10k watchers on unrelated paths",
      subjectMsPerOp: result.subjectMs / SETS,
      baselineMsPerOp: result.baselineMs / SETS,
      slowdown: result.slowdown,
      baselineLabel: "no watchers",
      atMost: 1.2,
      missNote:
        "the hub's walk is the cost, not the watchers' memory (walk switched off: 1.02×): each prefix of " +
        "the key is looked up in a Map of 10k watched paths, and the no-watcher baseline skips the walk",
    }),
  ];
}

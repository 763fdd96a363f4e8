/**
 * v3 get at an old revision, with 10 versions per key, against the latest-revision get.
 *
 * The store holds 100k keys, each put 10 times in 10 rounds (1M revisions). A get at the revision
 * that ended round 1 must find, in each key's generation, the oldest of its 10 revisions
 * (keyIndex.get walks back from the newest); the latest get takes the newest. Both read through
 * `store.range(key)` with the same seeded random keys, so the only difference is the history walk.
 *
 *   revisions: round 1 → 2 … 100,001    round 10 → 900,002 … 1,000,001
 *   old get:    store.range(key, undefined, { rev: 100_001 })   → version 1
 *   latest get: store.range(key)                                 → version 10
 */
import { Random } from "../shared/random.js";
import { KVStore } from "../v3/kvstore.js";
import { NO_LEASE } from "../v3/rpc.js";
import { pairedTrials } from "./harness.js";
import type { BenchContext } from "./main.js";
import { slowdownRow, type Row } from "./table.js";
import { BENCH_VALUE, shuffledKeys } from "./workload.js";

const KEYS = 100_000;
const VERSIONS = 10;
const GETS_PER_TRIAL = 100_000;

export async function run(context: BenchContext): Promise<Row[]> {
  const keys = shuffledKeys(KEYS, context.seed);
  const store = new KVStore();
  let oldRev = 0;
  for (let round = 0; round < VERSIONS; round++) {
    for (const key of keys) store.put(key, BENCH_VALUE, NO_LEASE);
    if (round === 0) oldRev = store.rev();
  }
  const random = new Random(context.seed);
  const gets = Array.from({ length: GETS_PER_TRIAL }, () => keys[random.int(0, KEYS - 1)] as Uint8Array);
  const oldOptions = { rev: oldRev };

  const result = pairedTrials(
    { trials: 7 },
    () => () => {
      for (const key of gets) {
        if (store.range(key, undefined).kvs[0]?.version !== VERSIONS) throw new Error("latest get missed");
      }
    },
    () => () => {
      for (const key of gets) {
        if (store.range(key, undefined, oldOptions).kvs[0]?.version !== 1) throw new Error("old get missed");
      }
    },
  );
  context.log(`latest ${result.baselineMs.toFixed(1)} ms, old ${result.subjectMs.toFixed(1)} ms for ${GETS_PER_TRIAL} gets`);
  return [
    slowdownRow({
      bench: "v3-get-old",
      measure: "v3 get at an old revision, 10 versions per key",
      subjectMsPerOp: result.subjectMs / GETS_PER_TRIAL,
      baselineMsPerOp: result.baselineMs / GETS_PER_TRIAL,
      slowdown: result.slowdown,
      baselineLabel: "latest-revision get",
      atMost: 2,
    }),
  ];
}

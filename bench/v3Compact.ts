/**
 * Compaction of 1M revisions, against the time it took to put them.
 *
 * Each trial fills a fresh MVCC store with 100k keys × 10 versions (1M revisions, 2 … 1,000,001),
 * timing the puts, then compacts at the current revision, timing that. The compaction walks every
 * keyIndex (dropping 9 of its 10 revisions) and removes 900k entries from the backend. Both halves
 * are measured in the same trial on the same store, so the ratio is compaction time ÷ put time.
 *
 *   put × 1,000,000            → P ms
 *   compact(1,000,001)          → C ms        ratio C / P, target ≤ 0.5
 */
import { KVStore } from "../v3/kvstore.js";
import { NO_LEASE } from "../v3/rpc.js";
import { collectGarbage, cpuMs, median } from "./harness.js";
import type { BenchContext } from "./main.js";
import { duration, type Row } from "./table.js";
import { BENCH_VALUE, shuffledKeys } from "./workload.js";

const KEYS = 100_000;
const VERSIONS = 10;
const TRIALS = 3;

export async function run(context: BenchContext): Promise<Row[]> {
  const keys = shuffledKeys(KEYS, context.seed);
  const putMs: number[] = [];
  const compactMs: number[] = [];
  const ratios: number[] = [];
  // One untimed round at a tenth of the size warms the JIT for both halves.
  for (let trial = -1; trial < TRIALS; trial++) {
    const versions = trial < 0 ? 1 : VERSIONS;
    const filled = new KVStore();
    collectGarbage();
    const put = cpuMs(() => {
      for (let round = 0; round < versions; round++) for (const key of keys) filled.put(key, BENCH_VALUE, NO_LEASE);
    });
    collectGarbage();
    const compact = cpuMs(() => filled.compact(filled.rev()));
    if (filled.backend.entries !== KEYS) throw new Error(`compaction left ${filled.backend.entries} entries, expected ${KEYS}`);
    if (trial < 0) continue;
    putMs.push(put);
    compactMs.push(compact);
    ratios.push(compact / put);
    context.log(`trial ${trial + 1}: put ${duration(put)}, compact ${duration(compact)}`);
  }
  const ratio = median(ratios);
  return [
    {
      bench: "v3-compact",
      measure: "v3 compaction of 1M revisions (100k keys × 10)",
      subject: `${duration(median(compactMs))} compact`,
      baseline: `${duration(median(putMs))} putting them`,
      ratio: `${ratio.toFixed(2)}×`,
      target: "≤ 0.5×",
      verdict: ratio <= 0.5 ? "pass" : "MISS",
    },
  ];
}

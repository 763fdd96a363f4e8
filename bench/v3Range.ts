/**
 * v3 prefix range returning 1,000 keys out of 1M, against the same range on a raw B-tree.
 *
 * Both structures hold the same 1M keys (1,000 prefixes × 1,000 keys). Each trial asks both for
 * the same 300 seeded random prefixes. The baseline walks the B-tree over [prefix, prefixEnd) and
 * collects the 1,000 values into an array; the v3 side is `store.range(prefix, prefixEnd)` at the
 * current revision: a read transaction, the index walk, one visible-revision check per keyIndex and
 * one backend lookup per key, returning the KeyValues.
 *
 *   baseline:  tree.forRange("key/0421/", "key/04210", false, (k, v) => out.push(v))   → 1,000 values
 *   etcdsim:   store.range(utf8("key/0421/"), utf8("key/04210"))                        → 1,000 kvs
 */
import { toBinaryString, utf8 } from "../shared/bytes.js";
import { Random } from "../shared/random.js";
import { KVStore } from "../v3/kvstore.js";
import { NO_LEASE } from "../v3/rpc.js";
import { pairedTrials } from "./harness.js";
import type { BenchContext } from "./main.js";
import { throughputRow, type Row } from "./table.js";
import { newRawBTree } from "./v3Put.js";
import { BENCH_VALUE, KEYS_PER_PREFIX, benchPrefixText, shuffledKeys } from "./workload.js";

const KEYS = 1_000_000;
const RANGES_PER_TRIAL = 300;

/** The first key after every key that starts with `prefix` (for these ASCII prefixes: last byte + 1). */
function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
}

export async function run(context: BenchContext): Promise<Row[]> {
  const keys = shuffledKeys(KEYS, context.seed);
  const store = new KVStore();
  const tree = newRawBTree<Uint8Array>();
  for (const key of keys) {
    store.put(key, BENCH_VALUE, NO_LEASE);
    tree.set(toBinaryString(key), BENCH_VALUE);
  }
  keys.length = 0;
  const random = new Random(context.seed);
  const prefixes = Array.from({ length: RANGES_PER_TRIAL }, () => utf8(benchPrefixText(random.int(0, KEYS / KEYS_PER_PREFIX - 1))));
  const ends = prefixes.map(prefixEnd);
  const prefixTexts = prefixes.map(toBinaryString);
  const endTexts = ends.map(toBinaryString);

  let returned = 0;
  const result = pairedTrials(
    { trials: 7 },
    () => () => {
      for (let i = 0; i < RANGES_PER_TRIAL; i++) {
        const out: Uint8Array[] = [];
        tree.forRange(prefixTexts[i] as string, endTexts[i] as string, false, (_key, value) => {
          out.push(value);
        });
        if (out.length !== KEYS_PER_PREFIX) throw new Error(`B-tree range returned ${out.length} keys`);
      }
    },
    () => () => {
      for (let i = 0; i < RANGES_PER_TRIAL; i++) {
        const answer = store.range(prefixes[i] as Uint8Array, ends[i] as Uint8Array);
        returned = answer.kvs.length;
        if (returned !== KEYS_PER_PREFIX) throw new Error(`v3 range returned ${returned} keys`);
      }
    },
  );
  context.log(`B-tree ${result.baselineMs.toFixed(1)} ms, v3 ${result.subjectMs.toFixed(1)} ms for ${RANGES_PER_TRIAL} ranges; trials ${result.trials.map((t) => `${t.baselineMs.toFixed(0)}/${t.subjectMs.toFixed(0)}`).join(" ")}`);
  return [
    throughputRow({
      bench: "v3-range",
      measure: "v3 prefix range, 1,000 of 1M keys",
      count: RANGES_PER_TRIAL,
      subjectMs: result.subjectMs,
      baselineMs: result.baselineMs,
      slowdown: result.slowdown,
      baselineLabel: "sorted-btree forRange",
      unit: "ranges/s",
      atLeast: 1 / 2,
      atLeastText: "1/2",
    }),
  ];
}

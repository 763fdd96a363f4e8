/**
 * v3 put throughput at 100k and 1M keys, against a raw sorted-btree insert of the same keys.
 *
 * Both sides start empty each trial and take the same keys in the same seeded random order. The
 * baseline is the least an ordered key index can do: one `BTree.set` per key, with the keys
 * already in the B-tree's own string form (one char per byte, compared natively). The v3 side is
 * the MVCC store's `put`: a write transaction that converts the key, asks the tree index whether
 * the key is live, builds the stored KeyValue, appends it to the backend at (rev, 0), records the
 * revision in the key's keyIndex, and moves the store's revision.
 *
 *   baseline:  tree.set("key/0421/0007", value)                       × N
 *   etcdsim:   store.put(utf8("key/0421/0007"), value, NO_LEASE)       × N   → revisions 2 … N+1
 */
import sortedBtree from "sorted-btree";
import { toBinaryString } from "../shared/bytes.js";
import { KVStore } from "../v3/kvstore.js";
import { NO_LEASE } from "../v3/rpc.js";
import { pairedTrials, type PairedResult } from "./harness.js";
import type { BenchContext } from "./main.js";
import { throughputRow, type Row } from "./table.js";
import { BENCH_VALUE, shuffledKeys } from "./workload.js";

const BTree = sortedBtree.default;

/** The raw B-tree both v3 rows compare against: string keys, the native comparator. */
export function newRawBTree<V>(): import("sorted-btree").default<string, V> {
  return new BTree<string, V>(undefined, sortedBtree.simpleComparator);
}

function comparePuts(keys: readonly Uint8Array[], trials: number, warmups: number): PairedResult {
  const texts = keys.map(toBinaryString);
  return pairedTrials(
    { trials, warmups },
    () => {
      const tree = newRawBTree<Uint8Array>();
      return () => {
        for (const text of texts) tree.set(text, BENCH_VALUE);
      };
    },
    () => {
      const store = new KVStore();
      return () => {
        for (const key of keys) store.put(key, BENCH_VALUE, NO_LEASE);
      };
    },
  );
}

export async function run(context: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  // The 100k run warms the JIT for the 1M run, which is too long to repeat more than three times.
  for (const [count, label, trials, warmups] of [
    [100_000, "100k", 5, 1],
    [1_000_000, "1M", 3, 0],
  ] as const) {
    const keys = shuffledKeys(count, context.seed);
    const result = comparePuts(keys, trials, warmups);
    context.log(`${label}: B-tree ${result.baselineMs.toFixed(0)} ms, v3 ${result.subjectMs.toFixed(0)} ms (median of ${trials})`);
    rows.push(
      throughputRow({
        bench: "v3-put",
        measure: `v3 put, ${label} keys`,
        count,
        subjectMs: result.subjectMs,
        baselineMs: result.baselineMs,
        slowdown: result.slowdown,
        baselineLabel: "sorted-btree set",
        unit: "puts/s",
        atLeast: 1 / 3,
        atLeastText: "1/3",
        missNote:
          "bounded by etcd's put shape: kvindex.Get, then treeIndex.Put's own get and insert (three B-tree descents " +
          "for a new key, where the baseline makes one), and etcd's keyIndex of five heap objects per new key " +
          "(keyIndex, its generations array, a generation, its revs array, the revision) plus the KeyValue, so young-" +
          "generation GC; the single-descent insert-if-absent and the flat-array keyIndex are gone (issue 15)",
      }),
    );
  }
  return rows;
}

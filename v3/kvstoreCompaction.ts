/**
 * Mirrors etcd release-3.4 `mvcc/kvstore_compaction.go`: the backend half of a compaction.
 *
 * Compaction runs in two halves. `KVStore.compact` first compacts the tree index, which answers
 * with the keep list: per surviving key, the newest revision ≤ the compaction revision. This file
 * then deletes from the key bucket every revision with main ≤ that revision which is not kept,
 * and records `finishedCompactRev` in the meta bucket.
 *
 *   foo: put 2, put 3, delete 4;  bar: put 5, put 6        compact(5)
 *   index keep list: bar@5 (foo is gone: its tombstone 4 ≤ 5)
 *   key bucket before: 2.0 3.0 4.0(t) 5.0 6.0      after: 5.0 6.0
 *
 * etcd deletes in batches of 1,000 revisions (`--experimental-compaction-batch-limit`) with 10 ms
 * pauses, in the background, so a client may briefly still read compacted-away history it can no
 * longer ask for. The simulator has no background: the whole deletion happens before the request
 * returns, which is what etcd's `physical=true` waits for.
 */
import type { Backend } from "./backend.js";
import type { KeepList } from "./keyIndex.js";

/** etcd's default compaction batch (revisions deleted per batch); kept for the lessons' narration. */
export const COMPACTION_BATCH_LIMIT = 1000;

/**
 * Deletes the revisions ≤ `compactMainRev` not in `keep` from the backend and marks the compaction
 * finished. Returns the number of entries removed.
 */
export function scheduleCompaction(backend: Backend, compactMainRev: number, keep: KeepList): number {
  return backend.compact(compactMainRev, keep);
}

/**
 * Mirrors etcd release-3.4 `mvcc/kv.go`: the contracts of the MVCC key-value store. No code runs here.
 *
 * A store is read and written through transactions. A read transaction (`TxnRead`) sees one
 * revision for its whole life. A write transaction (`TxnWrite`) collects changes under the next
 * revision and publishes them in `end()`; if it made no change, the revision does not move.
 *
 *   const txn = kv.write();          // beginRev = 5
 *   txn.put(k1, v1, NO_LEASE);       // → 6   stored at {6, 0}
 *   txn.deleteRange(k2, undefined);  // → {deleted: 1, rev: 6}   tombstone at {6, 1}
 *   txn.end();                       // currentRev = 6; a watchable wrapper notifies watchers here
 *
 * How `end` is read (every range-taking method): `undefined` means the single key `key`; an empty
 * Uint8Array means every key ≥ `key`; otherwise the half-open interval [key, end). The applier maps
 * the wire's range_end "\0" to the empty array (etcd's mkGteRange).
 *
 * Keys are bytes ordered bytewise. Stored KeyValues and their byte arrays are shared, not copied:
 * callers must treat every KeyValue they get from a view as immutable.
 */
import type { KeyValue, LeaseID } from "./rpc.js";

/** Options of `ReadView.range`. */
export interface RangeOptions {
  /** At most this many kvs (0 or less: no limit). `count` still counts all matches. */
  readonly limit?: number;
  /** Read at this revision (0 or less: the view's revision). */
  readonly rev?: number;
  /** Only count: `kvs` comes back empty. */
  readonly count?: boolean;
}

/** The answer of `ReadView.range`. */
export interface RangeResult {
  /** The matching kvs in ascending key order, at most `limit`. */
  readonly kvs: KeyValue[];
  /** The view's revision (not the revision read at): what the response header reports. */
  readonly rev: number;
  /** How many keys matched, before any limit. */
  readonly count: number;
}

/** A consistent view of the store. */
export interface ReadView {
  /**
   * The first revision that can still be read: the compacted revision (−1 before any compaction).
   * Reading at exactly this revision is allowed; below it fails with CompactedError.
   */
  firstRev(): number;
  /** The revision of this view: the store's revision when the view was opened. */
  rev(): number;
  /**
   * The keys in [key, end) as they were at `options.rev`. Throws FutureRevError above `rev()`
   * and CompactedError below `firstRev()`. O(log keys + matches).
   */
  range(key: Uint8Array, end: Uint8Array | undefined, options?: RangeOptions): RangeResult;
}

/** A read-only transaction: a ReadView that must be ended. */
export interface TxnRead extends ReadView {
  /** Closes the transaction. */
  end(): void;
}

/** The write operations of a store. */
export interface WriteView {
  /**
   * Deletes the live keys in [key, end). Each deleted key gets a tombstone at the transaction's
   * next revision, subs in key order. Returns how many were deleted and the revision the deletes
   * landed at: beginRev + 1 if this transaction has changed anything so far, else beginRev.
   */
  deleteRange(key: Uint8Array, end: Uint8Array | undefined): { deleted: number; rev: number };
  /**
   * Puts a key. A put increases the store's revision by one (at the end of the transaction) and
   * makes one event. `lease` attaches the key to a lease (NO_LEASE detaches it). Returns beginRev + 1.
   */
  put(key: Uint8Array, value: Uint8Array, lease: LeaseID): number;
}

/** A write transaction: reads see its own earlier writes. */
export interface TxnWrite extends TxnRead, WriteView {
  /**
   * The KeyValues this transaction wrote so far, in sub order. A put contributes its stored
   * KeyValue; a delete contributes `{key}` with every other field zero (create_revision 0 is how a
   * watcher tells a DELETE from a PUT; it then sets mod_revision to the txn's revision).
   */
  changes(): KeyValue[];
}

/** The MVCC store. */
export interface KV extends ReadView, WriteView {
  /** Opens a read transaction at the current revision. */
  read(): TxnRead;
  /**
   * Opens a write transaction. A wrapper (the watchable store) overrides this to intercept
   * `end()` and notify watchers with `changes()`; everything that writes goes through here.
   */
  write(): TxnWrite;
  /**
   * Compacts away history: revisions ≤ `rev` that are not the newest version ≤ `rev` of a live
   * key. Throws CompactedError if `rev` ≤ the compacted revision, FutureRevError if above the
   * current revision. Compaction is synchronous here (etcd finishes it in the background).
   */
  compact(rev: number): void;
}

/**
 * What the store tells the lessor (etcd's `lease.Lessor` Attach/Detach/GetLease/Lookup), so keys
 * follow their lease. The Lessor implements it; `NO_LEASE_HOOKS` (kvstore.ts) stands in when there is none.
 * Keys are passed as Go's `string(key)`: the key bytes as a latin1 binary string
 * (shared/bytes.ts `toBinaryString`), which is what a Map can use as a key.
 *
 *   put k lease=A           → attach(A, k)
 *   put k lease=B           → detach(A, k); attach(B, k)
 *   put k (no lease)        → detach(B, k)
 *   delete k                → detach(<k's lease>, k)
 */
export interface LeaseHooks {
  /** True when the lease is granted and not revoked (etcd's `Lookup(id) != nil`). */
  exists(id: LeaseID): boolean;
  /** The lease a key is attached to, or NO_LEASE. */
  getLease(key: string): LeaseID;
  /** Attaches a key to a granted lease. */
  attach(id: LeaseID, key: string): void;
  /** Detaches a key from a lease. */
  detach(id: LeaseID, key: string): void;
}

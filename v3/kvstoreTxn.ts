/**
 * Mirrors etcd release-3.4 `mvcc/kvstore_txn.go`: the read and write transactions of the store.
 *
 * A read transaction remembers the store's revision when it opened and reads there. A write
 * transaction remembers `beginRev` and writes every change at main revision beginRev + 1 with sub
 * 0, 1, 2, … in order. Reads inside it see its own earlier changes: they read at beginRev + 1 once
 * anything changed. `end()` publishes: the store's revision becomes beginRev + 1, or stays if
 * nothing changed.
 *
 *   beginRev 5:  put a        → a@6.0                 range(a) now reads at 6
 *                delete [b,d) → b@6.1(t), c@6.2(t)    returns {deleted: 2, rev: 6}
 *                end()        → currentRev 6
 *
 * A put reads the key's current version from the index to learn its create revision and version;
 * the stored KeyValue is then complete, so reads never consult the index again for it.
 */
import type { KeyValue, LeaseID } from "./rpc.js";
import { NO_LEASE } from "./rpc.js";
import type { RangeOptions, RangeResult, TxnRead, TxnWrite } from "./kv.js";
import type { KVStore } from "./kvstore.js";
import { CompactedError, FutureRevError, InvariantViolation } from "./errors.js";
import type { KeyIndex } from "./keyIndex.js";
import { formatRevision } from "./revision.js";
import { toBinaryString } from "../shared/bytes.js";

/** The value of a tombstone (and of an empty put): shared, it has no bytes to mutate. */
const EMPTY_BYTES = new Uint8Array(0);

/** A read transaction at a fixed revision. */
export class StoreTxnRead implements TxnRead {
  constructor(
    protected readonly store: KVStore,
    /** The compacted revision when the transaction opened. */
    protected readonly firstRevision: number,
    /** The store's revision when the transaction opened. */
    protected readonly revision: number,
  ) {}

  firstRev(): number {
    return this.firstRevision;
  }

  rev(): number {
    return this.revision;
  }

  range(key: Uint8Array, end: Uint8Array | undefined, options: RangeOptions = {}): RangeResult {
    return rangeKeys(this.store, key, end, this.revision, options);
  }

  end(): void {}
}

/** A write transaction: changes at beginRev + 1, published by `end()`. */
export class StoreTxnWrite extends StoreTxnRead implements TxnWrite {
  /** The store's revision when the transaction opened. */
  readonly beginRev: number;
  private readonly changeList: KeyValue[] = [];
  private ended = false;

  constructor(store: KVStore) {
    super(store, store.compactMainRev, store.currentRev);
    this.beginRev = store.currentRev;
  }

  /** beginRev, as etcd's storeTxnWrite.Rev (the applier adds 1 if changes() is non-empty). */
  override rev(): number {
    return this.beginRev;
  }

  override range(key: Uint8Array, end: Uint8Array | undefined, options: RangeOptions = {}): RangeResult {
    const rev = this.changeList.length > 0 ? this.beginRev + 1 : this.beginRev;
    return rangeKeys(this.store, key, end, rev, options);
  }

  deleteRange(key: Uint8Array, end: Uint8Array | undefined): { deleted: number; rev: number } {
    const deleted = this.deleteKeys(key, end);
    if (deleted !== 0 || this.changeList.length > 0) return { deleted, rev: this.beginRev + 1 };
    return { deleted: 0, rev: this.beginRev };
  }

  put(key: Uint8Array, value: Uint8Array, lease: LeaseID): number {
    const store = this.store;
    const rev = this.beginRev + 1;
    const sub = this.changeList.length;
    const indexKey = toBinaryString(key);
    const out = store.rangeScratch;
    let created = rev;
    let ver = 0;
    let oldLease = NO_LEASE;
    // If the key exists before, keep its create revision and continue its version count.
    if (store.index.get(indexKey, rev, out)) {
      created = out.created.main;
      ver = out.ver;
      oldLease = store.leases.getLease(indexKey);
    }
    const kv: KeyValue = { key, create_revision: created, mod_revision: rev, version: ver + 1, value, lease };
    store.backend.put(rev, sub, kv);
    store.index.put(indexKey, rev, sub);
    this.changeList.push(kv);
    if (oldLease !== NO_LEASE) store.leases.detach(oldLease, indexKey);
    if (lease !== NO_LEASE) store.leases.attach(lease, indexKey);
    return rev;
  }

  changes(): KeyValue[] {
    return this.changeList;
  }

  override end(): void {
    if (this.ended) throw new InvariantViolation("storeTxnWrite.end called twice");
    this.ended = true;
    this.store.endWrite(this.changeList.length > 0);
  }

  /** Tombstones every key live in [key, end) at the read revision, in key order. */
  private deleteKeys(key: Uint8Array, end: Uint8Array | undefined): number {
    const store = this.store;
    const readRev = this.changeList.length > 0 ? this.beginRev + 1 : this.beginRev;
    const out = store.rangeScratch;
    const live: KeyIndex[] = [];
    const keys: Uint8Array[] = [];
    // Collect first, then write: the walk must not see the tombstones it causes.
    store.index.visit(toBinaryString(key), end === undefined ? undefined : toBinaryString(end), (_key, keyIndex) => {
      if (!keyIndex.get(readRev, out)) return;
      const stored = store.backend.get(out.modified.main, out.modified.sub);
      if (stored === undefined) throw new InvariantViolation(`index points at missing revision ${formatRevision(out.modified)}`);
      live.push(keyIndex);
      keys.push(stored.key);
    });
    const rev = this.beginRev + 1;
    for (let i = 0; i < live.length; i++) {
      const keyIndex = live[i] as KeyIndex;
      const sub = this.changeList.length;
      const tombstone: KeyValue = { key: keys[i] as Uint8Array, create_revision: 0, mod_revision: 0, version: 0, value: EMPTY_BYTES, lease: NO_LEASE };
      store.backend.put(rev, sub, tombstone);
      keyIndex.tombstone(rev, sub);
      this.changeList.push(tombstone);
      const lease = store.leases.getLease(keyIndex.key);
      if (lease !== NO_LEASE) store.leases.detach(lease, keyIndex.key);
    }
    return live.length;
  }
}

/**
 * The shared read path (etcd's rangeKeys): check the revision, walk the index, fetch each
 * visible version from the backend. `curRev` is the transaction's revision, which the result
 * reports whatever revision was read.
 */
function rangeKeys(store: KVStore, key: Uint8Array, end: Uint8Array | undefined, curRev: number, options: RangeOptions): RangeResult {
  let rev = options.rev ?? 0;
  if (rev > curRev) throw new FutureRevError();
  if (rev <= 0) rev = curRev;
  if (rev < store.compactMainRev) throw new CompactedError();
  const indexKey = toBinaryString(key);
  const indexEnd = end === undefined ? undefined : toBinaryString(end);
  if (options.count === true) {
    return { kvs: [], rev: curRev, count: store.index.countRevisions(indexKey, indexEnd, rev) };
  }
  const limit = options.limit !== undefined && options.limit > 0 ? options.limit : Number.POSITIVE_INFINITY;
  const kvs: KeyValue[] = [];
  const backend = store.backend;
  const out = store.rangeScratch;
  let count = 0;
  // Step 1, the index: which revision of each key is visible at rev. Step 2, the backend: its value.
  store.index.visit(indexKey, indexEnd, (_key, keyIndex) => {
    if (!keyIndex.get(rev, out)) return;
    count++;
    if (kvs.length >= limit) return;
    const kv = backend.get(out.modified.main, out.modified.sub);
    if (kv === undefined) throw new InvariantViolation(`index points at missing revision ${formatRevision(out.modified)}`);
    kvs.push(kv);
  });
  return { kvs, rev: curRev, count };
}

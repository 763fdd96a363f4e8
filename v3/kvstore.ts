/**
 * Mirrors etcd release-3.4 `mvcc/kvstore.go` (with `mvcc/kv_view.go`): the MVCC store.
 *
 * The store ties the two halves together: the tree index (key → revisions, in memory) and the
 * backend (revision → KeyValue). It owns the two numbers every lesson prints:
 *   currentRev      the revision of the last write transaction that changed something (1 when fresh)
 *   compactMainRev  the revision of the last compaction (−1 before any)
 *
 *   fresh store          currentRev 1, compactMainRev −1
 *   put foo=a            currentRev 2           foo@2.0
 *   put foo=b            currentRev 3           foo@3.0
 *   compact(2)           compactMainRev 2       reads at 2 and 3 work, at 1 throw CompactedError
 *
 * Everything that writes goes through `write()`, including the single-operation `put` and
 * `deleteRange` of the KV interface (etcd's writeView). A wrapper — the watchable store — extends
 * this class and overrides `write()` to intercept `TxnWrite.end()`, where the changes become
 * watch events.
 */
import type { KeyValue, LeaseID } from "./rpc.js";
import { NO_LEASE } from "./rpc.js";
import type { KV, LeaseHooks, RangeOptions, RangeResult, TxnRead, TxnWrite } from "./kv.js";
import { Backend } from "./backend.js";
import { CompactedError, FutureRevError, InvariantViolation } from "./errors.js";
import { KeyIndex, KeyIndexGet } from "./keyIndex.js";
import { scheduleCompaction } from "./kvstoreCompaction.js";
import { StoreTxnRead, StoreTxnWrite } from "./kvstoreTxn.js";
import { TreeIndex } from "./treeIndex.js";
import { toBinaryString } from "../shared/bytes.js";

/** Lease hooks for a store without a lessor: no lease exists, nothing is attached. */
export const NO_LEASE_HOOKS: LeaseHooks = {
  exists: () => false,
  getLease: () => NO_LEASE,
  attach: () => {},
  detach: () => {},
};

/** What a KVStore is built from: optionally an existing backend to restore from, and a lease hook. */
export interface KVStoreOptions {
  /** The lessor's hooks (default NO_LEASE_HOOKS). Can also be set later through `leases`. */
  readonly leases?: LeaseHooks;
  /** A backend to restore from (etcd's restart); a fresh one by default. */
  readonly backend?: Backend;
  /** The raft index being applied, saved as meta consistent_index by each write (default: none). */
  readonly consistentIndex?: () => number;
}

/** The MVCC key-value store. */
export class KVStore implements KV {
  readonly backend: Backend;
  readonly index = new TreeIndex();
  /** The lessor's hooks. Public so a lessor built after the store can plug itself in. */
  leases: LeaseHooks;
  /** The revision of the last committed change (1 for a fresh store: no key has revision 1). */
  currentRev = 1;
  /** The last compaction revision, −1 before any. Reads below it throw CompactedError. */
  compactMainRev = -1;
  /** Scratch for the read path, so a range allocates nothing per key (the store is single-threaded). */
  readonly rangeScratch = new KeyIndexGet();
  private readonly consistentIndex: (() => number) | undefined;
  private writeOpen = false;

  constructor(options: KVStoreOptions = {}) {
    this.backend = options.backend ?? new Backend();
    this.leases = options.leases ?? NO_LEASE_HOOKS;
    this.consistentIndex = options.consistentIndex;
    if (this.backend.entries > 0 || this.backend.finishedCompactRev > 0 || this.backend.scheduledCompactRev > 0) this.restore();
  }

  /** Opens a read transaction at the current revision. */
  read(): TxnRead {
    return new StoreTxnRead(this, this.compactMainRev, this.currentRev);
  }

  /**
   * Opens a write transaction. One at a time (etcd holds the store's write lock until end()).
   * Subclasses override this to wrap the transaction (see the header).
   */
  write(): TxnWrite {
    if (this.writeOpen) throw new InvariantViolation("a write transaction is already open");
    this.writeOpen = true;
    return new StoreTxnWrite(this);
  }

  /** Called by StoreTxnWrite.end: publishes the transaction's revision if it changed anything. */
  endWrite(changed: boolean): void {
    if (changed) {
      if (this.consistentIndex !== undefined) this.backend.consistentIndex = this.consistentIndex();
      this.currentRev++;
    }
    this.writeOpen = false;
  }

  firstRev(): number {
    return this.compactMainRev;
  }

  rev(): number {
    return this.currentRev;
  }

  /** One range in its own read transaction (etcd's readView.Range). */
  range(key: Uint8Array, end: Uint8Array | undefined, options: RangeOptions = {}): RangeResult {
    const txn = this.read();
    try {
      return txn.range(key, end, options);
    } finally {
      txn.end();
    }
  }

  /** One put in its own write transaction (etcd's writeView.Put). Returns the new revision. */
  put(key: Uint8Array, value: Uint8Array, lease: LeaseID): number {
    const txn = this.write();
    try {
      return txn.put(key, value, lease);
    } finally {
      txn.end();
    }
  }

  /** One delete in its own write transaction (etcd's writeView.DeleteRange). */
  deleteRange(key: Uint8Array, end: Uint8Array | undefined): { deleted: number; rev: number } {
    const txn = this.write();
    try {
      return txn.deleteRange(key, end);
    } finally {
      txn.end();
    }
  }

  /**
   * Compacts at `rev` (etcd's updateCompactRev + compact): records the revision, compacts the
   * index, then removes the history from the backend. Throws CompactedError if rev ≤ the last
   * compaction (so compact(0) works once on a fresh store), FutureRevError if rev > currentRev.
   * O(keys + revisions ≤ rev).
   */
  compact(rev: number): void {
    if (rev <= this.compactMainRev) throw new CompactedError();
    if (rev > this.currentRev) throw new FutureRevError();
    this.compactMainRev = rev;
    this.backend.scheduledCompactRev = rev;
    const keep = this.index.compact(rev);
    scheduleCompaction(this.backend, rev, keep);
  }

  /**
   * Rebuilds the index from the backend (etcd's restore on restart): replay the key bucket in
   * revision order, take currentRev from the newest entry (or the finished compaction if that is
   * newer), re-attach each live key to its lease, and finish a scheduled compaction.
   */
  private restore(): void {
    const backend = this.backend;
    this.compactMainRev = backend.finishedCompactRev > 0 ? backend.finishedCompactRev : -1;
    let scheduled = backend.scheduledCompactRev;
    const keyToLease = new Map<string, LeaseID>();
    let currentRev = 1;
    backend.range(0, Number.MAX_SAFE_INTEGER, (main, sub, kv) => {
      const key = toBinaryString(kv.key);
      const tombstone = kv.create_revision === 0;
      currentRev = main;
      const keyIndex = this.index.keyIndex(key);
      if (keyIndex !== undefined) {
        if (tombstone) keyIndex.tombstone(main, sub);
        else keyIndex.put(main, sub);
      } else if (!tombstone) {
        const restored = new KeyIndex(key);
        restored.restore({ main: kv.create_revision, sub: 0 }, { main, sub }, kv.version);
        this.index.insert(restored);
      }
      if (tombstone || kv.lease === NO_LEASE) keyToLease.delete(key);
      else keyToLease.set(key, kv.lease);
    });
    this.currentRev = Math.max(currentRev, this.compactMainRev);
    for (const [key, lease] of keyToLease) this.leases.attach(lease, key);
    if (scheduled <= this.compactMainRev) scheduled = 0;
    if (scheduled !== 0) {
      this.compactMainRev = scheduled;
      scheduleCompaction(backend, scheduled, this.index.compact(scheduled));
    }
  }

  /**
   * Throws InvariantViolation unless index and backend agree: the index is valid, the backend's
   * bookkeeping adds up, every revision in the index is stored under the same key (a tombstone
   * exactly where a generation ends), and nothing else is stored. O(revisions).
   */
  checkInvariants(): void {
    this.index.checkInvariants();
    this.backend.checkInvariants();
    if (this.compactMainRev > this.currentRev) throw new InvariantViolation("compactMainRev above currentRev");
    let revisions = 0;
    for (const keyIndex of this.index.keyIndexes()) {
      keyIndex.generations.forEach((generation, gi) => {
        generation.revs.forEach((rev, i) => {
          revisions++;
          const kv = this.backend.get(rev.main, rev.sub);
          const where = `${JSON.stringify(keyIndex.key)}@${rev.main}.${rev.sub}`;
          if (kv === undefined) throw new InvariantViolation(`index revision ${where} missing from the backend`);
          if (toBinaryString(kv.key) !== keyIndex.key) throw new InvariantViolation(`backend entry ${where} holds another key`);
          const shouldBeTombstone = gi < keyIndex.generations.length - 1 && i === generation.revs.length - 1;
          if ((kv.create_revision === 0) !== shouldBeTombstone) throw new InvariantViolation(`tombstone mismatch at ${where}`);
          if (rev.main > this.currentRev) throw new InvariantViolation(`revision ${where} above currentRev`);
        });
      });
    }
    if (revisions !== this.backend.entries) {
      throw new InvariantViolation(`index holds ${revisions} revisions, backend ${this.backend.entries} entries`);
    }
  }
}

/** A KeyValue as a short line, for lessons and test messages: "foo=bar (create 2, mod 3, ver 2)". */
export function describeKeyValue(kv: KeyValue): string {
  const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
  const lease = kv.lease === NO_LEASE ? "" : `, lease ${kv.lease.toString(16)}`;
  return `${text(kv.key)}=${text(kv.value)} (create ${kv.create_revision}, mod ${kv.mod_revision}, ver ${kv.version}${lease})`;
}

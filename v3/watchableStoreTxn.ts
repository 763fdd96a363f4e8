/**
 * Mirrors etcd release-3.4 `mvcc/watchable_store_txn.go`: the write transaction of the watchable
 * store, the one place where writes turn into watch events.
 *
 * It wraps the MVCC store's write transaction and changes only `end()`: after committing, it
 * turns the transaction's changes into events, in sub order, and hands them to the watchable
 * store's `notify` with the new revision. A PUT event carries the stored KeyValue; a DELETE event
 * carries only the key and the deleting revision. A transaction that changed nothing notifies
 * nobody.
 *
 *   txn: put a; delete b; put c   (commits revision 7)
 *   end() → notify(7, [PUT a (mod 7), DELETE b (mod 7), PUT c (mod 7)])
 */
import type { Event, KeyValue, LeaseID } from "./rpc.js";
import { EventType } from "./rpc.js";
import type { RangeOptions, RangeResult, TxnWrite } from "./kv.js";
import type { WatchableStore } from "./watchableStore.js";

/** The kv of a DELETE event: the key and the deleting revision, every other field zero. */
export function deletedKeyValue(key: Uint8Array, modRevision: number): KeyValue {
  return { key, create_revision: 0, mod_revision: modRevision, version: 0, value: new Uint8Array(), lease: 0n };
}

/** A write transaction whose `end()` notifies the synced watchers (etcd: `watchableStoreTxnWrite`). */
export class WatchableStoreTxnWrite implements TxnWrite {
  constructor(
    private readonly txn: TxnWrite,
    private readonly store: WatchableStore,
  ) {}

  firstRev(): number {
    return this.txn.firstRev();
  }
  rev(): number {
    return this.txn.rev();
  }
  range(key: Uint8Array, end: Uint8Array | undefined, options?: RangeOptions): RangeResult {
    return this.txn.range(key, end, options);
  }
  put(key: Uint8Array, value: Uint8Array, lease: LeaseID): number {
    return this.txn.put(key, value, lease);
  }
  deleteRange(key: Uint8Array, end: Uint8Array | undefined): { deleted: number; rev: number } {
    return this.txn.deleteRange(key, end);
  }
  changes(): KeyValue[] {
    return this.txn.changes();
  }

  end(): void {
    const changes = this.txn.changes();
    if (changes.length === 0) {
      this.txn.end();
      return;
    }
    const rev = this.txn.rev() + 1;
    const events: Event[] = changes.map((change) =>
      change.create_revision === 0 ? { type: EventType.DELETE, kv: deletedKeyValue(change.key, rev) } : { type: EventType.PUT, kv: change },
    );
    // etcd ends the txn and notifies under one lock; nothing can run between the two here either.
    this.txn.end();
    this.store.notify(rev, events);
  }
}

/**
 * Mirrors etcd release-3.4 `lease/lessor.go`: the lessor owns every lease, the key ↔ lease
 * attachments, and the expiry queue.
 *
 * A lease changes no revision by itself. Only two lessor operations touch the KV store, and both
 * go through a write transaction the lessor asks for (`setRangeDeleter`): revoking a lease (or
 * letting it expire) deletes all its keys in ONE transaction, keys sorted, so the deletion takes
 * one revision and produces one batch of DELETE events. A lease without keys is dropped without
 * opening a transaction, so no revision changes.
 *
 *   grant(L, 60) ; put a --lease L ; put b --lease L     (rev 2, 3)
 *   revoke(L)    →  one txn: delete a (4.0), delete b (4.1)  →  rev 4, one watch response [DEL a, DEL b]
 *   revoke(L)    →  LeaseNotFoundError
 *
 * Time is data: the lessor reads its injected `Clock` to stamp grants and renewals, and expiry is
 * a call that takes the time, `findExpiredLeases(nowMs)`; the driver (server tick, scenario) then
 * revokes what it returns, as etcd's leader proposes a revoke through raft. Nothing here runs on
 * a timer. This simulated member is always the primary lessor (a single member is its own leader),
 * so `Promote`/`Demote` and lease checkpointing (off by default in 3.4) are not modelled.
 */
import type { Clock } from "../shared/clock.js";
import { compareBytes } from "../shared/bytes.js";
import type { LeaseID } from "./rpc.js";
import { NO_LEASE } from "./rpc.js";
import { Lease } from "./lease.js";
import { LeaseQueue } from "./leaseHeap.js";
import { LeaseExistsError, LeaseNotFoundError, LeaseTTLTooLargeError } from "./errors.js";
import type { LeaseHooks } from "./kv.js";
import type { LeaseRecord } from "./backend.js";

/** Leases granted with a smaller TTL get this many seconds: ceil(1.5 × 1000 ms election timeout) = 2 s. */
export const MIN_LEASE_TTL_SECONDS = 2;
/** The largest TTL a grant accepts (etcd: `MaxLeaseTTL = 9000000000`, about 285 years). */
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;
/** Expired leases handed out per expiry pass: etcd revokes at most `leaseRevokeRate` (1000/s) and scans every 500 ms, so 1000 / 2 = 500. */
export const MAX_EXPIRED_LEASES_PER_PASS = 500;

/**
 * The write transaction a revoke deletes through (etcd: `TxnDelete`). The KV store's write txn
 * satisfies it; `end()` commits, which is when the watchable store notifies watchers.
 */
export interface TxnDelete {
  deleteRange(key: Uint8Array, end: Uint8Array | undefined): unknown;
  end(): void;
}

/** Opens a write transaction for a revoke (etcd: `RangeDeleter`). */
export type RangeDeleter = () => TxnDelete;

/**
 * The lessor's API, in the order of etcd's `Lessor` interface.
 * Every method is O(1) or O(log leases) unless it says otherwise.
 */
export interface LessorApi {
  /** Sets how revokes open a write transaction. Until set, revoke deletes no keys. */
  setRangeDeleter(rangeDeleter: RangeDeleter): void;
  /**
   * Grants a lease `id` with `ttlSeconds`. A TTL below the minimum is raised to it; a TTL above
   * 9e9 throws `LeaseTTLTooLargeError`; an `id` in use throws `LeaseExistsError`. `id` 0 is not a
   * lease (the server picks an ID before calling). Changes no revision.
   */
  grant(id: LeaseID, ttlSeconds: number): Lease;
  /** Deletes the lease and all its keys in one write txn. Unknown `id`: `LeaseNotFoundError`. */
  revoke(id: LeaseID): void;
  /**
   * Attaches a key to lease `id` (called by the KV store on a put with a lease). Keys are Go's
   * `string(key)`: the bytes as a latin1 binary string (`toBinaryString`). Unknown lease: `LeaseNotFoundError`.
   */
  attach(id: LeaseID, key: string): void;
  /** The lease a key is attached to, or `NO_LEASE` (etcd: `GetLease`). */
  getLease(key: string): LeaseID;
  /** Detaches a key from lease `id` (called by the KV store on a put that moves a key, or a delete). */
  detach(id: LeaseID, key: string): void;
  /** True when lease `id` is granted and not revoked (`Lookup(id) != nil`). */
  exists(id: LeaseID): boolean;
  /** Resets the lease's expiry to now + TTL and returns the TTL. Unknown or expired: `LeaseNotFoundError`. */
  renew(id: LeaseID): number;
  /** The lease, or undefined (the applier uses it to refuse a put with an unknown lease). */
  lookup(id: LeaseID): Lease | undefined;
  /** All leases, soonest expiry first. O(n log n). */
  leases(): Lease[];
  /** Up to `limit` expired leases, soonest first. O(k log n) for k heap entries popped. */
  findExpiredLeases(nowMs: number, limit?: number): Lease[];
}

/** What a Lessor is built from: the injected clock (read on grant and renew), the minimum TTL, the lease bucket. */
export interface LessorOptions {
  /** Time source for grants and renewals (a `SimulatedClock` in tests and lessons). */
  clock: Clock;
  /** Seconds; grants below it are raised to it. Default `MIN_LEASE_TTL_SECONDS`. */
  minLeaseTTLSeconds?: number;
  /** The backend's lease bucket: a grant writes {ID, TTL}, a revoke deletes it (etcd: `persistTo`). */
  leaseBucket?: Map<LeaseID, LeaseRecord>;
}

/** The single-member, always-primary lessor. It is the KV store's `LeaseHooks`. */
export class Lessor implements LessorApi, LeaseHooks {
  private readonly clock: Clock;
  readonly minLeaseTTLSeconds: number;
  /** id → lease. */
  private readonly leaseMap = new Map<LeaseID, Lease>();
  /** Binary key string → the lease it is attached to (etcd: `itemMap`). */
  private readonly itemMap = new Map<string, LeaseID>();
  /** Expiry hints; see `leaseHeap.ts` for why stale entries are allowed. */
  private readonly leaseHeap = new LeaseQueue();
  private rangeDeleter: RangeDeleter | undefined;
  private readonly leaseBucket: Map<LeaseID, LeaseRecord> | undefined;

  constructor(options: LessorOptions) {
    this.clock = options.clock;
    this.leaseBucket = options.leaseBucket;
    this.minLeaseTTLSeconds = options.minLeaseTTLSeconds ?? MIN_LEASE_TTL_SECONDS;
    this.recover();
  }

  /**
   * Rebuilds the leases from the lease bucket, as a restarted member does (etcd: `initAndRecover`).
   * Every lease gets its full TTL again from now: without checkpoints (off by default in 3.4) a
   * restart forgets how much time was left. Keys are attached afterwards, by the KV store's restore.
   */
  private recover(): void {
    if (this.leaseBucket === undefined) return;
    const nowMs = this.clock.now();
    for (const record of this.leaseBucket.values()) {
      const lease = new Lease(record.ID, Math.max(record.TTL, this.minLeaseTTLSeconds));
      lease.refresh(nowMs);
      this.leaseMap.set(record.ID, lease);
      this.leaseHeap.push({ id: record.ID, timeMs: lease.expiryMs });
    }
  }

  setRangeDeleter(rangeDeleter: RangeDeleter): void {
    this.rangeDeleter = rangeDeleter;
  }

  grant(id: LeaseID, ttlSeconds: number): Lease {
    // etcd refuses NoLease here as "lease not found"; the server never passes it (it picks an ID first).
    if (id === NO_LEASE) throw new LeaseNotFoundError();
    if (ttlSeconds > MAX_LEASE_TTL_SECONDS) throw new LeaseTTLTooLargeError();
    if (this.leaseMap.has(id)) throw new LeaseExistsError();
    const lease = new Lease(id, Math.max(ttlSeconds, this.minLeaseTTLSeconds));
    lease.refresh(this.clock.now());
    this.leaseMap.set(id, lease);
    this.leaseHeap.push({ id, timeMs: lease.expiryMs });
    this.leaseBucket?.set(id, { ID: id, TTL: lease.ttlSeconds, remainingTTL: 0 });
    return lease;
  }

  revoke(id: LeaseID): void {
    const lease = this.leaseMap.get(id);
    if (lease === undefined) throw new LeaseNotFoundError();
    const keys = lease.keys().sort(compareBytes);
    // A lease with no keys opens no transaction: nothing is deleted, so no revision is spent.
    if (this.rangeDeleter !== undefined && keys.length > 0) {
      const txn = this.rangeDeleter();
      // Sorted, so every member deletes in the same order and the tombstone subs follow key order.
      // Each delete calls back into `detach`, which empties `lease.itemSet` as we go.
      for (const key of keys) txn.deleteRange(key, undefined);
      this.leaseMap.delete(id);
      // The lease record goes in the same backend transaction as the key deletes.
      this.leaseBucket?.delete(id);
      txn.end();
    } else {
      this.leaseMap.delete(id);
      this.leaseBucket?.delete(id);
      for (const key of lease.itemSet) this.itemMap.delete(key);
      lease.itemSet.clear();
    }
  }

  attach(id: LeaseID, key: string): void {
    const lease = this.leaseMap.get(id);
    if (lease === undefined) throw new LeaseNotFoundError();
    lease.itemSet.add(key);
    this.itemMap.set(key, id);
  }

  getLease(key: string): LeaseID {
    return this.itemMap.get(key) ?? NO_LEASE;
  }

  detach(id: LeaseID, key: string): void {
    const lease = this.leaseMap.get(id);
    // During a revoke the lease stays in the map until its deletes are done, so the store's
    // detach calls find it. A detach for an unknown lease is a caller error, as in etcd.
    if (lease === undefined) throw new LeaseNotFoundError();
    lease.itemSet.delete(key);
    if (this.itemMap.get(key) === id) this.itemMap.delete(key);
  }

  exists(id: LeaseID): boolean {
    return this.leaseMap.has(id);
  }

  renew(id: LeaseID): number {
    const lease = this.leaseMap.get(id);
    const nowMs = this.clock.now();
    // etcd makes a renew of an expired lease wait until its revoke lands, then answers "not found".
    // Here time does not move during a call, so the answer is given at once.
    if (lease === undefined || lease.expired(nowMs)) throw new LeaseNotFoundError();
    lease.refresh(nowMs);
    this.leaseHeap.push({ id, timeMs: lease.expiryMs });
    return lease.ttlSeconds;
  }

  lookup(id: LeaseID): Lease | undefined {
    return this.leaseMap.get(id);
  }

  leases(): Lease[] {
    // Sorting by expiry time is sorting by remaining time: remaining = expiry − now for all of them.
    return [...this.leaseMap.values()].sort((a, b) => a.expiryMs - b.expiryMs);
  }

  findExpiredLeases(nowMs: number, limit: number = MAX_EXPIRED_LEASES_PER_PASS): Lease[] {
    const expired: Lease[] = [];
    while (expired.length < limit) {
      const item = this.leaseHeap.peek();
      if (item === undefined) break;
      const lease = this.leaseMap.get(item.id);
      if (lease === undefined) {
        this.leaseHeap.pop(); // revoked already: a stale hint
        continue;
      }
      if (nowMs < item.timeMs) break; // the soonest hint is in the future: nothing else is due
      this.leaseHeap.pop();
      // A renewed lease left this older hint behind; its newer hint is still queued. Several
      // hints of one lease can all be due by now: hand the lease out once.
      if (lease.expired(nowMs) && !expired.includes(lease)) expired.push(lease);
    }
    return expired;
  }

  /** Number of leases (for lessons and invariant checks). */
  get size(): number {
    return this.leaseMap.size;
  }

  /** Number of keys attached to some lease. */
  get attachedKeyCount(): number {
    return this.itemMap.size;
  }

  /**
   * Asserts the attachment maps agree: every key in a lease's item set points back to that lease,
   * and every `itemMap` entry is in its lease's set. Tests call it after each step.
   */
  checkInvariants(): void {
    let count = 0;
    for (const [id, lease] of this.leaseMap) {
      if (lease.ID !== id) throw new Error(`lease ${id} stored under the wrong ID ${lease.ID}`);
      for (const item of lease.itemSet) {
        count++;
        if (this.itemMap.get(item) !== id) throw new Error(`key ${JSON.stringify(item)} in lease ${id} but itemMap says ${this.itemMap.get(item)}`);
      }
    }
    if (count !== this.itemMap.size) throw new Error(`itemMap has ${this.itemMap.size} keys but leases hold ${count}`);
  }
}

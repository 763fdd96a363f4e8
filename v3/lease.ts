/**
 * Mirrors etcd release-3.4 `lease/lease.go` (the `Lease` type, which etcd keeps in `lessor.go`).
 *
 * A lease is a TTL that keys hang on. It has an ID, the TTL it was granted with (after the
 * minimum-TTL clamp), an expiry time, and the set of keys attached to it. The key set is not
 * history: it only says which live keys would be deleted if the lease were revoked now.
 *
 *   grant(ttl 10) at t=0        →  { ttl: 10, expiryMs: 10_000, keys: {} }
 *   put foo --lease             →  keys: {foo}
 *   renew at t=4_000            →  expiryMs: 14_000        (the full TTL again, never "+10 s")
 *   remaining at t=13_500       →  500 ms                  (timeToLive reports trunc(0.5) = 0 s)
 */
import type { LeaseID } from "./rpc.js";
import { fromBinaryString } from "../shared/bytes.js";

/** `expiryMs` of a lease that never expires (a non-primary lessor's leases: `Lease.forever`). */
export const FOREVER_MS = Number.POSITIVE_INFINITY;

/** One lease. Owned and mutated by its `Lessor` only; callers read it. */
export class Lease {
  /** The lease's ID; never 0 (`NoLease`). */
  readonly ID: LeaseID;
  /** The granted TTL in seconds, after clamping to the lessor's minimum (etcd: `ttl`). */
  ttlSeconds: number;
  /** When the lease expires, in ms since the epoch; `FOREVER_MS` until the lessor is primary. */
  expiryMs: number = FOREVER_MS;
  /**
   * The attached keys, as latin1 "binary" strings (one char per byte) so that a JS Set can hold
   * them and their string order equals byte order (etcd: `itemSet map[LeaseItem]struct{}`).
   */
  readonly itemSet = new Set<string>();

  constructor(id: LeaseID, ttlSeconds: number) {
    this.ID = id;
    this.ttlSeconds = ttlSeconds;
  }

  /** Sets the expiry to now + extend + TTL (etcd: `refresh`). The lessor re-queues it. */
  refresh(nowMs: number, extendMs = 0): void {
    this.expiryMs = nowMs + extendMs + this.ttlSeconds * 1000;
  }

  /** Makes the lease never expire (etcd: `forever`), as a follower holds its leases. */
  forever(): void {
    this.expiryMs = FOREVER_MS;
  }

  /** Remaining time in ms; negative once expired; `Infinity` when forever (etcd: `Remaining`). */
  remainingMs(nowMs: number): number {
    return this.expiryMs - nowMs;
  }

  /** True when the remaining time is ≤ 0 (etcd: `expired`). */
  expired(nowMs: number): boolean {
    return this.remainingMs(nowMs) <= 0;
  }

  /** The attached keys as bytes, in attachment order (etcd: `Keys`, in Go map order). */
  keys(): Uint8Array[] {
    return [...this.itemSet].map(fromBinaryString);
  }
}

/**
 * Mirrors etcd release-3.4 `clientv3/concurrency/session.go`: a lease that a client keeps alive
 * for as long as it is up, so the keys it hangs on the lease vanish when the client goes away.
 *
 * Every Mutex and Election key is put with the session's lease. If the client crashes, nobody
 * renews the lease; it expires after `ttl` seconds and its revoke deletes those keys in one
 * transaction, which wakes the next waiter. `close()` revokes at once.
 *
 *   const session = await Session.create(client, { ttlSeconds: 60, ticker: clock });
 *   // a keep-alive every 20 s (TTL/3, as the Go client sends them) while `clock` advances
 *   await session.close();   // revoke: every key on the lease is deleted
 *
 * Keep-alives need time to pass. Etcd's client runs them on a goroutine; here they run on an
 * injected `Ticker` (a `SimulatedClock` fires them as it advances, the server's `RealClock` on
 * real time). Without a ticker the session is never renewed, like a client frozen in place:
 * `orphan()` gives the same on purpose, to let the lease expire in a lesson.
 */
import type { Cancel, Ticker } from "../../shared/clock.js";
import type { LeaseID } from "../rpc.js";
import { NO_LEASE } from "../rpc.js";
import type { ConcurrencyClient } from "./client.js";

/** Session lease TTL when none is given (etcd: `defaultSessionTTL = 60`). */
export const DEFAULT_SESSION_TTL_SECONDS = 60;

/** etcd's session options; the default TTL is 60 s. */
export interface SessionOptions {
  /** The lease TTL in seconds. Default 60. */
  ttlSeconds?: number;
  /** Use this existing lease instead of granting one (etcd: `WithLease`). */
  lease?: LeaseID;
  /** Where keep-alives are scheduled, every TTL/3. Without one there are no automatic keep-alives. */
  ticker?: Ticker;
}

/** etcd's `Session`: one lease (kept alive every TTL/3 when given a ticker); its keys vanish when it is closed or expires. */
export class Session {
  /** Keep-alive responses received (TTL > 0). */
  keepAlives = 0;
  private stopKeepAlive: Cancel | undefined;
  private closed = false;
  /** Set once a keep-alive answers TTL 0: the lease is gone (etcd closes `Done()` then). */
  expired = false;

  private constructor(
    readonly client: ConcurrencyClient,
    readonly lease: LeaseID,
    readonly ttlSeconds: number,
  ) {}

  /** Grants the lease (unless one is given) and starts keep-alives (etcd: `NewSession`). */
  static async create(client: ConcurrencyClient, options: SessionOptions = {}): Promise<Session> {
    const ttlSeconds = options.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
    let lease = options.lease ?? NO_LEASE;
    if (lease === NO_LEASE) lease = (await client.leaseGrant({ TTL: ttlSeconds })).ID;
    const session = new Session(client, lease, ttlSeconds);
    if (options.ticker !== undefined) {
      const periodMs = Math.max(1, Math.floor((ttlSeconds * 1000) / 3));
      session.stopKeepAlive = options.ticker.every(periodMs, () => void session.keepAliveOnce());
    }
    return session;
  }

  /** One keep-alive round; false when the lease is gone. */
  async keepAliveOnce(): Promise<boolean> {
    if (this.closed || this.expired) return false;
    const response = await this.client.leaseKeepAliveOnce({ ID: this.lease });
    if (response.TTL <= 0) {
      this.expired = true;
      this.orphan();
      return false;
    }
    this.keepAlives++;
    return true;
  }

  /** Stops keep-alives without revoking: the lease expires after its TTL (etcd: `Orphan`). */
  orphan(): void {
    this.stopKeepAlive?.();
    this.stopKeepAlive = undefined;
  }

  /** Stops keep-alives and revokes the lease, deleting its keys (etcd: `Close`). */
  async close(): Promise<void> {
    this.orphan();
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.leaseRevoke({ ID: this.lease });
    } catch (error) {
      // An expired lease is already revoked: closing it again is not a failure.
      if (!(error instanceof Error && /lease not found/.test(error.message))) throw error;
    }
  }
}

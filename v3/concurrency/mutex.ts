/**
 * Mirrors etcd release-3.4 `clientv3/concurrency/mutex.go`: a distributed lock made of one key
 * per contender, ordered by create revision.
 *
 * Each contender puts `pfx/<hex lease>` (empty value, on its session lease). The contender whose
 * key has the smallest create revision holds the lock; each other one waits for the DELETE of the
 * key created just before its own (see `key.ts`). Unlocking, or the session's lease expiring,
 * deletes the key and wakes exactly the next one.
 *
 *   A.lock() → put lock/694d…a1 @rev 5            A holds (first created)
 *   B.lock() → put lock/694d…b2 @rev 6            B waits for DELETE of lock/694d…a1
 *   A.unlock() → delete @rev 7                    B's watch sees it → B holds
 *
 * The one Txn of `lock()`:
 *   If(create(myKey) = 0) Then(put myKey "" lease, get pfx first-created)
 *                         Else(get myKey,          get pfx first-created)
 * `myRev` is the Txn's revision if it created the key, else the key's existing create revision
 * (the same session locking twice reuses its key).
 */
import { utf8 } from "../../shared/bytes.js";
import type { Compare, ResponseHeader } from "../rpc.js";
import { CompareResult, CompareTarget } from "../rpc.js";
import { firstCreate, waitDeletes } from "./key.js";
import type { Session } from "./session.js";
import { InvariantViolation } from "../errors.js";

/** etcd's `Mutex`; invariant: the holder is the waiter whose key has the lowest create revision under the prefix. */
export class Mutex {
  /** The lock's key prefix, ending in "/" (etcd: `pfx`). */
  readonly pfx: string;
  /** This contender's key, `pfx + hex(lease)`; "" before `lock()`, "\0" after `unlock()`. */
  myKey = "";
  /** The create revision of `myKey`; -1 when not locked. */
  myRev = -1;
  /** The header of the response that granted the lock. */
  header: ResponseHeader | undefined;

  constructor(
    readonly session: Session,
    pfx: string,
  ) {
    this.pfx = pfx + "/";
  }

  /**
   * Resolves once this contender holds the lock. If the wait fails (aborted, watch cancelled), the
   * key is deleted again before the error is thrown.
   */
  async lock(signal?: AbortSignal): Promise<void> {
    const client = this.session.client;
    this.myKey = this.pfx + this.session.lease.toString(16);
    const key = utf8(this.myKey);
    const getOwner = { request_range: firstCreate(this.pfx) };
    const response = await client.txn({
      compare: [{ result: CompareResult.EQUAL, target: CompareTarget.CREATE, key, create_revision: 0 }],
      success: [{ request_put: { key, value: new Uint8Array(), lease: this.session.lease } }, getOwner],
      failure: [{ request_range: { key } }, getOwner],
    });
    this.myRev = response.header.revision;
    if (!response.succeeded) {
      const mine = response.responses[0]?.response_range?.kvs[0];
      if (mine === undefined) throw new InvariantViolation("lock key vanished between compare and read");
      this.myRev = mine.create_revision;
    }
    const owner = response.responses[1]?.response_range?.kvs[0];
    if (owner === undefined || owner.create_revision === this.myRev) {
      this.header = response.header;
      return;
    }
    try {
      this.header = await waitDeletes(client, this.pfx, this.myRev - 1, signal);
    } catch (error) {
      await this.unlock();
      throw error;
    }
  }

  /** Deletes this contender's key (etcd: `Unlock`). */
  async unlock(): Promise<void> {
    await this.session.client.txn({ success: [{ request_delete_range: { key: utf8(this.myKey) } }] });
    this.myKey = "\0";
    this.myRev = -1;
  }

  /** The compare "I still hold the lock", to guard a Txn with (etcd: `IsOwner`). */
  isOwner(): Compare {
    return { result: CompareResult.EQUAL, target: CompareTarget.CREATE, key: utf8(this.myKey), create_revision: this.myRev };
  }

  /** This contender's key (etcd: `Key`). */
  key(): string {
    return this.myKey;
  }
}

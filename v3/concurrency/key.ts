/**
 * Mirrors etcd release-3.4 `clientv3/concurrency/key.go`: waiting for keys to be deleted, the
 * one blocking step of Mutex and Election.
 *
 * `waitDeletes(pfx, maxCreateRev)` repeatedly finds the newest key under `pfx` created at or
 * before `maxCreateRev` and waits for its DELETE, until none is left. Waiting on only the next
 * older key (not on all of them, nor on the holder) means one delete wakes one waiter: no herd.
 *
 *   lock/a created 5 (holder), lock/b created 7, lock/c created 9 (me, myRev 9)
 *   waitDeletes("lock/", 8): newest ≤ 8 is lock/b → wait for DELETE lock/b
 *                            then newest ≤ 8 is lock/a → wait for DELETE lock/a → none left: done
 *
 * In the simulator the wait is a Promise settled by a watch delivery. The watch starts at the
 * read's revision, which is the current revision, so the store files it as *unsynced*: it only
 * catches up when the driver runs a sync pass (`EtcdServer.tick`), as etcd's 100 ms loop would.
 */
import { utf8 } from "../../shared/bytes.js";
import type { RangeRequest, RangeResponse, ResponseHeader } from "../rpc.js";
import { EventType, SortOrder, SortTarget } from "../rpc.js";
import type { ConcurrencyClient, TxnClient } from "./client.js";
import { InvariantViolation } from "../errors.js";

/** The smallest key greater than every key with this prefix (etcd: `clientv3.GetPrefixRangeEnd`). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]); // all 0xff: "every key from here on"
}

/** One read as a read-only Txn (how clientv3's `Get` reaches the applier here). */
export async function get(client: TxnClient, request: RangeRequest): Promise<RangeResponse> {
  const response = await client.txn({ success: [{ request_range: request }] });
  const range = response.responses[0]?.response_range;
  if (range === undefined) throw new InvariantViolation("a read-only txn answered without a range response");
  // A sub-response header holds only the revision; the outer header is the full one.
  return { ...range, header: response.header };
}

/** Range options for the first-created key under a prefix (etcd: `WithFirstCreate`). */
export function firstCreate(prefix: string): RangeRequest {
  const key = utf8(prefix);
  return { key, range_end: prefixEnd(key), sort_target: SortTarget.CREATE, sort_order: SortOrder.ASCEND, limit: 1 };
}

/** Range options for the last-created key under a prefix (etcd: `WithLastCreate`). */
export function lastCreate(prefix: string): RangeRequest {
  const key = utf8(prefix);
  return { key, range_end: prefixEnd(key), sort_target: SortTarget.CREATE, sort_order: SortOrder.DESCEND, limit: 1 };
}

/** Resolves when `key` is deleted at or after revision `rev` (etcd: `waitDelete`). */
export async function waitDelete(client: ConcurrencyClient, key: Uint8Array, rev: number, signal?: AbortSignal): Promise<void> {
  const watcher = await client.watch({ key, start_revision: rev });
  try {
    for (;;) {
      if (signal?.aborted === true) throw signal.reason ?? new Error("context canceled");
      const response = await untilAborted(watcher.next(), signal);
      if (response.canceled) throw new Error(response.cancel_reason || "lost watcher waiting for delete");
      if (response.events.some((event) => event.type === EventType.DELETE)) return;
    }
  } finally {
    await watcher.cancel();
  }
}

/**
 * `promise`, or a rejection with the signal's reason as soon as `signal` aborts (Go: a select on
 * the watch channel and `ctx.Done()`), so a waiter that gives up does not wait for the next event.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason ?? new Error("context canceled"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Resolves when no key under `prefix` with create revision ≤ `maxCreateRev` is left (etcd: `waitDeletes`). */
export async function waitDeletes(client: ConcurrencyClient, prefix: string, maxCreateRev: number, signal?: AbortSignal): Promise<ResponseHeader> {
  for (;;) {
    // Each round starts with a read, which fails once the caller gave up (Go: ctx canceled).
    if (signal?.aborted === true) throw signal.reason ?? new Error("context canceled");
    const response = await get(client, { ...lastCreate(prefix), max_create_revision: maxCreateRev });
    const last = response.kvs[0];
    if (last === undefined) return response.header;
    await waitDelete(client, last.key, response.header.revision, signal);
  }
}

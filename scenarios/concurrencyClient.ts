/**
 * The concurrency recipes' client (`v3/concurrency/client.ts`: Txn, lease calls, watch) built on a
 * lesson target's `V3Client`, so STM, Session, Mutex and Election run unchanged against the
 * in-process server or a real etcd, exactly as clientv3/concurrency runs on clientv3.
 *
 * Failures become thrown errors carrying etcd's message, as a Go call returns `err`. A watcher's
 * `next()` waits by letting time pass on the target (`advance(0)`: nothing in process, one turn of
 * the event loop against a real etcd) until a response with events or a cancel arrives.
 *
 *   const client = concurrencyClientOf(target);
 *   const session = await Session.create(client, { ttlSeconds: 5 });
 *   const mutex = new Mutex(session, "locks/job");
 *   await mutex.lock();
 */
import type { ClientWatcher, ConcurrencyClient, TxnClient } from "../v3/concurrency/client.js";
import type { TxnRequest, TxnResponse, WatchCreateRequest, WatchResponse } from "../v3/rpc.js";
import type { Target, V3Client, V3Outcome } from "./workload.js";

/** Turns a watcher waits before giving up: a lesson bug, never a real wait. */
export const WATCH_WAIT_TURNS_MAX = 100_000;

/** A V3 call that failed, with etcd's message. */
export class EtcdCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "EtcdCallError";
  }
}

function unwrap<T>(outcome: V3Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new EtcdCallError(outcome.error.code, outcome.error.message);
}

/** The Txn-only client the STM needs. */
export function txnClientOf(v3: V3Client): TxnClient {
  return { txn: async (request: TxnRequest): Promise<TxnResponse> => unwrap(await v3.txn(request)) };
}

export function concurrencyClientOf(target: Target): ConcurrencyClient {
  const v3 = target.v3;
  return {
    txn: async (request) => unwrap(await v3.txn(request)),
    leaseGrant: async (request) => unwrap(await v3.leaseGrant(request)),
    leaseRevoke: async (request) => unwrap(await v3.leaseRevoke(request)),
    leaseKeepAliveOnce: async (request) => unwrap(await v3.leaseKeepAliveOnce(request)),
    watch: async (request: WatchCreateRequest): Promise<ClientWatcher> => {
      const stream = await v3.watch();
      await stream.send({ create_request: request });
      const queue: WatchResponse[] = [];
      return {
        async next(): Promise<WatchResponse> {
          for (let turn = 0; turn < WATCH_WAIT_TURNS_MAX; turn++) {
            for (const response of await stream.take()) if (response.events.length > 0 || response.canceled) queue.push(response);
            const first = queue.shift();
            if (first !== undefined) return first;
            await target.advance(0);
          }
          throw new Error("watch: no event arrived (the lesson waited for something that never happens)");
        },
        async cancel(): Promise<void> {
          await stream.close();
        },
      };
    },
  };
}

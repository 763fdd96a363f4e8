/**
 * Mirrors etcd release-3.4 `clientv3/watch.go` (its `watchGrpcStream`): one bidirectional Watch
 * stream to a real etcd, carrying many watchers, as the raw client `realEtcdGrpc.ts` opens it.
 *
 * Responses queue up in arrival order. A caller either takes the next one (`next()`, waiting if need
 * be), takes all that have arrived (`drain()`), or waits until one is there without taking it
 * (`arrival(ms)`), which is what the lessons' `take()` builds on:
 *
 *   stream.send({ create_request: { key: utf8("foo"), start_revision: 1 } });
 *   await stream.arrival(200)   // true: the created response is in
 *   stream.drain()              // [{ watch_id: 0, created: true, … }]
 */
import type * as RPC from "etcd3/lib/rpc.js";
import { sleep } from "../../shared/clock.js";
import type { WatchRequest, WatchResponse } from "../../v3/rpc.js";
import { watchRequest, watchResponse, type RealEtcdV3Client } from "./realEtcdGrpc.js";

/**
 * One bidirectional watch stream to a real etcd: many watchers share it, as in `clientv3/watch.go`.
 * Responses queue up in arrival order; `next()` takes the oldest, waiting for one if none has come.
 *
 *   const stream = await openWatch(client);
 *   stream.send({ create_request: { key: utf8("foo"), start_revision: 1 } });
 *   await stream.next()   // { watch_id: 0, created: true, … }
 *   await stream.next()   // { watch_id: 0, events: [PUT foo …] }
 */
export class RealWatchStream {
  private readonly queue: WatchResponse[] = [];
  private readonly waiting: ((response: WatchResponse | undefined) => void)[] = [];
  private readonly watching: (() => void)[] = [];
  private closed = false;

  constructor(private readonly stream: RPC.IDuplexStream<RPC.IWatchRequest, RPC.IWatchResponse>) {
    stream.on("data", (raw) => this.push(watchResponse(raw)));
    stream.on("error", () => this.finish()); // a cancelled or dropped stream simply ends
    stream.on("end", () => this.finish());
  }

  send(request: WatchRequest): void {
    this.stream.write(watchRequest(request));
  }

  /** The next response, or undefined once the stream has ended and nothing is left. */
  next(): Promise<WatchResponse | undefined> {
    const response = this.queue.shift();
    if (response !== undefined || this.closed) return Promise.resolve(response);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /**
   * Resolves true as soon as a response is queued (at once if one already is), false when `ms` pass
   * first or the stream has ended with nothing queued. Takes nothing from the queue.
   */
  arrival(ms: number): Promise<boolean> {
    if (this.queue.length > 0) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      let settled = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        resolve(this.queue.length > 0);
      };
      this.watching.push(done);
      void sleep(ms).then(done);
    });
  }

  /** Every response that has arrived and not yet been taken, without waiting. */
  drain(): WatchResponse[] {
    return this.queue.splice(0, this.queue.length);
  }

  close(): void {
    if (this.closed) return;
    this.stream.cancel();
    this.finish();
  }

  private push(response: WatchResponse): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(response);
    else this.queue.push(response);
    for (const watcher of this.watching.splice(0)) watcher();
  }

  private finish(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter(undefined);
    for (const watcher of this.watching.splice(0)) watcher();
  }
}

/** Opens a watch stream on `client`: `const stream = await openWatch(client)`. */
export async function openWatch(client: RealEtcdV3Client): Promise<RealWatchStream> {
  return new RealWatchStream(await client.openWatchStream());
}

/**
 * No single etcd file: the in-process counterpart of a `clientv3.Client` as the concurrency
 * package uses it (clientv3's KV, Lease and Watch over one gRPC connection), talking straight
 * to an `EtcdServer` in the same process.
 *
 * Calls answer synchronously. All watches of one client share one Watch stream, as the Go
 * client's watchers share one gRPC stream. A watcher's `next()` resolves when the server sends it
 * a response with events or a cancel; the `created` answer is consumed here, as the Go client does.
 * Since a watch that starts in the past is unsynced until the server's next sync pass, a waiting
 * Mutex or Election resumes only when the driver calls `server.tick()`: the step a scenario
 * controls.
 *
 *   const client = server.client();
 *   const watcher = client.watch({ key: utf8("k"), start_revision: 2 });
 *   server.tick();                       // the catch-up pass delivers revisions 2…current
 *   const response = await watcher.next();
 */
import type {
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  TxnRequest,
  TxnResponse,
  WatchCreateRequest,
  WatchResponse,
} from "../rpc.js";
import type { EtcdServer } from "../etcdServer.js";
import type { ServerWatchStream } from "../watchServer.js";
import type { ClientWatcher, ConcurrencyClient, MaybePromise } from "./client.js";
import { InvariantViolation } from "../errors.js";

/** A `ConcurrencyClient` for an in-process server (see the header). */
export class InProcessClient implements ConcurrencyClient {
  private stream: ServerWatchStream | undefined;
  private readonly watchers = new Map<number, InProcessWatcher>();
  private created: number | undefined;
  private createError: string | undefined;

  constructor(readonly server: EtcdServer) {}

  txn(request: TxnRequest): TxnResponse {
    return this.server.txn(request);
  }
  leaseGrant(request: LeaseGrantRequest): LeaseGrantResponse {
    return this.server.leaseGrant(request);
  }
  leaseRevoke(request: LeaseRevokeRequest): LeaseRevokeResponse {
    return this.server.leaseRevoke(request);
  }
  leaseKeepAliveOnce(request: LeaseKeepAliveRequest): LeaseKeepAliveResponse {
    return this.server.leaseKeepAlive(request);
  }

  watch(request: WatchCreateRequest): ClientWatcher {
    const stream = (this.stream ??= this.server.watch((response) => this.route(response)));
    this.created = undefined;
    this.createError = undefined;
    stream.recv({ create_request: request });
    if (this.createError !== undefined) throw new Error(this.createError);
    const id = this.created;
    if (id === undefined) throw new InvariantViolation("watch create got no answer");
    const watcher = new InProcessWatcher(() => {
      this.watchers.delete(id);
      stream.recv({ cancel_request: { watch_id: id } });
    });
    this.watchers.set(id, watcher);
    return watcher;
  }

  /** Closes this client's watch stream. */
  close(): void {
    this.stream?.close();
    this.stream = undefined;
    this.watchers.clear();
  }

  private route(response: WatchResponse): void {
    if (response.created) {
      if (response.canceled) this.createError = response.cancel_reason;
      else this.created = response.watch_id;
      return;
    }
    const watcher = this.watchers.get(response.watch_id);
    if (watcher === undefined) return; // progress for the stream, or a watcher cancelled meanwhile
    if (response.events.length > 0 || response.canceled) watcher.deliver(response);
  }
}

/**
 * Where a server's own client sends its writes. Without a log that is the server itself; with a data
 * dir it is the logged API (server/v3Server.ts), because in etcd the Lock and Election services talk
 * to the server through a clientv3 client, so each of their puts, deletes, txns and lease grants is an
 * ordinary raft request:
 *
 *   Lock{name "l"}  →  log: lease_grant{TTL 60, ID}, txn{compare create(l/<lease>) = 0, put l/<lease>}
 *   Unlock{key}     →  log: delete_range{key}
 */
export interface ClientWrites {
  txn(request: TxnRequest): MaybePromise<TxnResponse>;
  deleteRange(request: DeleteRangeRequest): MaybePromise<DeleteRangeResponse>;
  leaseGrant(request: LeaseGrantRequest): MaybePromise<LeaseGrantResponse>;
  leaseRevoke(request: LeaseRevokeRequest): MaybePromise<LeaseRevokeResponse>;
}

/**
 * An in-process client whose writes go through `writes` (reads, keep-alives and watches stay in
 * process, as etcd serves them without a log entry). Answers with Promises where `writes` does.
 */
export class RoutedClient implements ConcurrencyClient {
  constructor(
    private readonly local: InProcessClient,
    private readonly writes: ClientWrites,
  ) {}

  txn(request: TxnRequest): MaybePromise<TxnResponse> {
    return this.writes.txn(request);
  }
  leaseGrant(request: LeaseGrantRequest): MaybePromise<LeaseGrantResponse> {
    return this.writes.leaseGrant(request);
  }
  leaseRevoke(request: LeaseRevokeRequest): MaybePromise<LeaseRevokeResponse> {
    return this.writes.leaseRevoke(request);
  }
  leaseKeepAliveOnce(request: LeaseKeepAliveRequest): LeaseKeepAliveResponse {
    return this.local.leaseKeepAliveOnce(request);
  }
  watch(request: WatchCreateRequest): ClientWatcher {
    return this.local.watch(request);
  }
  close(): void {
    this.local.close();
  }
}

/** One watcher of an `InProcessClient`. */
class InProcessWatcher implements ClientWatcher {
  private readonly queue: WatchResponse[] = [];
  private waiting: ((response: WatchResponse) => void) | undefined;
  private canceled = false;

  constructor(private readonly onCancel: () => void) {}

  deliver(response: WatchResponse): void {
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      waiting(response);
    } else {
      this.queue.push(response);
    }
  }

  next(): Promise<WatchResponse> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.waiting !== undefined) throw new Error("ClientWatcher.next called while a previous next() is pending");
    return new Promise((resolve) => (this.waiting = resolve));
  }

  cancel(): void {
    if (this.canceled) return;
    this.canceled = true;
    this.onCancel();
  }
}

/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3lock/lock.go` (messages of `v3lockpb/v3lock.proto`): the
 * Lock service, a thin wrapper that runs the client's Mutex recipe (concurrency/mutex.ts) inside the
 * server, through an in-process client.
 * With a data dir that client's writes (lease grants, txns, deletes) go through the log like any
 * client's (`EtcdServer.serviceClient`, server/v3Server.ts), so the keys survive a crash.
 *
 *   Lock{name "mylock", lease 0}   → grants a 60 s lease that nobody keeps alive (quirk: the lock
 *                                     silently goes when it expires), puts mylock/<hex lease>, and
 *                                     answers once that key is the oldest under "mylock/"
 *                                   → {header of the txn that created the key (or of the last wait), key}
 *   Unlock{key}                    → a plain delete of the key; an unknown key is not an error
 *
 * Lock blocks, so it answers with a Promise. A caller that goes away while waiting (its AbortSignal
 * fires) has its key deleted again. Every failure reaches the client as code 2 (Unknown) with the
 * error's text, catalogued etcd texts included ("etcdserver: requested lease not found").
 */
import type { LeaseID, ResponseHeader } from "./rpc.js";
import type { EtcdServer } from "./etcdServer.js";
import type { InProcessClient, RoutedClient } from "./concurrency/inProcessClient.js";
import type { ConcurrencyClient } from "./concurrency/client.js";
import { Mutex } from "./concurrency/mutex.js";
import { Session } from "./concurrency/session.js";
import { GrpcCode, RpcError } from "./errors.js";
import { fromUtf8, utf8 } from "../shared/bytes.js";

/** v3lockpb.LockRequest: name=1 (bytes), lease=2. */
export interface LockRequest {
  name?: Uint8Array; // 1
  lease?: LeaseID; // 2
}
/** v3lockpb.LockResponse: header=1, key=2 (the holder's key, name/<hex lease>). */
export interface LockResponse {
  header: ResponseHeader; // 1
  key: Uint8Array; // 2
}
/** v3lockpb.UnlockRequest: key=1. */
export interface UnlockRequest {
  key?: Uint8Array; // 1
}
/** v3lockpb.UnlockResponse: header=1. */
export interface UnlockResponse {
  header: ResponseHeader; // 1
}

/** etcd's `lockServer`: one in-process client shared by every call (etcd: `v3client.New`). */
export class LockServer {
  private client: InProcessClient | RoutedClient | undefined;

  constructor(private readonly server: EtcdServer) {}

  /** Resolves once the lock is held; rejects with code 2 on any failure or when `signal` aborts. */
  async lock(request: LockRequest, signal?: AbortSignal): Promise<LockResponse> {
    return serviceCall(async () => {
      const session = await orphanSession(this.inProcessClient(), request.lease ?? 0n);
      const mutex = new Mutex(session, fromUtf8(request.name ?? new Uint8Array()));
      await mutex.lock(signal);
      return { header: mutex.header ?? this.server.header(), key: utf8(mutex.key()) };
    });
  }

  /** Deletes the key (etcd: `Delete(key)`), whoever holds it. */
  async unlock(request: UnlockRequest): Promise<UnlockResponse> {
    return serviceCall(async () => {
      const response = await this.server.serviceWriter.deleteRange({ key: request.key ?? new Uint8Array() });
      return { header: response.header };
    });
  }

  /** Closes the shared client's watch stream. */
  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  private inProcessClient(): InProcessClient | RoutedClient {
    return (this.client ??= this.server.serviceClient());
  }
}

/**
 * etcd's `concurrency.NewSession(c, WithLease(lease))` followed by `Orphan()`: lease 0 grants a
 * fresh 60 s lease, any other ID is taken as given (not even checked), and nothing keeps it alive.
 */
export async function orphanSession(client: ConcurrencyClient, lease: LeaseID): Promise<Session> {
  const session = await Session.create(client, { lease });
  session.orphan();
  return session;
}

/**
 * Runs a service call, answering every failure as code 2 with its text (the services return the
 * client library's errors, which gRPC does not know, so they all become Unknown).
 */
export async function serviceCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RpcError && error.code === GrpcCode.Unknown) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new RpcError(GrpcCode.Unknown, message);
  }
}

/**
 * The client the concurrency recipes run on. No single etcd file: it is the slice of
 * `clientv3.Client` (KV.Txn, Lease.Grant/Revoke/KeepAliveOnce, Watch) that
 * `clientv3/concurrency` uses, as one small interface.
 *
 * Every method may answer synchronously or with a Promise, and reports failure by throwing, as a
 * Go call returns `err`. Three things satisfy it:
 *   - `EtcdServer.client()` (v3/etcdServer.ts): the in-process server, deterministic;
 *   - the applier alone, for `TxnClient` (the STM needs nothing else);
 *   - an adapter over a real etcd (a network client), answering with Promises.
 *
 *   const stm = await newSTM(server.client(), async (s) => s.put("b", await s.get("a")));
 */
import type {
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

/** A value now, or later. */
export type MaybePromise<T> = T | Promise<T>;

/** Runs one transaction (etcd: `KV.Txn`). A read is a Txn of range ops. */
export interface TxnClient {
  txn(request: TxnRequest): MaybePromise<TxnResponse>;
}

/**
 * One watcher as a client holds it (etcd: a `WatchChan`). `next()` resolves with the next
 * response carrying events (or a cancel); calling it again before it resolves is not allowed.
 */
export interface ClientWatcher {
  next(): Promise<WatchResponse>;
  cancel(): MaybePromise<void>;
}

/** What Session, Mutex and Election need. */
export interface ConcurrencyClient extends TxnClient {
  leaseGrant(request: LeaseGrantRequest): MaybePromise<LeaseGrantResponse>;
  leaseRevoke(request: LeaseRevokeRequest): MaybePromise<LeaseRevokeResponse>;
  leaseKeepAliveOnce(request: LeaseKeepAliveRequest): MaybePromise<LeaseKeepAliveResponse>;
  watch(request: WatchCreateRequest): MaybePromise<ClientWatcher>;
}

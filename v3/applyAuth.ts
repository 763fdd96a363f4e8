/**
 * Mirrors etcd release-3.4 `etcdserver/apply_auth.go` (`authApplierV3`): the permission each KV
 * and lease write needs, checked when the raft entry is applied, with the user name and auth
 * revision captured when the request arrived. v3_server.go reuses `checkTxnAuth` for read-only txns.
 *
 *   put            write(key); + write on every key already on the lease; + read(key) if prev_kv
 *   deleteRange    write(key, end); + read(key, end) if prev_kv
 *   txn            read on each compare's key/range, then every op of BOTH branches: range → read,
 *                  put → write, delete → write (+ read if prev_kv)
 *   leaseRevoke    write on every key attached to the lease (none attached: anybody may revoke)
 *
 * etcd 3.4's gaps, kept as quirks (a faithful simulator leaks what etcd leaks):
 *   - quirk: a nested `request_txn` is not looked into at all, so its ops run unchecked
 *     (a read-only user can write, or read a forbidden key, through a txn inside a txn);
 *   - quirk: a put inside a txn is checked for write only; with prev_kv it returns the old value
 *     without read permission (a standalone put checks read too).
 */
import type { DeleteRangeRequest, LeaseID, PutRequest, RequestOp, TxnRequest } from "./rpc.js";
import { NO_LEASE } from "./rpc.js";
import type { AuthStore } from "./auth/store.js";
import type { AuthInfo } from "./auth/simpleToken.js";
import { fromBinaryString } from "../shared/bytes.js";

/** Who is asking, as captured with the request (undefined: no credentials). */
export type Requester = AuthInfo | undefined;

/** The keys attached to a lease (binary strings), or undefined for an unknown lease. */
export type LeaseKeys = (id: LeaseID) => Iterable<string> | undefined;

export function checkPutAuth(as: AuthStore, who: Requester, r: PutRequest, leaseKeys: LeaseKeys): void {
  as.isPutPermitted(who, r.key);
  checkLeasePuts(as, who, r.lease ?? NO_LEASE, leaseKeys);
  if (r.prev_kv === true) as.isRangePermitted(who, r.key, undefined);
}

export function checkDeleteRangeAuth(as: AuthStore, who: Requester, r: DeleteRangeRequest): void {
  as.isDeleteRangePermitted(who, r.key, r.range_end);
  if (r.prev_kv === true) as.isRangePermitted(who, r.key, r.range_end);
}

/** etcd `checkTxnAuth`: compares, then success ops, then failure ops; the first refusal wins. */
export function checkTxnAuth(as: AuthStore, who: Requester, r: TxnRequest): void {
  for (const c of r.compare ?? []) as.isRangePermitted(who, c.key, c.range_end);
  checkTxnReqsPermission(as, who, r.success ?? []);
  checkTxnReqsPermission(as, who, r.failure ?? []);
}

function checkTxnReqsPermission(as: AuthStore, who: Requester, ops: readonly RequestOp[]): void {
  for (const op of ops) {
    if (op.request_range !== undefined) {
      as.isRangePermitted(who, op.request_range.key, op.request_range.range_end);
    } else if (op.request_put !== undefined) {
      as.isPutPermitted(who, op.request_put.key); // quirk: prev_kv not checked for read
    } else if (op.request_delete_range !== undefined) {
      const d = op.request_delete_range;
      if (d.prev_kv === true) as.isRangePermitted(who, d.key, d.range_end);
      as.isDeleteRangePermitted(who, d.key, d.range_end);
    }
    // quirk: request_txn falls through etcd 3.4's switch unchecked
  }
}

/**
 * etcd `checkLeasePuts`: a user may attach a key to, or revoke, a lease only if it may write every
 * key already on it (so it cannot delete others' keys by revoking).
 */
export function checkLeasePuts(as: AuthStore, who: Requester, lease: LeaseID, leaseKeys: LeaseKeys): void {
  if (lease === NO_LEASE) return;
  for (const key of leaseKeys(lease) ?? []) as.isPutPermitted(who, fromBinaryString(key));
}

/**
 * Mirrors etcd release-3.4 `etcdserver/quota.go` (with the front-door checks of
 * `etcdserver/api/v3rpc/quota.go`): the space quota on the backend file.
 *
 * Each write request has a cost, a rough guess at the bytes it adds:
 *   Put         256 + len(key) + len(value)
 *   Txn         the larger of the summed Put costs of its success and failure branches (other ops cost 0)
 *   LeaseGrant  64
 * A request "fits" when the file size (`dbSize`, the physical size, not the size in use) plus its
 * cost stays below the quota. Compaction alone never makes room: only defrag shrinks the file.
 *
 *   --quota-backend-bytes 0 (default)  → 2 GiB;   negative → no quota;   above 8 GiB → only a warning
 *   quota 1 MiB, dbSize 1,044,480, put of 1 KiB key+value: 1,044,480 + 1,280 < 1,048,576 → fits
 */
import type { PutRequest, TxnRequest } from "./rpc.js";

/** etcd's `DefaultQuotaBytes`: 2 GiB. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
/** etcd's `MaxQuotaBytes`: above it etcd only warns. */
export const MAX_QUOTA_BYTES = 8 * 1024 * 1024 * 1024;
/** etcd's `kvOverhead`: the cost of a put beyond its key and value. */
export const KV_OVERHEAD_BYTES = 256;
/** etcd's `leaseOverhead`. */
export const LEASE_OVERHEAD_BYTES = 64;

/** etcd's `backendQuota` (or `passthroughQuota` when the quota is negative). */
export class Quota {
  /** The limit in bytes; Infinity when disabled. */
  readonly maxBackendBytes: number;

  /** `quotaBackendBytes` is the flag's value: 0 means the default, negative disables. */
  constructor(
    quotaBackendBytes: number,
    private readonly dbSizeBytes: () => number,
  ) {
    this.maxBackendBytes = quotaBackendBytes < 0 ? Infinity : quotaBackendBytes === 0 ? DEFAULT_QUOTA_BYTES : quotaBackendBytes;
  }

  /** True if a request of this cost fits (one that costs nothing always does; etcd's `Available`). */
  fits(cost: number): boolean {
    return cost === 0 || this.dbSizeBytes() + cost < this.maxBackendBytes;
  }

  /** True while the file is already at or past the quota (the apply-time check after a write). */
  exceeded(): boolean {
    return this.dbSizeBytes() >= this.maxBackendBytes;
  }

}

/** A Put's cost: 256 + key + value bytes. */
export function costPut(request: PutRequest): number {
  return KV_OVERHEAD_BYTES + request.key.length + (request.value?.length ?? 0);
}

/** A Txn's cost: only the top-level puts of each branch count; nested txns cost nothing (as in etcd). */
export function costTxn(request: TxnRequest): number {
  const branch = (ops: TxnRequest["success"]): number =>
    (ops ?? []).reduce((sum, op) => sum + (op.request_put === undefined ? 0 : costPut(op.request_put)), 0);
  return Math.max(branch(request.success), branch(request.failure));
}

/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/key.go` (the request checks of `kvServer`) and the
 * request-size check of `etcdserver/v3_server.go`.
 *
 * These checks run before a request reaches raft, so a request that fails them changes nothing,
 * not even the raft index. They look only at the request, never at the store:
 *
 *   range/put/delete with an empty key               → etcdserver: key is not provided
 *   put ignore_value with a value                    → etcdserver: value is provided
 *   put ignore_lease with a lease                    → etcdserver: lease is provided
 *   txn with > 128 compares, successes or failures   → etcdserver: too many operations in txn request
 *   txn op with nothing set                          → etcdserver: key not found
 *   txn putting a key twice, or one it also deletes  → etcdserver: duplicate key given in txn request
 *
 * Checks that need the store (a missing lease, ignore_value on a missing key, a compacted
 * revision) happen later, in the applier (apply.ts).
 */
import type { Compare, CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from "./rpc.js";
import { RpcDuplicateKeyError, RpcEmptyKeyError, RpcKeyNotFoundError, RpcLeaseProvidedError, RpcTooManyOpsError, RpcValueProvidedError } from "./errors.js";
import { varintSize } from "./backend.js";
import { toBinaryString } from "../shared/bytes.js";

/** `--max-txn-ops` default: compares, successes and failures are each limited to this many. */
export const MAX_TXN_OPS = 128;
/** `--max-request-bytes` default: 1.5 MiB, the largest encoded raft request accepted. */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/** etcd's `checkRangeRequest`: throws RpcEmptyKeyError for an empty key; checks nothing else. */
export function checkRangeRequest(r: RangeRequest): void {
  if (r.key.length === 0) throw new RpcEmptyKeyError();
}

/** etcd's `checkPutRequest`: an empty key, or ignore_value/ignore_lease given with a value/lease, throws. */
export function checkPutRequest(r: PutRequest): void {
  if (r.key.length === 0) throw new RpcEmptyKeyError();
  if (r.ignore_value === true && (r.value?.length ?? 0) !== 0) throw new RpcValueProvidedError();
  if (r.ignore_lease === true && (r.lease ?? 0n) !== 0n) throw new RpcLeaseProvidedError();
}

/** etcd's `checkDeleteRequest`: throws RpcEmptyKeyError for an empty key. */
export function checkDeleteRequest(r: DeleteRangeRequest): void {
  if (r.key.length === 0) throw new RpcEmptyKeyError();
}

/**
 * The structural txn check: list lengths against the op budget, compare keys, then every op like
 * its standalone request. A nested txn gets the budget left after its parent's longest list
 * (128 − the parent's count).
 */
export function checkTxnRequest(r: TxnRequest, maxTxnOps: number = MAX_TXN_OPS): void {
  const compare = r.compare ?? [];
  const success = r.success ?? [];
  const failure = r.failure ?? [];
  const opCount = Math.max(compare.length, success.length, failure.length);
  if (opCount > maxTxnOps) throw new RpcTooManyOpsError();
  for (const c of compare) if (c.key.length === 0) throw new RpcEmptyKeyError();
  for (const op of success) checkRequestOp(op, maxTxnOps - opCount);
  for (const op of failure) checkRequestOp(op, maxTxnOps - opCount);
}

/** One op of a txn; an op with no request set fails with "etcdserver: key not found". */
export function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  if (op.request_range !== undefined) return checkRangeRequest(op.request_range);
  if (op.request_put !== undefined) return checkPutRequest(op.request_put);
  if (op.request_delete_range !== undefined) return checkDeleteRequest(op.request_delete_range);
  if (op.request_txn !== undefined) return checkTxnRequest(op.request_txn, maxTxnOps);
  throw new RpcKeyNotFoundError();
}

/** A delete's interval as checkIntervals sees it: [begin, end), end "" = +∞; a point is [k, k+"\0"). */
interface Interval {
  readonly begin: string;
  readonly end: string;
}

/**
 * The duplicate-key rule for one branch (etcd's checkIntervals). Returns the branch's puts and
 * deletes for the parent, or throws RpcDuplicateKeyError:
 *   1. collect this level's deletes;
 *   2. for each nested txn, check its then- and else-puts against puts seen so far and the deletes
 *      collected so far (a key in both the nested then and else is fine), then add its deletes;
 *   3. check this level's puts against all puts and deletes collected.
 *
 * Quirks kept from etcd: a delete with range_end "\0" is the interval [key, "\0"), which
 * contains no key, so it never conflicts; and a nested txn's puts are checked only against the
 * deletes of nested txns that came before it, not after.
 *
 *   [put a, delete a]                 → duplicate        [delete [a, c), put b]  → duplicate
 *   [put a, delete b]                 → fine             [delete a, delete [a,b)] → fine
 */
export function checkIntervals(ops: readonly RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) {
    const del = op.request_delete_range;
    if (del === undefined) continue;
    const key = toBinaryString(del.key);
    const end = del.range_end !== undefined && del.range_end.length > 0 ? toBinaryString(del.range_end) : key + "\0";
    dels.push({ begin: key, end });
  }
  const puts = new Set<string>();
  for (const op of ops) {
    const txn = op.request_txn;
    if (txn === undefined) continue;
    const thenBranch = checkIntervals(txn.success ?? []);
    const elseBranch = checkIntervals(txn.failure ?? []);
    for (const key of thenBranch.puts) {
      if (puts.has(key) || intersects(dels, key)) throw new RpcDuplicateKeyError();
      puts.add(key);
    }
    for (const key of elseBranch.puts) {
      if (puts.has(key) && !thenBranch.puts.has(key)) throw new RpcDuplicateKeyError();
      if (intersects(dels, key)) throw new RpcDuplicateKeyError();
      puts.add(key);
    }
    dels.push(...thenBranch.dels, ...elseBranch.dels);
  }
  for (const op of ops) {
    const put = op.request_put;
    if (put === undefined) continue;
    const key = toBinaryString(put.key);
    if (puts.has(key) || intersects(dels, key)) throw new RpcDuplicateKeyError();
    puts.add(key);
  }
  return { puts, dels };
}

/** True when some interval contains the point `key` (etcd's adt affine intervals). */
function intersects(dels: readonly Interval[], key: string): boolean {
  for (const del of dels) if (del.begin <= key && (del.end === "" || key < del.end)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Request size (etcdserver/v3_server.go: processInternalRaftRequestOnce refuses an encoded
// InternalRaftRequest longer than --max-request-bytes with "etcdserver: request is too large").
// ---------------------------------------------------------------------------------------------

/**
 * The encoded size of the raft entry carrying a request: the request's protobuf size, its field
 * tag and length inside InternalRaftRequest, and the request header: field 100 (a 2-byte tag),
 * its length (1 byte), and the request ID as a varint (1 tag byte + 10 bytes). The ID's top 16
 * bits are the member ID's low 16 bits (0xadfc for the simulated member), so its top bit is set
 * and the varint takes all 10 bytes: 14 bytes of header.
 *
 * Checked against etcd 3.4.23 (max 1,572,864): with a member whose ID varint takes 10 bytes, a put
 * of key "k" is accepted with a 1,572,838-byte value and refused with 1,572,840 (value + 25 bytes),
 * and a txn holding that one put is accepted at 1,572,830 and refused at 1,572,832 (value + 33).
 * A real member whose ID has a clear top bit accepts one byte more (9-byte varint).
 */
export const RAFT_REQUEST_HEADER_BYTES = 14;

/** The encoded size of the raft request etcd would propose for this request; above MAX_REQUEST_BYTES it is refused. */
export function raftRequestSize(kind: "put" | "delete" | "txn" | "compaction", request: PutRequest | DeleteRangeRequest | TxnRequest | CompactionRequest): number {
  let size: number;
  switch (kind) {
    case "put":
      size = putSize(request as PutRequest);
      break;
    case "delete":
      size = deleteSize(request as DeleteRangeRequest);
      break;
    case "txn":
      size = txnSize(request as TxnRequest);
      break;
    case "compaction":
      size = intField((request as CompactionRequest).revision) + boolField((request as CompactionRequest).physical);
      break;
  }
  return RAFT_REQUEST_HEADER_BYTES + lengthDelimited(size);
}

function bytesField(bytes: Uint8Array | undefined): number {
  return bytes === undefined || bytes.length === 0 ? 0 : lengthDelimited(bytes.length);
}
function lengthDelimited(length: number): number {
  return 1 + varintSize(length) + length;
}
function intField(value: number | undefined): number {
  if (value === undefined || value === 0) return 0;
  return 1 + (value < 0 ? 10 : varintSize(value));
}
function bigField(value: bigint | undefined): number {
  if (value === undefined || value === 0n) return 0;
  return 1 + (value < 0n ? 10 : varintSize(Number(value)));
}
function boolField(value: boolean | undefined): number {
  return value === true ? 2 : 0;
}
function rangeSize(r: RangeRequest): number {
  return (
    bytesField(r.key) + bytesField(r.range_end) + intField(r.limit) + intField(r.revision) + intField(r.sort_order) +
    intField(r.sort_target) + boolField(r.serializable) + boolField(r.keys_only) + boolField(r.count_only) +
    intField(r.min_mod_revision) + intField(r.max_mod_revision) + intField(r.min_create_revision) + intField(r.max_create_revision)
  );
}
function putSize(r: PutRequest): number {
  return bytesField(r.key) + bytesField(r.value) + bigField(r.lease) + boolField(r.prev_kv) + boolField(r.ignore_value) + boolField(r.ignore_lease);
}
function deleteSize(r: DeleteRangeRequest): number {
  return bytesField(r.key) + bytesField(r.range_end) + boolField(r.prev_kv);
}
function compareSize(c: Compare): number {
  // range_end is field 64: a two-byte tag.
  const rangeEnd = c.range_end === undefined || c.range_end.length === 0 ? 0 : 1 + lengthDelimited(c.range_end.length);
  return (
    intField(c.result) + intField(c.target) + bytesField(c.key) + intField(c.version) + intField(c.create_revision) +
    intField(c.mod_revision) + bytesField(c.value) + bigField(c.lease) + rangeEnd
  );
}
function opSize(op: RequestOp): number {
  if (op.request_range !== undefined) return lengthDelimited(rangeSize(op.request_range));
  if (op.request_put !== undefined) return lengthDelimited(putSize(op.request_put));
  if (op.request_delete_range !== undefined) return lengthDelimited(deleteSize(op.request_delete_range));
  if (op.request_txn !== undefined) return lengthDelimited(txnSize(op.request_txn));
  return 0;
}
function txnSize(r: TxnRequest): number {
  let size = 0;
  for (const c of r.compare ?? []) size += lengthDelimited(compareSize(c));
  for (const op of r.success ?? []) size += lengthDelimited(opSize(op));
  for (const op of r.failure ?? []) size += lengthDelimited(opSize(op));
  return size;
}

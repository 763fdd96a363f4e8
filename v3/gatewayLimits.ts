/**
 * Mirrors the gRPC receive limit a v3 request meets before etcd sees it (etcd release-3.4
 * `embed/config.go` `--max-request-bytes`, `etcdserver/api/v3rpc/grpc.go`: MaxRecvMsgSize =
 * max-request-bytes + 512 KiB). It counts the request's protobuf encoding, not its JSON:
 *
 *   put of a 2,200,000-byte value → code 8 (ResourceExhausted, HTTP 429)
 *     "grpc: received message larger than max (2200011 vs. 2097152)"        (checked live)
 *
 * The smaller limit, "etcdserver: request is too large" for a raft entry above 1,572,864 bytes, is
 * the server's own check (apply.ts / keyChecks.ts); this file only models the transport.
 *
 * The size functions follow the proto3 wire format: a field costs its tag (1 byte for field numbers
 * below 16, 2 below 2048), a varint length for bytes and messages, then the payload; zero scalars are
 * not written at all, and a oneof member is written whenever it is set.
 */
import { GrpcCode, RpcError } from "./errors.js";
import type { RequestTypes } from "./gatewayJson.js";
import type { Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from "./rpc.js";

/** etcd's default `--max-request-bytes` (1.5 MiB). */
export const MAX_REQUEST_BYTES = 1_572_864;
/** gRPC's receive limit: max-request-bytes plus etcd's `grpcOverheadBytes` (512 KiB). */
export const MAX_GRPC_RECEIVE_BYTES = MAX_REQUEST_BYTES + 512 * 1024;

function varintSize(value: number | bigint): number {
  let n = BigInt(value);
  if (n < 0n) return 10; // negative int64 varints always take ten bytes
  let size = 1;
  while (n >= 0x80n) {
    n >>= 7n;
    size++;
  }
  return size;
}

function tagSize(fieldNumber: number): number {
  return varintSize(fieldNumber << 3);
}

/** A length-delimited field (bytes or a message) of `length` payload bytes. */
function delimited(fieldNumber: number, length: number): number {
  return tagSize(fieldNumber) + varintSize(length) + length;
}

function bytesField(fieldNumber: number, value: Uint8Array | undefined): number {
  return value === undefined || value.length === 0 ? 0 : delimited(fieldNumber, value.length);
}

function intField(fieldNumber: number, value: number | bigint | undefined): number {
  return value === undefined || value === 0 || value === 0n ? 0 : tagSize(fieldNumber) + varintSize(value);
}

function boolField(fieldNumber: number, value: boolean | undefined): number {
  return value === true ? tagSize(fieldNumber) + 1 : 0;
}

function rangeSize(r: RangeRequest): number {
  return (
    bytesField(1, r.key) + bytesField(2, r.range_end) + intField(3, r.limit) + intField(4, r.revision) +
    intField(5, r.sort_order) + intField(6, r.sort_target) + boolField(7, r.serializable) + boolField(8, r.keys_only) +
    boolField(9, r.count_only) + intField(10, r.min_mod_revision) + intField(11, r.max_mod_revision) +
    intField(12, r.min_create_revision) + intField(13, r.max_create_revision)
  );
}

function putSize(r: PutRequest): number {
  return (
    bytesField(1, r.key) + bytesField(2, r.value) + intField(3, r.lease) + boolField(4, r.prev_kv) +
    boolField(5, r.ignore_value) + boolField(6, r.ignore_lease)
  );
}

function deleteRangeSize(r: DeleteRangeRequest): number {
  return bytesField(1, r.key) + bytesField(2, r.range_end) + boolField(3, r.prev_kv);
}

function compareSize(c: Compare): number {
  // A oneof member that is set is written even when zero.
  const member = (fieldNumber: number, value: number | bigint | undefined): number =>
    value === undefined ? 0 : tagSize(fieldNumber) + varintSize(value);
  return (
    intField(1, c.result) + intField(2, c.target) + bytesField(3, c.key) + member(4, c.version) +
    member(5, c.create_revision) + member(6, c.mod_revision) +
    (c.value === undefined ? 0 : delimited(7, c.value.length)) + member(8, c.lease) + bytesField(64, c.range_end)
  );
}

function requestOpSize(op: RequestOp): number {
  if (op.request_range !== undefined) return delimited(1, rangeSize(op.request_range));
  if (op.request_put !== undefined) return delimited(2, putSize(op.request_put));
  if (op.request_delete_range !== undefined) return delimited(3, deleteRangeSize(op.request_delete_range));
  if (op.request_txn !== undefined) return delimited(4, txnSize(op.request_txn));
  return 0;
}

function txnSize(t: TxnRequest): number {
  let size = 0;
  for (const c of t.compare ?? []) size += delimited(1, compareSize(c));
  for (const op of t.success ?? []) size += delimited(2, requestOpSize(op));
  for (const op of t.failure ?? []) size += delimited(3, requestOpSize(op));
  return size;
}

/** The protobuf size of a request, for the request types whose size can matter. */
export function protoSize<K extends keyof RequestTypes>(requestType: K, request: RequestTypes[K]): number {
  switch (requestType) {
    case "RangeRequest":
      return rangeSize(request as RangeRequest);
    case "PutRequest":
      return putSize(request as PutRequest);
    case "DeleteRangeRequest":
      return deleteRangeSize(request as DeleteRangeRequest);
    case "TxnRequest":
      return txnSize(request as TxnRequest);
    default:
      return 0; // lease, compaction, status requests: a few bytes
  }
}

/** Limit 1: the error gRPC answers for an oversized message, or undefined. */
export function grpcReceiveLimitError<K extends keyof RequestTypes>(requestType: K, request: RequestTypes[K]): RpcError | undefined {
  const size = protoSize(requestType, request);
  if (size <= MAX_GRPC_RECEIVE_BYTES) return undefined;
  return new RpcError(GrpcCode.ResourceExhausted, `grpc: received message larger than max (${size} vs. ${MAX_GRPC_RECEIVE_BYTES})`);
}

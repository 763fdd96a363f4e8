/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/rpctypes/error.go`, the sentinel errors of
 * `mvcc/` and `lease/`, `etcdserver/errors.go`, and the error mapping of `etcdserver/api/v3rpc/util.go`.
 *
 * etcd has two layers of errors. Inside the server, packages return Go sentinels with a package
 * prefix ("mvcc: required revision has been compacted", "lease not found"). At the gRPC boundary
 * `togRPCError` swaps each sentinel for an rpctypes error: a gRPC status code plus the text the
 * client sees, prefixed "etcdserver: ". The JSON gateway then turns the gRPC code into an HTTP status.
 *
 *   store.range(…, {rev: 3}) after compact(5)   throws CompactedError      "mvcc: required revision has been compacted"
 *   applier.range({key, revision: 3})           throws RpcCompactedError   "etcdserver: mvcc: required revision has been compacted"
 *                                                                            code 11 (OutOfRange) → HTTP 400
 *
 * Every message is exported as a constant so tests can assert the exact text.
 */

/** gRPC status codes (google.golang.org/grpc/codes). */
export const GrpcCode = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;
/** One of the gRPC status codes above. */
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/**
 * The HTTP status the JSON gateway answers for a gRPC code (grpc-gateway v1 `runtime.HTTPStatusFromCode`,
 * the version etcd 3.4 vendors): FailedPrecondition is 412 Precondition Failed (later grpc-gateway
 * versions changed it to 400), OutOfRange is 400. Checked against etcd 3.4.23: 3 → 400, 5 → 404,
 * 9 → 412 ("lease already exists"), 11 → 400.
 */
export function httpStatusFromCode(code: GrpcCode): number {
  switch (code) {
    case GrpcCode.OK:
      return 200;
    case GrpcCode.Canceled:
      return 408;
    case GrpcCode.Unknown:
      return 500;
    case GrpcCode.InvalidArgument:
      return 400;
    case GrpcCode.DeadlineExceeded:
      return 504;
    case GrpcCode.NotFound:
      return 404;
    case GrpcCode.AlreadyExists:
      return 409;
    case GrpcCode.PermissionDenied:
      return 403;
    case GrpcCode.Unauthenticated:
      return 401;
    case GrpcCode.ResourceExhausted:
      return 429;
    case GrpcCode.FailedPrecondition:
      return 412;
    case GrpcCode.Aborted:
      return 409;
    case GrpcCode.OutOfRange:
      return 400;
    case GrpcCode.Unimplemented:
      return 501;
    case GrpcCode.Internal:
      return 500;
    case GrpcCode.Unavailable:
      return 503;
    case GrpcCode.DataLoss:
      return 500;
  }
}

// ---------------------------------------------------------------------------------------------
// Sentinels inside the server (Go: errors.New in mvcc/, lease/, etcdserver/).
// ---------------------------------------------------------------------------------------------

export const ERR_COMPACTED = "mvcc: required revision has been compacted";
export const ERR_FUTURE_REV = "mvcc: required revision is a future revision";
export const ERR_CANCELED = "mvcc: watcher is canceled";
export const ERR_CLOSED = "mvcc: closed";
export const ERR_REVISION_NOT_FOUND = "mvcc: revision not found";
export const ERR_WATCHER_NOT_EXIST = "mvcc: watcher does not exist";
export const ERR_EMPTY_WATCHER_RANGE = "mvcc: watcher range is empty";
export const ERR_WATCHER_DUPLICATE_ID = "mvcc: duplicate watch ID provided on the WatchStream";
export const ERR_LEASE_NOT_FOUND = "lease not found";
export const ERR_LEASE_EXISTS = "lease already exists";
export const ERR_LEASE_TTL_TOO_LARGE = "too large lease TTL";
export const ERR_NOT_PRIMARY = "not a primary lessor";
export const ERR_KEY_NOT_FOUND = "etcdserver: key not found";
export const ERR_REQUEST_TOO_LARGE = "etcdserver: request is too large";
export const ERR_NO_SPACE = "etcdserver: no space";
export const ERR_TOO_MANY_REQUESTS = "etcdserver: too many requests";

/** Base of the Go sentinels. `sentinel` is the Go variable name, for grepping etcd. */
export abstract class SentinelError extends Error {
  abstract readonly sentinel: string;
}

/** mvcc.ErrCompacted: thrown when a read or compaction targets a revision below the compacted one. */
export class CompactedError extends SentinelError {
  readonly sentinel = "mvcc.ErrCompacted";
  constructor() {
    super(ERR_COMPACTED);
    this.name = "CompactedError";
  }
}
/** mvcc.ErrFutureRev: thrown when a read or compaction targets a revision above the current one. */
export class FutureRevError extends SentinelError {
  readonly sentinel = "mvcc.ErrFutureRev";
  constructor() {
    super(ERR_FUTURE_REV);
    this.name = "FutureRevError";
  }
}
/** mvcc.ErrCanceled: thrown when a watcher was canceled. */
export class CanceledError extends SentinelError {
  readonly sentinel = "mvcc.ErrCanceled";
  constructor() {
    super(ERR_CANCELED);
    this.name = "CanceledError";
  }
}
/** mvcc.ErrClosed: thrown when the store is used after close(). */
export class ClosedError extends SentinelError {
  readonly sentinel = "mvcc.ErrClosed";
  constructor() {
    super(ERR_CLOSED);
    this.name = "ClosedError";
  }
}
/** mvcc.ErrRevisionNotFound: the index has no revision of the key at the asked revision. */
export class RevisionNotFoundError extends SentinelError {
  readonly sentinel = "mvcc.ErrRevisionNotFound";
  constructor() {
    super(ERR_REVISION_NOT_FOUND);
    this.name = "RevisionNotFoundError";
  }
}
/** mvcc.ErrWatcherNotExist: cancel or progress for an unknown watch ID. */
export class WatcherNotExistError extends SentinelError {
  readonly sentinel = "mvcc.ErrWatcherNotExist";
  constructor() {
    super(ERR_WATCHER_NOT_EXIST);
    this.name = "WatcherNotExistError";
  }
}
/** mvcc.ErrEmptyWatcherRange: a watch whose non-empty end is ≤ its key. */
export class EmptyWatcherRangeError extends SentinelError {
  readonly sentinel = "mvcc.ErrEmptyWatcherRange";
  constructor() {
    super(ERR_EMPTY_WATCHER_RANGE);
    this.name = "EmptyWatcherRangeError";
  }
}
/** mvcc.ErrWatcherDuplicateID: a watch created with an ID already in use on the stream. */
export class WatcherDuplicateIDError extends SentinelError {
  readonly sentinel = "mvcc.ErrWatcherDuplicateID";
  constructor() {
    super(ERR_WATCHER_DUPLICATE_ID);
    this.name = "WatcherDuplicateIDError";
  }
}
/** lease.ErrLeaseNotFound: thrown when a lease ID is not granted (or already revoked). */
export class LeaseNotFoundError extends SentinelError {
  readonly sentinel = "lease.ErrLeaseNotFound";
  constructor() {
    super(ERR_LEASE_NOT_FOUND);
    this.name = "LeaseNotFoundError";
  }
}
/** lease.ErrLeaseExists: thrown when granting an ID that is in use. */
export class LeaseExistsError extends SentinelError {
  readonly sentinel = "lease.ErrLeaseExists";
  constructor() {
    super(ERR_LEASE_EXISTS);
    this.name = "LeaseExistsError";
  }
}
/** lease.ErrLeaseTTLTooLarge: thrown when granting a TTL above 9,000,000,000 s. */
export class LeaseTTLTooLargeError extends SentinelError {
  readonly sentinel = "lease.ErrLeaseTTLTooLarge";
  constructor() {
    super(ERR_LEASE_TTL_TOO_LARGE);
    this.name = "LeaseTTLTooLargeError";
  }
}
/** lease.ErrNotPrimary: a lessor that is not the leader's was asked to renew. */
export class NotPrimaryError extends SentinelError {
  readonly sentinel = "lease.ErrNotPrimary";
  constructor() {
    super(ERR_NOT_PRIMARY);
    this.name = "NotPrimaryError";
  }
}
/** etcdserver.ErrKeyNotFound: ignore_value / ignore_lease on a key that does not exist. */
export class KeyNotFoundError extends SentinelError {
  readonly sentinel = "etcdserver.ErrKeyNotFound";
  constructor() {
    super(ERR_KEY_NOT_FOUND);
    this.name = "KeyNotFoundError";
  }
}
/** etcdserver.ErrRequestTooLarge: the encoded request is above --max-request-bytes. */
export class RequestTooLargeError extends SentinelError {
  readonly sentinel = "etcdserver.ErrRequestTooLarge";
  constructor() {
    super(ERR_REQUEST_TOO_LARGE);
    this.name = "RequestTooLargeError";
  }
}
/** etcdserver.ErrNoSpace: the backend quota is exhausted (quota.ts, alarms.ts). */
export class NoSpaceError extends SentinelError {
  readonly sentinel = "etcdserver.ErrNoSpace";
  constructor() {
    super(ERR_NO_SPACE);
    this.name = "NoSpaceError";
  }
}
/** etcdserver.ErrTooManyRequests: applied index lags committed index by > 5000 (not simulated). */
export class TooManyRequestsError extends SentinelError {
  readonly sentinel = "etcdserver.ErrTooManyRequests";
  constructor() {
    super(ERR_TOO_MANY_REQUESTS);
    this.name = "TooManyRequestsError";
  }
}

/**
 * A broken internal invariant: what etcd handles with `panic` (a put with a smaller revision, an
 * unmarshal failure). Never caught; a test or a scenario that sees one has found a bug.
 */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}

// ---------------------------------------------------------------------------------------------
// What the client sees (rpctypes.ErrGRPC*): a gRPC code and the exact text.
// ---------------------------------------------------------------------------------------------

export const RPC_EMPTY_KEY = "etcdserver: key is not provided";
export const RPC_KEY_NOT_FOUND = "etcdserver: key not found";
export const RPC_VALUE_PROVIDED = "etcdserver: value is provided";
export const RPC_LEASE_PROVIDED = "etcdserver: lease is provided";
export const RPC_TOO_MANY_OPS = "etcdserver: too many operations in txn request";
export const RPC_DUPLICATE_KEY = "etcdserver: duplicate key given in txn request";
export const RPC_COMPACTED = "etcdserver: mvcc: required revision has been compacted";
export const RPC_FUTURE_REV = "etcdserver: mvcc: required revision is a future revision";
export const RPC_NO_SPACE = "etcdserver: mvcc: database space exceeded";
export const RPC_LEASE_NOT_FOUND = "etcdserver: requested lease not found";
export const RPC_LEASE_EXIST = "etcdserver: lease already exists";
export const RPC_LEASE_TTL_TOO_LARGE = "etcdserver: too large lease TTL";
export const RPC_WATCH_CANCELED = "etcdserver: watch canceled";
export const RPC_REQUEST_TOO_LARGE = "etcdserver: request is too large";
export const RPC_TOO_MANY_REQUESTS = "etcdserver: too many requests";
export const RPC_CORRUPT = "etcdserver: corrupt cluster";
export const RPC_BAD_LEADER_TRANSFEREE = "etcdserver: bad leader transferee";

/**
 * An error as the v3 API answers it: gRPC `code`, exact `message`, and the gateway's `httpStatus`.
 * The gateway prints it as `{"error": message, "message": message, "code": code}`.
 */
export class RpcError extends Error {
  readonly code: GrpcCode;
  /** The sentinel this was converted from, if any (etcd's togRPCError input). */
  override readonly cause: SentinelError | undefined;
  constructor(code: GrpcCode, message: string, cause?: SentinelError) {
    super(message);
    this.name = "RpcError";
    this.code = code;
    this.cause = cause;
  }
  /** The HTTP status the JSON gateway uses for this error. */
  get httpStatus(): number {
    return httpStatusFromCode(this.code);
  }
  override toString(): string {
    return `${this.message} (code ${this.code})`;
  }
}

/** rpctypes.ErrGRPCEmptyKey: a range, put, delete, compare or op without a key. */
export class RpcEmptyKeyError extends RpcError {
  constructor() {
    super(GrpcCode.InvalidArgument, RPC_EMPTY_KEY);
    this.name = "RpcEmptyKeyError";
  }
}
/** rpctypes.ErrGRPCKeyNotFound: ignore_value/ignore_lease on a missing key, or an empty RequestOp. */
export class RpcKeyNotFoundError extends RpcError {
  constructor(cause?: SentinelError) {
    super(GrpcCode.InvalidArgument, RPC_KEY_NOT_FOUND, cause);
    this.name = "RpcKeyNotFoundError";
  }
}
/** rpctypes.ErrGRPCValueProvided: ignore_value together with a non-empty value. */
export class RpcValueProvidedError extends RpcError {
  constructor() {
    super(GrpcCode.InvalidArgument, RPC_VALUE_PROVIDED);
    this.name = "RpcValueProvidedError";
  }
}
/** rpctypes.ErrGRPCLeaseProvided: ignore_lease together with a non-zero lease. */
export class RpcLeaseProvidedError extends RpcError {
  constructor() {
    super(GrpcCode.InvalidArgument, RPC_LEASE_PROVIDED);
    this.name = "RpcLeaseProvidedError";
  }
}
/** rpctypes.ErrGRPCTooManyOps: more than --max-txn-ops (128) compares or ops in one list. */
export class RpcTooManyOpsError extends RpcError {
  constructor() {
    super(GrpcCode.InvalidArgument, RPC_TOO_MANY_OPS);
    this.name = "RpcTooManyOpsError";
  }
}
/** rpctypes.ErrGRPCDuplicateKey: a txn branch puts a key twice or puts a key it also deletes. */
export class RpcDuplicateKeyError extends RpcError {
  constructor() {
    super(GrpcCode.InvalidArgument, RPC_DUPLICATE_KEY);
    this.name = "RpcDuplicateKeyError";
  }
}
/** rpctypes.ErrGRPCCompacted: the client's face of mvcc.ErrCompacted. */
export class RpcCompactedError extends RpcError {
  constructor(cause?: SentinelError) {
    super(GrpcCode.OutOfRange, RPC_COMPACTED, cause);
    this.name = "RpcCompactedError";
  }
}
/** rpctypes.ErrGRPCFutureRev: the client's face of mvcc.ErrFutureRev. */
export class RpcFutureRevError extends RpcError {
  constructor(cause?: SentinelError) {
    super(GrpcCode.OutOfRange, RPC_FUTURE_REV, cause);
    this.name = "RpcFutureRevError";
  }
}
/** rpctypes.ErrGRPCNoSpace: a write does not fit the space quota, or the NOSPACE alarm is raised. */
export class RpcNoSpaceError extends RpcError {
  constructor(cause?: SentinelError) {
    super(GrpcCode.ResourceExhausted, RPC_NO_SPACE, cause);
    this.name = "RpcNoSpaceError";
  }
}
/** rpctypes.ErrGRPCLeaseNotFound: the client's face of lease.ErrLeaseNotFound. */
export class RpcLeaseNotFoundError extends RpcError {
  constructor(cause?: SentinelError) {
    super(GrpcCode.NotFound, RPC_LEASE_NOT_FOUND, cause);
    this.name = "RpcLeaseNotFoundError";
  }
}
/** rpctypes.ErrGRPCLeaseExist: the client's face of lease.ErrLeaseExists. */
export class RpcLeaseExistError extends RpcError {
  constructor(cause?: SentinelError) {
    super(GrpcCode.FailedPrecondition, RPC_LEASE_EXIST, cause);
    this.name = "RpcLeaseExistError";
  }
}
/** rpctypes.ErrGRPCLeaseTTLTooLarge: the client's face of lease.ErrLeaseTTLTooLarge. */
export class RpcLeaseTTLTooLargeError extends RpcError {
  constructor(cause?: SentinelError) {
    super(GrpcCode.OutOfRange, RPC_LEASE_TTL_TOO_LARGE, cause);
    this.name = "RpcLeaseTTLTooLargeError";
  }
}
/** rpctypes.ErrGRPCWatchCanceled: the watch stream was closed by the client. */
export class RpcWatchCanceledError extends RpcError {
  constructor() {
    super(GrpcCode.Canceled, RPC_WATCH_CANCELED);
    this.name = "RpcWatchCanceledError";
  }
}
/** rpctypes.ErrGRPCRequestTooLarge: the client's face of etcdserver.ErrRequestTooLarge. */
export class RpcRequestTooLargeError extends RpcError {
  constructor(cause?: SentinelError) {
    super(GrpcCode.InvalidArgument, RPC_REQUEST_TOO_LARGE, cause);
    this.name = "RpcRequestTooLargeError";
  }
}
/** rpctypes.ErrTooManyRequests: the client's face of etcdserver.ErrTooManyRequests. */
export class RpcTooManyRequestsError extends RpcError {
  constructor(cause?: SentinelError) {
    super(GrpcCode.ResourceExhausted, RPC_TOO_MANY_REQUESTS, cause);
    this.name = "RpcTooManyRequestsError";
  }
}

/** rpctypes.ErrGRPCCorrupt: a write while the CORRUPT alarm is raised. */
export class RpcCorruptError extends RpcError {
  constructor() {
    super(GrpcCode.DataLoss, RPC_CORRUPT);
    this.name = "RpcCorruptError";
  }
}

/**
 * What the gRPC layer answers for an error (etcd's `togRPCError`): known sentinels become their
 * rpctypes error; an RpcError passes through; anything else is code Unknown with its own text,
 * as gRPC does for a plain Go error. An InvariantViolation is rethrown: it is a bug, not an answer.
 *
 *   toRpcError(new CompactedError())  → RpcCompactedError (code 11, "etcdserver: mvcc: required …")
 */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof RpcError) return err;
  if (err instanceof InvariantViolation) throw err;
  if (err instanceof CompactedError) return new RpcCompactedError(err);
  if (err instanceof FutureRevError) return new RpcFutureRevError(err);
  if (err instanceof KeyNotFoundError) return new RpcKeyNotFoundError(err);
  if (err instanceof LeaseNotFoundError) return new RpcLeaseNotFoundError(err);
  if (err instanceof LeaseExistsError) return new RpcLeaseExistError(err);
  if (err instanceof LeaseTTLTooLargeError) return new RpcLeaseTTLTooLargeError(err);
  if (err instanceof RequestTooLargeError) return new RpcRequestTooLargeError(err);
  if (err instanceof NoSpaceError) return new RpcNoSpaceError(err);
  if (err instanceof TooManyRequestsError) return new RpcTooManyRequestsError(err);
  const message = err instanceof Error ? err.message : String(err);
  return new RpcError(GrpcCode.Unknown, message);
}

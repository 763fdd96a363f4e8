import { describe, expect, it } from "vitest";
import {
  CompactedError,
  FutureRevError,
  GrpcCode,
  InvariantViolation,
  KeyNotFoundError,
  LeaseExistsError,
  LeaseNotFoundError,
  LeaseTTLTooLargeError,
  RequestTooLargeError,
  RpcCompactedError,
  RpcDuplicateKeyError,
  RpcEmptyKeyError,
  RpcError,
  RpcFutureRevError,
  RpcKeyNotFoundError,
  RpcLeaseExistError,
  RpcLeaseNotFoundError,
  RpcLeaseProvidedError,
  RpcLeaseTTLTooLargeError,
  RpcNoSpaceError,
  RpcRequestTooLargeError,
  RpcTooManyOpsError,
  RpcTooManyRequestsError,
  RpcValueProvidedError,
  RpcWatchCanceledError,
  httpStatusFromCode,
  toRpcError,
} from "../../v3/errors.js";

describe("v3 errors", () => {
  it.each([
    [new CompactedError(), 11, "etcdserver: mvcc: required revision has been compacted", 400],
    [new FutureRevError(), 11, "etcdserver: mvcc: required revision is a future revision", 400],
    [new KeyNotFoundError(), 3, "etcdserver: key not found", 400],
    [new LeaseNotFoundError(), 5, "etcdserver: requested lease not found", 404],
    [new LeaseExistsError(), 9, "etcdserver: lease already exists", 412],
    [new LeaseTTLTooLargeError(), 11, "etcdserver: too large lease TTL", 400],
    [new RequestTooLargeError(), 3, "etcdserver: request is too large", 400],
  ])("turns the sentinel %s into code %i with etcd's text and HTTP %i", (sentinel, code, message, http) => {
    const rpc = toRpcError(sentinel);
    expect([rpc.code, rpc.message, rpc.httpStatus]).toEqual([code, message, http]);
    expect(rpc.cause).toBe(sentinel);
  });

  // api/v3rpc/rpctypes/error.go, as spec §11 catalogues it: every client-facing error, written out.
  it.each([
    [new RpcEmptyKeyError(), 3, "etcdserver: key is not provided"],
    [new RpcKeyNotFoundError(), 3, "etcdserver: key not found"],
    [new RpcValueProvidedError(), 3, "etcdserver: value is provided"],
    [new RpcLeaseProvidedError(), 3, "etcdserver: lease is provided"],
    [new RpcTooManyOpsError(), 3, "etcdserver: too many operations in txn request"],
    [new RpcDuplicateKeyError(), 3, "etcdserver: duplicate key given in txn request"],
    [new RpcRequestTooLargeError(), 3, "etcdserver: request is too large"],
    [new RpcCompactedError(), 11, "etcdserver: mvcc: required revision has been compacted"],
    [new RpcFutureRevError(), 11, "etcdserver: mvcc: required revision is a future revision"],
    [new RpcNoSpaceError(), 8, "etcdserver: mvcc: database space exceeded"],
    [new RpcLeaseNotFoundError(), 5, "etcdserver: requested lease not found"],
    [new RpcLeaseExistError(), 9, "etcdserver: lease already exists"],
    [new RpcLeaseTTLTooLargeError(), 11, "etcdserver: too large lease TTL"],
    [new RpcWatchCanceledError(), 1, "etcdserver: watch canceled"],
    [new RpcTooManyRequestsError(), 8, "etcdserver: too many requests"],
  ])("spells %s as etcd does, with gRPC code %i", (error, code, message) => {
    expect(error).toBeInstanceOf(RpcError);
    expect([error.code, error.message]).toEqual([code, message]);
  });

  it("keeps the Go sentinel's own text inside the server", () => {
    expect(new CompactedError().message).toBe("mvcc: required revision has been compacted");
    expect(new LeaseNotFoundError().message).toBe("lease not found");
  });

  it("passes an RpcError through and calls anything else Unknown", () => {
    const empty = new RpcEmptyKeyError();
    expect(toRpcError(empty)).toBe(empty);
    const unknown = toRpcError(new Error("boom"));
    expect([unknown.code, unknown.message, unknown.httpStatus]).toEqual([GrpcCode.Unknown, "boom", 500]);
  });

  it("never turns a broken invariant into an answer", () => {
    expect(() => toRpcError(new InvariantViolation("bug"))).toThrow(InvariantViolation);
  });

  it("maps gRPC codes to grpc-gateway v1's HTTP statuses", () => {
    expect(Object.values(GrpcCode).map((code) => httpStatusFromCode(code))).toEqual([200, 408, 500, 400, 504, 404, 409, 403, 429, 412, 409, 400, 501, 500, 503, 500, 401]);
  });

  it("prints an RpcError with its code", () => {
    expect(String(new RpcCompactedError())).toBe("etcdserver: mvcc: required revision has been compacted (code 11)");
    expect(new RpcCompactedError()).toBeInstanceOf(RpcError);
  });
});

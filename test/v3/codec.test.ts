/**
 * v3/v3rpc/codec.ts: etcd's .proto files turned into rpc.ts objects and back, byte for byte as Go
 * marshals them (zero scalars left out, IDs as bigint, revisions as numbers).
 */
import { describe, expect, it } from "vitest";
import { utf8 } from "../../shared/bytes.js";
import { ProtoRegistry, WireError } from "../../v3/v3rpc/codec.js";

const registry = new ProtoRegistry();

describe("ProtoRegistry", () => {
  it("encodes a header without its zero revision, as Go does", () => {
    const header = registry.type("etcdserverpb.ResponseHeader");
    expect(registry.encode(header, { cluster_id: 1n, member_id: 2n, revision: 0, raft_term: 2 }).toString("hex")).toBe("080110022002");
  });

  it("decodes a put with every absent scalar at its zero and the lease as a bigint", () => {
    const put = registry.type("etcdserverpb.PutRequest");
    const decoded = registry.decode(put, Buffer.from("0a03666f6f1203626172", "hex"), 100);
    expect(decoded).toEqual({ key: Buffer.from("foo"), value: Buffer.from("bar"), lease: 0n, prev_kv: false, ignore_value: false, ignore_lease: false });
  });

  it("round-trips uint64 IDs above 2^63 and negative int64 lease IDs", () => {
    const status = registry.type("etcdserverpb.StatusResponse");
    const object = { header: { cluster_id: 14841639068965178418n, member_id: 10276657743932975437n, revision: 7, raft_term: 2 }, leader: 10276657743932975437n, dbSize: 20480 };
    expect(registry.decode(status, registry.encode(status, object), 1000)).toMatchObject(object);
    const put = registry.type("etcdserverpb.PutRequest");
    expect(registry.decode(put, registry.encode(put, { key: utf8("k"), lease: -5n }), 100)).toMatchObject({ lease: -5n });
  });

  it("keeps a set oneof member even when it is zero (a compare on version 0)", () => {
    const compare = registry.type("etcdserverpb.Compare");
    const bytes = registry.encode(compare, { result: 0, target: 0, key: utf8("k"), version: 0 });
    expect(registry.decode(compare, bytes, 100)).toMatchObject({ key: Buffer.from("k"), version: 0 });
    expect(registry.decode(compare, registry.encode(compare, { result: 0, target: 0, key: utf8("k") }), 100)).not.toHaveProperty("version");
  });

  it("answers WireErrors for a truncated message and one over the limit", () => {
    const put = registry.type("etcdserverpb.PutRequest");
    expect(registry.decode(put, Buffer.from("0a0a616263", "hex"), 100)).toEqual(new WireError(13, "grpc: error unmarshalling request: unexpected EOF"));
    expect(registry.decode(put, Buffer.alloc(101), 100)).toEqual(new WireError(8, "grpc: received message larger than max (101 vs. 100)"));
  });
});

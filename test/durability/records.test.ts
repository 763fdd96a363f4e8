/**
 * The messages etcd logs, written by hand (server/pb.ts, etcdserverpb.ts, v2Request.ts): a v2 request
 * survives the trip to the log and back exactly, expiry to the nanosecond, and a v3 request keeps its
 * bytes and 64-bit IDs in etcd 3.4's InternalRaftRequest.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeV2Request, decodeV3Entry, encodeV2Request, encodeV3Entry, isV3Entry, type V3Entry } from "../../server/etcdserverpb.js";
import { utf8 } from "../../shared/bytes.js";
import { fromV2Request, toV2Request } from "../../server/v2Request.js";
import type { KeyRequest } from "../../v2/http.js";

const keyRequest = fc.record<KeyRequest>({
  method: fc.constantFrom("PUT", "POST", "DELETE"),
  path: fc.stringMatching(/^\/[a-z0-9/]{0,12}$/),
  value: fc.string(),
  dir: fc.boolean(),
  prevValue: fc.string(),
  prevIndex: fc.nat(),
  prevExist: fc.constantFrom(undefined, true, false),
  wait: fc.constant(false),
  waitIndex: fc.nat(),
  recursive: fc.boolean(),
  sorted: fc.boolean(),
  quorum: fc.constant(false),
  stream: fc.constant(false),
  refresh: fc.constantFrom(undefined, true, false),
  expireTimeMs: fc.option(fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }), { nil: undefined }),
  noValueOnSuccess: fc.constant(false),
});

describe("logged requests", () => {
  it("brings any v2 keys request back from its etcdserverpb.Request bytes unchanged, expiry included", () => {
    fc.assert(
      fc.property(keyRequest, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (request, id) => {
        const logged = decodeV2Request(encodeV2Request(toV2Request(id, request)));
        expect(logged.id).toBe(id);
        expect(logged.path).toBe("/1" + request.path);
        expect(fromV2Request(logged)).toEqual({ ...request, path: request.path });
      }),
    );
  });

  it("writes a v2 PUT as etcd does: every non-nullable field, the path under /1, Unix nanoseconds", () => {
    const bytes = encodeV2Request(toV2Request(1n, { method: "PUT", path: "/foo", value: "bar", dir: false, prevValue: "", prevIndex: 0, prevExist: undefined, wait: false, waitIndex: 0, recursive: false, sorted: false, quorum: false, stream: false, refresh: undefined, expireTimeMs: 1_000, noValueOnSuccess: false }));
    expect(Buffer.from(bytes).toString("hex")).toBe(
      "0801" + "1203505554" + "1a062f312f666f6f" + "2203626172" + "2800" + "3200" + "3800" + "488094ebdc03" + "5000" + "5800" + "6000" + "6800" + "7000" + "7800" + "800100",
    );
  });

  it("writes a v3 put as etcd 3.4 logs it: an InternalRaftRequest with the put in field 4, then the header in field 100", () => {
    const data = encodeV3Entry({ op: "put", request: { key: utf8("foo"), value: utf8("bar") }, who: { username: "alice", revision: 3 }, id: 0x1234n });
    // 22 0a <PutRequest key "foo" value "bar">, a2 06 0c <RequestHeader ID 0x1234, "alice", 3>
    expect(Buffer.from(data).toString("hex")).toBe("220a" + "0a03666f6f" + "1203626172" + "a2060c" + "08b424" + "1205616c696365" + "1803");
    expect(isV3Entry(data)).toBe(true);
  });

  it("brings back each kind of v3 entry with its caller, request ID and 64-bit lease IDs", () => {
    const who = { username: "root", revision: 7 };
    const entries: V3Entry[] = [
      { op: "put", request: { key: Buffer.of(0, 255, 1), value: new Uint8Array(0), lease: 2n ** 63n - 1n, prev_kv: true, ignore_value: false, ignore_lease: false }, who, id: 2n ** 64n - 1n },
      { op: "leaseGrant", request: { TTL: 60, ID: 0x2dfc_0000_0000_0001n }, id: 5n },
      { op: "leaseRevoke", request: { ID: 9n }, who, id: 6n },
      { op: "compaction", request: { revision: 12, physical: true }, id: 7n },
      { op: "authenticate", request: { name: "alice", prefix: "AbCdEfGhIjKlMnOp" }, id: 8n },
      { op: "auth", method: "userAdd", request: { name: "bob", password: "pw", options: { no_password: false } }, who, id: 9n },
      { op: "auth", method: "roleGrantPermission", request: { name: "r", perm: { permType: 2, key: Buffer.from("a"), range_end: Buffer.from("b") } }, who, id: 10n },
      { op: "auth", method: "authEnable", request: {}, who, id: 11n },
    ];
    for (const entry of entries) {
      const decoded = decodeV3Entry(encodeV3Entry(entry));
      expect(decoded.op).toBe(entry.op);
      expect(decoded.method).toBe(entry.method);
      expect(decoded.who).toEqual(entry.who);
      expect(decoded.id).toBe(entry.id);
      expect(decoded.request).toMatchObject(entry.request as object);
    }
  });

  it("keeps the bytes of a txn the gRPC decoder built from Buffers", () => {
    const entry: V3Entry = { op: "txn", request: { compare: [{ key: Buffer.from("k"), value: Buffer.from([0, 1]), target: 3, result: 0 }], success: [{ request_put: { key: Buffer.from("crash/grpc/1"), value: Buffer.from("g1") } }], failure: [] } };
    const decoded = decodeV3Entry(encodeV3Entry(entry)).request as { compare: Array<{ key: Uint8Array; value: Uint8Array }>; success: Array<{ request_put: { key: Uint8Array; value: Uint8Array } }> };
    expect(Buffer.from(decoded.compare[0]!.key).toString()).toBe("k");
    expect([...decoded.compare[0]!.value]).toEqual([0, 1]);
    expect(Buffer.from(decoded.success[0]!.request_put.key).toString()).toBe("crash/grpc/1");
    expect(Buffer.from(decoded.success[0]!.request_put.value).toString()).toBe("g1");
  });

  it("tells a v2 Request from an InternalRaftRequest by the header field a Request never has", () => {
    fc.assert(
      fc.property(keyRequest, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (request, id) => {
        expect(isV3Entry(encodeV2Request(toV2Request(id, request)))).toBe(false);
      }),
    );
    expect(isV3Entry(encodeV3Entry({ op: "auth", method: "userList", request: {} }))).toBe(true);
  });

  it("still reads a v3 entry in etcdsim's former encoding (0x00, then JSON with $b bytes and $n IDs)", () => {
    const json = JSON.stringify({ op: "put", request: { key: { $b: Buffer.from("k").toString("base64") }, lease: { $n: "42" } }, who: { username: "u", revision: 2 } });
    const data = Buffer.concat([Buffer.of(0), Buffer.from(json)]);
    expect(isV3Entry(data)).toBe(true);
    expect(decodeV3Entry(data)).toEqual({ op: "put", request: { key: new Uint8Array(Buffer.from("k")), lease: 42n }, who: { username: "u", revision: 2 } });
  });
});

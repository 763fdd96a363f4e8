/**
 * The messages etcd logs, written by hand (server/pb.ts, etcdserverpb.ts, v2Request.ts): a v2 request
 * survives the trip to the log and back exactly, expiry to the nanosecond, and a v3 request keeps its
 * bytes and 64-bit IDs.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeV2Request, decodeV3Entry, encodeV2Request, encodeV3Entry, isV3Entry } from "../../server/etcdserverpb.js";
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

  it("keeps a v3 request's bytes and 64-bit IDs, behind a marker byte no protobuf message starts with", () => {
    const entry = { op: "put" as const, request: { key: new Uint8Array([0, 255, 1]), value: new Uint8Array(0), lease: 2n ** 63n - 1n } };
    const data = encodeV3Entry(entry);
    expect(data[0]).toBe(0);
    expect(isV3Entry(data)).toBe(true);
    expect(decodeV3Entry(data)).toEqual(entry);
    expect(isV3Entry(encodeV2Request(toV2Request(1n, { ...({} as KeyRequest), method: "PUT", path: "/a", value: "", prevValue: "", prevIndex: 0, waitIndex: 0 } as KeyRequest)))).toBe(false);
  });

  it("keeps the bytes of a request the gRPC decoder built from Buffers, as it keeps plain Uint8Arrays", () => {
    const entry = { op: "txn" as const, request: { compare: [{ key: Buffer.from("k"), value: Buffer.from([0, 1]) }], success: [{ requestPut: { key: Buffer.from("crash/grpc/1"), value: Buffer.from("g1") } }] } };
    const decoded = decodeV3Entry(encodeV3Entry(entry)).request as { compare: Array<{ key: Uint8Array; value: Uint8Array }>; success: Array<{ requestPut: { key: Uint8Array; value: Uint8Array } }> };
    expect(Buffer.from(decoded.compare[0]!.key).toString()).toBe("k");
    expect([...decoded.compare[0]!.value]).toEqual([0, 1]);
    expect(Buffer.from(decoded.success[0]!.requestPut.key).toString()).toBe("crash/grpc/1");
    expect(Buffer.from(decoded.success[0]!.requestPut.value).toString()).toBe("g1");
  });
});

/**
 * Tests of the gateway's JSON codec (v3/gatewayJson.ts, v3/gatewayGoJson.ts). The expected error
 * texts are the ones etcd 3.4.23's gateway answered for the same bodies (captured with curl); the
 * differential tests re-check them against a live etcd.
 */
import { describe, expect, it } from "vitest";
import { utf8 } from "../../shared/bytes.js";
import { GoJsonStream, parseGoJson } from "../../v3/gatewayGoJson.js";
import { goBase64Decode, goJsonString } from "../../v3/gatewayGoText.js";
import {
  decodeRequest,
  encodeErrorBody,
  encodeEvent,
  encodeRangeResponse,
  encodeTxnResponse,
  encodeWatchResponse,
  type RequestTypes,
} from "../../v3/gatewayJson.js";
import type { ResponseHeader } from "../../v3/rpc.js";

/** Decodes one body the way a unary route does; returns the request or the error text. */
function decode<K extends keyof RequestTypes>(name: K, body: string): RequestTypes[K] | string {
  const stream = new GoJsonStream();
  stream.push(utf8(body));
  stream.end();
  const item = stream.next();
  if (item.kind === "error") return item.message;
  try {
    return decodeRequest(name, item.kind === "value" ? item.value : undefined);
  } catch (error) {
    return (error as Error).message;
  }
}

const header: ResponseHeader = { cluster_id: 1543700104741564242n, member_id: 10608898954038455804n, revision: 9, raft_term: 2 };
const HEADER_JSON = '{"cluster_id":"1543700104741564242","member_id":"10608898954038455804","revision":"9","raft_term":"2"}';

describe("decodeRequest", () => {
  it("reads proto names, camelCase names, base64 bytes and quoted int64s", () => {
    const request = decode("RangeRequest", '{"key":"Zm9v","rangeEnd":"Zm9w","limit":"2","sort_order":"DESCEND","keys_only":true}');
    expect(request).toMatchObject({ key: utf8("foo"), range_end: utf8("fop"), limit: 2, sort_order: 2, keys_only: true });
  });

  it("treats an empty or whitespace body and null as the zero request", () => {
    for (const body of ["", "   ", "null"]) expect(decode("RangeRequest", body)).toMatchObject({ key: new Uint8Array(0), limit: 0 });
  });

  it("keeps the last of duplicate fields and ignores unknown fields and trailing text", () => {
    expect(decode("RangeRequest", '{"key":"Zm9v","key":"eA==","bogus":[1]} trailing')).toMatchObject({ key: utf8("x") });
  });

  it("accepts enum numbers that name nothing, as jsonpb does", () => {
    expect(decode("RangeRequest", '{"key":"Zm9v","sort_order":7}')).toMatchObject({ sort_order: 7 });
  });

  it("reads lease IDs as bigints, including negative ones", () => {
    expect(decode("LeaseGrantRequest", '{"TTL":"30","ID":"-5"}')).toEqual({ TTL: 30, ID: -5n });
  });

  it("reads oneofs: a txn's ops and a compare's target value", () => {
    const txn = decode("TxnRequest", '{"compare":[{"key":"Zm9v","target":"VALUE","value":"YmFy"}],"success":[{"request_txn":{}}]}');
    expect(txn).toMatchObject({ compare: [{ key: utf8("foo"), target: 3, value: utf8("bar") }], success: [{ request_txn: { compare: [] } }], failure: [] });
  });

  it("keeps one member of a oneof: the last in field order (Go picks in random map order)", () => {
    const txn = decode("TxnRequest", '{"success":[{"request_put":{"key":"YQ=="},"request_range":{"key":"Zm9v"}}]}');
    expect(txn).toMatchObject({ success: [{ request_put: { key: utf8("a") } }] });
    expect((txn as { success: object[] }).success[0]).not.toHaveProperty("request_range");
  });

  it("refuses a null inside a list of messages as the Go gateway's panic, not as an error answer", () => {
    expect(decode("TxnRequest", '{"success":[null]}')).toBe("nil message in success: the gateway panics and closes the connection");
  });

  // Each row: body → the error etcd 3.4.23 answered (captured).
  it.each([
    ["{bad", "invalid character 'b' looking for beginning of object key string"],
    ['{"key":"Zm9v"', "unexpected EOF"],
    ["[]", "json: cannot unmarshal array into Go value of type map[string]json.RawMessage"],
    ["5", "json: cannot unmarshal number into Go value of type map[string]json.RawMessage"],
    ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ['{"key":"Zm9v!"}', "illegal base64 data at input byte 4"],
    ['{"key":"Zm9"}', "illegal base64 data at input byte 0"],
    ['{"key":"Zm_v"}', "illegal base64 data at input byte 2"],
    ['{"key":1}', "json: cannot unmarshal number into Go value of type []uint8"],
    ['{"key":[102,111,300]}', "json: cannot unmarshal number 300 into Go value of type uint8"],
    ['{"key":"Zm9v","count_only":"true"}', "json: cannot unmarshal string into Go value of type bool"],
    ['{"key":"Zm9v","limit":1.5}', "json: cannot unmarshal number 1.5 into Go value of type int64"],
    ['{"key":"Zm9v","limit":"abc"}', "invalid character 'a' looking for beginning of value"],
    ['{"key":"Zm9v","limit":""}', "unexpected end of JSON input"],
    ['{"key":"Zm9v","limit":"-"}', "invalid character ' ' in numeric literal"],
    ['{"key":"Zm9v","limit":"1 2"}', "invalid character '2' after top-level value"],
    ['{"key":"Zm9v","revision":"9223372036854775808"}', "json: cannot unmarshal number 9223372036854775808 into Go value of type int64"],
    ['{"key":"Zm9v","revision":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"key":"Zm9v","sort_order":"BOGUS"}', 'unknown value "BOGUS" for enum etcdserverpb.RangeRequest_SortOrder'],
    ['{"key":"Zm9v","sort_order":"\\u0041"}', 'unknown value "\\\\u0041" for enum etcdserverpb.RangeRequest_SortOrder'],
    ['{"key":"Zm9v","sort_order":true}', "json: cannot unmarshal bool into Go value of type etcdserverpb.RangeRequest_SortOrder"],
    ['{"key":"Zm9v","sort_order":4294967296}', "json: cannot unmarshal number 4294967296 into Go value of type etcdserverpb.RangeRequest_SortOrder"],
  ])("refuses %s with Go's message", (body, message) => {
    expect(decode("RangeRequest", body)).toBe(message);
  });
});

describe("GoJsonStream", () => {
  it("returns the values of a body one at a time, waiting for more when a value is incomplete", () => {
    const stream = new GoJsonStream();
    stream.push(utf8('{"a":1}{"b"'));
    expect(stream.next()).toMatchObject({ kind: "value", value: { raw: '{"a":1}' } });
    expect(stream.next()).toEqual({ kind: "more" });
    stream.push(utf8(":2} "));
    stream.end();
    expect(stream.next()).toMatchObject({ kind: "value", value: { raw: '{"b":2}' } });
    expect(stream.next()).toEqual({ kind: "eof" });
  });

  it("repeats its first error forever, as Go's Decoder does", () => {
    const stream = new GoJsonStream();
    stream.push(utf8('{"a":1}x{"b":2}'));
    stream.end();
    expect(stream.next().kind).toBe("value");
    const error = stream.next();
    expect(error).toEqual({ kind: "error", message: "invalid character 'x' looking for beginning of value" });
    expect(stream.next()).toEqual(error);
  });
});

describe("goBase64Decode", () => {
  it("skips newlines and requires padding", () => {
    expect(goBase64Decode(utf8("Zm9v\nYg=="))).toEqual(utf8("foob"));
    expect(() => goBase64Decode(utf8("Zg="))).toThrow("illegal base64 data at input byte 3");
    expect(() => goBase64Decode(utf8("Zg==x"))).toThrow("illegal base64 data at input byte 4");
  });
});

describe("parseGoJson", () => {
  it("reports a control character inside a string like Go's scanner", () => {
    expect(() => parseGoJson('"a\u0001"')).toThrow("invalid character '\\x01' in string literal");
  });
});

describe("encoders", () => {
  it("writes int64s as strings, omits zero fields and keeps proto field order", () => {
    const kv = { key: utf8("foo"), create_revision: 2, mod_revision: 4, version: 3, value: new Uint8Array(0), lease: 0n };
    expect(encodeRangeResponse({ header, kvs: [kv], more: false, count: 1 })).toBe(
      `{"header":${HEADER_JSON},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"4","version":"3"}],"count":"1"}`,
    );
    expect(encodeRangeResponse({ header, kvs: [], more: false, count: 0 })).toBe(`{"header":${HEADER_JSON}}`);
  });

  it("writes a nested txn's empty header as {} and omits succeeded when false", () => {
    const empty: ResponseHeader = { cluster_id: 0n, member_id: 0n, revision: 0, raft_term: 0 };
    const nested = { header: empty, succeeded: true, responses: [] };
    expect(encodeTxnResponse({ header, succeeded: false, responses: [{ response_txn: nested }] })).toBe(
      `{"header":${HEADER_JSON},"responses":[{"response_txn":{"header":{},"succeeded":true}}]}`,
    );
  });

  it("names DELETE events and leaves the PUT type out", () => {
    const kv = { key: utf8("zz"), create_revision: 0, mod_revision: 12, version: 0, value: new Uint8Array(0), lease: 0n };
    expect(encodeEvent({ type: 1, kv })).toBe('{"type":"DELETE","kv":{"key":"eno=","mod_revision":"12"}}');
    expect(encodeEvent({ type: 0, kv })).toBe('{"kv":{"key":"eno=","mod_revision":"12"}}');
  });

  it("writes watch ids as strings, -1 included, and omits id 0", () => {
    const base = { header, created: true, canceled: false, compact_revision: 0, cancel_reason: "", fragment: false, events: [] };
    expect(encodeWatchResponse({ ...base, watch_id: 0 })).toBe(`{"header":${HEADER_JSON},"created":true}`);
    expect(encodeWatchResponse({ ...base, watch_id: -1, canceled: true, cancel_reason: "mvcc: watcher range is empty" })).toBe(
      `{"header":${HEADER_JSON},"watch_id":"-1","created":true,"canceled":true,"cancel_reason":"mvcc: watcher range is empty"}`,
    );
  });

  it("escapes error texts the way Go's json.Marshal does", () => {
    expect(goJsonString('unknown value "X<&>"\n')).toBe('"unknown value \\"X\\u003c\\u0026\\u003e\\"\\n"');
    expect(encodeErrorBody(3, "etcdserver: key is not provided")).toBe(
      '{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}',
    );
  });
});

/**
 * Differential test of the v3 JSON gateway's KV API: every request below goes to a real etcd 3.4.23
 * and to the simulator (`npm run serve`, started as a child process), and the answers must be equal
 * after the normalisations listed in `test/support/differentialV3.ts` (raft term,
 * framing lengths). Cluster and member IDs, revisions, field order, omitted zero fields and error
 * texts are compared exactly: the simulator runs as the same member (same peer URL).
 *
 * Both servers start empty, so revisions line up from 1. The `it`s run in order on the same pair
 * of servers; each checks the comparisons it made.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdAvailable, type RealEtcd } from "../support/realEtcd.js";
import type { SimServer } from "../support/simServer.js";
import { b64, startPair, type Body, type V3Differential, type V3RequestOptions } from "../support/differentialV3.js";

describe.skipIf(!etcdAvailable())("v3 gateway KV answers, compared with a real etcd", () => {
  let etcd: RealEtcd;
  let sim: SimServer;
  let diff: V3Differential;

  beforeAll(async () => {
    ({ etcd, sim, diff } = await startPair());
  });
  afterAll(async () => {
    if (diff !== undefined) process.stdout.write(`v3 kv differential: ${diff.summary()}\n`);
    await Promise.all([etcd?.stop(), sim?.stop()]);
  });

  const newFailures = (): string => diff.newFailures();
  const call = (path: string, body: Body, options?: V3RequestOptions): Promise<unknown> => diff.unary(path, body, options);
  const put = (key: string, value: string, extra: object = {}): Promise<unknown> =>
    call("/v3/kv/put", { key: b64(key), value: b64(value), ...extra });
  const range = (key: string, extra: object = {}): Promise<unknown> => call("/v3/kv/range", { key: b64(key), ...extra });

  it("answers puts and ranges with the same revisions, kvs and omitted zero fields", async () => {
    await range("foo");
    await put("foo", "bar");
    await put("foo", "bar", { prev_kv: true });
    await range("foo");
    await put("foo2", "x");
    await put("foo3", "y");
    await put("fop", "z");
    await put("a", "1");
    await put("b", "22");
    await put("c", "333");
    await call("/v3/kv/put", { key: "/w==", value: b64("ff") });
    await call("/v3/kv/put", { key: "//8=", value: b64("ffff") });
    await put("empty", "");
    await range("empty");
    await range("foo", { range_end: b64("fop") });
    await call("/v3/kv/range", { key: "AA==", range_end: "AA==" });
    await call("/v3/kv/range", { key: "/w==", range_end: "AA==" });
    await range("a", { range_end: b64("z"), limit: 2 });
    await range("a", { range_end: b64("z"), limit: "-1" });
    await range("a", { range_end: b64("z"), count_only: true });
    await range("a", { range_end: b64("z"), keys_only: true });
    await range("a", { range_end: b64("z"), sort_order: "DESCEND", sort_target: "VALUE" });
    await range("a", { range_end: b64("z"), sort_target: "CREATE", limit: 3 });
    await range("a", { range_end: b64("z"), sort_order: "DESCEND" });
    await range("a", { range_end: b64("z"), sort_order: 2, sort_target: 3 });
    await range("a", { range_end: b64("z"), sort_order: 7 });
    await range("a", { range_end: b64("z"), sortTarget: "VERSION", keysOnly: true });
    await range("a", { range_end: b64("z"), min_mod_revision: 5 });
    await range("a", { range_end: b64("z"), max_create_revision: "6", min_create_revision: 4 });
    await range("foo", { revision: 2 });
    await range("foo", { revision: 1 });
    await range("foo", { revision: "100" });
    await range("z", { range_end: b64("a") });
    await range("foo", { serializable: true });
    await put("foo", "", { ignore_value: true, prev_kv: true });
    await put("foo", "v", { ignore_value: true });
    await put("nope", "", { ignore_value: true });
    await put("nope", "", { ignore_lease: true });
    await put("foo", "v", { ignore_lease: true, lease: "5" });
    await put("foo", "v", { lease: 12345 });
    await call("/v3/kv/put", { value: b64("v") });
    // A range answer above 2048 bytes is sent chunked by Go's server.
    for (let i = 0; i < 6; i++) await put(`big/${i}`, "x".repeat(300));
    await range("big/", { range_end: b64("big0") });
    expect(newFailures()).toBe("");
  });

  it("answers deletes with the same counts, prev_kvs and tombstone revisions", async () => {
    await call("/v3/kv/deleterange", { key: b64("missing") });
    await call("/v3/kv/deleterange", { key: b64("c"), prev_kv: true });
    await call("/v3/kv/deleterange", { key: b64("big/"), range_end: b64("big0") });
    await call("/v3/kv/deleterange", { key: b64("a"), range_end: b64("c"), prev_kv: true });
    await call("/v3/kv/deleterange", { key: "" });
    await range("a", { range_end: b64("z") });
    await range("foo", { revision: 20 });
    expect(newFailures()).toBe("");
  });

  it("answers transactions, their sub-response revisions and their validation errors", async () => {
    const txn = (body: object): Promise<unknown> => call("/v3/kv/txn", body);
    const compare = (key: string, target: string, result: string, field: string, value: unknown): object => ({
      key: b64(key),
      target,
      result,
      [field]: value,
    });
    await txn({
      compare: [compare("foo", "VALUE", "EQUAL", "value", b64("bar"))],
      success: [
        { request_range: { key: b64("foo") } },
        { request_put: { key: b64("foo"), value: b64("new") } },
        { request_delete_range: { key: b64("xx") } },
        { request_txn: {} },
      ],
    });
    await txn({
      compare: [compare("foo", "VALUE", "EQUAL", "value", b64("nope"))],
      success: [{ request_put: { key: b64("s"), value: b64("1") } }],
      failure: [{ request_range: { key: b64("foo") } }, { request_put: { key: b64("f"), value: b64("1") } }],
    });
    await txn({ compare: [compare("missing", "VERSION", "EQUAL", "version", "0")], success: [{ request_range: { key: b64("foo") } }] });
    await txn({ compare: [compare("missing", "VALUE", "NOT_EQUAL", "value", b64("x"))], success: [{ request_put: { key: b64("t"), value: b64("1") } }] });
    await txn({ compare: [{ ...compare("foo", "CREATE", "GREATER", "create_revision", 0), range_end: b64("fop") }] });
    await txn({ compare: [compare("foo", "MOD", "LESS", "mod_revision", 1000), compare("foo", "LEASE", "EQUAL", "lease", 0)] });
    await txn({
      success: [
        { request_delete_range: { key: b64("missing") } },
        { request_range: { key: b64("k") } },
        { request_put: { key: b64("k"), value: b64("v") } },
        { request_range: { key: b64("k") } },
        { request_delete_range: { key: b64("missing") } },
      ],
    });
    await txn({
      success: [
        { request_put: { key: b64("nx"), value: b64("new") } },
        {
          request_txn: {
            compare: [compare("nx", "VALUE", "EQUAL", "value", b64("new"))],
            success: [{ request_put: { key: b64("then"), value: b64("1") } }],
            failure: [{ request_range: { key: b64("nx") } }],
          },
        },
      ],
    });
    await txn({ success: [{ request_put: { key: b64("d"), value: b64("1") } }, { request_put: { key: b64("d"), value: b64("2") } }] });
    await txn({ success: [{ request_put: { key: b64("d2"), value: b64("1") } }, { request_delete_range: { key: b64("d"), range_end: b64("e") } }] });
    await txn({ success: [{ request_delete_range: { key: b64("d") } }, { request_delete_range: { key: b64("d") } }] });
    await txn({ success: [{}] });
    await txn({ success: [{ request_range: null }] });
    await txn({ compare: [{ key: b64("foo"), target: "VALUE", value: null }] });
    await txn({ success: [null] });
    await txn({ compare: [null] });
    await range("foo");
    await txn({ compare: [{ key: "", target: "VERSION" }] });
    await txn({ success: [{ request_range: { key: b64("foo"), revision: 1000 } }] });
    await txn({ success: [{ request_put: { key: b64("foo"), value: b64("v"), lease: 777 } }] });
    await txn({ success: Array.from({ length: 129 }, () => ({ request_range: { key: b64("foo") } })) });
    await txn({ success: Array.from({ length: 128 }, (_, i) => ({ request_put: { key: b64(`many/${i}`), value: b64("v") } })) });
    await txn({ compare: Array.from({ length: 129 }, () => compare("foo", "VERSION", "GREATER", "version", 0)) });
    await range("many/", { range_end: b64("many0"), count_only: true });
    expect(newFailures()).toBe("");
  });

  it("answers compactions and reads around the compacted revision", async () => {
    await call("/v3/kv/compaction", { revision: 100000 });
    await call("/v3/kv/compaction", { revision: 5 });
    await range("foo", { revision: 4 });
    await range("foo", { revision: 5 });
    await call("/v3/kv/compaction", { revision: 5 });
    await call("/v3/kv/compaction", {});
    await call("/v3/kv/compaction", { revision: "8", physical: true });
    await call("/v3/kv/txn", { success: [{ request_range: { key: b64("foo"), revision: 3 } }] });
    await call("/v3/maintenance/status", {});
    expect(newFailures()).toBe("");
  });

  it("refuses bad JSON, bad base64, unknown enums and out-of-range numbers with Go's own messages", async () => {
    const raw = (body: string, path = "/v3/kv/range"): Promise<unknown> => call(path, body);
    await raw("{bad");
    await raw('{"key":"Zm9v"');
    await raw("");
    await raw("   ");
    await raw("null");
    await raw("[]");
    await raw("5");
    await raw('"abc"');
    await raw("{'a':1}");
    await raw('{"key":"Zm9v"}trailing');
    await raw('{"key":"Zm9v"}{"key":"eA=="}');
    await raw('{"key":"Zm9v","key":"eA=="}');
    await raw('{"key":"Zm9v!"}');
    await raw('{"key":"Zm9"}');
    await raw('{"key":"Zm_v"}');
    await raw('{"key":"Zm9v\\n"}');
    await raw('{"key":1}');
    await raw('{"key":[102,111,111]}');
    await raw('{"key":[102,111,300]}');
    await raw('{"key":"Zm9v","bogus":1,"countOnly":true}');
    await raw('{"key":"Zm9v","count_only":"true"}');
    await raw('{"key":"Zm9v","serializable":1}');
    await raw('{"key":"Zm9v","limit":1.5}');
    await raw('{"key":"Zm9v","limit":"1.5"}');
    await raw('{"key":"Zm9v","limit":1e2}');
    await raw('{"key":"Zm9v","limit":"abc"}');
    await raw('{"key":"Zm9v","limit":""}');
    await raw('{"key":"Zm9v","limit":"-"}');
    await raw('{"key":"Zm9v","limit":"1 2"}');
    await raw('{"key":"Zm9v","limit":"null"}');
    await raw('{"key":"Zm9v","limit":null}');
    await raw('{"key":"Zm9v","revision":"9223372036854775808"}');
    await raw('{"key":"Zm9v","revision":"-9223372036854775809"}');
    await raw('{"key":"Zm9v","revision":tru}');
    await raw('{"key":"Zm9v","sort_order":"BOGUS"}');
    await raw('{"key":"Zm9v","sort_target":"X<&>"}');
    await raw('{"key":"Zm9v","sort_order":"\\u0041"}');
    await raw('{"key":"Zm9v","sort_order":true}');
    await raw('{"key":"Zm9v","sort_order":4294967296}');
    await raw('{"compare":[{"key":"Zm9v","result":"BAD"}]}', "/v3/kv/txn");
    await raw('{"compare":{"key":"Zm9v"}}', "/v3/kv/txn");
    await raw('{"success":[{"request_put":{"key":"Zm9v","lease":"x"}}]}', "/v3/kv/txn");
    await raw('{"key":"\\u00e9"}');
    await raw('{"key":"Zm9v\u0001"}');
    expect(newFailures()).toBe("");
  });

  it("routes /v3beta like /v3, refuses /v3alpha, other methods and unknown paths as etcd does", async () => {
    await call("/v3beta/kv/range", { key: b64("foo") });
    await call("/v3alpha/kv/range", { key: b64("foo") });
    await call("/v3/kv/range", undefined, { method: "GET" });
    await call("/v3/kv/range", { key: b64("foo") }, { method: "PUT" });
    await call("/v3/kv/bogus", {});
    await call("/v3/kv/range/", { key: b64("foo") });
    await call("/v3/", {});
    await call("/v3", {});
    await call("/v3/kv/range?key=Zm9v", {});
    await call("/v3/kv/lease/keepalive", { ID: 5 });
    await call("/v3/kv/lease/grant", { TTL: 5 });
    await call("/v3/kv/range", undefined, { method: "HEAD" });
    await call("/v3beta/watch", undefined, { method: "GET" });
    expect(newFailures()).toBe("");
  });

  it("runs a unary request once its JSON value is complete, and answers at once unless the connection is kept alive", async () => {
    const closing = diff.stream("/v3/kv/put", [{ key: b64("open"), value: b64("1") }], { keepBodyOpen: true });
    expect(await closing.collect("Connection: close, body open: answered", { minLines: 1 })).toHaveLength(1);
    const kept = diff.stream("/v3/kv/put", [{ key: b64("open"), value: b64("2") }], { keepBodyOpen: true, keepAlive: true });
    expect(await kept.collect("keep-alive, body open: not answered yet", { quietMs: 600 })).toEqual([]);
    await range("open");
    kept.endBody();
    expect(await kept.collect("keep-alive, body ended: answered", { minLines: 1 })).toHaveLength(1);
    closing.close();
    kept.close();
    expect(newFailures()).toBe("");
  });

  it("refuses oversized requests at the raft limit and at the gRPC limit", async () => {
    await put("big1", "x".repeat(1_600_000));
    await put("big2", "x".repeat(2_200_000));
    await put("big3", "x".repeat(1_572_800));
    await range("big3", { keys_only: true });
    expect(newFailures()).toBe("");
    expect(diff.requests).toBeGreaterThanOrEqual(60);
  });
});

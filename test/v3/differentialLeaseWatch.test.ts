/**
 * Differential test of the v3 JSON gateway's lease and watch APIs: the same requests and streams go
 * to a real etcd 3.4.23 and to the simulator (`npm run serve`), and every answer and every stream
 * line must be equal after the normalisations of `test/support/differentialV3.ts` (raft term,
 * generated lease IDs, remaining TTLs within 1 s, timetolive key order, watcher order at one
 * revision). Cluster and member IDs are compared exactly: the simulator runs as the same member.
 *
 * Streams are opened with a complete body (several JSON requests), as `curl -d` sends them; lines
 * are compared once both sides have been quiet for a moment. Lease expiry runs in real time on both
 * servers (a 2 s lease; both check expiry every 500 ms), so that part waits up to ~5 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdAvailable, type RealEtcd } from "../support/realEtcd.js";
import type { SimServer } from "../support/simServer.js";
import { b64, startPair, type Body, type StreamOptions, type StreamPair, type V3Differential, type V3RequestOptions } from "../support/differentialV3.js";

describe.skipIf(!etcdAvailable())("v3 gateway lease and watch answers, compared with a real etcd", () => {
  let etcd: RealEtcd;
  let sim: SimServer;
  let diff: V3Differential;
  const streams: StreamPair[] = [];

  beforeAll(async () => {
    ({ etcd, sim, diff } = await startPair());
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    if (diff !== undefined) process.stdout.write(`v3 lease+watch differential: ${diff.summary()}\n`);
    await Promise.all([etcd?.stop(), sim?.stop()]);
  });

  const newFailures = (): string => diff.newFailures();
  const call = (path: string, body: Body, options?: V3RequestOptions): Promise<unknown> => diff.unary(path, body, options);
  const put = (key: string, value: string, extra: object = {}): Promise<unknown> =>
    call("/v3/kv/put", { key: b64(key), value: b64(value), ...extra });
  const stream = (path: string, requests: readonly object[] | string, options: StreamOptions = {}): StreamPair => {
    const pair = diff.stream(path, requests, options);
    streams.push(pair);
    return pair;
  };
  const prefix = (p: string): object => {
    const end = Buffer.from(p, "utf8");
    end[end.length - 1] = (end[end.length - 1] as number) + 1;
    return { key: b64(p), range_end: end.toString("base64") };
  };

  it("grants, inspects, lists and refuses leases as etcd does", async () => {
    await call("/v3/lease/grant", { TTL: 100 }, { grantAs: "L1" });
    await call("/v3/lease/grant", { TTL: 1 }, { grantAs: "L2" });
    await call("/v3/lease/revoke", { ID: "@lease:L2" });
    await call("/v3/lease/grant", { TTL: 0 }, { grantAs: "L3" });
    await call("/v3/kv/lease/revoke", { ID: "@lease:L3" });
    await call("/v3/lease/grant", { TTL: 200, ID: 5 });
    await call("/v3/lease/grant", { TTL: 100, ID: 5 });
    await call("/v3/lease/grant", { TTL: "9000000001" });
    await call("/v3/lease/grant", { TTL: "300", ID: "-7" });
    await call("/v3beta/lease/grant", { TTL: "x" });
    await call("/v3/lease/timetolive", { ID: "@lease:L1" }, { ttl: true });
    await call("/v3/lease/timetolive", { ID: 5, keys: true }, { ttl: true });
    await put("lk0", "a", { lease: 5 });
    await put("lk1", "b", { lease: "5" });
    await put("lk2", "c", { lease: 5 });
    await put("lk3", "d", { lease: "@lease:L1" });
    await call("/v3/lease/timetolive", { ID: 5, keys: true }, { ttl: true, sortKeys: true });
    await call("/v3/kv/lease/timetolive", { ID: "@lease:L1", keys: true }, { ttl: true });
    await call("/v3/lease/timetolive", { ID: 12345 });
    await call("/v3/lease/leases", {});
    await call("/v3/kv/lease/leases", {});
    await call("/v3/kv/range", { key: b64("lk"), range_end: b64("ll") });
    expect(newFailures()).toBe("");
  });

  it("answers keep-alive streams line by line and ends them when the body ends", async () => {
    const renewed = await stream("/v3/lease/keepalive", [{ ID: 5 }, { ID: 12345 }, { ID: "@lease:L1" }]).collect("three keep-alives", { minLines: 3 });
    expect(renewed).toHaveLength(3);
    await stream("/v3/lease/keepalive", '{"ID":5}{"ID":"x"}{"ID":5}').collect("bad second request");
    await stream("/v3/lease/keepalive", "{bad").collect("bad first request");
    await stream("/v3/lease/keepalive", "[]").collect("array body");
    await stream("/v3/lease/keepalive", "").collect("empty body");
    expect(newFailures()).toBe("");
  });

  it("revokes a lease's keys in one revision and one watch message", async () => {
    const watch = stream("/v3/watch", [{ create_request: { ...prefix("lk"), prev_kv: true } }]);
    await watch.collect("created", { minLines: 1 });
    await call("/v3/lease/revoke", { ID: 5 });
    const batch = await watch.collect("one DELETE batch for lk0..lk2", { minLines: 1 });
    expect(batch).toHaveLength(1);
    expect(batch[0]?.match(/"type":"DELETE"/g)).toHaveLength(3);
    await call("/v3/lease/revoke", { ID: 5 });
    await call("/v3/lease/revoke", { ID: 424242 });
    await call("/v3/kv/lease/revoke", { ID: "@lease:L1" });
    await watch.collect("DELETE lk3", { minLines: 1 });
    await call("/v3/lease/timetolive", { ID: "@lease:L1" });
    await call("/v3/kv/range", { key: b64("lk"), range_end: b64("ll") });
    expect(newFailures()).toBe("");
  });

  it("streams creates, cancels, progress and events of several watchers on one stream", async () => {
    await put("t/b", "1");
    await put("t/c", "1");
    const watch = stream("/v3/watch", [
      { create_request: { key: b64("foo") } },
      { create_request: { key: b64("a"), range_end: "AA==", filters: ["NOPUT"] } },
      { create_request: { key: b64("foo"), watch_id: 0 } },
      { progress_request: {} },
      { cancel_request: { watch_id: 0 } },
      { cancel_request: { watch_id: 42 } },
      { create_request: { key: b64("foo"), range_end: b64("a") } },
      { create_request: { key: b64("foo"), progress_notify: true } },
      { create_request: { key: b64("foo"), watch_id: 100, prev_kv: true } },
      { create_request: { key: b64("bar"), watch_id: "100" } },
      { create_request: { ...prefix("t/"), filters: [1] } },
      { create_request: { key: b64("zz"), watch_id: -3 } },
      {},
    ]);
    const answers = await watch.collect("created, progress and cancel answers", { minLines: 11 });
    expect(answers).toHaveLength(11);
    await put("foo", "5");
    await put("zz", "1");
    await call("/v3/kv/deleterange", { key: b64("zz") });
    await call("/v3/kv/txn", {
      success: [
        { request_put: { key: b64("t/z"), value: b64("z") } },
        { request_delete_range: { key: b64("t/b") } },
        { request_put: { key: b64("t/a"), value: b64("a") } },
        { request_delete_range: { key: b64("t/c") } },
      ],
    });
    await put("foo", "6");
    const events = await watch.collect("events", { minLines: 11 });
    expect(events).toHaveLength(11);
    expect(newFailures()).toBe("");
  });

  it("applies filters, from-key ranges, the empty key and prev_kv on one stream", async () => {
    const watch = stream("/v3/watch", [
      { create_request: { key: "" } },
      { create_request: { key: b64("m"), range_end: "AA==", filters: ["NODELETE"], fragment: true } },
      { create_request: { key: b64("m"), range_end: b64("n"), filters: ["NOPUT", "NODELETE"] } },
      { create_request: { key: b64("m1"), prev_kv: true, progress_notify: true, watch_id: "9" } },
    ]);
    const created = await watch.collect("created", { minLines: 4 });
    expect(created).toHaveLength(4);
    await put("m1", "a");
    await put("m1", "b");
    await call("/v3/kv/deleterange", { key: b64("m1") });
    await call("/v3/kv/put", { key: "AA==", value: b64("nul") });
    await put("zzz", "z");
    const events = await watch.collect("filtered events", { minLines: 7 });
    expect(events).toHaveLength(7);
    expect(newFailures()).toBe("");
  });

  it("replays history from a start revision, with prev_kv, and cancels watchers behind a compaction", async () => {
    // One catching-up watcher per stream: in etcd its catch-up may overtake a later watcher's
    // `created` answer on the same stream (the 100 ms sync loop races the request loop).
    const fromTwo = stream("/v3/watch", [{ create_request: { key: b64("foo"), start_revision: 2, prev_kv: true } }]);
    expect(await fromTwo.collect("created and catch-up with prev_kv", { minLines: 2 })).toHaveLength(2);
    const everything = stream("/v3/watch", [{ create_request: { key: "AA==", range_end: "AA==", start_revision: "3" } }]);
    expect(await everything.collect("created and catch-up of every key", { minLines: 2 })).toHaveLength(2);
    const future = stream("/v3/watch", [{ create_request: { ...prefix("t/"), start_revision: 1000 } }]);
    expect(await future.collect("created for a future start revision", { minLines: 1 })).toHaveLength(1);
    await put("t/future", "x");
    await everything.collect("live event after catch-up", { minLines: 1 });
    await future.collect("nothing before the start revision");
    await call("/v3/kv/compaction", { revision: 10 });
    const behind = stream("/v3/watch", [{ create_request: { key: b64("foo"), start_revision: 5 } }]);
    const canceled = await behind.collect("compacted: cancel with compact_revision", { minLines: 2 });
    expect(canceled.some((line) => line.includes('"compact_revision":"10"'))).toBe(true);
    const atCompaction = stream("/v3/watch", [{ create_request: { key: b64("foo"), start_revision: 10, prev_kv: true } }]);
    expect(await atCompaction.collect("replay from the compacted revision itself", { minLines: 2 })).toHaveLength(2);
    expect(newFailures()).toBe("");
  });

  it("refuses a bad first watch request with 500 and ignores a bad later one", async () => {
    await stream("/v3/watch", "{bad").collect("bad JSON first");
    await stream("/v3/watch", '{"create_request":{"key":"Zm9v","filters":["BAD"]}}').collect("unknown filter name first");
    const later = stream("/v3/watch", '{"create_request":{"key":"Zm9v"}}{bad{"create_request":{"key":"YQ=="}}');
    expect(await later.collect("bad JSON second", { minLines: 1 })).toHaveLength(1);
    await stream("/v3/watch", '{"create_request":{"key":"Zm9v"}}{"create_request":{"key":"Zm9!"}}{"create_request":{"key":"YQ=="}}').collect(
      "bad base64 second",
      { minLines: 1 },
    );
    await put("foo", "7");
    await later.collect("the open stream still gets events", { minLines: 1 });
    await call("/v3/watch", undefined, { method: "GET" });
    expect(newFailures()).toBe("");
  });

  it("answers nothing while a keep-alive client's body is open, and at once when the connection will close", async () => {
    const held = stream("/v3/watch", [{ create_request: { key: b64("held") } }], { keepBodyOpen: true, keepAlive: true });
    expect(await held.collect("keep-alive, body open: no answer yet", { quietMs: 600 })).toEqual([]);
    await put("held", "1");
    held.endBody();
    expect(await held.collect("body ended: everything at once", { minLines: 2 })).toHaveLength(2);
    for (const options of [{ expectContinue: true, keepAlive: true }, {}]) {
      const label = options.expectContinue === true ? "100-continue" : "Connection: close";
      const early = stream("/v3/watch", [{ create_request: { key: b64("early") } }], { keepBodyOpen: true, ...options });
      expect(await early.collect(`${label}: created at once`, { minLines: 1 })).toHaveLength(1);
      early.write([{ create_request: { key: b64("early2") } }]);
      expect(await early.collect(`${label}: a request written later on the open body`, { minLines: 1 })).toHaveLength(1);
      await put("early2", "1");
      expect(await early.collect(`${label}: events while the body is still open`, { minLines: 1 })).toHaveLength(1);
    }
    expect(newFailures()).toBe("");
  });

  it("expires a 2 s lease and deletes its keys in one revision, with prev_kv on the events", async () => {
    await call("/v3/lease/grant", { TTL: 2 }, { grantAs: "E" });
    await put("ek1", "1", { lease: "@lease:E" });
    await put("ek2", "2", { lease: "@lease:E" });
    const watch = stream("/v3/watch", [{ create_request: { ...prefix("ek"), prev_kv: true } }]);
    await watch.collect("created", { minLines: 1 });
    const expired = await watch.collect("expiry DELETE batch", { minLines: 1, maxMs: 6000, quietMs: 500 });
    expect(expired).toHaveLength(1);
    expect(expired[0]?.match(/"type":"DELETE"/g)).toHaveLength(2);
    await call("/v3/lease/timetolive", { ID: "@lease:E" });
    await stream("/v3/lease/keepalive", [{ ID: "@lease:E" }]).collect("keep-alive of the expired lease", { minLines: 1 });
    await call("/v3/kv/range", { key: b64("ek"), range_end: b64("el") });
    expect(newFailures()).toBe("");
    expect(diff.requests).toBeGreaterThanOrEqual(40);
  });
});

/**
 * The real-etcd adapter's contract: what the lessons' `Target` promises (workload.ts), held by a real
 * etcd 3.4 reached over v2 HTTP and v3 gRPC, with numbers rebased to what a fresh store shows.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import { CompareResult, CompareTarget, EventType } from "../../v3/rpc.js";
import { RealEtcdTargetFactory, TargetBusyError, TargetNotEmptyError } from "../../scenarios/adapters/realEtcd.js";
import type { Target } from "../../scenarios/workload.js";
import { etcdAvailable, startEtcd, type RealEtcd } from "../support/realEtcd.js";

function ok<T>(outcome: { ok: true; value: T } | { ok: false; error: unknown }): T {
  if (!outcome.ok) throw new Error(`expected success, got ${JSON.stringify(outcome.error)}`);
  return outcome.value;
}

describe.skipIf(!etcdAvailable())("RealEtcdTargetFactory", () => {
  let etcd: RealEtcd;
  let factory: RealEtcdTargetFactory;
  let target: Target;

  beforeAll(async () => {
    etcd = await startEtcd();
    factory = new RealEtcdTargetFactory({ endpoints: [etcd.clientUrl] });
  });
  afterAll(async () => {
    await factory?.close();
    await etcd?.stop();
  });

  describe("v3 over gRPC", () => {
    beforeAll(async () => {
      target = await factory.open(1);
    });
    afterAll(async () => {
      await target.close();
    });

    it("gives the first put of a fresh target revision 2, version 1", async () => {
      const put = ok(await target.v3.put({ key: utf8("foo"), value: utf8("bar") }));
      expect(put.header.revision).toBe(2);
      const range = ok(await target.v3.range({ key: utf8("foo") }));
      expect(range.kvs.map((kv) => [fromUtf8(kv.key), fromUtf8(kv.value), kv.create_revision, kv.mod_revision, kv.version])).toEqual([
        ["foo", "bar", 2, 2, 1],
      ]);
    });

    it("runs a txn whose MOD compare is written in fresh-store revisions", async () => {
      const txn = ok(
        await target.v3.txn({
          compare: [{ key: utf8("foo"), target: CompareTarget.MOD, result: CompareResult.EQUAL, mod_revision: 2 }],
          success: [{ request_put: { key: utf8("foo"), value: utf8("baz"), prev_kv: true } }],
        }),
      );
      expect(txn.succeeded).toBe(true);
      expect(txn.header.revision).toBe(3);
      expect(txn.responses[0]?.response_put?.header.revision).toBe(3);
      expect(txn.responses[0]?.response_put?.prev_kv?.mod_revision).toBe(2);
    });

    it("answers a read at a future revision with etcd's OutOfRange error text", async () => {
      const range = await target.v3.range({ key: utf8("foo"), revision: 99 });
      expect(range).toEqual({ ok: false, error: { code: 11, message: "etcdserver: mvcc: required revision is a future revision" } });
    });

    it("replays history to a watcher that starts at revision 1, then streams live events", async () => {
      const stream = await target.v3.watch();
      await stream.send({ create_request: { key: utf8("foo"), start_revision: 1, prev_kv: true } });
      const first = await stream.take();
      expect(first[0]?.created).toBe(true);
      expect(first.flatMap((r) => r.events.map((e) => e.kv.mod_revision))).toEqual([2, 3]);
      ok(await target.v3.deleteRange({ key: utf8("foo") }));
      const second = await stream.take();
      expect(second.flatMap((r) => r.events.map((e) => [e.type, e.kv.mod_revision, e.prev_kv?.mod_revision]))).toEqual([[EventType.DELETE, 4, 3]]);
      await stream.close();
    });

    it("refuses reads below a compaction and cancels a watcher starting there", async () => {
      ok(await target.v3.compact({ revision: 3 }));
      const range = await target.v3.range({ key: utf8("foo"), revision: 2 });
      expect(range).toEqual({ ok: false, error: { code: 11, message: "etcdserver: mvcc: required revision has been compacted" } });
      const stream = await target.v3.watch();
      await stream.send({ create_request: { key: utf8("foo"), start_revision: 2 } });
      const responses = await stream.take();
      expect(responses.some((r) => r.canceled && r.compact_revision === 3)).toBe(true);
      await stream.close();
    });

    it("deletes all of a revoked lease's keys at one revision", async () => {
      const lease = ok(await target.v3.leaseGrant({ TTL: 60 }));
      expect(lease.TTL).toBe(60);
      for (const key of ["l0", "l1", "l2"]) ok(await target.v3.put({ key: utf8(key), value: utf8("x"), lease: lease.ID }));
      const before = ok(await target.v3.range({ key: utf8("l0") })).header.revision;
      const ttl = ok(await target.v3.leaseTimeToLive({ ID: lease.ID, keys: true }));
      expect(ttl.keys.map(fromUtf8).sort()).toEqual(["l0", "l1", "l2"]);
      const revoke = ok(await target.v3.leaseRevoke({ ID: lease.ID }));
      expect(revoke.header.revision).toBe(before + 1);
      expect(ok(await target.v3.range({ key: utf8("l"), range_end: utf8("m") })).count).toBe(0);
      expect(await target.v3.leaseRevoke({ ID: lease.ID })).toEqual({ ok: false, error: { code: 5, message: "etcdserver: requested lease not found" } });
      expect(ok(await target.v3.leaseKeepAliveOnce({ ID: lease.ID })).TTL).toBe(0);
    });
  });

  describe("v2 over HTTP", () => {
    beforeAll(async () => {
      target = await factory.open(1);
    });
    afterAll(async () => {
      await target.close();
    });

    it("gives the first write of a fresh target index 4, as a fresh single member does", async () => {
      const set = ok(await target.v2.set("/a", "1"));
      expect([set.action, set.node.createdIndex, set.node.modifiedIndex, set.etcdIndex]).toEqual(["set", 4, 4, 4]);
    });

    it("answers a failed compare-and-swap with 101 and the rebased indexes in its cause", async () => {
      const cas = await target.v2.set("/a", "2", { prevValue: "x", prevIndex: 9 });
      expect(cas).toEqual({ ok: false, error: { errorCode: 101, message: "Compare failed", cause: "[x != 1] [9 != 4]", index: 4 } });
    });

    it("delivers one event to a long-poll watch, which then ends", async () => {
      const watch = ok(await target.v2.watch("/a"));
      expect(watch.etcdIndex).toBe(4);
      ok(await target.v2.set("/a", "3"));
      const events = await watch.take();
      expect(events.map((e) => [e.action, e.node.value, e.node.modifiedIndex, e.prevNode?.value])).toEqual([["set", "3", 5, "1"]]);
      expect(watch.done()).toBe(true);
    });

    it("names in-order keys after the rebased index and reads them back by that name", async () => {
      const created = ok(await target.v2.createInOrder("/queue", "job"));
      expect(created.node.key).toBe("/queue/00000000000000000006");
      expect(ok(await target.v2.get("/queue/00000000000000000006")).node.value).toBe("job");
    });

    it("counts only this target's operations in the store stats", async () => {
      const stats = await target.v2.stats();
      expect(stats.setsSuccess).toBe(2);
      expect(stats.compareAndSwapFail).toBe(1);
    });

    it("expires a TTL key in real time with one expire event", async () => {
      const watch = ok(await target.v2.watch("/t"));
      ok(await target.v2.set("/t", "x", { ttlSeconds: 1 }));
      const created = await watch.take();
      expect(created.map((e) => e.action)).toEqual(["set"]);
      const expiring = ok(await target.v2.watch("/t", { waitIndex: 8 }));
      await target.advance(2100);
      const expired = await expiring.take();
      expect(expired.map((e) => [e.action, e.node.key, e.node.modifiedIndex])).toEqual([["expire", "/t", 8]]);
    });
  });

  it("gives every new target the same fresh numbers, whatever ran before", async () => {
    const first = await factory.open(1);
    ok(await first.v3.put({ key: utf8("k"), value: utf8("1") }));
    ok(await first.v2.set("/_hidden/k", "1"));
    await first.close();
    const second = await factory.open(1);
    expect(ok(await second.v3.range({ key: utf8("k") })).count).toBe(0);
    expect(await second.v2.get("/_hidden")).toMatchObject({ ok: false, error: { errorCode: 100 } });
    expect(ok(await second.v3.put({ key: utf8("k"), value: utf8("2") })).header.revision).toBe(2);
    expect(ok(await second.v2.set("/k", "2")).node.modifiedIndex).toBe(4);
    await second.close();
  });

  it("refuses a second target while the first is open", async () => {
    const first = await factory.open(1);
    await expect(factory.open(1)).rejects.toBeInstanceOf(TargetBusyError);
    await first.close();
  });

  it("refuses to empty an etcd that holds keys it did not write", async () => {
    const other = await startEtcd();
    try {
      await fetch(`${other.clientUrl}/v2/keys/precious`, { method: "PUT", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "value=1" });
      const careful = new RealEtcdTargetFactory({ endpoints: [other.clientUrl] });
      await expect(careful.open(1)).rejects.toBeInstanceOf(TargetNotEmptyError);
      await careful.close();
      const kept = (await (await fetch(`${other.clientUrl}/v2/keys/precious`)).json()) as { node: { value: string } };
      expect(kept.node.value).toBe("1");
    } finally {
      await other.stop();
    }
  });
});

/**
 * The STM, ported by behaviour from etcd's `clientv3/integration/stm_test.go` and
 * `clientv3/concurrency/stm_test.go`, run in process against the simulated server. Concurrency is
 * made reproducible by the Interleaver: a seeded Random decides whose request the server handles next.
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { Random } from "../../shared/random.js";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import type { TxnRequest, TxnResponse } from "../../v3/rpc.js";
import { CompareResult, CompareTarget } from "../../v3/rpc.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { Applier } from "../../v3/apply.js";
import { KVStore } from "../../v3/kvstore.js";
import { Isolation, STMStats, newSTM, type STM } from "../../v3/concurrency/stm.js";
import { Interleaver } from "../../v3/concurrency/interleaver.js";
import type { TxnClient } from "../../v3/concurrency/client.js";

function setup() {
  const server = new EtcdServer({ clock: new SimulatedClock() });
  return { server, client: server.client() };
}
function value(server: EtcdServer, key: string): string | undefined {
  const kv = server.range({ key: utf8(key) }).kvs[0];
  return kv === undefined ? undefined : fromUtf8(kv.value);
}
/** A client that records every txn it forwards. */
function recording(inner: TxnClient): TxnClient & { requests: TxnRequest[] } {
  const requests: TxnRequest[] = [];
  return { requests, txn: (request) => (requests.push(request), inner.txn(request)) };
}

const ACCOUNTS = ["a", "b", "c", "d", "e"];

/** `transfers` random transfers by one worker, each in its own STM. */
function transferWorker(random: Random, transfers: number, isolation: Isolation, stats: STMStats) {
  return async (client: TxnClient): Promise<void> => {
    for (let i = 0; i < transfers; i++) {
      const from = random.pick(ACCOUNTS);
      const to = random.pick(ACCOUNTS.filter((account) => account !== from));
      const amount = random.int(1, 10);
      await newSTM(
        client,
        async (stm: STM) => {
          const fromBalance = Number(await stm.get(from));
          const toBalance = Number(await stm.get(to));
          stm.put(from, String(fromBalance - amount));
          stm.put(to, String(toBalance + amount));
        },
        { isolation, stats },
      );
    }
  };
}

/** Runs 4 interleaved workers × 10 transfers from balances of 100 each; returns the final total. */
async function runTransfers(isolation: Isolation, seed: number) {
  const { server, client } = setup();
  for (const account of ACCOUNTS) server.put({ key: utf8(account), value: utf8("100") });
  const stats = new STMStats();
  const interleaver = new Interleaver(client, new Random(seed));
  await interleaver.run([0, 1, 2, 3].map((worker) => transferWorker(new Random(seed * 100 + worker), 10, isolation, stats)));
  const total = ACCOUNTS.reduce((sum, account) => sum + Number(value(server, account)), 0);
  return { total, stats, trace: interleaver.trace };
}

describe("STM under concurrent transfers (interleaved by a seeded Random)", () => {
  it.each([
    ["SerializableSnapshot", Isolation.SerializableSnapshot],
    ["Serializable", Isolation.Serializable],
    ["RepeatableReads", Isolation.RepeatableReads],
  ] as const)("preserves the total under %s, retrying on conflicts (ported from TestSTMConflict)", async (_name, isolation) => {
    for (const seed of [1, 2, 3]) {
      const { total, stats } = await runTransfers(isolation, seed);
      expect(total).toBe(500);
      expect(stats.commits).toBe(40);
      expect(stats.retries).toBeGreaterThan(0); // the interleaving really produced conflicts
      expect(stats.attempts).toBe(stats.commits + stats.retries);
    }
  });

  it("loses updates under ReadCommitted: the total drifts and nothing is retried (seed 1)", async () => {
    const { total, stats } = await runTransfers(Isolation.ReadCommitted, 1);
    expect(stats.retries).toBe(0);
    expect(stats.commits).toBe(40);
    expect(total).not.toBe(500);
  });

  it("gives the same trace and outcome for the same seed", async () => {
    const first = await runTransfers(Isolation.RepeatableReads, 9);
    const second = await runTransfers(Isolation.RepeatableReads, 9);
    expect(second.trace).toEqual(first.trace);
    expect(second.stats).toEqual(first.stats);
  });
});

describe("STM commit compares (spec §9.1)", () => {
  async function commitOf(isolation: Isolation): Promise<TxnRequest | undefined> {
    const { server, client } = setup();
    server.put({ key: utf8("r"), value: utf8("1") }); // rev 2
    const spy = recording(client);
    await newSTM(spy, async (stm) => {
      await stm.get("r");
      await stm.get("missing");
      stm.put("w", "x");
    }, { isolation });
    return spy.requests.at(-1);
  }
  const modEq = (key: string, rev: number) => ({ result: CompareResult.EQUAL, target: CompareTarget.MOD, key: utf8(key), mod_revision: rev });

  it("SerializableSnapshot guards read keys by mod = seen and written keys by mod < first read revision + 1", async () => {
    const commit = await commitOf(Isolation.SerializableSnapshot);
    expect(commit?.compare).toEqual([modEq("r", 2), modEq("missing", 0), { result: CompareResult.LESS, target: CompareTarget.MOD, key: utf8("w"), mod_revision: 3 }]);
    expect(commit?.failure?.map((op) => fromUtf8(op.request_range?.key ?? new Uint8Array()))).toEqual(["r", "missing"]);
  });

  it("Serializable and RepeatableReads guard read keys only", async () => {
    expect((await commitOf(Isolation.Serializable))?.compare).toEqual([modEq("r", 2), modEq("missing", 0)]);
    expect((await commitOf(Isolation.RepeatableReads))?.compare).toEqual([modEq("r", 2), modEq("missing", 0)]);
  });

  it("ReadCommitted commits with no compare", async () => {
    expect((await commitOf(Isolation.ReadCommitted))?.compare).toEqual([]);
  });

  it("pins Serializable reads after the first to the first read's revision, then retries when they went stale", async () => {
    const { server, client } = setup();
    server.put({ key: utf8("a"), value: utf8("1") });
    server.put({ key: utf8("b"), value: utf8("1") }); // rev 3
    const spy = recording(client);
    const seenB: string[] = [];
    await newSTM(spy, async (stm) => {
      await stm.get("a"); // pins revision 3
      if (seenB.length === 0) server.put({ key: utf8("b"), value: utf8("2") }); // rev 4, after the pin
      seenB.push(await stm.get("b"));
    }, { isolation: Isolation.Serializable });
    expect(spy.requests[1]?.success?.[0]?.request_range?.revision).toBe(3);
    // The first attempt saw the snapshot ("1"); its commit failed on mod(b) = 3; the retry used
    // the values prefetched by the failed commit's Else branch.
    expect(seenB).toEqual(["1", "2"]);
    // get a, get b, failed commit; then the retry reads a and b from the prefetch: only its commit.
    expect(spy.requests.length).toBe(4);
  });
});

describe("STM behaviours", () => {
  it("re-runs apply exactly twice when a read key is deleted before commit (ported from TestSTMApplyOnConcurrentDeletion)", async () => {
    const { server, client } = setup();
    server.put({ key: utf8("foo"), value: utf8("bar") });
    let tries = 0;
    await newSTM(client, async (stm) => {
      tries++;
      await stm.get("foo");
      if (tries === 1) server.deleteRange({ key: utf8("foo") });
      stm.put("foo2", "bar2");
    }, { isolation: Isolation.RepeatableReads });
    expect(tries).toBe(2);
    expect(value(server, "foo2")).toBe("bar2");
  });

  it("lets 'get a; put b' succeed twice in a row under SerializableSnapshot (ported from TestSTMSerializableSnapshotPut)", async () => {
    const { server, client } = setup();
    server.put({ key: utf8("a"), value: utf8("0") });
    let tries = 0;
    const apply = async (stm: STM) => {
      if (++tries > 2) throw new Error("too many retries");
      await stm.get("a");
      stm.put("b", "1");
    };
    await newSTM(client, apply, { isolation: Isolation.SerializableSnapshot });
    await newSTM(client, apply, { isolation: Isolation.SerializableSnapshot });
    expect(server.range({ key: utf8("b") }).kvs[0]?.version).toBe(2);
  });

  it("fails a blind write under SerializableSnapshot but not under Serializable", async () => {
    for (const [isolation, expectedTries] of [[Isolation.SerializableSnapshot, 2], [Isolation.Serializable, 1]] as const) {
      const { server, client } = setup();
      server.put({ key: utf8("a"), value: utf8("0") });
      let tries = 0;
      await newSTM(client, async (stm) => {
        tries++;
        await stm.get("a");
        if (tries === 1) server.put({ key: utf8("b"), value: utf8("theirs") }); // b changes after our snapshot
        stm.put("b", "ours");
      }, { isolation });
      expect(tries).toBe(expectedTries);
      expect(value(server, "b")).toBe("ours");
    }
  });

  it("reads a missing key as empty and creates it (ported from TestSTMGetNewKey / TestSTMPutNewKey)", async () => {
    const { server, client } = setup();
    let seen = "unset";
    await newSTM(client, async (stm) => {
      seen = await stm.get("foo");
      stm.put("foo", "bar");
    });
    expect(seen).toBe("");
    expect(value(server, "foo")).toBe("bar");
    expect(await newSTM(client, async (stm) => expect(await stm.get("foo")).toBe("bar"))).toMatchObject({ succeeded: true });
  });

  it("returns buffered writes and deletes to later gets in the same attempt", async () => {
    const { server, client } = setup();
    server.put({ key: utf8("k"), value: utf8("old") });
    await newSTM(client, async (stm) => {
      stm.put("k", "new");
      expect(await stm.get("k")).toBe("new");
      stm.del("k");
      expect(await stm.get("k")).toBe("");
    });
    expect(value(server, "k")).toBeUndefined();
  });

  it("writes nothing and counts an abort when apply throws or the signal aborts (ported from TestSTMAbort)", async () => {
    const { server, client } = setup();
    const stats = new STMStats();
    await expect(newSTM(client, async (stm) => {
      stm.put("foo", "baz");
      throw new Error("no thanks");
    }, { stats })).rejects.toThrow("no thanks");
    const controller = new AbortController();
    await expect(newSTM(client, async (stm) => {
      stm.put("foo", "baz");
      controller.abort(new Error("context canceled"));
    }, { signal: controller.signal, stats })).rejects.toThrow("context canceled");
    expect(value(server, "foo")).toBeUndefined();
    expect(stats).toMatchObject({ attempts: 2, commits: 0, aborts: 2 });
  });

  it("reads prefetched keys before apply on every attempt (WithPrefetch)", async () => {
    const { server, client } = setup();
    server.put({ key: utf8("p"), value: utf8("1") });
    const spy = recording(client);
    await newSTM(spy, (stm) => stm.put("q", "2"), { prefetch: ["p"], isolation: Isolation.RepeatableReads });
    expect(fromUtf8(spy.requests[0]?.success?.[0]?.request_range?.key ?? new Uint8Array())).toBe("p");
    expect(spy.requests.at(-1)?.compare?.length).toBe(1);
  });

  it("runs directly on the Applier, a synchronous TxnClient", async () => {
    const kv = new KVStore();
    const applier = new Applier({ kv });
    await newSTM(applier, async (stm) => stm.put("n", String(Number(await stm.get("n")) + 1)));
    await newSTM(applier, async (stm) => stm.put("n", String(Number(await stm.get("n")) + 1)));
    expect(fromUtf8(applier.range({ key: utf8("n") }).kvs[0]?.value ?? new Uint8Array())).toBe("2");
  });

  it("returns the commit's TxnResponse", async () => {
    const { client } = setup();
    const response: TxnResponse = await newSTM(client, (stm) => stm.put("x", "1"));
    expect(response.succeeded).toBe(true);
    expect(response.header.revision).toBe(2);
  });
});

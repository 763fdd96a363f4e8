/**
 * Lesson 8 · Optimistic vs pessimistic concurrency.
 *
 *   optimistic (v3 STM, v2 CAS loop)            pessimistic (a lock)
 *   read → compute → commit if nothing moved    take the lock → read → write → release
 *   conflict: run again (wasted work)           conflict: wait (or, for a spin lock, ask again)
 *
 * N clients each add 1 to one shared counter five times. A seeded scheduler decides whose request
 * the server handles next (v3: `v3/concurrency/interleaver.ts`; v2: the same idea over its steps),
 * so contention is reproducible. Then the four STM isolation levels face two classic anomalies.
 */
import { Interleaver } from "../v3/concurrency/interleaver.js";
import { Isolation, newSTM, STMStats } from "../v3/concurrency/stm.js";
import type { TxnClient } from "../v3/concurrency/client.js";
import { Random } from "../shared/random.js";
import { txnClientOf } from "./concurrencyClient.js";
import type { Lesson } from "./lesson.js";
import { compareOf, deleteOp, getOp, must, putOp, rangeOf } from "./lessonKit.js";
import { fromUtf8, utf8 } from "../shared/bytes.js";
import { runIfMain } from "./standalone.js";
import type { Target } from "./workload.js";

export const CLIENT_COUNTS = [1, 2, 4, 8, 16];
export const INCREMENTS_PER_CLIENT = 5;
/** Runs per isolation level in the anomaly test, each with its own seed. */
export const ANOMALY_RUNS = 20;

interface Contention {
  clients: number;
  commits: number;
  attempts: number;
  retries: number;
  requests: number;
  final: number;
}

/** v2: GET, then CAS with prevIndex; on 101, start again. Steps interleaved by `random`. */
async function v2CasLoop(target: Target, clients: number, random: Random): Promise<Contention> {
  const { v2 } = target;
  must(await v2.set("/counter", "0"), "init");
  const r: Contention = { clients, commits: 0, attempts: 0, retries: 0, requests: 0, final: 0 };
  const state = Array.from({ length: clients }, () => ({ done: 0, read: undefined as { value: number; index: number } | undefined }));
  const live = state.map((_, i) => i);
  while (live.length > 0) {
    const pick = random.int(0, live.length - 1);
    const c = state[live[pick] as number];
    if (c === undefined) break;
    r.requests += 1;
    if (c.read === undefined) {
      r.attempts += 1;
      const node = must(await v2.get("/counter"), "get").node;
      c.read = { value: Number(node.value), index: node.modifiedIndex ?? 0 };
    } else {
      const cas = await v2.set("/counter", String(c.read.value + 1), { prevIndex: c.read.index });
      c.read = undefined;
      if (cas.ok) {
        r.commits += 1;
        c.done += 1;
        if (c.done === INCREMENTS_PER_CLIENT) live.splice(pick, 1);
      } else r.retries += 1;
    }
  }
  r.final = Number(must(await v2.get("/counter"), "get").node.value);
  return r;
}

/** v3: one newSTM per increment (SerializableSnapshot), clients interleaved per request. */
async function v3Stm(target: Target, clients: number, random: Random): Promise<Contention> {
  must(await target.v3.put({ key: utf8("counter"), value: utf8("0") }), "init");
  const stats = new STMStats();
  const interleaver = new Interleaver(txnClientOf(target.v3), random);
  await interleaver.run(
    Array.from({ length: clients }, () => async (client: TxnClient) => {
      for (let i = 0; i < INCREMENTS_PER_CLIENT; i++) {
        await newSTM(client, async (stm) => stm.put("counter", String(Number(await stm.get("counter")) + 1)), { stats });
      }
    }),
  );
  const final = Number(fromUtf8(must(await target.v3.range(rangeOf("counter")), "get").kvs[0]?.value ?? new Uint8Array()));
  return { clients, commits: stats.commits, attempts: stats.attempts, retries: stats.retries, requests: interleaver.trace.length, final };
}

/**
 * v3 pessimistic: a lock key taken with If(create(lock) = 0) Then put lock; a client that finds it
 * taken asks again (etcd's Mutex would wait on a watch instead: same queue, no polling). Holding
 * the lock, the client reads and writes the counter, then deletes the lock.
 */
async function v3Lock(target: Target, clients: number, random: Random): Promise<Contention & { busy: number }> {
  must(await target.v3.put({ key: utf8("counter"), value: utf8("0") }), "init");
  let busy = 0;
  let commits = 0;
  const interleaver = new Interleaver(txnClientOf(target.v3), random);
  await interleaver.run(
    Array.from({ length: clients }, (_, id) => async (client: TxnClient) => {
      for (let i = 0; i < INCREMENTS_PER_CLIENT; i++) {
        for (;;) {
          const take = await client.txn({ compare: [compareOf("lock", "CREATE", "EQUAL", 0)], success: [putOp("lock", `client ${id}`)] });
          if (take.succeeded) break;
          busy += 1;
        }
        const read = await client.txn({ success: [getOp("counter")] });
        const value = Number(fromUtf8(read.responses[0]?.response_range?.kvs[0]?.value ?? new Uint8Array()));
        await client.txn({ success: [putOp("counter", String(value + 1)), deleteOp("lock")] });
        commits += 1;
      }
    }),
  );
  const final = Number(fromUtf8(must(await target.v3.range(rangeOf("counter")), "get").kvs[0]?.value ?? new Uint8Array()));
  return { clients, commits, attempts: commits, retries: 0, requests: interleaver.trace.length, final, busy };
}

const LEVELS: Array<[string, Isolation]> = [
  ["SerializableSnapshot", Isolation.SerializableSnapshot],
  ["Serializable", Isolation.Serializable],
  ["RepeatableReads", Isolation.RepeatableReads],
  ["ReadCommitted", Isolation.ReadCommitted],
];

export const lesson: Lesson = {
  id: 8,
  slug: "optimistic-vs-pessimistic",
  title: "Optimistic vs pessimistic concurrency",
  lesson: "An optimistic transaction (v3's STM, or a v2 compare-and-swap loop) never waits but redoes its work when someone else got there first, and the redone work grows with contention. A lock never redoes work, but everyone queues behind it. The STM's isolation level decides which anomalies get through.",
  youWillSee: [
    `1 to ${CLIENT_COUNTS[CLIENT_COUNTS.length - 1]} clients each adding 1 to one counter ${INCREMENTS_PER_CLIENT} times: retries and requests per increment`,
    "the same work under a lock: no retries, but lock requests that find it taken",
    "lost updates and write skew under each STM isolation level",
  ],
  tryChanging: ["CLIENT_COUNTS", "INCREMENTS_PER_CLIENT", "--seed (another interleaving)"],
  async run(ctx) {
    ctx.step(
      "Optimistic: everyone increments one counter",
      "v2 clients loop GET + CAS(prevIndex) until the CAS succeeds. v3 clients run each increment in an STM (Get, Put, commit with compares on what was read). Each request is one turn of the seeded scheduler.",
    );
    const v2Runs: Contention[] = [];
    const v3Runs: Contention[] = [];
    const lockRuns: Array<Contention & { busy: number }> = [];
    for (const clients of CLIENT_COUNTS) {
      v2Runs.push(await v2CasLoop(await ctx.openTarget(), clients, new Random(ctx.seed * 100 + clients)));
      v3Runs.push(await v3Stm(await ctx.openTarget(), clients, new Random(ctx.seed * 100 + clients)));
      lockRuns.push(await v3Lock(await ctx.openTarget(), clients, new Random(ctx.seed * 100 + clients)));
      ctx.progress(v2Runs.length, CLIENT_COUNTS.length + 1);
    }
    ctx.table(
      CLIENT_COUNTS.map((clients, i) => {
        const a = v2Runs[i] as Contention;
        const b = v3Runs[i] as Contention;
        return {
          label: `${clients} client${clients === 1 ? "" : "s"}`,
          v2: `${a.retries} retries, ${(a.requests / a.commits).toFixed(2)} requests/increment, final ${a.final}`,
          v3: `${b.retries} retries, ${(b.requests / b.commits).toFixed(2)} requests/increment, final ${b.final}`,
        };
      }),
      { labelHeader: "optimistic", title: "CAS loop (v2) and STM (v3)" },
    );

    ctx.step(
      "Pessimistic: the same increments under a lock",
      "v3 clients take a lock key with If(create(lock) = 0), read and write the counter, and delete the lock. A lock request that finds the lock taken is counted as \"busy\" and asked again; etcd's Mutex would instead wait on a watch.",
    );
    ctx.table(
      CLIENT_COUNTS.map((clients, i) => {
        const l = lockRuns[i] as Contention & { busy: number };
        return {
          label: `${clients} client${clients === 1 ? "" : "s"}`,
          v2: i === 0 ? "not run (see below)" : "",
          v3: `0 retries, ${l.busy} busy lock requests, ${(l.requests / l.commits).toFixed(2)} requests/increment, final ${l.final}`,
        };
      }),
      { labelHeader: "under a lock" },
    );
    ctx.say("v2 column: not run here. A v2 lock is the same idea, a create with prevExist=false that fails with 105 while the lock exists; lesson 17 runs it, with its TTL.");
    ctx.chart({
      id: "retries-vs-contention",
      title: "Wasted work as contention grows",
      kind: "lines",
      xLabel: "clients",
      yLabel: "retries / busy lock requests",
      x: CLIENT_COUNTS.map(String),
      series: [
        { name: "v2 CAS retries", api: "v2", values: v2Runs.map((r) => r.retries) },
        { name: "v3 STM retries", api: "v3", values: v3Runs.map((r) => r.retries) },
        { name: "v3 lock: busy requests", api: "v3", values: lockRuns.map((r) => r.busy) },
      ],
    });
    const expected = (n: number): number => n * INCREMENTS_PER_CLIENT;
    ctx.measure("stmRetriesAtMax", v3Runs[v3Runs.length - 1]?.retries ?? 0);
    ctx.measure("casRetriesAtMax", v2Runs[v2Runs.length - 1]?.retries ?? 0);
    ctx.claim({
      id: "retries-grow",
      claim: "optimistic retries grow with contention (none with 1 client), and every increment still lands",
      v2Value: v2Runs.map((r) => r.retries).join(", "),
      v3Value: v3Runs.map((r) => r.retries).join(", "),
      holds:
        v2Runs[0]?.retries === 0 &&
        v3Runs[0]?.retries === 0 &&
        (v2Runs[v2Runs.length - 1]?.retries ?? 0) > (v2Runs[1]?.retries ?? 0) &&
        (v3Runs[v3Runs.length - 1]?.retries ?? 0) > (v3Runs[1]?.retries ?? 0) &&
        [...v2Runs, ...v3Runs, ...lockRuns].every((r) => r.final === expected(r.clients)),
    });
    ctx.claim({
      id: "lock-no-retries",
      claim: "under a lock nothing is redone; the contention shows up as lock requests that find it taken",
      v2Value: null,
      v3Value: lockRuns.map((r) => r.busy).join(", "),
      holds: lockRuns.every((r) => r.retries === 0) && (lockRuns[lockRuns.length - 1]?.busy ?? 0) > 0,
    });

    ctx.step(
      "What each isolation level lets through",
      `Two anomalies, each run ${ANOMALY_RUNS} times with a different seeded interleaving. Lost update: two clients add 1 to x; an anomaly is x ending at 1. Write skew: x = y = 1, and each client sets one of them to 0 only if x + y = 2 (\"someone else is still on call\"); an anomaly is both ending at 0.`,
    );
    const anomalyRows = [];
    const lostCounts: Record<string, number> = {};
    const skewCounts: Record<string, number> = {};
    for (const [name, isolation] of LEVELS) {
      let lost = 0;
      let skew = 0;
      for (let run = 0; run < ANOMALY_RUNS; run++) {
        const t = await ctx.openTarget();
        must(await t.v3.put({ key: utf8("x"), value: utf8("0") }), "init");
        await new Interleaver(txnClientOf(t.v3), new Random(ctx.seed * 1000 + run)).run(
          [0, 1].map(() => async (client: TxnClient) => {
            await newSTM(client, async (stm) => stm.put("x", String(Number(await stm.get("x")) + 1)), { isolation });
          }),
        );
        if (fromUtf8(must(await t.v3.range(rangeOf("x")), "get").kvs[0]?.value ?? new Uint8Array()) !== "2") lost += 1;
        must(await t.v3.txn({ success: [putOp("oncall/x", "1"), putOp("oncall/y", "1")] }), "init");
        await new Interleaver(txnClientOf(t.v3), new Random(ctx.seed * 1000 + run)).run(
          ["oncall/x", "oncall/y"].map((mine) => async (client: TxnClient) => {
            await newSTM(
              client,
              async (stm) => {
                const x = Number(await stm.get("oncall/x"));
                const y = Number(await stm.get("oncall/y"));
                if (x + y === 2) stm.put(mine, "0");
              },
              { isolation },
            );
          }),
        );
        const both = must(await t.v3.range(rangeOf("oncall/", { prefix: true })), "get").kvs.map((kv) => fromUtf8(kv.value));
        if (both.every((v) => v === "0")) skew += 1;
      }
      lostCounts[name] = lost;
      skewCounts[name] = skew;
      anomalyRows.push({ label: name, v2: anomalyRows.length === 0 ? "no STM (see below)" : "", v3: `lost updates ${lost}/${ANOMALY_RUNS} · write skew ${skew}/${ANOMALY_RUNS}` });
    }
    ctx.progress(CLIENT_COUNTS.length + 1, CLIENT_COUNTS.length + 1);
    ctx.table(anomalyRows, { labelHeader: "isolation" });
    ctx.say("v2 column: v2 has no STM and no isolation levels. Its only check is a compare-and-swap on one key, so a read of two keys is never checked at commit: write skew cannot even be expressed as one v2 request.");
    ctx.claim({
      id: "read-committed-lets-through",
      claim: "ReadCommitted commits without checking what it read, so lost updates and write skew get through; the other three levels stop both",
      v2Value: null,
      v3Value: `ReadCommitted: ${lostCounts["ReadCommitted"]} lost, ${skewCounts["ReadCommitted"]} skew`,
      holds:
        (lostCounts["ReadCommitted"] ?? 0) > 0 &&
        (skewCounts["ReadCommitted"] ?? 0) > 0 &&
        ["SerializableSnapshot", "Serializable", "RepeatableReads"].every((n) => lostCounts[n] === 0 && skewCounts[n] === 0),
    });

    ctx.whatJustHappened(
      "Optimistic clients never block each other; instead a commit checks that nothing it read has changed (v2: prevIndex on the one key; v3: the STM's compares on every key in its read set) and the loser runs its whole function again. With one client that costs nothing; with many on one hot key most attempts are thrown away.",
      "A lock turns the same contention into a queue: no work is redone, but only one client makes progress at a time, and a holder that stalls stalls everyone (lesson 17).",
      "ReadCommitted adds no compares at commit, so two clients that read the same value both win, and the other's update is lost; RepeatableReads and the two Serializable levels compare the read set's mod revisions and send the late one round again.",
    );
    ctx.myth(
      "STM transactions are always serializable.",
      "Only with the Serializable levels (SerializableSnapshot is the default); ReadCommitted is a plain batch of writes that happily loses updates.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

/**
 * Lesson 6 · Compare-and-swap vs transactions.
 *
 *   v2: one key at a time                         v3: many keys, all or nothing
 *   PUT /bank/a prevIndex=7 value=90              Txn(If mod(bank/a)=7 ∧ mod(bank/b)=9
 *   PUT /bank/b prevIndex=9 value=110                 Then put bank/a 90, put bank/b 110)
 *   └── two requests: a crash or a reader           └── one revision: no reader sees half
 *       in between sees money in flight
 *
 * Clients move money between two accounts. The invariant: a + b = 200, always. Each client is a
 * small state machine, and a seeded scheduler interleaves their steps, so the race is reproducible.
 */
import type { Lesson } from "./lesson.js";
import { compareOf, must, putOp, rangeOf, v2Cell, v3Cell } from "./lessonKit.js";
import { fromUtf8, utf8 } from "../shared/bytes.js";
import { runIfMain } from "./standalone.js";
import type { Random } from "../shared/random.js";
import type { Target } from "./workload.js";

export const CLIENTS = 4;
export const TRANSFERS_PER_CLIENT = 25;
/**
 * Probability per transfer that its client dies halfway. One crash plan is drawn from the seed and
 * used by both sides, so the same transfers crash in v2 and v3, each at the same point of a
 * transfer: after the read and before the write that would complete it (v2: between the debit of a
 * and the credit of b; v3: before the txn that writes both).
 */
export const CRASH_CHANCE = 0.05;
/** Probability per scheduler tick that an auditor reads both balances. */
export const AUDIT_CHANCE = 0.25;
export const MAX_TXN_OPS = 128;

interface Result {
  transfers: number;
  retries: number;
  crashes: number;
  audits: number;
  /** Audits that saw a + b differ from 200 minus what crashes lost: money in flight. */
  badAudits: number;
  /** Money debited by clients that died before crediting it. */
  lost: number;
  finalSum: number;
}

/** A step function per client; `true` when the client has finished all its transfers. */
type Client = () => Promise<boolean>;

async function schedule(random: Random, clients: Client[], audit: () => Promise<void>): Promise<void> {
  const live = clients.map((c, i) => ({ c, i }));
  while (live.length > 0) {
    if (random.chance(AUDIT_CHANCE)) await audit();
    const pick = random.int(0, live.length - 1);
    const entry = live[pick];
    if (entry !== undefined && (await entry.c())) live.splice(pick, 1);
  }
}

/** v2: read both, CAS a, CAS b, each with prevIndex. The best one-key CAS can do. */
/** crashPlan[client][transfer]: does that transfer's client die halfway through it? */
type CrashPlan = boolean[][];

function drawCrashPlan(random: Random, clients: number, transfers: number, chance: number): CrashPlan {
  return Array.from({ length: clients }, () => Array.from({ length: transfers }, () => random.chance(chance)));
}

async function runV2(target: Target, random: Random, plan: CrashPlan): Promise<Result> {
  const { v2 } = target;
  must(await v2.set("/bank/a", "100"), "init a");
  must(await v2.set("/bank/b", "100"), "init b");
  const r: Result = { transfers: 0, retries: 0, crashes: 0, audits: 0, badAudits: 0, lost: 0, finalSum: 0 };
  const clients: Client[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    let done = 0;
    let phase: "read" | "debit" | "credit" = "read";
    let a = { value: 0, index: 0 };
    let b = { value: 0, index: 0 };
    let amount = 0;
    clients.push(async () => {
      if (phase === "read") {
        const ra = must(await v2.get("/bank/a"), "get a").node;
        const rb = must(await v2.get("/bank/b"), "get b").node;
        a = { value: Number(ra.value), index: ra.modifiedIndex ?? 0 };
        b = { value: Number(rb.value), index: rb.modifiedIndex ?? 0 };
        amount = random.int(1, 10);
        phase = "debit";
      } else if (phase === "debit") {
        const cas = await v2.set("/bank/a", String(a.value - amount), { prevIndex: a.index });
        if (!cas.ok) {
          r.retries += 1;
          phase = "read";
        } else if (plan[c]?.[done] === true) {
          // The client dies after the debit: nothing will ever credit b.
          r.crashes += 1;
          r.lost += amount;
          done += 1;
          phase = "read";
        } else phase = "credit";
      } else {
        const cas = await v2.set("/bank/b", String(b.value + amount), { prevIndex: b.index });
        if (!cas.ok) {
          // b moved meanwhile: re-read b and try the credit again (a is already debited).
          r.retries += 1;
          const rb = must(await v2.get("/bank/b"), "get b").node;
          b = { value: Number(rb.value), index: rb.modifiedIndex ?? 0 };
          return false;
        }
        r.transfers += 1;
        done += 1;
        phase = "read";
      }
      return done >= TRANSFERS_PER_CLIENT;
    });
  }
  await schedule(random, clients, async () => {
    // An auditor can only read one key per request.
    const ra = must(await v2.get("/bank/a"), "audit a").node;
    const rb = must(await v2.get("/bank/b"), "audit b").node;
    r.audits += 1;
    if (Number(ra.value) + Number(rb.value) !== 200 - r.lost) r.badAudits += 1;
  });
  const fa = must(await v2.get("/bank/a"), "final a").node;
  const fb = must(await v2.get("/bank/b"), "final b").node;
  r.finalSum = Number(fa.value) + Number(fb.value);
  return r;
}

/** v3: read both in one range, then one txn comparing both mod_revisions. */
async function runV3(target: Target, random: Random, plan: CrashPlan): Promise<Result> {
  const { v3 } = target;
  must(await v3.put({ key: utf8("bank/a"), value: utf8("100") }), "init a");
  must(await v3.put({ key: utf8("bank/b"), value: utf8("100") }), "init b");
  const r: Result = { transfers: 0, retries: 0, crashes: 0, audits: 0, badAudits: 0, lost: 0, finalSum: 0 };
  const readBoth = async (): Promise<{ a: number; b: number; modA: number; modB: number }> => {
    const kvs = must(await v3.range(rangeOf("bank/", { prefix: true })), "range").kvs;
    const [ka, kb] = kvs;
    return { a: Number(fromUtf8(ka?.value ?? new Uint8Array())), b: Number(fromUtf8(kb?.value ?? new Uint8Array())), modA: ka?.mod_revision ?? 0, modB: kb?.mod_revision ?? 0 };
  };
  const clients: Client[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    let done = 0;
    let phase: "read" | "commit" = "read";
    let seen = { a: 0, b: 0, modA: 0, modB: 0 };
    let amount = 0;
    clients.push(async () => {
      if (phase === "read") {
        seen = await readBoth();
        amount = random.int(1, 10);
        phase = "commit";
        return false;
      }
      phase = "read";
      if (plan[c]?.[done] === true) {
        // The client dies before its commit: nothing was written.
        r.crashes += 1;
        done += 1;
        return done >= TRANSFERS_PER_CLIENT;
      }
      const txn = must(
        await v3.txn({
          compare: [compareOf("bank/a", "MOD", "EQUAL", seen.modA), compareOf("bank/b", "MOD", "EQUAL", seen.modB)],
          success: [putOp("bank/a", String(seen.a - amount)), putOp("bank/b", String(seen.b + amount))],
        }),
        "txn",
      );
      if (txn.succeeded) {
        r.transfers += 1;
        done += 1;
      } else r.retries += 1;
      return done >= TRANSFERS_PER_CLIENT;
    });
  }
  await schedule(random, clients, async () => {
    const both = await readBoth();
    r.audits += 1;
    if (both.a + both.b !== 200 - r.lost) r.badAudits += 1;
  });
  const final = await readBoth();
  r.finalSum = final.a + final.b;
  return r;
}

export const lesson: Lesson = {
  id: 6,
  slug: "cas-vs-txn",
  title: "Compare-and-swap vs transactions",
  lesson: "v2 can compare-and-swap one key; v3 can compare many keys and write many keys in one transaction. A transfer between two accounts is atomic only in v3.",
  youWillSee: [
    "v2's prevValue and prevIndex checks and their 101 errors, next to v3's compares on value and mod_revision",
    `${CLIENTS} clients making ${TRANSFERS_PER_CLIENT} transfers each, with crashes and an auditor: the sum a + b = 200 checked throughout`,
    `the ${MAX_TXN_OPS}-operation limit on a v3 txn`,
  ],
  tryChanging: ["CRASH_CHANCE (at 0, v2's final sum is right, but auditors still see money in flight)", "CLIENTS", "--seed"],
  async run(ctx) {
    const target = await ctx.openTarget();
    const { v2, v3 } = target;

    ctx.step("Single-key compare-and-swap", "Both stores can guard one write on one key. v2 checks prevValue or prevIndex (modifiedIndex); v3 compares value or mod_revision in a txn.");
    const set2 = must(await v2.set("/x", "1"), "set");
    const put3 = must(await v3.put({ key: utf8("x"), value: utf8("1") }), "put");
    const okValue2 = await v2.set("/x", "2", { prevValue: "1" });
    const okValue3 = await v3.txn({ compare: [compareOf("x", "VALUE", "EQUAL", "1")], success: [putOp("x", "2")] });
    const badValue2 = await v2.set("/x", "3", { prevValue: "1" });
    const badValue3 = await v3.txn({ compare: [compareOf("x", "VALUE", "EQUAL", "1")], success: [putOp("x", "3")] });
    const badIndex2 = await v2.set("/x", "3", { prevIndex: set2.etcdIndex });
    const badIndex3 = await v3.txn({ compare: [compareOf("x", "MOD", "EQUAL", put3.header.revision)], success: [putOp("x", "3")] });
    const both2 = await v2.set("/x", "3", { prevValue: "9", prevIndex: set2.etcdIndex });
    ctx.table(
      [
        { label: "swap 1 → 2 (value matches)", v2: v2Cell(okValue2, (e) => `${e.action}, index ${e.etcdIndex}`), v3: v3Cell(okValue3, (t) => `succeeded=${t.succeeded}, revision ${t.header.revision}`) },
        { label: "swap 1 → 3 (value is now 2)", v2: v2Cell(badValue2, (e) => e.action), v3: v3Cell(badValue3, (t) => `succeeded=${t.succeeded}`) },
        { label: "swap if modified at the first write", v2: v2Cell(badIndex2, (e) => e.action), v3: v3Cell(badIndex3, (t) => `succeeded=${t.succeeded}`) },
        { label: "both checks wrong", v2: v2Cell(both2, (e) => e.action), v3: "(compares are ANDed; each is one Compare)" },
      ],
      { labelHeader: "request" },
    );
    ctx.say("A failed compare is an error (101, HTTP 412) in v2 and a normal answer with succeeded=false in v3, which then runs the txn's failure branch instead.");

    ctx.step(
      `${CLIENTS} clients, ${TRANSFERS_PER_CLIENT} transfers each, a + b must stay 200`,
      "v2 client: read a and b, CAS a with prevIndex, then CAS b with prevIndex (retrying the credit if b moved). v3 client: read both in one range, then one txn that compares both mod_revisions and writes both. An auditor reads both balances at random moments. Crashes are fair: one plan, drawn from the seed with chance CRASH_CHANCE per transfer, makes the same transfers crash on both sides, each halfway (v2 after the debit, v3 before its txn).",
    );
    const plan = drawCrashPlan(ctx.random, CLIENTS, TRANSFERS_PER_CLIENT, CRASH_CHANCE);
    const planned = plan.flat().filter(Boolean).length;
    const result2 = await runV2(target, ctx.random, plan);
    const fresh = await ctx.openTarget();
    const result3 = await runV3(fresh, ctx.random, plan);
    const row = (label: string, pick: (r: Result) => number): { label: string; v2: number; v3: number } => ({ label, v2: pick(result2), v3: pick(result3) });
    ctx.table(
      [
        row("transfers completed", (r) => r.transfers),
        row("compare failures (retries)", (r) => r.retries),
        row("clients crashed mid-transfer", (r) => r.crashes),
        row("audits", (r) => r.audits),
        row("audits that saw money in flight", (r) => r.badAudits),
        row("money lost by crashed clients", (r) => r.lost),
        row("final a + b", (r) => r.finalSum),
      ],
      { labelHeader: "measured" },
    );
    for (const [name, r] of [["v2", result2], ["v3", result3]] as const) {
      ctx.measure(`${name}FinalSum`, r.finalSum);
      ctx.measure(`${name}BadAudits`, r.badAudits);
      ctx.measure(`${name}Crashes`, r.crashes);
    }
    ctx.say(
      `The crash plan marked ${planned} of ${CLIENTS * TRANSFERS_PER_CLIENT} transfers; v2 crashed ${result2.crashes} times and v3 ${result3.crashes}, at the same transfers. A crashed v2 client had already debited a (the money is lost); a crashed v3 client had written nothing.`,
    );
    ctx.claim({
      id: "txn-keeps-invariant",
      claim: "the v3 txn keeps a + b = 200 at every audit and at the end; with v2's two CAS requests auditors see money in flight and crashes lose it",
      v2Value: `final ${result2.finalSum}, ${result2.badAudits} bad audits`,
      v3Value: `final ${result3.finalSum}, ${result3.badAudits} bad audits`,
      holds: result3.finalSum === 200 && result3.badAudits === 0 && result3.lost === 0 && result2.badAudits > 0 && result2.finalSum === 200 - result2.lost,
    });

    ctx.step(`The ${MAX_TXN_OPS}-operation limit`, "A v3 txn may hold at most 128 operations per branch (--max-txn-ops). v2 has no multi-key request at all.");
    const txn128 = await fresh.v3.txn({ success: Array.from({ length: MAX_TXN_OPS }, (_, i) => putOp(`many/${i}`, "x")) });
    const txn129 = await fresh.v3.txn({ success: Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => putOp(`many/${i}`, "x")) });
    ctx.table(
      [
        { label: `txn of ${MAX_TXN_OPS} puts`, v2: "(no multi-key writes)", v3: v3Cell(txn128, (t) => `succeeded, revision ${t.header.revision}`) },
        { label: `txn of ${MAX_TXN_OPS + 1} puts`, v2: "(no multi-key writes)", v3: v3Cell(txn129, (t) => `succeeded, revision ${t.header.revision}`) },
      ],
      { labelHeader: "request" },
    );
    ctx.claim({
      id: "txn-op-limit",
      claim: `a txn of ${MAX_TXN_OPS} operations is accepted and one of ${MAX_TXN_OPS + 1} is refused`,
      v2Value: null,
      v3Value: txn129.ok ? "accepted" : txn129.error.message,
      holds: txn128.ok && !txn129.ok && txn129.error.message === "etcdserver: too many operations in txn request",
    });

    ctx.whatJustHappened(
      `v2's compare-and-swap protects one key. A transfer needs two writes, so between them the money is in neither account: the auditor caught money in flight ${result2.badAudits} times out of ${result2.audits}, and ${result2.crashes} clients that died between their writes took ${result2.lost} with them, leaving a + b = ${result2.finalSum}. v2 cannot undo the first write when the second fails.`,
      `v3's txn compares both keys' mod_revisions and writes both under one revision: either both changed or neither did. Conflicts still happen (${result3.retries} retries), but a conflict costs a retry, never money: ${result3.badAudits} bad audits, final sum ${result3.finalSum}.`,
    );
    ctx.myth(
      "With prevIndex, v2 clients can build any transaction they need.",
      "prevIndex makes each single write safe, not a group of writes: nothing makes two v2 writes happen together, so readers see the middle and crashes leave it there.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

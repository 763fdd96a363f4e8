/**
 * Lesson 17 · Locks are leases (capstone).
 *
 *   time ─────────────────────────────────────────────────────────────────────────►
 *   A: lock ✓ ── work ── ░░░░░░░░░ stalled (GC pause, no keep-alives) ░░░░░░░░ ── write!
 *                          lease TTL 5 s runs out → A's lock key deleted
 *   B: lock … waiting ─────────────────────────────► lock ✓ ── write
 *
 * An etcd lock is a key on a lease. When the holder stops renewing the lease, etcd deletes the key
 * and the next waiter holds the lock, while the old holder may still believe it does. The defence
 * is a fencing check: make the protected write conditional on still owning the lock key, which a
 * v3 txn can do (`If create(lockKey) = myRev`). v2 can only guard a write to the lock key itself.
 */
import { Mutex } from "../v3/concurrency/mutex.js";
import { Session } from "../v3/concurrency/session.js";
import { fromUtf8, utf8 } from "../shared/bytes.js";
import { concurrencyClientOf } from "./concurrencyClient.js";
import type { Lesson } from "./lesson.js";
import { advanceUntil, must, putOp, rangeOf, v2Cell } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";

export const LEASE_TTL_SECONDS = 5;
export const STALL_MS = 10_000;
/** Turns B's pending lock() gets after each second to finish its last steps (a few round trips). */
const SETTLE_TURNS = 50;
/** How far before each whole second A's stall is sampled (see the loop). */
const SAMPLE_OFFSET_MS = 250;
const OUTPUT = "job/output";

export const lesson: Lesson = {
  id: 17,
  slug: "locks-are-leases",
  title: "Locks are leases",
  lesson: "A distributed lock in etcd is a key on a lease. A holder that stalls past its lease TTL loses the lock without knowing it, and the next holder gets it; only a write that checks it still owns the lock (a fencing check on the lock key's revision) stops the old holder from writing.",
  youWillSee: [
    `A holding a v3 Mutex (clientv3/concurrency) with a ${LEASE_TTL_SECONDS} s session lease, B waiting, A stalling for ${STALL_MS / 1000} s`,
    "the same story with a v2 TTL key as the lock",
    "A's late write succeeding without a fence, and refused with one",
  ],
  tryChanging: ["STALL_MS below the TTL (A keeps the lock)", "LEASE_TTL_SECONDS"],
  async run(ctx) {
    const target = await ctx.openTarget();
    const { v2, v3 } = target;
    const client = concurrencyClientOf(target);

    ctx.step(
      "A takes the lock; B asks for it and waits",
      `v3: each client opens a Session (a lease of ${LEASE_TTL_SECONDS} s) and locks the Mutex "locks/job". v2: the lock is the key /locks/job, created with prevExist=false and ttl=${LEASE_TTL_SECONDS}; B's create fails and B watches the key.`,
    );
    // Start between two of etcd's 500 ms expiry checks, as a real client does (see lesson 15).
    await target.advance(250);
    // A's lease and A's v2 lock key are the first two requests, so both start their 5 s within one
    // request of `lockedAt`, the point the stall's samples are timed from.
    const lockedAt = target.now();
    const sessionA = await Session.create(client, { ttlSeconds: LEASE_TTL_SECONDS });
    const lockA2 = await v2.set("/locks/job", "A", { prevExist: false, ttlSeconds: LEASE_TTL_SECONDS });
    const sessionB = await Session.create(client, { ttlSeconds: LEASE_TTL_SECONDS });
    const mutexA = new Mutex(sessionA, "locks/job");
    const mutexB = new Mutex(sessionB, "locks/job");
    await mutexA.lock();
    let bHolds = false;
    const bLock = mutexB.lock().then(() => {
      bHolds = true;
    });
    await target.advance(0);
    const lockB2 = await v2.set("/locks/job", "B", { prevExist: false, ttlSeconds: LEASE_TTL_SECONDS });
    const lockIndexA = lockA2.ok ? lockA2.value.etcdIndex : 0;
    const watchB2 = must(await v2.watch("/locks/job", { waitIndex: lockIndexA + 1 }), "watch");
    must(await v2.set(`/${OUTPUT}`, "A-1"), "write");
    must(await v3.put({ key: utf8(OUTPUT), value: utf8("A-1") }), "write");
    ctx.table(
      [
        { label: "A locks", v2: v2Cell(lockA2, (e) => `created /locks/job at index ${e.etcdIndex}`), v3: `holds ${mutexA.key()} (create revision ${mutexA.myRev})` },
        { label: "B locks", v2: v2Cell(lockB2, (e) => e.action), v3: bHolds ? "holds" : `waiting: ${mutexB.key()} (create revision ${mutexB.myRev}) waits for the DELETE of A's key` },
        { label: "A writes the output", v2: "/job/output = A-1", v3: "job/output = A-1" },
      ],
      { labelHeader: "" },
    );

    ctx.step(
      `A stalls for ${STALL_MS / 1000} s`,
      "A sends no keep-alives (and no v2 refreshes) while it is paused. B stays healthy and renews its own session every second.",
    );
    const stallRows = [];
    let bHoldsAtMs = -1;
    let v2FreeAtMs = -1;
    // B's lock() runs concurrently; give its pending steps a bounded number of turns to finish.
    const settle = async (): Promise<void> => {
      for (let turn = 0; turn < SETTLE_TURNS && !bHolds; turn++) await target.advance(0);
    };
    let aKeyGoneAtMs = -1;
    // Samples are timed from `lockedAt` on the target's clock, SAMPLE_OFFSET_MS clear of the whole
    // seconds. A key on a 5 s TTL or lease goes in etcd's first 500 ms expiry check after its 5 s,
    // so it is freed somewhere in (5 s, 5.5 s] after it was made; that window's phase belongs to the
    // etcd. A sample at 4.75 s and the next at 5.75 s both stay a quarter second clear of it, so
    // every target answers "freed at 5.75 s":
    //   locked ── 4.75 ✓ alive ── 5.0 TTL ░░ expiry check somewhere ░░ 5.5 ── 5.75 ✓ gone
    // Waiting until each sample time (not for a fixed second) keeps the time the requests take from
    // piling up: a sample at exactly 5 s, after five 1 s waits, once saw the key gone "before" its
    // TTL on a slow CI machine.
    for (let t = 1000 - SAMPLE_OFFSET_MS; t <= STALL_MS; t += 1000) {
      await advanceUntil(target, lockedAt + t);
      await sessionB.keepAliveOnce();
      const aKey = must(await v3.range(rangeOf(mutexA.key())), "range");
      // B can only finish once A's key is gone; only then give it turns (no idle waiting before).
      if (aKey.count === 0) await settle();
      if (aKey.count === 0 && aKeyGoneAtMs < 0) aKeyGoneAtMs = t;
      if (bHolds && bHoldsAtMs < 0) bHoldsAtMs = t;
      if (v2FreeAtMs < 0 && watchB2.done()) v2FreeAtMs = t;
      if ((t + SAMPLE_OFFSET_MS) % 2000 === 0) {
        const lockKey = await v2.get("/locks/job");
        stallRows.push({
          label: `t=${t / 1000}s`,
          v2: lockKey.ok ? `/locks/job = ${lockKey.value.node.value}` : `lock key gone (error ${lockKey.error.errorCode})`,
          v3: `${aKey.count === 0 ? "A's lock key gone" : "A's lock key still there"}; ${bHolds ? "B holds the lock" : "B waiting"}`,
        });
      }
    }
    await advanceUntil(target, lockedAt + STALL_MS); // A wakes at STALL_MS
    await bLock;
    const v2Events = await watchB2.take();
    // B saw the expiry; it now takes the v2 lock.
    const takeB2 = await v2.set("/locks/job", "B", { prevExist: false, ttlSeconds: LEASE_TTL_SECONDS });
    ctx.table(stallRows, { labelHeader: "" });
    ctx.table(
      [
        { label: "what B's watch saw", v2: v2Events.map((e) => `${e.action} ${e.node.key}`).join(", ") || "(nothing)", v3: `DELETE of ${mutexA.key()}` },
        { label: "B takes the lock", v2: v2Cell(takeB2, (e) => `created at index ${e.etcdIndex}`), v3: `holds ${mutexB.key()} (create revision ${mutexB.myRev})` },
      ],
      { labelHeader: "" },
    );
    must(await v2.set(`/${OUTPUT}`, "B-1"), "write");
    must(await v3.put({ key: utf8(OUTPUT), value: utf8("B-1") }), "write");

    ctx.step(
      "A wakes up and writes, believing it still holds the lock",
      "First without a fence: a plain write. Then with one: v3 writes in a txn guarded by A's ownership of its lock key, If(create(lockKey) = myRev); v2 can only compare the key it writes, so the closest it has is to check the lock key first and write afterwards.",
    );
    const plain2 = await v2.set(`/${OUTPUT}`, "A-2");
    const plain3 = await v3.put({ key: utf8(OUTPUT), value: utf8("A-2") });
    const fenced3 = must(await v3.txn({ compare: [mutexA.isOwner()], success: [putOp(OUTPUT, "A-3")] }), "fenced txn");
    const checkLock2 = await v2.get("/locks/job");
    const fencedB3 = must(await v3.txn({ compare: [mutexB.isOwner()], success: [putOp(OUTPUT, "B-2")] }), "fenced txn");
    const final3 = must(await v3.range(rangeOf(OUTPUT)), "read").kvs[0];
    ctx.table(
      [
        { label: "A: plain write", v2: v2Cell(plain2, (e) => `${e.action}: A-2 overwrote B-1`), v3: plain3.ok ? "OK: A-2 overwrote B-1" : plain3.error.message },
        {
          label: "A: fenced write",
          v2: v2Cell(checkLock2, (e) => `GET /locks/job says ${e.node.value}; the write would be a separate request`),
          v3: `txn If create(${mutexA.key()}) = ${mutexA.myRev}: succeeded=${fenced3.succeeded}`,
        },
        { label: "B: fenced write", v2: "", v3: `txn If create(${mutexB.key()}) = ${mutexB.myRev}: succeeded=${fencedB3.succeeded}` },
        { label: "job/output at the end", v2: "", v3: fromUtf8(final3?.value ?? new Uint8Array()) },
      ],
      { labelHeader: "" },
    );
    ctx.measure("bHoldsAfterMs", bHoldsAtMs);
    ctx.measure("v2LockFreedAfterMs", v2FreeAtMs);
    ctx.claim({
      id: "stalled-holder-loses-lock",
      claim: `a holder stalled past its ${LEASE_TTL_SECONDS} s lease loses the lock to the waiter, in both APIs`,
      v2Value: v2FreeAtMs < 0 ? "never" : `freed ${v2FreeAtMs > LEASE_TTL_SECONDS * 1000 ? "after" : "before"} the ${LEASE_TTL_SECONDS} s TTL`,
      v3Value: bHoldsAtMs < 0 ? "never" : `B holds ${bHoldsAtMs > LEASE_TTL_SECONDS * 1000 ? "after" : "before"} the ${LEASE_TTL_SECONDS} s TTL, as A's key goes`,
      holds: bHoldsAtMs > LEASE_TTL_SECONDS * 1000 && bHoldsAtMs === aKeyGoneAtMs && v2FreeAtMs > LEASE_TTL_SECONDS * 1000 && takeB2.ok,
    });
    ctx.claim({
      id: "unfenced-write-succeeds",
      claim: "without a fence, the old holder's write goes through and overwrites the new holder's",
      v2Value: plain2.ok ? "written" : plain2.error.errorCode,
      v3Value: plain3.ok ? "written" : plain3.error.message,
      holds: plain2.ok && plain3.ok,
    });
    ctx.claim({
      id: "fence-stops-old-holder",
      claim: "a v3 txn fenced on the lock key's create revision refuses the old holder and accepts the new one",
      v2Value: "no atomic cross-key fence",
      v3Value: `A ${fenced3.succeeded ? "accepted" : "refused"}, B ${fencedB3.succeeded ? "accepted" : "refused"}`,
      holds: !fenced3.succeeded && fencedB3.succeeded,
    });
    await sessionB.close();

    ctx.whatJustHappened(
      `A's lock was nothing but a key attached to A's lease. While A was paused, nobody renewed that lease; ${LEASE_TTL_SECONDS} s later etcd revoked it, deleting the key, and B, which was watching for exactly that DELETE, became the holder. A had no way to notice: it was paused, and when it resumed its plain write simply worked.`,
      `The fix is to make the protected write itself check the lock: in v3 a txn compares create(lockKey) with the revision A got when it locked (${mutexA.myRev}); that key is gone, so the compare fails and nothing is written, while B's (${mutexB.myRev}) passes. The revision doubles as a fencing token that only grows. v2 cannot do this: a compare-and-swap only checks the key it writes, so "check the lock, then write" leaves the same gap the pause fell into.`,
    );
    ctx.myth(
      "Holding an etcd lock guarantees that no one else is working.",
      "It guarantees that no one else holds the lock key right now. A paused holder can act after its lease is gone; only fenced writes (or a storage system that checks the token) make that harmless.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

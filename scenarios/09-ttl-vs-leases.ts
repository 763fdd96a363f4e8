/**
 * Lesson 9 · TTL keys vs leases.
 *
 *   v2: every key carries its own TTL               v3: keys hang on one lease
 *   /services/i-0000  ttl=10  ← refresh every 5 s    lease 694d… ttl=10  ← one keep-alive every 5 s
 *   /services/i-0001  ttl=10  ← refresh every 5 s      ├── services/i-0000
 *   …  ×1000                                          ├── …  ×1000
 *   stop refreshing → 1000 expire events,             stop → one revoke transaction:
 *                     1000 indexes                           1000 DELETE events, 1 revision
 *
 * A fleet of 1000 service instances registers itself and stays alive for a while, then the whole
 * fleet disappears (a zone goes down). Everything below is counted, not timed.
 */
import type { Lesson } from "./lesson.js";
import { utf8 } from "../shared/bytes.js";
import { advanceUntil, eventCount, inParallel, must, rangeOf } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";

export const KEYS = 1000;
export const TTL_SECONDS = 10;
/** Clients renew at half the TTL. (etcd's Go client sends keep-alives every TTL/3; the same period is used for both here.) */
export const PERIOD_MS = 5000;
export const ALIVE_MS = 30_000;

/**
 * Instances talking to etcd at once. Each instance is its own client; sending their 1000 requests
 * one by one would take longer than the TTL against an etcd a few ms away.
 */
export const IN_FLIGHT = 16;

const name = (i: number): string => `i-${String(i).padStart(4, "0")}`;

export const lesson: Lesson = {
  id: 9,
  slug: "ttl-vs-leases",
  title: "TTL keys vs leases",
  lesson: "v2 gives each key its own TTL, so a thousand live keys cost a thousand refresh writes per period and a thousand expire events when they die. v3 hangs the keys on one lease: one keep-alive per period, and one revoke transaction that deletes them all at one revision.",
  youWillSee: [
    `${KEYS} registration keys kept alive for ${ALIVE_MS / 1000} s, refreshed every ${PERIOD_MS / 1000} s`,
    "requests, index/revision advance and watch events, counted side by side for each phase",
    "the fleet dying: one expire event per key in v2, one revision carrying all the DELETEs in v3",
  ],
  tryChanging: ["KEYS", "PERIOD_MS (how many refreshes does v2 pay for?)", "TTL_SECONDS"],
  async run(ctx) {
    const target = await ctx.openTarget();
    const { v2, v3 } = target;
    const v2Counter = async (): Promise<number> => {
      const a = await v2.get("/");
      return a.ok ? a.value.etcdIndex : a.error.index;
    };
    const v3Counter = async (): Promise<number> => must(await v3.range(rangeOf("\0", { fromKey: true, revision: 0 })), "range").header.revision;

    // Watchers on the whole fleet, as a load balancer would hold.
    must(await v2.set("/services", "", { dir: true }), "mkdir");
    const watch2 = must(await v2.watch("/services", { recursive: true, stream: true }), "v2 watch");
    const watchersBefore = (await v2.stats()).watchers;
    const stream3 = await v3.watch();
    await stream3.send({ create_request: { key: utf8("services/"), range_end: utf8("services0") } });
    await stream3.take();

    interface Phase {
      label: string;
      requests2: number;
      requests3: number;
      counter2: number;
      counter3: number;
      events2: number;
      events3: number;
      responses3: number;
    }
    const phases: Phase[] = [];
    let v3Canceled = false;
    const phase = async (label: string, act: () => Promise<{ requests2: number; requests3: number }>): Promise<Phase> => {
      const c2 = await v2Counter();
      const c3 = await v3Counter();
      const requests = await act();
      const responses = await stream3.take();
      if (responses.some((r) => r.canceled)) v3Canceled = true;
      const p: Phase = {
        label,
        ...requests,
        counter2: (await v2Counter()) - c2,
        counter3: (await v3Counter()) - c3,
        events2: (await watch2.take()).length,
        events3: eventCount(responses),
        responses3: responses.filter((r) => r.events.length > 0).length,
      };
      phases.push(p);
      return p;
    };

    ctx.step(`Register ${KEYS} instances`, `v2: PUT /services/i-NNNN ttl=${TTL_SECONDS} for each. v3: one LeaseGrant(${TTL_SECONDS}), then a put per key with that lease. A watcher on the whole fleet, as a load balancer would hold (v2: a recursive stream watch on /services; v3: a watch on the prefix services/), counts the events each store delivers.`);
    let leaseId = 0n;
    // Refresh rounds are timed from here, so each key's next refresh comes PERIOD_MS after its last
    // write, however long the 2000 registration requests take over a network.
    const registeredFrom = target.now();
    await phase("register", async () => {
      await inParallel(KEYS, IN_FLIGHT, async (i) => {
        must(await v2.set(`/services/${name(i)}`, "10.0.0.1:8080", { ttlSeconds: TTL_SECONDS }), "set");
      });
      leaseId = must(await v3.leaseGrant({ TTL: TTL_SECONDS }), "grant").ID;
      await inParallel(KEYS, IN_FLIGHT, async (i) => {
        must(await v3.put({ key: utf8(`services/${name(i)}`), value: utf8("10.0.0.1:8080"), lease: leaseId }), "put");
      });
      return { requests2: KEYS, requests3: KEYS + 1 };
    });

    ctx.step(
      `Stay alive for ${ALIVE_MS / 1000} s`,
      `Every ${PERIOD_MS / 1000} s, v2 refreshes each key (PUT ttl=${TTL_SECONDS} refresh=true prevExist=true); v3 sends one LeaseKeepAlive.`,
    );
    const rounds = ALIVE_MS / PERIOD_MS;
    const alive = await phase(`keep alive ${ALIVE_MS / 1000} s`, async () => {
      let requests2 = 0;
      let requests3 = 0;
      // Rounds start every PERIOD_MS on the target's clock, however long a round's requests took.
      for (let round = 1; round <= rounds; round++) {
        await advanceUntil(target, registeredFrom + round * PERIOD_MS);
        must(await v3.leaseKeepAliveOnce({ ID: leaseId }), "keep-alive");
        requests3 += 1;
        await inParallel(KEYS, IN_FLIGHT, async (i) => {
          must(await v2.set(`/services/${name(i)}`, "", { ttlSeconds: TTL_SECONDS, refresh: true, prevExist: true }), "refresh");
          requests2 += 1;
        });
        ctx.progress(round, rounds + 1);
      }
      return { requests2, requests3 };
    });

    ctx.step("The fleet dies", `No more refreshes or keep-alives. Wait ${TTL_SECONDS + 2} s: v2's SYNC sweep expires the keys, v3's lessor expires the lease and revokes it.`);
    const expiry = await phase("expire", async () => {
      await target.advance((TTL_SECONDS + 2) * 1000);
      return { requests2: 0, requests3: 0 };
    });
    const left2 = await v2.get("/services", { recursive: true });
    const left3 = must(await v3.range(rangeOf("services/", { prefix: true })), "range");
    const stats = await v2.stats();
    ctx.progress(rounds + 1, rounds + 1);
    // The server's own count of registered watchers says whether it dropped the fleet watcher.
    const watchDropped = stats.watchers < watchersBefore;
    await watch2.close();
    await stream3.close();

    ctx.table(
      phases.flatMap((p) => [
        { label: `${p.label}: requests sent`, v2: p.requests2, v3: p.requests3 },
        { label: `${p.label}: index / revision advance`, v2: p.counter2, v3: p.counter3 },
        { label: `${p.label}: events received`, v2: p.events2, v3: `${p.events3} in ${p.responses3} ${p.responses3 === 1 ? "response" : "responses"}` },
      ]),
      { labelHeader: "phase", title: "Counted per phase" },
    );
    ctx.table(
      [
        { label: "keys left after expiry", v2: left2.ok ? String((left2.value.node.nodes ?? []).length) : `Error: ${left2.error.errorCode}`, v3: left3.count },
        { label: "v2 expireCount (stats)", v2: stats.expireCount, v3: "(no such counter)" },
        { label: "the fleet watcher after the expiry", v2: watchDropped ? "dropped by the server" : "still open", v3: v3Canceled ? "canceled by the server" : "still open" },
      ],
      { labelHeader: "" },
    );
    ctx.chart({
      id: "ttl-vs-leases",
      title: `Writes and events for ${KEYS} keys: TTL vs lease`,
      kind: "bars",
      xLabel: "phase",
      yLabel: "count",
      x: phases.map((p) => p.label),
      series: [
        { name: "v2 writes (index advance)", api: "v2", values: phases.map((p) => p.counter2) },
        { name: "v3 revisions", api: "v3", values: phases.map((p) => p.counter3) },
        { name: "v2 events received", api: "v2", values: phases.map((p) => p.events2) },
        { name: "v3 events received", api: "v3", values: phases.map((p) => p.events3) },
      ],
    });
    ctx.measure("aliveRequestsV2", alive.requests2);
    ctx.measure("aliveRequestsV3", alive.requests3);
    ctx.measure("aliveIndexAdvanceV2", alive.counter2);
    ctx.measure("aliveRevisionAdvanceV3", alive.counter3);
    ctx.measure("expiryIndexAdvanceV2", expiry.counter2);
    ctx.measure("expiryRevisionAdvanceV3", expiry.counter3);
    ctx.measure("expiryEventsV2", expiry.events2);
    ctx.measure("expiryEventsV3", expiry.events3);
    ctx.measure("expiryResponsesV3", expiry.responses3);

    ctx.claim({
      id: "keepalive-cost",
      claim: `keeping ${KEYS} keys alive for ${ALIVE_MS / 1000} s costs v2 one write per key per period and v3 one keep-alive per period and no revision`,
      v2Value: `${alive.requests2} writes, index +${alive.counter2}`,
      v3Value: `${alive.requests3} keep-alives, revision +${alive.counter3}`,
      holds: alive.requests2 === KEYS * rounds && alive.counter2 === KEYS * rounds && alive.requests3 === rounds && alive.counter3 === 0,
    });
    ctx.claim({
      id: "expiry-cost",
      claim: `when the fleet dies, v2 expires ${KEYS} keys as ${KEYS} events at ${KEYS} indexes; v3 deletes all ${KEYS} keys in one revoke at one revision`,
      v2Value: `expireCount ${stats.expireCount}, index +${expiry.counter2}`,
      v3Value: `${expiry.events3} events, revision +${expiry.counter3}`,
      holds: stats.expireCount === KEYS && expiry.counter2 === KEYS && expiry.events3 === KEYS && expiry.counter3 === 1 && left3.count === 0,
    });
    ctx.claim({
      id: "v2-watcher-overflows",
      claim: "the burst of expire events overflows a v2 stream watcher's 100-event buffer, and the server drops the watcher; the v3 watcher gets every DELETE",
      // The exact v2 count is a race in real etcd (its HTTP goroutine drains while the sweep runs):
      // in process exactly 100 arrive, a real etcd delivered 114 once. The table has the count.
      v2Value: `${expiry.events2 < KEYS ? "events lost" : "every event"}, watcher ${watchDropped ? "dropped" : "open"}`,
      v3Value: `${expiry.events3 === KEYS ? "every event" : "events lost"}, watcher open`,
      holds: expiry.events2 < KEYS && watchDropped && expiry.events3 === KEYS,
    });
    ctx.claim({
      id: "refresh-invisible",
      claim: "v2 refreshes use up indexes, yet watchers see none of them",
      v2Value: `index +${alive.counter2}, ${alive.events2} events`,
      v3Value: `revision +${alive.counter3}, ${alive.events3} events`,
      holds: alive.counter2 > 0 && alive.events2 === 0 && alive.events3 === 0,
    });

    ctx.whatJustHappened(
      `In v2 a TTL belongs to a key, so liveness is paid per key: ${alive.requests2} refresh writes in ${ALIVE_MS / 1000} s, each using an index (and a slot in the 1000-event history, pushing real changes out of it) though no watcher is told. When the fleet died, the SYNC sweep removed the keys one by one: ${expiry.counter2} indexes and ${stats.expireCount} expire events, produced in one burst. The fleet watcher's buffer holds 100 events; it received ${expiry.events2} and was then dropped by the server, so a load balancer relying on it would never hear about the rest.`,
      `In v3 a lease is its own object and keys merely point at it: ${alive.requests3} keep-alives, no revisions. When the lease expired, the lessor revoked it as one transaction: one revision, ${expiry.events3} DELETE events delivered to the watcher in ${expiry.responses3} ${expiry.responses3 === 1 ? "response" : "responses"}.`,
    );
    ctx.myth(
      "A lease is just v3's name for a TTL.",
      "A TTL is a property of one key; a lease is a separate object that any number of keys share, renewed and revoked as one. That is what turns O(keys) liveness traffic into O(1).",
    );
  },
};

await runIfMain(import.meta.url, lesson);

/**
 * Lesson 15 · Service registration: random keys vs ip:port keys.
 *
 *   t=0   instance starts, registers            t=15  it restarts (same host, same port)
 *
 *   random key:   /svc/3fa9c1d2 (ttl 30)         /svc/3fa9c1d2 still alive until t≈40  ← a ghost
 *                                                /svc/b07e44a1 (new id)
 *   ip:port key:  /svc/10.0.0.7:8080 (ttl 30)    /svc/10.0.0.7:8080 overwritten: still one entry
 *
 * The same happens in both APIs: in v3 the old lease keeps the old random key alive until it
 * expires, while a put of the ip:port key with the new lease moves the key to that lease, so the
 * old lease's expiry deletes nothing.
 */
import type { Lesson } from "./lesson.js";
import { utf8 } from "../shared/bytes.js";
import { advanceUntil, must, rangeOf } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";

export const TTL_SECONDS = 30;
export const REFRESH_MS = 10_000;
export const RESTART_AT_MS = 15_000;
export const OBSERVE_MS = 60_000;
export const SAMPLE_MS = 5000;
const ADDRESS = "10.0.0.7:8080";

export const lesson: Lesson = {
  id: 15,
  slug: "service-registration",
  title: "Service registration: random keys vs ip:port keys",
  lesson: "An instance that restarts inside its TTL leaves a ghost registration behind when its key is random, in v2 and v3 alike. A key derived from ip:port is overwritten instead, and no ghost appears.",
  youWillSee: [
    `one instance registering with a ${TTL_SECONDS} s TTL (v2) or lease (v3), restarting at t=${RESTART_AT_MS / 1000} s`,
    "how many instances a discovery client lists, every 5 s, for four designs",
    "why, in v3, the old lease's expiry does not delete an ip:port key that moved to a new lease",
  ],
  tryChanging: ["RESTART_AT_MS", "TTL_SECONDS (the ghost lives for about TTL minus the time since the last refresh)"],
  async run(ctx) {
    const target = await ctx.openTarget();
    const { v2, v3 } = target;
    const id1 = ctx.random.hex(8);
    const id2 = ctx.random.hex(8);

    ctx.step(
      "Register, refresh, restart, refresh",
      `Instance ids are random hex (seeded): ${id1} before the restart, ${id2} after. The ip:port design uses ${ADDRESS} both times. Refreshes every ${REFRESH_MS / 1000} s: v2 PUT refresh=true, v3 LeaseKeepAlive.`,
    );
    let lease1 = 0n;
    let lease2 = 0n;
    let ipLease1 = 0n;
    let ipLease2 = 0n;
    const samples: Record<string, number[]> = { "v2 random": [], "v2 ip:port": [], "v3 random": [], "v3 ip:port": [] };
    const times: string[] = [];
    const act = async (t: number): Promise<void> => {
      if (t === 0) {
        must(await v2.set(`/random/${id1}`, ADDRESS, { ttlSeconds: TTL_SECONDS }), "v2 register");
        must(await v2.set(`/ipport/${ADDRESS}`, id1, { ttlSeconds: TTL_SECONDS }), "v2 register");
        lease1 = must(await v3.leaseGrant({ TTL: TTL_SECONDS }), "grant").ID;
        ipLease1 = must(await v3.leaseGrant({ TTL: TTL_SECONDS }), "grant").ID;
        must(await v3.put({ key: utf8(`random/${id1}`), value: utf8(ADDRESS), lease: lease1 }), "put");
        must(await v3.put({ key: utf8(`ipport/${ADDRESS}`), value: utf8(id1), lease: ipLease1 }), "put");
      } else if (t === RESTART_AT_MS) {
        // The old process is gone without cleaning up; the new one registers afresh.
        must(await v2.set(`/random/${id2}`, ADDRESS, { ttlSeconds: TTL_SECONDS }), "v2 register");
        must(await v2.set(`/ipport/${ADDRESS}`, id2, { ttlSeconds: TTL_SECONDS }), "v2 register");
        lease2 = must(await v3.leaseGrant({ TTL: TTL_SECONDS }), "grant").ID;
        ipLease2 = must(await v3.leaseGrant({ TTL: TTL_SECONDS }), "grant").ID;
        must(await v3.put({ key: utf8(`random/${id2}`), value: utf8(ADDRESS), lease: lease2 }), "put");
        must(await v3.put({ key: utf8(`ipport/${ADDRESS}`), value: utf8(id2), lease: ipLease2 }), "put");
      } else if (t % REFRESH_MS === 0 && t < RESTART_AT_MS) {
        must(await v2.set(`/random/${id1}`, "", { ttlSeconds: TTL_SECONDS, refresh: true, prevExist: true }), "refresh");
        must(await v2.set(`/ipport/${ADDRESS}`, "", { ttlSeconds: TTL_SECONDS, refresh: true, prevExist: true }), "refresh");
        must(await v3.leaseKeepAliveOnce({ ID: lease1 }), "keep-alive");
        must(await v3.leaseKeepAliveOnce({ ID: ipLease1 }), "keep-alive");
      } else if ((t - RESTART_AT_MS) % REFRESH_MS === 0 && t > RESTART_AT_MS) {
        must(await v2.set(`/random/${id2}`, "", { ttlSeconds: TTL_SECONDS, refresh: true, prevExist: true }), "refresh");
        must(await v2.set(`/ipport/${ADDRESS}`, "", { ttlSeconds: TTL_SECONDS, refresh: true, prevExist: true }), "refresh");
        must(await v3.leaseKeepAliveOnce({ ID: lease2 }), "keep-alive");
        must(await v3.leaseKeepAliveOnce({ ID: ipLease2 }), "keep-alive");
      }
    };
    const count2 = async (dir: string): Promise<number> => {
      const answer = await v2.get(dir);
      return answer.ok ? (answer.value.node.nodes ?? []).length : 0;
    };
    const count3 = async (prefix: string): Promise<number> => must(await v3.range(rangeOf(prefix, { prefix: true })), "range").count;
    // Samples are taken halfway between two actions, so that neither the lesson's own requests
    // nor etcd's 500 ms expiry sweeps (whose phase a real etcd chooses) can move a key across a sample.
    // Both are timed from `start` on the target's clock, so the requests' own time never piles up.
    const start = target.now();
    for (let t = 0; t <= OBSERVE_MS; t += SAMPLE_MS) {
      if (t > 0) await advanceUntil(target, start + t);
      await act(t);
      await advanceUntil(target, start + t + SAMPLE_MS / 2);
      times.push(`${(t + SAMPLE_MS / 2) / 1000}s`);
      samples["v2 random"]?.push(await count2("/random"));
      samples["v2 ip:port"]?.push(await count2("/ipport"));
      samples["v3 random"]?.push(await count3("random/"));
      samples["v3 ip:port"]?.push(await count3("ipport/"));
      ctx.progress(t, OBSERVE_MS);
    }
    const ttl1 = await v3.leaseTimeToLive({ ID: ipLease1 });
    const ipKey = must(await v3.range(rangeOf(`ipport/${ADDRESS}`)), "range").kvs[0];

    const at = (series: string, i: number): number => samples[series]?.[i] ?? 0;
    ctx.table(
      times.map((t, i) => ({
        label: `t=${t}`,
        v2: `random: ${at("v2 random", i)}   ip:port: ${at("v2 ip:port", i)}`,
        v3: `random: ${at("v3 random", i)}   ip:port: ${at("v3 ip:port", i)}`,
      })),
      { labelHeader: "instances listed", title: "What a discovery client sees (one real instance throughout)" },
    );
    ctx.chart({
      id: "service-registration",
      title: "Instances listed for one real instance",
      kind: "lines",
      xLabel: "time",
      yLabel: "instances listed",
      x: times,
      series: Object.entries(samples).map(([name, values]) => ({ name, api: name.startsWith("v2") ? "v2" : "v3", values })),
      inText: false,
    });
    const ghostSeconds = (series: string): number => ((samples[series] ?? []).filter((n) => n > 1).length * SAMPLE_MS) / 1000;
    const ghost2 = ctx.measure("ghostSecondsV2Random", ghostSeconds("v2 random"));
    const ghost3 = ctx.measure("ghostSecondsV3Random", ghostSeconds("v3 random"));
    const ghostIp2 = ctx.measure("ghostSecondsV2IpPort", ghostSeconds("v2 ip:port"));
    const ghostIp3 = ctx.measure("ghostSecondsV3IpPort", ghostSeconds("v3 ip:port"));
    ctx.table(
      [
        { label: "seconds with a ghost (random keys)", v2: ghost2, v3: ghost3 },
        { label: "seconds with a ghost (ip:port keys)", v2: ghostIp2, v3: ghostIp3 },
        { label: "old lease of the ip:port key at the end", v2: "(no leases)", v3: ttl1.ok ? (ttl1.value.TTL === -1 ? "expired (TTL -1)" : `TTL ${ttl1.value.TTL}`) : ttl1.error.message },
        { label: "the ip:port key's lease at the end", v2: "(no leases)", v3: ipKey === undefined ? "(key gone)" : ipKey.lease === ipLease2 ? "the new lease" : "another lease" },
      ],
      { labelHeader: "" },
    );
    ctx.claim({
      id: "random-keys-ghost",
      claim: "with random keys, a restart inside the TTL lists the instance twice until the old TTL or lease runs out, in both APIs",
      v2Value: `${ghost2} s`,
      v3Value: `${ghost3} s`,
      holds: ghost2 > 0 && ghost3 > 0,
    });
    ctx.claim({
      id: "ipport-no-ghost",
      claim: "with ip:port keys the restart overwrites the key, and the old lease's expiry deletes nothing (the key moved to the new lease)",
      v2Value: `${ghostIp2} s`,
      v3Value: `${ghostIp3} s`,
      holds: ghostIp2 === 0 && ghostIp3 === 0 && ipKey !== undefined && ipKey.lease === ipLease2,
    });

    ctx.whatJustHappened(
      `With random ids, the restarted instance could not know its old key, so the old registration lived on until its TTL (v2) or its lease (v3) ran out: ${ghost2} s and ${ghost3} s of a ghost that load balancers would send traffic to.`,
      "With a key derived from what the instance is (its address), the restart wrote the same key. In v2 a set replaces the node, TTL and all. In v3 a put with a new lease detaches the key from its old lease, so when the old lease expired there was nothing left for it to delete.",
    );
    ctx.myth(
      "Leases fix stale registrations.",
      "Leases bound how long a stale registration lives, exactly like v2's TTLs do; only a stable key (or a client that revokes its old lease on shutdown) avoids the ghost.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

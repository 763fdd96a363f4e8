/**
 * The v2 store against the oracle: a seeded random sequence of operations (set, create, update,
 * compareAndSwap, delete, compareAndDelete, POST, get, and watches answered from the history) is
 * applied to `V2Store` directly and, as the equivalent HTTP request, to a real etcd 3.4. Every
 * answer must be the same JSON, after shifting real etcd's indexes down by the 3 it used for its
 * own membership writes (spec §1.5). The store counters must move alike too (getsFail excepted:
 * real etcd counts its own internal lookups there).
 *
 * This checks the store's semantics; the byte-level HTTP comparison (headers, status, parameters)
 * is the v2 HTTP differential suite's job.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../shared/clock.js";
import { Random } from "../../shared/random.js";
import { STATS_FIELDS, type StatsJSON } from "../../v2/stats.js";
import { V2Store } from "../../v2/store.js";
import { etcdAvailable, startEtcd, type RealEtcd } from "../support/realEtcd.js";

/** Indexes a fresh single-member etcd 3.4 has used before the first client write. */
const INTERNAL_WRITES = 3;
/** How long a watch must stay silent on real etcd to count as "no event in the history". */
const SILENCE_MS = 250;
const PATHS = ["/a", "/a/b", "/a/b/c", "/a/_h", "/c", "/c/d", "/_x/y", "/q", "/a/b/_z/w", "/a/../c/./d"];
const NOW = Date.UTC(2026, 0, 1);

/** Shifts every index in a real etcd body down to the simulator's numbering. */
function shiftIndexes(body: string): string {
  const shift = (n: string): number => (Number(n) === 0 ? 0 : Number(n) - INTERNAL_WRITES);
  return body
    .replace(/"(modifiedIndex|createdIndex|index)":(\d+)/g, (_m, field: string, n: string) => `"${field}":${shift(n)}`)
    .replace(/\[(\d+) != (\d+)\]/g, (_m, given: string, actual: string) => `[${shift(given)} != ${shift(actual)}]`)
    .replace(/\/(\d{20})/g, (_m, digits: string) => "/" + String(shift(digits)).padStart(20, "0"));
}

interface Step {
  readonly method: "GET" | "PUT" | "POST" | "DELETE" | "WATCH";
  readonly path: string;
  readonly query: string;
  readonly body?: string;
  readonly apply: () => unknown;
}

describe.skipIf(!etcdAvailable())("the v2 store compared with a real etcd 3.4", () => {
  let etcd: RealEtcd;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd.stop();
  });

  async function realStats(): Promise<StatsJSON> {
    return (await (await fetch(`${etcd.clientUrl}/v2/stats/store`)).json()) as StatsJSON;
  }

  async function realAnswer(step: Step): Promise<string> {
    const url = `${etcd.clientUrl}/v2/keys${step.path}${step.query}`;
    if (step.method === "WATCH") {
      // A watch the history cannot answer stays open: wait a little, then hang up.
      const controller = new AbortController();
      const answer = fetch(url, { signal: controller.signal })
        .then((response) => response.text())
        .then((text) => shiftIndexes(text.trim()), () => "no event");
      const result = await Promise.race([answer, sleep(SILENCE_MS).then(() => "no event")]);
      controller.abort();
      return result;
    }
    const init: RequestInit = { method: step.method };
    if (step.body !== undefined) {
      init.body = step.body;
      init.headers = { "Content-Type": "application/x-www-form-urlencoded" };
    }
    return shiftIndexes((await (await fetch(url, init)).text()).trim());
  }

  it("gives the same answer to 300 random operations (seed 20261121)", async () => {
    const random = new Random(20261121);
    const store = new V2Store();
    const pick = <T>(items: readonly T[]): T => items[random.int(0, items.length - 1)] as T;
    const baseline = await realStats();
    const mismatches: string[] = [];

    for (let i = 0; i < 300; i++) {
      const path = pick(PATHS);
      const dir = random.int(0, 3) === 0;
      const recursive = random.int(0, 1) === 0;
      const value = pick(["", "v1", "v2"]);
      const prevValue = pick(["v1", "v2"]);
      const index = store.index;
      const prevIndex = random.int(0, 1) === 0 ? 0 : Math.max(1, index - random.int(0, 3));
      const raw = (n: number): number => n + INTERNAL_WRITES;
      const steps: Step[] = [
        { method: "PUT", path, query: `?dir=${dir}`, body: `value=${value}`, apply: () => store.set(path, dir, value, {}, NOW) },
        { method: "PUT", path, query: `?prevExist=false&dir=${dir}`, body: `value=${value}`, apply: () => store.create(path, dir, value, false, {}, NOW) },
        { method: "PUT", path, query: "?prevExist=true", body: `value=${value}`, apply: () => store.update(path, value, {}, NOW) },
        {
          method: "PUT",
          path,
          query: `?prevValue=${prevValue}${prevIndex === 0 ? "" : `&prevIndex=${raw(prevIndex)}`}`,
          body: `value=${value}`,
          apply: () => store.compareAndSwap(path, prevValue, prevIndex, value, {}, NOW),
        },
        { method: "DELETE", path, query: `?dir=${dir}&recursive=${recursive}`, apply: () => store.delete(path, dir, recursive, NOW) },
        {
          method: "DELETE",
          path,
          query: `?prevValue=${prevValue}${prevIndex === 0 ? "" : `&prevIndex=${raw(prevIndex)}`}`,
          apply: () => store.compareAndDelete(path, prevValue, prevIndex, NOW),
        },
        { method: "POST", path, query: `?dir=${dir}`, body: `value=${value}`, apply: () => store.create(path, dir, value, true, {}, NOW) },
        { method: "GET", path, query: `?recursive=${recursive}&sorted=true`, apply: () => store.get(path, recursive, true, NOW) },
      ];
      if (index > 0) {
        const waitIndex = Math.max(1, index - random.int(0, 25));
        steps.push({
          method: "WATCH",
          path,
          query: `?wait=true&recursive=${recursive}&waitIndex=${raw(waitIndex)}`,
          apply: () => {
            const watcher = store.watch(path, recursive, false, waitIndex);
            const event = watcher.eventChan.take();
            watcher.remove();
            return event ?? "no event";
          },
        });
      }
      const step = pick(steps);
      let mine: string;
      try {
        const result = step.apply();
        mine = result === "no event" ? "no event" : JSON.stringify(result);
      } catch (error) {
        mine = JSON.stringify(error);
      }
      const real = await realAnswer(step);
      if (real !== mine) mismatches.push(`${step.method} ${step.path}${step.query} ${step.body ?? ""}\n  real: ${real}\n  sim:  ${mine}`);
    }

    expect(mismatches).toEqual([]);
    const after = await realStats();
    const mine = store.stats();
    for (const field of STATS_FIELDS) {
      if (field === "getsFail") continue;
      expect(mine[field], field).toBe(after[field] - baseline[field]);
    }
    store.checkInvariants();
  });
});

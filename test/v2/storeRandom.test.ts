/**
 * Random operation sequences against the v2 store (seeded through fast-check): after every step the
 * store's invariants hold, the index moves by exactly one per successful change (and by one per
 * expired node), failures change nothing but the stats, and at the end a snapshot round trip and a
 * clone reproduce the store exactly.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { Random } from "../../shared/random.js";
import { V2Store } from "../../v2/store.js";
import { V2Error } from "../../v2/v2error.js";

const PATHS = ["/", "/a", "/a/b", "/a/b/c", "/a/_h", "/c", "/c/d", "/_x/y", "/a/b/../e"];

function runRandom(seed: number, steps: number): void {
  const random = new Random(seed);
  const clock = new SimulatedClock();
  const store = new V2Store({ historyCapacity: 30 });
  const pick = <T>(items: readonly T[]): T => items[random.int(0, items.length - 1)] as T;
  const expiry = (): { expireTimeMs?: number; refresh?: boolean } => {
    const choice = random.int(0, 3);
    if (choice === 0) return {};
    if (choice === 1) return { expireTimeMs: clock.now() + random.int(0, 5) * 1000 };
    if (choice === 2) return { expireTimeMs: clock.now() + random.int(0, 5) * 1000, refresh: true };
    return { expireTimeMs: clock.now() + 250 };
  };
  const watchers = [];

  for (let step = 0; step < steps; step++) {
    const before = store.index;
    const savedBefore = store.save();
    const path = pick(PATHS);
    const now = clock.now();
    const operations = [
      () => store.set(path, random.int(0, 3) === 0, `v${step}`, expiry(), now),
      () => store.create(path, random.int(0, 3) === 0, `v${step}`, random.int(0, 3) === 0, expiry(), now),
      () => store.update(path, random.int(0, 1) === 0 ? "" : `u${step}`, expiry(), now),
      () => store.compareAndSwap(path, pick(["", "v1", `v${step - 1}`]), random.int(0, 1) === 0 ? 0 : Math.max(0, before - random.int(0, 2)), `c${step}`, expiry(), now),
      () => store.delete(path, random.int(0, 1) === 0, random.int(0, 1) === 0, now),
      () => store.compareAndDelete(path, pick(["", `v${step - 1}`]), random.int(0, 1) === 0 ? 0 : before, now),
      () => store.get(path, random.int(0, 1) === 0, random.int(0, 1) === 0, now),
      () => watchers.push(store.watch(path, random.int(0, 1) === 0, random.int(0, 1) === 0, random.int(0, before + 2))),
    ];
    const index = random.int(0, operations.length - 1);
    let failed: V2Error | undefined;
    try {
      (operations[index] as () => unknown)();
    } catch (error) {
      if (!(error instanceof V2Error)) throw error;
      failed = error;
    }
    if (failed !== undefined) {
      expect(store.index).toBe(before);
      expect(failed.index).toBe(before);
      // Nothing but the counters may change on a failure.
      const strip = (text: string): unknown => ({ ...(JSON.parse(text) as object), stats: null });
      expect(strip(store.save())).toEqual(strip(savedBefore));
    } else if (index <= 5) {
      expect(store.index).toBe(before + 1);
    } else {
      expect(store.index).toBe(before);
    }
    store.checkInvariants();

    if (random.int(0, 4) === 0) {
      clock.advance(random.int(0, 3000));
      const swept = store.deleteExpiredKeys(clock.now());
      expect(store.index).toBe(before + (failed !== undefined || index > 5 ? 0 : 1) + swept.length);
      store.checkInvariants();
    }
  }

  const recovered = new V2Store();
  recovered.recovery(store.save());
  recovered.checkInvariants();
  expect(recovered.save()).toBe(store.save());
  const copy = store.clone();
  copy.checkInvariants();
  expect(copy.tree()).toEqual(store.tree());
  clock.advance(10_000);
  expect(JSON.stringify(recovered.deleteExpiredKeys(clock.now()))).toBe(JSON.stringify(store.deleteExpiredKeys(clock.now())));
}

describe("random operation sequences", () => {
  it("keep every invariant, index rule and snapshot round trip", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => runRandom(seed, 150)),
      { numRuns: 40 },
    );
  });
});

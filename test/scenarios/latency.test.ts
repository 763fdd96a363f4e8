/**
 * The lessons run against a real etcd too (`--target`), where every request takes a round trip.
 * A lesson that times its samples by summing waits, or sends a thousand requests one by one inside
 * a TTL, tells a different story there. These runs put a simulated round trip on every request and
 * ask every headline claim to hold still.
 */
import { describe, expect, it } from "vitest";
import { LESSONS } from "../../scenarios/lessons.js";
import { runLessons } from "../../scenarios/runner.js";
import { latencyFactory } from "../support/latencyTarget.js";
import { SEED } from "./runAll.js";

describe("lessons over a slow network", () => {
  it.each([5, 40])("keep every headline claim when each request takes %i ms", async (latencyMs) => {
    const failing: string[] = [];
    for (const lesson of LESSONS) {
      const run = await runLessons([lesson], { seed: SEED, factory: latencyFactory(latencyMs) });
      for (const report of run.lessons) {
        for (const claim of report.claims) if (!claim.holds) failing.push(`${report.id}/${claim.id}: v2=${String(claim.v2Value)} v3=${String(claim.v3Value)}`);
      }
    }
    expect(failing).toEqual([]);
  });

  it("does charge the round trips to the simulated clock", async () => {
    const target = await latencyFactory(40).open(SEED);
    const before = target.now();
    await target.v2.set("/a", "1");
    await Promise.all([target.v2.set("/b", "1"), target.v2.set("/c", "1"), target.v3.status()]);
    expect(target.now() - before).toBe(80);
    await target.close();
  });
});

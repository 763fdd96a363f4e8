/**
 * An in-process target whose every request costs simulated time, as a network round trip to a real
 * etcd does. Lessons that sample on a timeline must give the same answers through it: a sample
 * placed right at a TTL boundary drifts across it once requests take time.
 *
 *   plain in-process:   put ─ put ─ advance(1000)                    clock 0 → 1000
 *   latency 15 ms:      put(15) ─ put(15) ─ advance(1000)            clock 0 → 1030
 *   20 puts at once:    all sent at 0, all answered at 15            clock 0 → 15
 *
 * Not a test file itself: the lesson tests import it.
 */
import { openInProcessTarget } from "../../scenarios/adapters/inProcess.js";
import type { Target, TargetFactory } from "../../scenarios/workload.js";

/** `client` with each method answered `latencyMs` after it is called, on the target's clock. */
function delayed<T extends object>(client: T, target: Target, latencyMs: number): T {
  return new Proxy(client, {
    get(inner, property, receiver) {
      const value: unknown = Reflect.get(inner, property, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        const due = target.now() + latencyMs;
        // Requests sent in the same turn travel together: the first to resume moves the clock.
        await Promise.resolve();
        const wait = due - target.now();
        if (wait > 0) await target.advance(wait);
        return (value as (...a: unknown[]) => unknown).apply(inner, args);
      };
    },
  });
}

export function latencyFactory(latencyMs: number): TargetFactory {
  return {
    description: `in-process, ${latencyMs} ms per request`,
    async open() {
      const target = openInProcessTarget();
      return { ...target, v2: delayed(target.v2, target, latencyMs), v3: delayed(target.v3, target, latencyMs) };
    },
  };
}

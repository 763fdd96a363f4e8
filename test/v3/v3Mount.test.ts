/**
 * server/v3Mount.ts: the v3 half of `npm run serve` starts its background tickers (lease expiry,
 * watch sync, victim retry, progress notify) on the server's clock, and stops them on close.
 */
import { describe, expect, it } from "vitest";
import { startEtcd } from "../../server/etcd.js";
import { v3Mount } from "../../server/v3Mount.js";
import { SimulatedClock, type Cancel, type Clock, type Ticker } from "../../shared/clock.js";

/** A simulated clock that counts the tickers still registered on it. */
class CountingClock implements Clock, Ticker {
  readonly inner = new SimulatedClock();
  active = 0;
  now(): number {
    return this.inner.now();
  }
  every(periodMs: number, task: () => void): Cancel {
    const cancel = this.inner.every(periodMs, task);
    this.active++;
    let cancelled = false;
    return () => {
      if (!cancelled) this.active--;
      cancelled = true;
      cancel();
    };
  }
}

describe("the v3 mount's background tickers", () => {
  it("registers the lease, watch-sync, victim, progress and auth-token tickers, and cancels every one on close", async () => {
    const clock = new CountingClock();
    const etcd = await startEtcd({ listenClientUrl: "http://127.0.0.1:0", clock, extraHandlers: [v3Mount()] });
    const v2Tickers = 1; // the v2 SYNC ticker
    expect(clock.active).toBe(v2Tickers + 5);
    await etcd.close();
    expect(clock.active).toBe(0);
  });

  it("expires a lease on the server's clock, through the lease-expiry ticker", async () => {
    const clock = new CountingClock();
    const etcd = await startEtcd({ listenClientUrl: "http://127.0.0.1:0", clock, extraHandlers: [v3Mount()] });
    try {
      const post = async (path: string, body: object): Promise<Record<string, unknown>> =>
        (await (await fetch(`${etcd.clientUrl}${path}`, { method: "POST", body: JSON.stringify(body) })).json()) as Record<string, unknown>;
      const grant = await post("/v3/lease/grant", { TTL: 2 });
      await post("/v3/kv/put", { key: "a2V5", value: "dg==", lease: grant["ID"] });
      clock.inner.advance(1_500);
      expect((await post("/v3/kv/range", { key: "a2V5" }))["count"]).toBe("1");
      clock.inner.advance(1_000);
      expect((await post("/v3/kv/range", { key: "a2V5" }))["count"]).toBeUndefined();
    } finally {
      await etcd.close();
    }
  });
});

/**
 * The in-process target: a v2 store and a v3 server on one simulated clock, both fresh on every
 * `open()`, as `npm start` runs them by default.
 *
 *   clock ── every 500 ms ─► v2 SYNC sweep (deleteExpiredKeys)
 *         └─ every 100 ms ─► v3 server tick (lease expiry, watcher catch-up, victims)
 *
 * `advance(ms)` moves the clock, so a lesson's "wait 12 s" runs the 24 sweeps and 120 ticks that
 * would have happened, instantly and in the same order every time.
 */
import { SimulatedClock } from "../../shared/clock.js";
import { V2Store } from "../../v2/store.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import type { RunTargetFactory, TargetProvider } from "../targets.js";
import type { Target } from "../workload.js";
import { startV2Sweep, V2LocalClient, v2LocalInternals } from "./v2Local.js";
import { startV3Ticks, V3LocalClient, v3LocalInternals } from "./v3Local.js";

/** The stores behind an in-process target, for observers that draw them (the classroom's lesson player). */
export interface InProcessStores {
  readonly clock: SimulatedClock;
  readonly store: V2Store;
  readonly server: EtcdServer;
}

/** A fresh in-process etcd: both stores, empty, at the simulated epoch. `onStores` sees them. */
export function openInProcessTarget(onStores?: (stores: InProcessStores) => void): Target {
  const clock = new SimulatedClock();
  const store = new V2Store();
  const server = new EtcdServer({ clock });
  onStores?.({ clock, store, server });
  const v2 = new V2LocalClient(store, clock);
  const stopSweep = startV2Sweep(store, clock, v2);
  const stopTicks = startV3Ticks(server, clock);
  return {
    description: "in-process",
    v2,
    v3: new V3LocalClient(server),
    async advance(ms) {
      clock.advance(ms);
    },
    now: () => clock.now(),
    v2Internals: v2LocalInternals(store, clock),
    v3Internals: v3LocalInternals(server),
    async close() {
      stopSweep();
      stopTicks();
    },
  };
}

export const inProcessFactory: RunTargetFactory = {
  description: "in-process",
  async open() {
    return openInProcessTarget();
  },
};

export const inProcessProvider: TargetProvider = {
  name: "in-process",
  handles: (spec) => spec === "in-process" || spec === "local",
  async open() {
    return inProcessFactory;
  },
};

/**
 * The injected clock both stores are driven by.
 *
 * etcd's v2store holds a `clockwork.Clock` and expires keys only when a SYNC request carries a
 * cutoff time; the v3 lessor checks leases against "now". etcdsim makes that explicit: nothing in
 * `v2/` or `v3/` reads the wall clock. A caller (a scenario, a test, or the server's ticker) reads a
 * `Clock` and passes the time in as data: `store.deleteExpiredKeys(clock.now())`.
 *
 * Two clocks exist:
 *   SimulatedClock: starts at a fixed epoch; time moves only when `advance(ms)` or `set(ms)` is called.
 *   RealClock:      wall time, plus real timers, for `npm run serve`.
 *
 * Invariant: `now()` never goes backwards on either clock.
 *   clock.set(5_000); clock.advance(1_000)  →  now() === 6_000;  clock.set(4_000) throws.
 */

/** Milliseconds since the Unix epoch. */
export interface Clock {
  now(): number;
}

/** A handle that stops a repeating task started by `Ticker.every`. */
export interface Cancel {
  (): void;
}

/** Something that can run a task every `periodMs` (the server's 500 ms SYNC loop). */
export interface Ticker {
  every(periodMs: number, task: () => void): Cancel;
}

/**
 * 2026-01-01T00:00:00Z: the simulated epoch. A fixed start makes expiration timestamps in
 * lesson output identical from run to run.
 */
export const SIMULATED_EPOCH_MS = Date.UTC(2026, 0, 1);

/** A clock that moves only when told to, and fires its tickers as it passes their deadlines. */
export class SimulatedClock implements Clock, Ticker {
  private nowMs: number;
  private readonly tasks = new Set<{ periodMs: number; nextMs: number; task: () => void }>();

  constructor(startMs: number = SIMULATED_EPOCH_MS) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  /** Moves time forward by `ms`, running due tickers in deadline order on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`Unable to travel back in time (advance by ${ms} ms)`);
    this.set(this.nowMs + ms);
  }

  /** Moves time to `ms`. Refuses to go backwards. */
  set(ms: number): void {
    if (ms < this.nowMs) throw new RangeError(`Unable to travel back in time (from ${this.nowMs} to ${ms})`);
    // Fire every due tick in deadline order, with the clock reading the tick's own deadline.
    for (;;) {
      let due: { periodMs: number; nextMs: number; task: () => void } | undefined;
      for (const t of this.tasks) if (t.nextMs <= ms && (due === undefined || t.nextMs < due.nextMs)) due = t;
      if (due === undefined) break;
      this.nowMs = due.nextMs;
      due.nextMs += due.periodMs;
      due.task();
    }
    this.nowMs = ms;
  }

  every(periodMs: number, task: () => void): Cancel {
    if (!(periodMs > 0)) throw new RangeError(`period must be positive, got ${periodMs}`);
    const entry = { periodMs, nextMs: this.nowMs + periodMs, task };
    this.tasks.add(entry);
    return () => this.tasks.delete(entry);
  }
}

/** Wall-clock time and real timers: used by the server only. */
export class RealClock implements Clock, Ticker {
  now(): number {
    return Date.now();
  }

  every(periodMs: number, task: () => void): Cancel {
    const handle = setInterval(task, periodMs);
    handle.unref?.();
    return () => clearInterval(handle);
  }

  /** Runs `task` once after `ms`; returns a cancel handle. The only one-shot timer in the project. */
  after(ms: number, task: () => void): Cancel {
    const handle = setTimeout(task, ms);
    return () => clearTimeout(handle);
  }
}

/** Waits `ms` of real time: for code that talks to real processes (the etcd launcher, the server). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

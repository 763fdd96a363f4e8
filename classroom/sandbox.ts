/**
 * The page console's sandbox: the console engine on in-process stores (a v2 store and a v3 server
 * on one simulated clock, scenarios/adapters/inProcess.ts), where `undo` works and the clock can be
 * frozen. etcd has no counterpart: a real etcd cannot un-write (a spent revision or v2 index stays
 * spent, and every watcher already saw the event), so the live console refuses undo and points here.
 *
 * The stores open at the first line, at time 0. From then the simulated clock follows the server's
 * clock while it runs: each `tick(nowMs)` moves it by the real time since the last tick, so a `--ttl 5` key counts down on the projector while the teacher
 * talks. `freeze()` stops it (nothing expires, no SYNC sweep, no lease tick) until `run()`.
 *
 * Undo is exact, time included: every line is recorded with the simulated time it ran at, and undo
 * replays the lines before the last command on fresh stores, moving the fresh clock to each line's
 * time before it, then to the time undo was asked at.
 *
 *   t=0      put foo bar            → OK            (rev 2)
 *   t=3000   v2 set /t x --ttl 10   → x             (expires at t=13000)
 *   t=5000   put foo baz            → OK            (rev 3)
 *   t=6000   undo                   → fresh stores; put foo bar at 0, v2 set at 3000, clock to 6000:
 *                                     foo=bar at rev 2, /t still expires at 13000
 */
import { openInProcessTarget, type InProcessStores } from "../scenarios/adapters/inProcess.js";
import { ConsoleEngine } from "../scenarios/script/consoleEngine.js";
import type { ConsoleResult } from "./console.js";
import { storesFrame } from "./observer.js";
import type { Frame } from "./viewModel.js";

/** Lines that change nothing, so undo steps over them to the command before (the engine's rule). */
const NOT_A_COMMAND = /^(#|expect\s|undo$|help$|jobs$)/;

/** What the page shows of the sandbox. */
export interface SandboxView {
  readonly frozen: boolean;
  /** Simulated milliseconds since the sandbox opened. */
  readonly clockMs: number;
  /** Lines run so far (what undo would replay). */
  readonly lines: number;
  readonly frame: Frame;
}

/** One console on in-process stores; see the file header. */
export class Sandbox {
  private engine: ConsoleEngine | undefined;
  private stores: InProcessStores | undefined;
  /** The simulated clock's reading when the stores opened (the in-process epoch). */
  private epochMs = 0;
  /** Every line run, with the simulated time it ran at. */
  private readonly session: Array<{ atMs: number; line: string }> = [];
  private frozen = false;
  private lastTickMs: number | undefined;
  /** Commands run one at a time, so a tick never lands inside a replay. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Moves the simulated clock by the server time since the last tick, unless frozen. */
  tick(serverNowMs: number): void {
    const elapsed = this.lastTickMs === undefined ? 0 : serverNowMs - this.lastTickMs;
    this.lastTickMs = serverNowMs;
    if (this.frozen || this.stores === undefined || elapsed <= 0) return;
    this.stores.clock.advance(elapsed);
  }

  freeze(): void {
    this.frozen = true;
  }

  run(): void {
    this.frozen = false;
  }

  isFrozen(): boolean {
    return this.frozen;
  }

  /** Runs one console line on the sandbox's stores; `undo` replays (see the file header). */
  input(line: string): Promise<ConsoleResult> {
    const next = this.queue.then(() => this.inputNow(line.trim()));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Both stores as one reset frame, at the simulated clock's time. */
  async view(): Promise<SandboxView> {
    await this.queue;
    const stores = await this.open();
    const frame = storesFrame({ v2: stores.store, v3: stores.server, clock: stores.clock });
    return { frozen: this.frozen, clockMs: stores.clock.now() - this.epochMs, lines: this.session.length, frame: { ...frame, nowMs: stores.clock.now() } };
  }

  /** Empties the sandbox: fresh stores at time 0, nothing to undo. */
  async reset(): Promise<void> {
    await this.queue;
    await this.engine?.close();
    this.engine = undefined;
    this.stores = undefined;
    this.session.length = 0;
  }

  async close(): Promise<void> {
    await this.reset();
  }

  private async inputNow(line: string): Promise<ConsoleResult> {
    if (line === "undo") return this.undo();
    const stores = await this.open();
    this.session.push({ atMs: stores.clock.now(), line });
    return this.runLine(line);
  }

  private async runLine(line: string): Promise<ConsoleResult> {
    const printed = await (this.engine as ConsoleEngine).input(line);
    return { ok: !printed.some((entry) => entry.stream === "err"), output: printed.map((entry) => entry.text).join("\n") };
  }

  private async undo(): Promise<ConsoleResult> {
    let last = this.session.length - 1;
    while (last >= 0 && NOT_A_COMMAND.test((this.session[last] as { line: string }).line)) last--;
    if (last < 0) return { ok: true, output: "nothing to undo" };
    const undone = (this.session[last] as { line: string }).line;
    const keep = this.session.slice(0, last);
    const nowMs = this.stores?.clock.now() ?? 0;
    await this.engine?.close();
    this.engine = undefined;
    this.stores = undefined;
    this.session.length = 0;
    const stores = await this.open();
    for (const entry of keep) {
      if (entry.atMs > stores.clock.now()) stores.clock.set(entry.atMs);
      this.session.push(entry);
      await this.runLine(entry.line);
    }
    if (nowMs > stores.clock.now()) stores.clock.set(nowMs);
    return { ok: true, output: `undid: ${undone} (replayed ${keep.length} line${keep.length === 1 ? "" : "s"} on fresh stores, each at its own time)` };
  }

  private async open(): Promise<InProcessStores> {
    if (this.engine === undefined || this.stores === undefined) {
      let opened: InProcessStores | undefined;
      this.engine = await ConsoleEngine.open({ open: async () => openInProcessTarget((stores) => (opened = stores)), replayable: true });
      if (opened === undefined) throw new Error("the in-process target did not open");
      this.stores = opened;
      this.epochMs = opened.clock.now();
    }
    return this.stores;
  }
}

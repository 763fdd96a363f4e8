/**
 * The page's console: the project's console engine (scenarios/script/consoleEngine.ts) pointed at
 * this server's own client port, as a student's etcdctl would be. etcd's counterpart is etcdctl
 * itself (`etcdctl/ctlv3`, `etcdctl/ctlv2`); the engine prints what they print, so this file only
 * connects it:
 *
 *   etcdctl put foo bar                      →  OK                (v3 over gRPC)
 *   ETCDCTL_API=2 etcdctl set /foo bar       →  bar               (v2 over HTTP: on the timeline)
 *   etcdctl get foo --rev=1                  →  Error: etcdserver: mvcc: required revision has been compacted
 *
 * The target is taken as it is (`asIs`): nothing is emptied or rebased, indexes and revisions are the
 * server's own. `undo` is refused here, in words a class understands: a real etcd cannot un-write
 * (the revision or v2 index is spent, and every watcher already saw the event), so the answer
 * points to the page's sandbox (sandbox.ts), where the same lines run on in-process stores and
 * undo replays them. One console serves every page; the engine is opened on the first command.
 */
import { RealEtcdTargetFactory } from "../scenarios/adapters/realEtcd.js";
import { ConsoleEngine } from "../scenarios/script/consoleEngine.js";

/** What the console prints for one line. */
export interface ConsoleResult {
  /** False when etcdctl would have printed on stderr. */
  readonly ok: boolean;
  readonly output: string;
}

/** What `undo` answers on the live server (etcdctl has no undo; this is the console's own voice). */
export const LIVE_UNDO_REFUSAL =
  "Error: undo cannot un-write a live etcd: the write spent its revision (v3) or index (v2), and every watcher has already seen it. " +
  "To take a write back, write again (put the old value, or delete). To try things with undo, switch the console to the sandbox.";

/** A console on one server's client port; see the file header. */
export class ClassroomConsole {
  private engine: Promise<ConsoleEngine> | undefined;
  private factory: RealEtcdTargetFactory | undefined;

  constructor(private readonly clientUrl: string) {}

  /** Runs one line; never throws for bad input (etcdctl's own error text comes back). */
  async run(line: string): Promise<ConsoleResult> {
    if (line.trim() === "undo") return { ok: false, output: LIVE_UNDO_REFUSAL };
    this.engine ??= this.open();
    const printed = await (await this.engine).input(line);
    return { ok: !printed.some((entry) => entry.stream === "err"), output: printed.map((entry) => entry.text).join("\n") };
  }

  async close(): Promise<void> {
    if (this.engine === undefined) return;
    await (await this.engine).close();
    await this.factory?.close();
  }

  private open(): Promise<ConsoleEngine> {
    const factory = new RealEtcdTargetFactory({ endpoints: [this.clientUrl], asIs: true });
    this.factory = factory;
    return ConsoleEngine.open({ open: () => factory.open(0), replayable: false });
  }
}

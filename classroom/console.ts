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
 * server's own. `undo` is refused here: the live stores cannot be replayed (the lesson player can).
 * One console serves every page; the engine is opened on the first command.
 */
import { RealEtcdTargetFactory } from "../scenarios/adapters/realEtcd.js";
import { ConsoleEngine } from "../scenarios/script/consoleEngine.js";

/** What the console prints for one line. */
export interface ConsoleResult {
  /** False when etcdctl would have printed on stderr. */
  readonly ok: boolean;
  readonly output: string;
}

/** A console on one server's client port; see the file header. */
export class ClassroomConsole {
  private engine: Promise<ConsoleEngine> | undefined;
  private factory: RealEtcdTargetFactory | undefined;

  constructor(private readonly clientUrl: string) {}

  /** Runs one line; never throws for bad input (etcdctl's own error text comes back). */
  async run(line: string): Promise<ConsoleResult> {
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

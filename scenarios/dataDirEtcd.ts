/**
 * Mirrors etcd release-3.4 `embed/etcd.go` as lesson 13 uses it: one etcdsim member on a data dir of
 * its own (the code `npm run serve` runs: WAL, `.snap` files, the LMDB backend), reached through the
 * same workload interface as a real etcd (`RealEtcdTargetFactory` over loopback HTTP and gRPC).
 *
 * The clock is simulated, so nothing happens behind the lesson's back: the backend commits only when
 * the lesson lets 100 ms pass (`commitBackend`) or a snapshot forces it, and every byte count is the
 * same on every run. The data dir is made under the OS temp dir and removed by `remove()`.
 *
 *   const member = await DataDirEtcd.start({ snapshotCount: 100 });
 *   await member.target.v3.put({ key: utf8("k"), value: utf8("v") });
 *   member.walBytes();          // bytes appended to member/wal since start
 *   await member.kill();        // as kill -9: nothing committed or synced on the way out
 *   const again = await member.restart();   // the same dir, recovered as etcd recovers it
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedClock } from "../shared/clock.js";
import { startEtcd, type RunningEtcd } from "../server/etcd.js";
import { dataDirLayout } from "../server/storage.js";
import { v3Mount } from "../server/v3Mount.js";
import type { Member } from "../server/member.js";
import { RealEtcdTargetFactory } from "./adapters/realEtcd.js";
import type { Target } from "./workload.js";

/** etcd's default --advertise-client-urls. */
const ADVERTISED_CLIENT_URL = "http://localhost:2379";

export interface DataDirEtcdOptions {
  readonly snapshotCount: number;
  /** An existing data dir to reopen; default: a new one under the OS temp dir. */
  readonly dir?: string;
}

/** One `.snap` file: its name and size. */
export interface SnapFile {
  readonly name: string;
  readonly bytes: number;
}

export class DataDirEtcd {
  /** Members started and not yet stopped, and the data dirs `start` made and `remove` has not removed. */
  private static readonly running = new Set<DataDirEtcd>();
  private static readonly madeDirs = new Set<string>();

  private constructor(
    readonly dir: string,
    readonly etcd: RunningEtcd,
    readonly member: Member,
    readonly target: Target,
    private readonly clock: SimulatedClock,
    private readonly snapshotCount: number,
  ) {}

  static async start(options: DataDirEtcdOptions): Promise<DataDirEtcd> {
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), "etcdsim-lesson13-"));
    if (options.dir === undefined) DataDirEtcd.madeDirs.add(dir);
    const clock = new SimulatedClock();
    // The port is picked at random; the URL logged in the member's attributes is etcd's default
    // advertise URL instead, so the WAL's bytes (and its rolling CRC, whose varint length varies)
    // are the same on every run.
    const etcdOptions = { listenClientUrl: "http://127.0.0.1:0", advertiseClientUrls: [ADVERTISED_CLIENT_URL], dataDir: dir, snapshotCount: options.snapshotCount, clock, log: () => {} };
    const etcd = await startEtcd({ ...etcdOptions, extraHandlers: [v3Mount(etcdOptions)] });
    if (etcd.member === undefined) throw new Error("a data dir member has no member");
    // Each open sees an etcd it did not write to, so it would refuse; this one is ours alone.
    const target = await new RealEtcdTargetFactory({ endpoints: [etcd.clientUrl], asIs: true }).open(0);
    const started = new DataDirEtcd(dir, etcd, etcd.member, target, clock, options.snapshotCount);
    DataDirEtcd.running.add(started);
    return started;
  }

  /**
   * Stops every member still running (as kill -9) and removes every data dir `start` made: what a
   * lesson calls last, so a step that threw leaves nothing behind in the temp dir.
   */
  static async removeLeftovers(): Promise<void> {
    for (const member of [...DataDirEtcd.running]) await member.kill();
    for (const dir of DataDirEtcd.madeDirs) rmSync(dir, { recursive: true, force: true });
    DataDirEtcd.madeDirs.clear();
  }

  /**
   * Sets v2 keys straight through the member's log (logged, synced in groups, applied: the files end
   * up as after the same PUTs over HTTP, without the HTTP round trips), for loading big stores fast.
   */
  async loadV2(paths: readonly string[], value: string): Promise<void> {
    const request = { method: "PUT", value, dir: false, prevValue: "", prevIndex: 0, prevExist: undefined, wait: false, waitIndex: 0, recursive: false, sorted: false, quorum: false, stream: false, refresh: undefined, expireTimeMs: undefined, noValueOnSuccess: false };
    await Promise.all(paths.map((path) => this.member.proposeV2({ ...request, path })));
  }

  /** Bytes appended to the WAL since this member opened the dir. */
  walBytes(): number {
    return this.member.dir.wal.bytesWritten;
  }

  /** The `.snap` files in member/snap, oldest first. */
  snapFiles(): SnapFile[] {
    const snapDir = dataDirLayout(this.dir).snapDir;
    return readdirSync(snapDir)
      .filter((name) => name.endsWith(".snap"))
      .sort()
      .map((name) => ({ name, bytes: statSync(join(snapDir, name)).size }));
  }

  /** The backend file's size in bytes (member/snap/db). */
  dbFileBytes(): number {
    return statSync(dataDirLayout(this.dir).dbPath).size;
  }

  /** Lets the 100 ms batch interval pass: the backend commits what is pending. */
  commitBackend(): void {
    this.clock.advance(100);
  }

  /** As `kill -9`: connections dropped, no backend commit, no WAL sync, no snapshot. */
  async kill(): Promise<void> {
    DataDirEtcd.running.delete(this);
    await this.target.close();
    await this.etcd.kill();
  }

  /** A clean stop (etcd's SIGTERM): the backend commits, the WAL is synced and closed. */
  async close(): Promise<void> {
    DataDirEtcd.running.delete(this);
    await this.target.close();
    await this.etcd.close();
  }

  /** Starts a new member on the same data dir (after kill or close). */
  restart(): Promise<DataDirEtcd> {
    return DataDirEtcd.start({ snapshotCount: this.snapshotCount, dir: this.dir });
  }

  /** Removes the data dir (after kill or close). */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
    DataDirEtcd.madeDirs.delete(this.dir);
  }
}

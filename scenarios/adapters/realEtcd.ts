/**
 * Mirrors etcd release-3.4 `clientv3/client.go` (a client holding its endpoints) for the lessons:
 * a `TargetFactory` whose targets are one real etcd, or a cluster, reached over the network.
 *
 * v2 goes to the `/v2/keys` HTTP API (`realEtcdV2.ts`), v3 to the gRPC API (`realEtcdV3.ts`). Time is
 * real: `advance(ms)` waits `ms`, so leases and TTL keys expire the way they do in production, by
 * etcd's own timers (the v2 SYNC sweep every 500 ms, the lessor's check every 500 ms).
 *
 * A lesson expects each `openTarget()` to give it a fresh, empty etcd. A real etcd cannot be made
 * new, so each open makes it look new:
 *   1. every lease is revoked and every v3 key deleted (a range "\0".."\0");
 *   2. every top-level v2 node is deleted recursively, including hidden ones this factory wrote
 *      (a listing of "/" leaves hidden nodes out, so the factory remembers their names);
 *   3. the current v2 index and v3 revision are read, and the clients show everything relative to
 *      them, so the next write gets the index and revision a fresh in-process store would give it.
 *
 *   fresh in-process store: v2 index 3, v3 revision 1          (`FreshCounters`)
 *   real etcd after clean-up: v2 index 57, v3 revision 212
 *   → indexOffset 54, revisionOffset 211; the lesson's first v3 put reports revision 2 on both.
 *
 * Because open() empties the key space, the factory refuses an etcd that holds data it did not
 * write (unless told `wipe: true`), and refuses to have two targets open at once (they would share
 * one key space, and the second open would empty the first).
 */
import { RealClock, sleep } from "../../shared/clock.js";
import type { Target, TargetFactory, V2StoreStats } from "../workload.js";
import { RealEtcdV3Client } from "./realEtcdGrpc.js";
import { readV2Stats, RealEtcdV2Client, type WatchSettle } from "./realEtcdV2.js";
import { RealEtcdV3Adapter } from "./realEtcdV3.js";

/** The v2 index and v3 revision of a fresh store: what the lessons' numbers are relative to. */
export interface FreshCounters {
  v2Index: number;
  v3Revision: number;
}

/**
 * A fresh single-member etcd 3.4 has spent v2 indexes 1-3 on its membership writes (v2.md §1.5), and
 * a fresh v3 store is at revision 1 (v3.md §2).
 */
export const REAL_ETCD_FRESH: FreshCounters = { v2Index: 3, v3Revision: 1 };

export interface RealEtcdTargetOptions {
  /** Client URLs, e.g. ["http://127.0.0.1:2379"]; several for a cluster. v2 uses the first. */
  endpoints: readonly string[];
  /** What a fresh store of the simulator shows, so real numbers can be shown on the same scale. */
  fresh?: FreshCounters;
  /** Allow emptying an etcd that already holds keys or leases. */
  wipe?: boolean;
  /**
   * Take the etcd as it is (the console against someone's etcd): nothing is checked or emptied, and
   * indexes and revisions are shown as that etcd counts them, not rebased.
   */
  asIs?: boolean;
  watchSettle?: WatchSettle;
}

/** Thrown by `open()` when the etcd holds data the factory did not write and `wipe` is not set. */
export class TargetNotEmptyError extends Error {}

/** Thrown by `open()` while another target of the same factory is still open. */
export class TargetBusyError extends Error {}

/** A `TargetFactory` over a real etcd; `close()` ends its gRPC connections. */
export class RealEtcdTargetFactory implements TargetFactory {
  readonly description: string;
  private readonly grpc: RealEtcdV3Client;
  private readonly fresh: FreshCounters;
  /** Top-level v2 names written through this factory: hidden ones (`/_x`) are not listed by GET /. */
  private readonly v2Names = new Set<string>();
  private openTarget: Target | undefined;
  private checkedEmpty = false;
  private readonly clock = new RealClock();

  constructor(private readonly options: RealEtcdTargetOptions) {
    if (options.endpoints.length === 0) throw new RangeError("a real etcd target needs at least one endpoint");
    this.grpc = new RealEtcdV3Client(options.endpoints);
    this.fresh = options.fresh ?? REAL_ETCD_FRESH;
    this.description = `etcd at ${options.endpoints.join(",")}`;
  }

  /** The etcd version the first endpoint reports, e.g. "3.4.23". */
  async version(): Promise<string> {
    return (await this.grpc.status()).version;
  }

  async open(_seed: number): Promise<Target> {
    if (this.openTarget !== undefined) {
      throw new TargetBusyError("a real etcd gives one lesson one key space: this lesson needs two fresh etcds open at once");
    }
    if (this.options.asIs !== true) {
      if (!this.checkedEmpty && this.options.wipe !== true) await this.checkEmpty();
      this.checkedEmpty = true;
      await this.empty();
    }

    const endpoint = this.options.endpoints[0] as string;
    const root = await fetch(`${endpoint}/v2/keys/`);
    await root.body?.cancel();
    const indexNow = Number(root.headers.get("x-etcd-index"));
    const revisionNow = (await this.grpc.range({ key: new Uint8Array([0]), range_end: new Uint8Array([0]), count_only: true })).header.revision;
    const statsBaseline: V2StoreStats = await readV2Stats(endpoint);

    const settle = this.options.watchSettle === undefined ? {} : { watchSettle: this.options.watchSettle };
    const asIs = this.options.asIs === true;
    const v2 = new RealEtcdV2Client(endpoint, {
      indexOffset: asIs ? 0 : indexNow - this.fresh.v2Index,
      statsBaseline,
      onWrite: (name) => this.v2Names.add(name),
      ...settle,
    });
    const v3 = new RealEtcdV3Adapter(this.grpc, { revisionOffset: asIs ? 0 : revisionNow - this.fresh.v3Revision, ...settle });
    const target: Target = {
      description: this.description,
      v2,
      v3,
      advance: (ms) => sleep(ms),
      now: () => this.clock.now(),
      close: async () => {
        await v2.close();
        await v3.close();
        if (this.openTarget === target) this.openTarget = undefined;
      },
    };
    this.openTarget = target;
    return target;
  }

  /** Closes the open target, leaves the etcd as empty as it was found, and ends the connections. */
  async close(): Promise<void> {
    await this.openTarget?.close();
    try {
      if (this.checkedEmpty) await this.empty();
    } finally {
      this.grpc.close();
    }
  }

  /** Refuses to empty an etcd holding keys or leases that the lessons did not put there. */
  async checkEmpty(): Promise<void> {
    const endpoint = this.options.endpoints[0] as string;
    const keys = (await this.grpc.range({ key: new Uint8Array([0]), range_end: new Uint8Array([0]), count_only: true })).count;
    const leases = (await this.grpc.leaseLeases()).leases.length;
    const root = (await (await fetch(`${endpoint}/v2/keys/`)).json()) as { node?: { nodes?: unknown[] } };
    const nodes = root.node?.nodes?.length ?? 0;
    if (keys + leases + nodes > 0) {
      throw new TargetNotEmptyError(
        `${this.description} is not empty (${keys} v3 keys, ${leases} leases, ${nodes} top-level v2 nodes). ` +
          "Lessons empty the key space before each run: point them at an etcd of their own (a fresh --data-dir).",
      );
    }
  }

  /** Steps 1 and 2 of the file comment: no leases, no v3 keys, no v2 nodes. */
  private async empty(): Promise<void> {
    for (const lease of (await this.grpc.leaseLeases()).leases) {
      try {
        await this.grpc.leaseRevoke({ ID: lease.ID });
      } catch {
        // expired between the listing and the revoke
      }
    }
    await this.grpc.deleteRange({ key: new Uint8Array([0]), range_end: new Uint8Array([0]) });

    const endpoint = this.options.endpoints[0] as string;
    const root = (await (await fetch(`${endpoint}/v2/keys/`)).json()) as { node?: { nodes?: { key: string }[] } };
    const names = new Set(this.v2Names);
    for (const node of root.node?.nodes ?? []) names.add(node.key.replace(/^\//, ""));
    for (const name of names) {
      const response = await fetch(`${endpoint}/v2/keys/${encodeURIComponent(name)}?recursive=true`, { method: "DELETE" });
      await response.body?.cancel();
    }
  }
}

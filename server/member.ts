/**
 * Mirrors etcd release-3.4 `etcdserver/server.go` for a member with a data dir: one log shared by the
 * v2 and v3 APIs, the replay at start, the start-up entries, snapshots and the purge.
 *
 *   start      open the data dir (storage.ts); load the v2 store from the snapshot; replay the entries
 *              after it: v2 always, v3 only past the backend's consistent_index
 *   start-up   a new member logs what etcd logs (datadir.md §4.5): ConfChange AddNode (term 1, index 1),
 *              the new leader's empty entry (term 2, index 2), its attributes (index 3) and the cluster
 *              version (index 4), so a fresh member's raft index is 4 as a real one's. A restart logs
 *              an empty entry in the next term and the attributes again: raft index + 2 per restart.
 *   snapshot   once more than --snapshot-count entries were applied since the last one: commit the
 *              backend (db index ≥ snapshot index), write the `.snap`, log its snapshot record, and let
 *              the purge remove WAL segments wholly before it
 *   purge      every 30 s: at most --max-snapshots `.snap` files and --max-wals unneeded segments
 *   backend    committed every 100 ms (--backend-batch-interval) when anything is pending
 *
 * The start-up entries are applied as etcd applies them, live and on replay alike: the ConfChange and
 * the two PUTs write the membership records into the v2 store's internal `/0` (membershipStore.ts),
 * so a fresh member's `X-Etcd-Index` is 3 and its first write gets v2 index 4, as a real one's; each
 * restart's attributes PUT adds one more v2 index.
 */
import type { Clock, Ticker, Cancel } from "../shared/clock.js";
import { applyKeyRequest, type KeyRequest, type KeyResponse, type RaftStatus } from "../v2/http.js";
import type { Store } from "../v2/store.js";
import { LeaseIdGenerator } from "../v3/leaseIdGenerator.js";
import { ETCD_CLUSTER_VERSION } from "./base.js";
import { decodeV2Request, decodeV3Entry, encodeV2Request, isV3Entry } from "./etcdserverpb.js";
import { memberContextJson, type ClusterInfo } from "./membership.js";
import { ConfChangeType, decodeConfChange, encodeConfChange, EntryType, type ConfChange } from "./raftpb.js";
import { attributesJson, CLUSTER_VERSION_KEY } from "./membershipStore.js";
import { applyConfChange } from "./confChange.js";
import type { Member as MemberRecord } from "../v3/rpc.js";
import { RaftNode } from "./raft.js";
import { openDataDir, type OpenDataDirOptions, type OpenedDataDir } from "./storage.js";
import { applyV2Request, syncRequest, toAuthRequest, toV2Request } from "./v2Request.js";
import type { AuthRecord } from "../v2/v2auth/store.js";
import { applyV3Entry, type LoggedV3Api } from "./v3Server.js";
import { DEFAULT_BATCH_INTERVAL_MS } from "./backend/backend.js";

/** etcd's `--max-snapshots` and `--max-wals` defaults. */
export const DEFAULT_MAX_SNAPSHOTS = 5;
export const DEFAULT_MAX_WALS = 5;
/** How often etcd's purge loops wake. */
export const PURGE_INTERVAL_MS = 30_000;

export interface MemberOptions extends OpenDataDirOptions {
  readonly dataDir: string;
  readonly store: Store;
  readonly clock: Clock & Ticker;
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly snapshotCount: number;
  readonly maxSnapshots?: number;
  readonly maxWals?: number;
  readonly backendBatchIntervalMs?: number;
  /** Report lines (recovery, snapshots, purges); default: stderr. */
  readonly log?: (line: string) => void;
}

/** Counters for the group-commit and durability figures. */
export interface MemberStats {
  readonly proposals: number;
  readonly walSyncs: number;
  readonly backendCommits: number;
  readonly snapshots: number;
}

/** A member whose state lives in a data dir. */
export class Member {
  readonly node: RaftNode;
  readonly dir: OpenedDataDir;
  /** What the v2 handler shows in X-Raft-Index / X-Raft-Term: the log's applied index and this term. */
  readonly raft: RaftStatus;
  readonly term: number;
  private v3: LoggedV3Api | undefined;
  private readonly requestIds: LeaseIdGenerator;
  private lastSnapshotIndex: number;
  private snapshots = 0;
  private syncInFlight = false;
  private readonly cancels: Cancel[] = [];
  private readonly log: (line: string) => void;

  constructor(private readonly options: MemberOptions) {
    this.log = options.log ?? ((line) => process.stderr.write(`etcdsim: ${line}\n`));
    this.dir = openDataDir(options.dataDir, { nodeId: options.memberId, clusterId: options.clusterId }, options);
    for (const line of this.dir.log) this.log(line);
    const snapshot = this.dir.snapshot;
    if (snapshot !== undefined) options.store.recovery(Buffer.from(snapshot.data).toString("utf8"));
    this.lastSnapshotIndex = snapshot?.index ?? 0;
    const entries = this.dir.entries;
    const lastIndex = entries.length > 0 ? (entries[entries.length - 1] as { index: number }).index : this.lastSnapshotIndex;
    // A new member leads in term 2 (term 1 holds only the ConfChange); each restart wins the next term.
    this.term = this.dir.restart ? Math.max(this.dir.state.term, 1) + 1 : 2;
    this.node = new RaftNode(this.dir.wal, this.term, options.memberId, lastIndex, () => this.maybeSnapshot(), (error) => {
      this.log(`WAL write failed, no more requests are answered: ${error instanceof Error ? error.message : String(error)}`);
    });
    this.node.appliedIndex = this.lastSnapshotIndex;
    const node = this.node;
    const term = this.term;
    this.raft = {
      get index() {
        return node.appliedIndex;
      },
      set index(_ignored: number) {
        // The log owns the index; the in-memory handler's counting is switched off by `propose`.
      },
      term,
    };
    this.requestIds = new LeaseIdGenerator(options.memberId, options.clock.now());
  }

  get backend(): OpenedDataDir["backend"] {
    return this.dir.backend;
  }

  /** The ID of the next request this member logs (etcd's `reqIDGen`: v2 Requests and v3 headers). */
  nextRequestId(): bigint {
    return this.requestIds.next();
  }

  /** The v3 API whose writes this member logs (set by the v3 mount). */
  attachV3(api: LoggedV3Api): void {
    this.v3 = api;
  }

  /** Logs a v2 request and applies it once synced (the v2 handler's `propose`). */
  proposeV2(request: KeyRequest): Promise<KeyResponse> {
    const data = encodeV2Request(toV2Request(this.requestIds.next(), request));
    return this.node.propose(data, () => applyKeyRequest(this.options.store, request, this.options.clock.now()));
  }

  /**
   * Logs v2 auth's `/2` writes, one v2 request each as etcd's v2auth sends them, and resolves once
   * all are synced and applied (the v2 auth store's writer).
   */
  proposeV2Auth(records: readonly AuthRecord[]): Promise<void> {
    const { store, clock } = this.options;
    const proposals = records.map((record) => {
      const request = toAuthRequest(this.requestIds.next(), record);
      return this.node.propose(encodeV2Request(request), () => void applyV2Request(store, request, clock.now()));
    });
    return Promise.all(proposals).then(() => undefined);
  }

  /**
   * Replays the entries after the snapshot (etcd's applyAll after a restart). v2 entries are always
   * applied; v3 entries only past consistent_index. Failures are reported, not fatal, as in etcd.
   */
  replay(): { v2: number; v3: number; skipped: number } {
    const counts = { v2: 0, v3: 0, skipped: 0 };
    const consistentIndex = this.backend.consistentIndex;
    // etcd 3.4's cluster.Recover: the member list as the v2 snapshot's /0 records left it; the
    // ConfChanges after the snapshot are replayed over it below.
    this.v3?.server.cluster.recover(this.options.store.internalRecords());
    for (const entry of this.dir.entries) {
      this.node.appliedIndex = entry.index;
      if (entry.type === EntryType.confChange) {
        try {
          this.applyConfChange(decodeConfChange(entry.data));
        } catch (error) {
          // etcd: a change the apply-time checks refused stays refused on replay, harmlessly.
          this.log(`conf change at entry ${entry.index} not applied on replay: ${error instanceof Error ? error.message : String(error)}`);
        }
        continue;
      }
      if (entry.type !== EntryType.normal || entry.data.length === 0) continue;
      try {
        if (isV3Entry(entry.data)) {
          if (entry.index <= consistentIndex) {
            counts.skipped++;
            continue;
          }
          if (this.v3 === undefined) throw new Error("no v3 server is mounted to replay into");
          counts.v3++;
          applyV3Entry(this.v3.server, decodeV3Entry(entry.data));
        } else {
          const request = decodeV2Request(entry.data);
          counts.v2++;
          applyV2Request(this.options.store, request, this.options.clock.now());
        }
      } catch (error) {
        this.log(`failed to apply entry ${entry.index} on replay: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.node.appliedIndex = this.dir.entries.length > 0 ? (this.dir.entries[this.dir.entries.length - 1] as { index: number }).index : this.lastSnapshotIndex;
    return counts;
  }

  /** Logs the start-up entries (see the header) and applies them. */
  async startup(cluster: ClusterInfo): Promise<void> {
    const { store, clock } = this.options;
    const put = (path: string, val: string) => {
      const request = { ...syncRequest(this.requestIds.next(), 0), method: "PUT", path, val, time: 0n };
      return { type: EntryType.normal, term: this.term, data: encodeV2Request(request), apply: () => void applyV2Request(store, request, clock.now()) };
    };
    const attributes = put(`/0/members/${cluster.memberId}/attributes`, attributesJson(cluster.name, cluster.clientUrls));
    const noop = { type: EntryType.normal, term: this.term, data: new Uint8Array(0), apply: () => {} };
    if (this.dir.restart) {
      await this.node.appendNow([noop, attributes]);
      return;
    }
    const confChange: ConfChange = { id: 0n, type: ConfChangeType.addNode, nodeId: this.options.memberId, context: Buffer.from(memberContextJson(this.options.memberId, cluster.peerUrls, cluster.name)) };
    await this.node.appendNow([
      { type: EntryType.confChange, term: 1, data: encodeConfChange(confChange), apply: () => void this.applyConfChange(confChange) },
      noop,
      attributes,
      put(CLUSTER_VERSION_KEY, ETCD_CLUSTER_VERSION),
    ]);
  }

  /**
   * Applies a committed ConfChange (confChange.ts) to the mounted v3 member list and the v2 store's
   * `/0` records; throws what the apply-time checks refuse. The v3 Cluster API's proposals and the
   * replay both come here, so a change applies the same way live and after a restart.
   */
  applyConfChange(cc: ConfChange): MemberRecord | undefined {
    return applyConfChange(cc, this.options.store, this.v3?.server.cluster);
  }

  /** The background duties: the SYNC sweep through the log, backend commits, the purge. */
  startBackground(syncIntervalMs: number): void {
    const { clock, store } = this.options;
    this.cancels.push(
      clock.every(syncIntervalMs, () => {
        if (!store.hasTTLKeys() || this.syncInFlight) return;
        this.syncInFlight = true;
        const now = clock.now();
        const request = syncRequest(this.requestIds.next(), now);
        this.node
          .propose(encodeV2Request(request), () => applyV2Request(store, request, now))
          .catch(() => undefined)
          .finally(() => (this.syncInFlight = false));
      }),
    );
    this.cancels.push(clock.every(this.options.backendBatchIntervalMs ?? DEFAULT_BATCH_INTERVAL_MS, () => this.backend.commit()));
    this.cancels.push(clock.every(PURGE_INTERVAL_MS, () => this.purge()));
  }

  /** The lease expiry pass, through the log (the v3 mount's ticker calls it). */
  revokeExpiredLeases(nowMs: number): void {
    this.v3?.revokeExpiredLeases(nowMs);
  }

  /** One purge pass (etcd's three purge loops); returns the removed paths. */
  purge(): string[] {
    const removed = [
      ...this.dir.snapshotter.purge(this.options.maxSnapshots ?? DEFAULT_MAX_SNAPSHOTS),
      ...this.dir.wal.purge(this.options.maxWals ?? DEFAULT_MAX_WALS),
    ];
    for (const path of removed) this.log(`purged file ${path} successfully`);
    return removed;
  }

  /** Takes a snapshot now if more than --snapshot-count entries were applied since the last one. */
  private maybeSnapshot(): void {
    const applied = this.node.appliedIndex;
    if (applied - this.lastSnapshotIndex <= this.options.snapshotCount) return;
    this.snapshot();
  }

  /** etcd's snapshot: backend commit first (db index ≥ snapshot index), the `.snap`, its WAL record, the release. */
  snapshot(): void {
    const applied = this.node.appliedIndex;
    this.backend.commit();
    this.dir.snapshotter.save({ data: Buffer.from(this.options.store.save(), "utf8"), voters: [this.options.memberId], index: applied, term: this.term });
    this.dir.wal.saveSnapshot({ index: applied, term: this.term });
    this.dir.wal.releaseLockTo(applied);
    this.lastSnapshotIndex = applied;
    this.snapshots++;
  }

  stats(): MemberStats {
    return { proposals: this.node.proposals, walSyncs: this.node.syncs, backendCommits: this.backend.commits, snapshots: this.snapshots };
  }

  /** Stops the background duties, commits the backend and closes the files (no snapshot, as etcd). */
  async close(): Promise<void> {
    for (const cancel of this.cancels) cancel();
    await this.backend.close();
    this.dir.wal.close();
  }

  /**
   * Stops as `kill -9` would: no backend commit, no WAL sync, no snapshot. The data dir is left as a
   * killed etcd leaves it (what was synced or committed), and can be opened again by a new Member.
   */
  async abandon(): Promise<void> {
    for (const cancel of this.cancels) cancel();
    await this.backend.abandon();
    this.dir.wal.abandon();
  }
}

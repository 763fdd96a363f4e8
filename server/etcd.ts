/**
 * Mirrors etcd release-3.4 `embed/etcd.go` (`StartEtcd`, `Close`) and the v2 parts of
 * `etcdserver/server.go` that run in the background: the SYNC ticker and snapshots.
 *
 * One running simulator = one store, one HTTP server with its handlers mounted in order, and two
 * background duties that real etcd performs through raft:
 *
 *   every 500 ms, while some node has a TTL   →  store.deleteExpiredKeys(clock.now())   (etcd's SYNC)
 *   every --snapshot-count applied proposals  →  write the v2 snapshot to --data-dir   (and on close)
 *
 * With a data dir (`dataDir`), the member keeps etcd's layout there (member.ts, storage.ts): every
 * request that changes state is logged and synced before it is applied and answered, v2 snapshots go
 * to `member/snap/*.snap`, the v3 backend to `member/snap/db`, and a restart (even after kill -9)
 * comes back with every acknowledged write. Without one, everything stays in memory.
 *
 *   const etcd = await startEtcd({ listenClientUrl: "http://127.0.0.1:0" });
 *   await fetch(`${etcd.clientUrl}/v2/keys/foo`, { method: "PUT", body: new URLSearchParams({ value: "bar" }) });
 *   await etcd.close();
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Server as GrpcServer } from "@grpc/grpc-js";
import type { ServerInterceptor } from "@grpc/grpc-js";
import { newGrpcServer, type GrpcLimits } from "../v3/v3rpc/grpc.js";
import { RealClock, type Cancel, type Clock, type Ticker } from "../shared/clock.js";
import { createV2Handler, type KeyRequest, type RaftStatus } from "../v2/http.js";
import { V2Store, type Store } from "../v2/store.js";
import { V2AuthStore } from "../v2/v2auth/store.js";
import { createBaseHandler, ETCD_CLUSTER_VERSION } from "./base.js";
import { writeFreshMemberRecords } from "./membershipStore.js";
import { DEFAULT_PEER_URL, singleMemberCluster, computeClusterId, computeMemberId, DEFAULT_CLUSTER_TOKEN, type ClusterInfo } from "./membership.js";
import { Member, type MemberStats } from "./member.js";
import { createClientListener, type TlsInfo } from "./cmux.js";
import { createEtcdHttpServer, type Handler, type RequestObserver } from "./server.js";

/** etcd's default `--listen-client-urls`. */
export const DEFAULT_LISTEN_CLIENT_URL = "http://127.0.0.1:2379";
/** etcd 3.4's default `--snapshot-count`. */
export const DEFAULT_SNAPSHOT_COUNT = 100_000;
/** How often the leader proposes a SYNC (v2 TTL expiry) in etcd: `monitorV2Store`'s 500 ms. */
export const SYNC_INTERVAL_MS = 500;

/** How to start the simulator; every field has etcd's default, so `{}` starts a bare `etcd`. */
export interface EtcdOptions {
  /** e.g. http://127.0.0.1:2379; port 0 picks a free port. */
  readonly listenClientUrl?: string;
  /** Advertised client URLs (`/v2/members`, `/v2/machines`); default: the URL actually listened on. */
  readonly advertiseClientUrls?: readonly string[];
  /** Peer URLs; they only feed the member and cluster IDs. */
  readonly initialAdvertisePeerUrls?: readonly string[];
  readonly initialClusterToken?: string;
  readonly name?: string;
  /** etcd's data dir (WAL, snapshots, backend); none = memory only. */
  readonly dataDir?: string;
  readonly snapshotCount?: number;
  /** `--max-snapshots` / `--max-wals` (default 5 each; 0 keeps all). */
  readonly maxSnapshots?: number;
  readonly maxWals?: number;
  /** `--backend-batch-interval` in ms (default 100) and `--backend-batch-limit` (default 10,000). */
  readonly backendBatchIntervalMs?: number;
  readonly backendBatchLimit?: number;
  /** WAL segment size (default 64,000,000 bytes, etcd's); tests make it small to see segments cut. */
  readonly walSegmentSizeBytes?: number;
  /** `--quota-backend-bytes` for the v3 backend: 0 (default) means 2 GiB, negative disables it. */
  readonly quotaBackendBytes?: number;
  /** v3 auth: `--auth-token-ttl` (seconds a simple token lives after its last use, default 300). */
  readonly authTokenTTLSeconds?: number;
  /** v3 auth: `--auth-token`, "simple" (default) or "jwt,pub-key=…,priv-key=…,sign-method=…[,ttl=…]". */
  readonly authToken?: string;
  /** v3 auth: `--bcrypt-cost` (default 10; outside 4..31 falls back to 10). */
  readonly bcryptCost?: number;
  readonly clock?: Clock & Ticker;
  /** Certificates for an https:// client URL (etcd's --cert-file, --key-file, …). */
  readonly tls?: TlsInfo;
  /** --max-request-bytes and --max-concurrent-streams, for the gRPC server. */
  readonly grpcLimits?: GrpcLimits;
  /** --max-txn-ops (default 128). */
  readonly maxTxnOps?: number;
  /** Where the listener's lines go (a connection that is neither HTTP/1.x nor HTTP/2); default stderr. */
  readonly log?: (line: string) => void;
  /**
   * Extra handlers mounted after the v2 API and the basics (e.g. the v3 JSON gateway). Each gets
   * the running context so it can share the clock.
   */
  readonly extraHandlers?: ReadonlyArray<(context: MountContext) => Handler>;
  /** Sees every client request before it is routed (the classroom view); changes nothing. */
  readonly observeRequest?: RequestObserver;
  /** Sees every gRPC call (the classroom view); must not change them. */
  readonly grpcInterceptors?: readonly ServerInterceptor[];
}

/** What a mounted API gets: the shared clock, and a way to stop its background work on close. */
export interface MountContext {
  readonly clock: Clock & Ticker;
  /** The gRPC server on the client port: a mounted API registers its services here. */
  readonly grpcServer: GrpcServer;
  /** The limits the gRPC server was built with. */
  readonly grpcLimits: GrpcLimits;
  /** --max-txn-ops, when given. */
  readonly maxTxnOps: number | undefined;
  /** With a data dir: the member whose log the API's writes go through. */
  readonly member?: Member;
  /** Registers a function that `close()` calls (e.g. cancelling the API's tickers). */
  onClose(stop: () => void): void;
  /** Adds a condition `/health` requires (etcd: no alarm raised, a leader, a read through raft). */
  addHealthCheck(check: () => boolean): void;
}

/** A started simulator; after `close()` it answers nothing and its snapshot is on disk. */
export interface RunningEtcd {
  /** The URL clients use, e.g. http://127.0.0.1:40123. */
  readonly clientUrl: string;
  readonly store: Store;
  readonly cluster: ClusterInfo;
  readonly raft: RaftStatus;
  readonly server: Server;
  /** The member with its data dir (undefined in memory-only mode). */
  readonly member: Member | undefined;
  /** Every open client connection, HTTP and gRPC alike (observers may read it, never close one). */
  readonly sockets: ReadonlySet<Socket>;
  /** Takes a v2 snapshot now (no-op without a data dir). */
  saveSnapshot(): void;
  /** WAL syncs, proposals, backend commits so far (zeros without a data dir). */
  stats(): MemberStats;
  /** Stops ticking, commits the backend (with a data dir), closes every connection. */
  close(): Promise<void>;
  /**
   * Stops as `kill -9` would (in process): connections dropped, no backend commit, no WAL sync, no
   * snapshot; the data dir is left for a new `startEtcd` on it. Without a data dir, the same as close.
   */
  kill(): Promise<void>;
}

/**
 * `GET /metrics`: the Prometheus counters of etcd's disk path that etcdsim keeps, under etcd's names,
 * so one client can read the same figures from both (e.g. fsyncs per write under load). A real etcd
 * serves hundreds of metrics there; these are the three the data dir needs:
 *
 *   etcd_disk_wal_fsync_duration_seconds_count 926           WAL fdatasyncs
 *   etcd_disk_backend_commit_duration_seconds_count 56       backend (bbolt / LMDB) commits
 *   etcd_server_proposals_committed_total 5004               entries committed to the log
 *
 * (The `_count` of a histogram is its number of observations; etcdsim does not time them.)
 */
function serveMetrics(req: IncomingMessage, res: ServerResponse, member: Member | undefined): boolean {
  if ((req.url ?? "").split("?")[0] !== "/metrics" || req.method !== "GET") return false;
  const stats = member?.stats() ?? { proposals: 0, walSyncs: 0, backendCommits: 0, snapshots: 0 };
  const committed = member?.node.appliedIndex ?? 0;
  res.setHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  res.end(
    [
      "# TYPE etcd_disk_wal_fsync_duration_seconds histogram",
      `etcd_disk_wal_fsync_duration_seconds_count ${stats.walSyncs}`,
      "# TYPE etcd_disk_backend_commit_duration_seconds histogram",
      `etcd_disk_backend_commit_duration_seconds_count ${stats.backendCommits}`,
      "# TYPE etcd_server_proposals_committed_total gauge",
      `etcd_server_proposals_committed_total ${committed}`,
      "",
    ].join("\n"),
  );
  return true;
}

/** Starts the simulator and resolves once it listens. */
export async function startEtcd(options: EtcdOptions = {}): Promise<RunningEtcd> {
  const clock = options.clock ?? new RealClock();
  const listenUrl = new URL(options.listenClientUrl ?? DEFAULT_LISTEN_CLIENT_URL);
  if (listenUrl.protocol !== "http:" && listenUrl.protocol !== "https:") throw new Error(`etcdsim serves http and https only, got ${listenUrl.href}`);
  if (listenUrl.protocol === "https:" && options.tls === undefined) throw new Error(`${listenUrl.href} needs --cert-file and --key-file`);
  const snapshotCount = options.snapshotCount ?? DEFAULT_SNAPSHOT_COUNT;

  const store: Store = new V2Store();
  const peerUrls = options.initialAdvertisePeerUrls ?? [DEFAULT_PEER_URL];
  const memberId = computeMemberId(peerUrls, options.initialClusterToken ?? DEFAULT_CLUSTER_TOKEN);
  // With a data dir: open it (refusing a damaged one by name), load the v2 snapshot; replay comes later.
  const member =
    options.dataDir === undefined
      ? undefined
      : new Member({
          dataDir: options.dataDir,
          store,
          clock,
          memberId,
          clusterId: computeClusterId([memberId]),
          snapshotCount,
          ...(options.maxSnapshots !== undefined ? { maxSnapshots: options.maxSnapshots } : {}),
          ...(options.maxWals !== undefined ? { maxWals: options.maxWals } : {}),
          ...(options.backendBatchIntervalMs !== undefined ? { backendBatchIntervalMs: options.backendBatchIntervalMs } : {}),
          ...(options.backendBatchLimit !== undefined ? { backendBatchLimit: options.backendBatchLimit } : {}),
          ...(options.walSegmentSizeBytes !== undefined ? { segmentSizeBytes: options.walSegmentSizeBytes } : {}),
        });
  const raft: RaftStatus = member?.raft ?? { index: store.index, term: 2 };
  let snapshotRaftIndex = raft.index;

  const saveSnapshot = (): void => {
    if (member === undefined) return;
    member.snapshot();
    snapshotRaftIndex = raft.index;
  };
  // In memory, --snapshot-count only counts (there is nowhere to write); the member snapshots itself.
  const afterApply = (): void => {
    if (member === undefined && raft.index - snapshotRaftIndex > snapshotCount) snapshotRaftIndex = raft.index;
  };

  // The cluster identity needs the client URL, which is known only once listening: mount v2 lazily.
  let v2Handler: Handler | undefined;
  const closers: Array<() => void> = [];
  const grpcLimits = options.grpcLimits ?? {};
  const grpcServer = newGrpcServer(grpcLimits, options.grpcInterceptors ?? []);
  const healthChecks: Array<() => boolean> = [];
  const mountContext: MountContext = {
    clock,
    grpcServer,
    grpcLimits,
    maxTxnOps: options.maxTxnOps,
    onClose: (stop) => closers.push(stop),
    addHealthCheck: (check) => healthChecks.push(check),
    ...(member !== undefined ? { member } : {}),
  };
  // The mount list: tried in order, first to answer wins; nobody → 404 (see server.ts).
  const handlers: Handler[] = [
    createBaseHandler({ isHealthy: () => healthChecks.every((check) => check()) }), // /version, /health
    (req, res) => serveMetrics(req, res, member), //                /metrics (the disk counters)
    (req, res) => (v2Handler ?? (() => false))(req, res), //     /v2/keys, /v2/stats, /v2/members, /v2/machines
    ...(options.extraHandlers ?? []).map((make) => make(mountContext)), // e.g. the v3 JSON gateway (/v3/…)
  ];
  const server = createEtcdHttpServer(handlers, options.observeRequest);
  // One port, two protocols (etcd's cmux): gRPC and HTTP/1.x share the listener.
  const secure = listenUrl.protocol === "https:";
  const { server: listener, sockets } = createClientListener({ httpServer: server, grpcServer, ...(options.log !== undefined ? { log: options.log } : {}), ...(secure && options.tls !== undefined ? { tls: options.tls } : {}) });
  member?.replay();
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(Number(listenUrl.port === "" ? (secure ? 443 : 80) : listenUrl.port), listenUrl.hostname, () => resolve());
  }).catch(async (error: unknown) => {
    await member?.close(); // gives the data dir (and its lock) back
    throw error;
  });
  const port = (listener.address() as AddressInfo).port;
  const clientUrl = `${secure ? "https" : "http"}://${listenUrl.hostname}:${port}`;
  const cluster: ClusterInfo = singleMemberCluster({
    name: options.name ?? "default",
    peerUrls,
    clientUrls: options.advertiseClientUrls ?? [clientUrl],
    ...(options.initialClusterToken !== undefined ? { clusterToken: options.initialClusterToken } : {}),
  });
  // v2 auth lives in the v2 store's /2 records; with a data dir its writes go through the log.
  const v2Auth = new V2AuthStore(store, {
    ...(options.bcryptCost === undefined ? {} : { bcryptCost: options.bcryptCost }),
    ...(member === undefined ? {} : { writer: (records) => member.proposeV2Auth(records) }),
  });
  if (member !== undefined) await member.startup(cluster);
  else {
    // No log: the start-up records are written directly, so the indexes start where a real member's do.
    raft.index = writeFreshMemberRecords(store, memberId, { name: cluster.name, peerURLs: cluster.peerUrls, clientURLs: cluster.clientUrls }, ETCD_CLUSTER_VERSION);
    snapshotRaftIndex = raft.index;
  }
  v2Handler = createV2Handler({
    store,
    clock,
    cluster,
    raft,
    startTimeMs: clock.now(),
    onApply: afterApply,
    ...(member !== undefined ? { propose: (request: KeyRequest) => member.proposeV2(request) } : {}),
    auth: v2Auth,
    clientCertAuth: options.tls?.clientCertAuth ?? false,
  });

  // etcd's SYNC: proposed only while some node has a TTL, applied with the leader's clock reading.
  let stopSync: Cancel = () => {};
  if (member !== undefined) member.startBackground(SYNC_INTERVAL_MS);
  else {
    stopSync = clock.every(SYNC_INTERVAL_MS, () => {
      if (!store.hasTTLKeys()) return;
      raft.index += 1;
      store.deleteExpiredKeys(clock.now());
      afterApply();
    });
  }

  let closed = false;
  const stop = async (how: "close" | "kill"): Promise<void> => {
    if (closed) return;
    closed = true;
    stopSync();
    for (const stop of closers) stop();
    const done = new Promise<void>((resolve) => listener.close(() => resolve()));
    grpcServer.forceShutdown();
    for (const socket of sockets) socket.destroy();
    await done;
    await (how === "close" ? member?.close() : member?.abandon());
  };
  const close = (): Promise<void> => stop("close");
  const kill = (): Promise<void> => stop("kill");
  const stats = (): MemberStats => member?.stats() ?? { proposals: 0, walSyncs: 0, backendCommits: 0, snapshots: 0 };
  return { clientUrl, store, cluster, raft, server, member, sockets, saveSnapshot, stats, close, kill };
}

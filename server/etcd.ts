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
 * With a data dir, the snapshot is loaded at start, so keys, indexes, history and stats survive a
 * restart; a restarted real etcd replays its WAL to the same effect.
 *
 *   const etcd = await startEtcd({ listenClientUrl: "http://127.0.0.1:0" });
 *   await fetch(`${etcd.clientUrl}/v2/keys/foo`, { method: "PUT", body: new URLSearchParams({ value: "bar" }) });
 *   await etcd.close();
 */
import { existsSync, mkdirSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import type { Server as GrpcServer } from "@grpc/grpc-js";
import type { ServerInterceptor } from "@grpc/grpc-js";
import { newGrpcServer, type GrpcLimits } from "../v3/v3rpc/grpc.js";
import { RealClock, type Cancel, type Clock, type Ticker } from "../shared/clock.js";
import { createV2Handler, type RaftStatus } from "../v2/http.js";
import { loadSnapshotFile, saveSnapshotFile } from "../v2/snapshot.js";
import { V2Store, type Store } from "../v2/store.js";
import { createBaseHandler } from "./base.js";
import { DEFAULT_PEER_URL, singleMemberCluster, type ClusterInfo } from "./membership.js";
import { createClientListener, type TlsInfo } from "./cmux.js";
import { createEtcdHttpServer, type Handler, type RequestObserver } from "./server.js";

/** etcd's default `--listen-client-urls`. */
export const DEFAULT_LISTEN_CLIENT_URL = "http://127.0.0.1:2379";
/** etcd 3.4's default `--snapshot-count`. */
export const DEFAULT_SNAPSHOT_COUNT = 100_000;
/** How often the leader proposes a SYNC (v2 TTL expiry) in etcd: `monitorV2Store`'s 500 ms. */
export const SYNC_INTERVAL_MS = 500;
/** The v2 snapshot's file name inside --data-dir. */
export const V2_SNAPSHOT_FILE = "v2store.snap.json";

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
  /** Where the v2 snapshot is kept; none = memory only. */
  readonly dataDir?: string;
  readonly snapshotCount?: number;
  /** `--quota-backend-bytes` for the v3 backend: 0 (default) means 2 GiB, negative disables it. */
  readonly quotaBackendBytes?: number;
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
  /** Every open client connection, HTTP and gRPC alike (observers may read it, never close one). */
  readonly sockets: ReadonlySet<Socket>;
  /** Writes the v2 snapshot now (no-op without a data dir). */
  saveSnapshot(): void;
  /** Stops ticking, saves the snapshot (with a data dir), closes every connection. */
  close(): Promise<void>;
}

function snapshotPath(dataDir: string): string {
  return join(dataDir, V2_SNAPSHOT_FILE);
}

/** Starts the simulator and resolves once it listens. */
export async function startEtcd(options: EtcdOptions = {}): Promise<RunningEtcd> {
  const clock = options.clock ?? new RealClock();
  const listenUrl = new URL(options.listenClientUrl ?? DEFAULT_LISTEN_CLIENT_URL);
  if (listenUrl.protocol !== "http:" && listenUrl.protocol !== "https:") throw new Error(`etcdsim serves http and https only, got ${listenUrl.href}`);
  if (listenUrl.protocol === "https:" && options.tls === undefined) throw new Error(`${listenUrl.href} needs --cert-file and --key-file`);
  const snapshotCount = options.snapshotCount ?? DEFAULT_SNAPSHOT_COUNT;

  const store: Store = new V2Store();
  if (options.dataDir !== undefined) {
    mkdirSync(options.dataDir, { recursive: true });
    // A truncated, corrupted or foreign file throws SnapshotError here and the server does not start.
    if (existsSync(snapshotPath(options.dataDir))) loadSnapshotFile(snapshotPath(options.dataDir), store);
  }
  const raft: RaftStatus = { index: store.index, term: 2 };
  let snapshotRaftIndex = raft.index;

  const saveSnapshot = (): void => {
    if (options.dataDir === undefined) return;
    saveSnapshotFile(snapshotPath(options.dataDir), store); // temp file, fsync, rename: never half-written
    snapshotRaftIndex = raft.index;
  };
  // etcd snapshots once more than --snapshot-count entries were applied since the last one.
  const afterApply = (): void => {
    if (raft.index - snapshotRaftIndex > snapshotCount) saveSnapshot();
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
  };
  // The mount list: tried in order, first to answer wins; nobody → 404 (see server.ts).
  const handlers: Handler[] = [
    createBaseHandler({ isHealthy: () => healthChecks.every((check) => check()) }), // /version, /health
    (req, res) => (v2Handler ?? (() => false))(req, res), //     /v2/keys, /v2/stats, /v2/members, /v2/machines
    ...(options.extraHandlers ?? []).map((make) => make(mountContext)), // e.g. the v3 JSON gateway (/v3/…)
  ];
  const server = createEtcdHttpServer(handlers, options.observeRequest);
  // One port, two protocols (etcd's cmux): gRPC and HTTP/1.x share the listener.
  const secure = listenUrl.protocol === "https:";
  const { server: listener, sockets } = createClientListener({ httpServer: server, grpcServer, ...(options.log !== undefined ? { log: options.log } : {}), ...(secure && options.tls !== undefined ? { tls: options.tls } : {}) });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(Number(listenUrl.port === "" ? (secure ? 443 : 80) : listenUrl.port), listenUrl.hostname, () => resolve());
  });
  const port = (listener.address() as AddressInfo).port;
  const clientUrl = `${secure ? "https" : "http"}://${listenUrl.hostname}:${port}`;
  const cluster: ClusterInfo = singleMemberCluster({
    name: options.name ?? "default",
    peerUrls: options.initialAdvertisePeerUrls ?? [DEFAULT_PEER_URL],
    clientUrls: options.advertiseClientUrls ?? [clientUrl],
    ...(options.initialClusterToken !== undefined ? { clusterToken: options.initialClusterToken } : {}),
  });
  v2Handler = createV2Handler({ store, clock, cluster, raft, startTimeMs: clock.now(), onApply: afterApply });

  // etcd's SYNC: proposed only while some node has a TTL, applied with the leader's clock reading.
  const stopSync: Cancel = clock.every(SYNC_INTERVAL_MS, () => {
    if (!store.hasTTLKeys()) return;
    raft.index += 1;
    store.deleteExpiredKeys(clock.now());
    afterApply();
  });

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stopSync();
    for (const stop of closers) stop();
    saveSnapshot();
    const done = new Promise<void>((resolve) => listener.close(() => resolve()));
    grpcServer.forceShutdown();
    for (const socket of sockets) socket.destroy();
    await done;
  };
  return { clientUrl, store, cluster, raft, server, sockets, saveSnapshot, close };
}

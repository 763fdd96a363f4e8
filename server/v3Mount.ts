/**
 * Mirrors the v3 half of etcd release-3.4 `embed/serve.go` (the gateway mounted on the client port)
 * and the timers of `etcdserver/server.go`, `lease/lessor.go` and `mvcc/watchable_store.go` that a
 * real member runs in goroutines: one v3 server, its JSON gateway, and its background duties.
 *
 *   every 500 ms        revoke expired leases          (the lessor's runLoop → expiredLeaseC)
 *   every 100 ms        catch up unsynced watchers     (watchable store's syncWatchersLoop)
 *   every  10 ms        retry victim batches           (watchable store's syncVictimsLoop)
 *   every 10 min        progress notifications          (v3rpc's progress ticker)
 *
 * The v3 core never reads the clock by itself (see v3/etcdServer.ts `tick`); here a RealClock ticker
 * calls each step, so `npm run serve` behaves like a running etcd. A failing step is logged and the
 * server keeps serving.
 *
 * The member identity comes from the same flags as the v2 side's (membership.ts), because in etcd the
 * v3 header's `cluster_id` is the v2 `X-Etcd-Cluster-Id` written in decimal:
 *   no flags → member_id 10276657743932975437 (8e9e05c52164694d), cluster_id 14841639068965178418 (cdf818194e3a8c32)
 */
import { EtcdServer, LEASE_EXPIRY_CHECK_MS, type EtcdServerOptions } from "../v3/etcdServer.js";
import { createV3Gateway } from "../v3/gateway.js";
import { registerV3Services } from "../v3/v3rpc/grpc.js";
import { DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS } from "../v3/watchServer.js";
import type { MemberIdentity } from "../v3/member.js";
import { AlarmType } from "../v3/rpc.js";
import { DEFAULT_LISTEN_CLIENT_URL, type EtcdOptions, type MountContext } from "./etcd.js";
import { computeClusterId, computeMemberId, DEFAULT_CLUSTER_TOKEN, DEFAULT_PEER_URL } from "./membership.js";
import type { Handler } from "./server.js";

/** etcd's `syncWatchersLoop` period. */
export const WATCH_SYNC_INTERVAL_MS = 100;
/** etcd's `syncVictimsLoop` period. */
export const VICTIM_RETRY_INTERVAL_MS = 10;

/** The v3 identity of the member the flags describe (etcd: one raft term won at start-up). */
export function memberIdentityFor(options: Pick<EtcdOptions, "initialAdvertisePeerUrls" | "initialClusterToken">): MemberIdentity {
  const memberId = computeMemberId(options.initialAdvertisePeerUrls ?? [DEFAULT_PEER_URL], options.initialClusterToken ?? DEFAULT_CLUSTER_TOKEN);
  return { clusterId: computeClusterId([memberId]), memberId, raftTerm: 2 };
}

/**
 * The extra handler `startEtcd` mounts for v3: builds the v3 server for the member `options`
 * describe, starts its background tickers on the server's clock, and returns the gateway.
 * `onServer` receives the v3 server once built (the classroom view observes it).
 */
export function v3Mount(options: EtcdOptions = {}, onServer?: (server: EtcdServer) => void): (context: MountContext) => Handler {
  return (context) =>
    createV3Mount(context, memberIdentityFor(options), {
      ...(options.quotaBackendBytes === undefined ? {} : { quotaBackendBytes: options.quotaBackendBytes }),
      memberAttributes: {
        name: options.name ?? "default",
        peerURLs: options.initialAdvertisePeerUrls ?? [DEFAULT_PEER_URL],
        // The listen URL as given: with port 0 the real port is known only later (the member list then shows :0).
        clientURLs: options.advertiseClientUrls ?? [options.listenClientUrl ?? DEFAULT_LISTEN_CLIENT_URL],
      },
    }, onServer);
}

/**
 * Builds the v3 server and its gateway handler, and starts the background tickers on the context's
 * clock; each ticker is cancelled when the server closes.
 */
export function createV3Mount(
  context: MountContext,
  member?: MemberIdentity,
  serverOptions: Pick<EtcdServerOptions, "quotaBackendBytes" | "memberAttributes"> = {},
  onServer?: (server: EtcdServer) => void,
): Handler {
  const { clock } = context;
  const server = new EtcdServer({
    clock,
    ...serverOptions,
    ...(member === undefined ? {} : { member }),
    ...(context.maxTxnOps === undefined ? {} : { maxTxnOps: context.maxTxnOps }),
    ...(context.grpcLimits.maxRequestBytes === undefined ? {} : { maxRequestBytes: context.grpcLimits.maxRequestBytes }),
  });
  registerV3Services(context.grpcServer, server, context.grpcLimits);
  onServer?.(server); // e.g. the classroom view, which reads the v3 store to draw it
  const every = (periodMs: number, name: string, step: () => unknown): void => {
    const cancel = clock.every(periodMs, () => {
      try {
        step();
      } catch (error) {
        process.stderr.write(`etcdsim: v3 ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      }
    });
    context.onClose(cancel);
  };
  every(LEASE_EXPIRY_CHECK_MS, "lease expiry", () => server.revokeExpiredLeases(clock.now()));
  every(WATCH_SYNC_INTERVAL_MS, "watch sync", () => server.syncWatchers());
  every(VICTIM_RETRY_INTERVAL_MS, "victim retry", () => server.syncVictims());
  every(DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS, "progress notify", () => server.progressNotify());
  // etcd's /health: false while any alarm is raised, or when a read through raft cannot commit.
  context.addHealthCheck(() => server.alarms.get(AlarmType.NONE).length === 0 && server.cluster.hasQuorum());
  context.onClose(() => {
    server.lockServer.close();
    server.electionServer.close();
  });
  return createV3Gateway(server);
}

/**
 * Mirrors the v3 half of etcd release-3.4 `embed/serve.go` (the gateway mounted on the client port)
 * and the timers of `etcdserver/server.go`, `lease/lessor.go` and `mvcc/watchable_store.go` that a
 * real member runs in goroutines: one v3 server, its JSON gateway, and its background duties.
 *
 *   every 500 ms        revoke expired leases          (the lessor's runLoop → expiredLeaseC)
 *   every 100 ms        catch up unsynced watchers     (watchable store's syncWatchersLoop)
 *   every  10 ms        retry victim batches           (watchable store's syncVictimsLoop)
 *   every 10 min        progress notifications          (v3rpc's progress ticker)
 *   every 1 s           forget expired simple tokens    (auth's simpleTokenTTLKeeper)
 *
 * The v3 core never reads the clock by itself (see v3/etcdServer.ts `tick`); here a RealClock ticker
 * calls each step, so `npm run serve` behaves like a running etcd. A failing step is logged and the
 * server keeps serving.
 *
 * The member identity comes from the same flags as the v2 side's (membership.ts), because in etcd the
 * v3 header's `cluster_id` is the v2 `X-Etcd-Cluster-Id` written in decimal:
 *   no flags → member_id 10276657743932975437 (8e9e05c52164694d), cluster_id 14841639068965178418 (cdf818194e3a8c32)
 */
import { randomInt } from "node:crypto";
import { EtcdServer, LEASE_EXPIRY_CHECK_MS, type EtcdServerOptions } from "../v3/etcdServer.js";
import { SIMPLE_TOKEN_SWEEP_MS } from "../v3/auth/simpleToken.js";
import { JwtTokenProvider, parseJwtOptions } from "../v3/auth/jwt.js";
import { Random } from "../shared/random.js";
import { createV3Gateway } from "../v3/gateway.js";
import { registerV3Services } from "../v3/v3rpc/grpc.js";
import { DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS } from "../v3/watchServer.js";
import { DEFAULT_MEMBER, type MemberIdentity } from "../v3/member.js";
import { AlarmType } from "../v3/rpc.js";
import { LoggedV3Api } from "./v3Server.js";
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
  const auth = {
    ...(options.authTokenTTLSeconds === undefined ? {} : { tokenTTLSeconds: options.authTokenTTLSeconds }),
    ...(options.bcryptCost === undefined ? {} : { bcryptCost: options.bcryptCost }),
    ...(options.tls?.clientCertAuth === true ? { clientCertAuth: true } : {}),
  };
  const spec = options.authToken ?? "simple";
  if (spec !== "simple" && !spec.startsWith("jwt")) throw new Error(`--auth-token: unknown token type ${JSON.stringify(spec.split(",")[0])}`);
  const jwt = spec === "simple" ? undefined : parseJwtOptions(spec); // read the key files at start, as etcd does
  return (context) =>
    createV3Mount(context, memberIdentityFor(options), {
      ...(options.quotaBackendBytes === undefined ? {} : { quotaBackendBytes: options.quotaBackendBytes }),
      memberAttributes: {
        name: options.name ?? "default",
        peerURLs: options.initialAdvertisePeerUrls ?? [DEFAULT_PEER_URL],
        // The listen URL as given: with port 0 the real port is known only later (the member list then shows :0).
        clientURLs: options.advertiseClientUrls ?? [options.listenClientUrl ?? DEFAULT_LISTEN_CLIENT_URL],
      },
      auth: { ...auth, ...(jwt === undefined ? {} : { tokenProvider: new JwtTokenProvider(jwt, () => context.clock.now()) }) },
    }, onServer);
}

/**
 * Builds the v3 server and its gateway handler, and starts the background tickers on the context's
 * clock; each ticker is cancelled when the server closes.
 */
export function createV3Mount(
  context: MountContext,
  member?: MemberIdentity,
  serverOptions: Pick<EtcdServerOptions, "quotaBackendBytes" | "memberAttributes" | "auth"> = {},
  onServer?: (server: EtcdServer) => void,
): Handler {
  const { clock } = context;
  // Token prefixes must not be guessable on a real server: the seed comes from the OS.
  const random = new Random(randomInt(2 ** 31 - 1));
  const gatewayOptions = { clientCertAuth: serverOptions.auth?.clientCertAuth ?? false };
  const limits = {
    random,
    ...(context.maxTxnOps === undefined ? {} : { maxTxnOps: context.maxTxnOps }),
    ...(context.grpcLimits.maxRequestBytes === undefined ? {} : { maxRequestBytes: context.grpcLimits.maxRequestBytes }),
  };
  const durable = context.member;
  if (durable !== undefined) {
    // With a data dir: the backend is the file, writes go through the member's log, the term is the log's.
    const identity = { ...(member ?? DEFAULT_MEMBER), raftTerm: durable.term };
    const server = new EtcdServer({ clock, ...serverOptions, ...limits, member: identity, backend: durable.backend, raftIndex: () => durable.node.appliedIndex });
    const api = new LoggedV3Api(server, durable.node, (change) => durable.applyConfChange(change), () => durable.nextRequestId());
    durable.attachV3(api);
    registerV3Services(context.grpcServer, api, context.grpcLimits);
    onServer?.(server); // e.g. the classroom view, which reads the v3 store to draw it
    startV3Background(context, server, () => api.revokeExpiredLeases(clock.now()));
    return createV3Gateway(api, gatewayOptions);
  }
  const server = new EtcdServer({ clock, ...serverOptions, ...limits, ...(member === undefined ? {} : { member }) });
  registerV3Services(context.grpcServer, server, context.grpcLimits);
  onServer?.(server); // e.g. the classroom view, which reads the v3 store to draw it
  startV3Background(context, server, () => server.revokeExpiredLeases(clock.now()));
  return createV3Gateway(server, gatewayOptions);
}

/** The v3 timers (see the header), each cancelled when the server closes; `revoke` is the lease expiry pass. */
function startV3Background(context: MountContext, server: EtcdServer, revoke: () => void): void {
  const { clock } = context;
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
  every(LEASE_EXPIRY_CHECK_MS, "lease expiry", revoke);
  every(WATCH_SYNC_INTERVAL_MS, "watch sync", () => server.syncWatchers());
  every(VICTIM_RETRY_INTERVAL_MS, "victim retry", () => server.syncVictims());
  every(DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS, "progress notify", () => server.progressNotify());
  // etcd's /health: false while any alarm is raised, or when a read through raft cannot commit.
  context.addHealthCheck(() => server.alarms.get(AlarmType.NONE).length === 0 && server.cluster.hasQuorum());
  context.onClose(() => {
    server.lockServer.close();
    server.electionServer.close();
  });
  every(SIMPLE_TOKEN_SWEEP_MS, "auth token sweep", () => server.auth.tokenProvider.sweep(clock.now()));
}

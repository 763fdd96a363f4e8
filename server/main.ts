/**
 * Mirrors etcd release-3.4 `etcdmain/etcd.go` and `etcdmain/config.go`: read the flags, start, and stop
 * cleanly on SIGINT/SIGTERM. `npm run serve` runs this file.
 *
 *   npm run serve -- --listen-client-urls http://127.0.0.1:2379 --data-dir ./sim.etcd --name default
 *   # stderr: etcdsim listening on http://127.0.0.1:2379
 *   ETCDCTL_API=2 etcdctl --endpoints http://127.0.0.1:2379 set /foo bar
 *
 * Flags take `--flag value` or `--flag=value`, like etcd's; a boolean flag (`--client-cert-auth`,
 * `--memory`) takes only `--flag` or `--flag=true|false`, as Go's flag package reads it. Accepted:
 * --listen-client-urls (first URL used), --advertise-client-urls, --initial-advertise-peer-urls,
 * --initial-cluster-token, --name, --data-dir, --snapshot-count, --quota-backend-bytes; v3 auth's
 * --auth-token (simple | jwt,…), --auth-token-ttl, --bcrypt-cost; the data dir's
 * --max-snapshots, --max-wals, --backend-batch-interval (a Go duration such as 100ms),
 * --backend-batch-limit, and etcdsim's own --memory (no data dir: everything in memory, lost on exit);
 * TLS for an https:// client URL: --cert-file, --key-file, --trusted-ca-file, --client-cert-auth;
 * limits: --max-request-bytes (1.5 MiB), --max-txn-ops (128), --max-concurrent-streams (2^32 − 1).
 * Unknown flags are refused, as etcd refuses them.
 *
 *   npm run serve -- --listen-client-urls https://127.0.0.1:2379 --cert-file server.crt --key-file server.key
 *   ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:2379 --cacert ca.crt put foo bar
 *
 * As etcd, the data dir defaults to `<name>.etcd` in the working directory (`default.etcd`), and the
 * start line says which one is used:
 *   etcdsim listening on http://127.0.0.1:2379 (data dir default.etcd)
 * A data dir that cannot be used (a WAL corrupt in the middle, a missing backend) stops the start with
 * the file named and exit status 1; nothing in it is overwritten.
 *
 * etcdsim's own flag: --listen-classroom-url http://127.0.0.1:2390 serves the classroom page on a
 * second port (classroom/classroomServer.ts) and prints `etcdsim classroom on <url>`.
 */
import { pathToFileURL } from "node:url";
import { DEFAULT_LISTEN_CLIENT_URL, DEFAULT_SNAPSHOT_COUNT, startEtcd, type EtcdOptions, type RunningEtcd } from "./etcd.js";
import { v3Mount } from "./v3Mount.js";
import { RealClock } from "../shared/clock.js";
import { V2Store, type Store } from "../v2/store.js";
import type { EtcdServer } from "../v3/etcdServer.js";
import { startClassroom, type RunningClassroom } from "../classroom/classroomServer.js";
import { RequestLog } from "../classroom/requestLog.js";

const FLAGS = [
  "listen-client-urls",
  "advertise-client-urls",
  "initial-advertise-peer-urls",
  "initial-cluster-token",
  "name",
  "data-dir",
  "snapshot-count",
  "auth-token",
  "auth-token-ttl",
  "bcrypt-cost",
  "cert-file",
  "key-file",
  "trusted-ca-file",
  "client-cert-auth",
  "max-request-bytes",
  "max-txn-ops",
  "max-concurrent-streams",
  "max-snapshots",
  "max-wals",
  "backend-batch-interval",
  "backend-batch-limit",
  "memory",
  "listen-classroom-url",
  "quota-backend-bytes",
] as const;

/** Flags that Go's flag package reads as booleans: no separate value argument. */
const BOOLEAN_FLAGS: readonly string[] = ["client-cert-auth", "memory"];

/** A flag that must be a positive integer (etcd: a uint flag), or undefined when not given. */
function positiveInteger(values: ReadonlyMap<string, string>, name: string): number | undefined {
  const text = values.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

/** Go's time.ParseDuration for the simple forms etcd's flags take: "100ms", "1s", "1.5s", "2m". */
function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/.exec(text);
  if (match === null) throw new Error(`invalid duration "${text}"`);
  const scale: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return Number(match[1]) * (scale[match[2] as string] as number);
}

function nonNegativeInteger(values: ReadonlyMap<string, string>, name: string): number | undefined {
  const text = values.get(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer`);
  return value;
}

/** The flags' options, plus etcdsim's own: where the classroom page is served (none: not served). */
export interface ServeOptions extends EtcdOptions {
  readonly listenClassroomUrl?: string;
}

/** Parses etcd-style flags into options; throws an Error with a usage message on bad input. */
export function parseFlags(argv: readonly string[]): ServeOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const match = /^--?([a-z-]+)(?:=(.*))?$/.exec(arg);
    const name = match?.[1];
    if (match === null || name === undefined || !(FLAGS as readonly string[]).includes(name)) {
      throw new Error(`unknown flag ${arg}; accepted: ${FLAGS.map((flag) => `--${flag}`).join(" ")}`);
    }
    const value = match[2] ?? (BOOLEAN_FLAGS.includes(name) ? "true" : argv[++i]);
    if (BOOLEAN_FLAGS.includes(name) && value !== "true" && value !== "false") throw new Error(`invalid boolean value ${JSON.stringify(value)} for --${name}`);
    if (value === undefined) throw new Error(`flag --${name} needs a value`);
    values.set(name, value);
  }
  const urls = (name: string): string[] | undefined => values.get(name)?.split(",").map((url) => url.trim()).filter((url) => url !== "");
  const snapshotCount = Number(values.get("snapshot-count") ?? DEFAULT_SNAPSHOT_COUNT);
  if (!Number.isSafeInteger(snapshotCount) || snapshotCount < 1) throw new Error(`--snapshot-count must be a positive integer`);
  const advertise = urls("advertise-client-urls");
  const peers = urls("initial-advertise-peer-urls");
  const token = values.get("initial-cluster-token");
  const tokenTTL = values.get("auth-token-ttl");
  if (tokenTTL !== undefined && !/^\d+$/.test(tokenTTL)) throw new Error(`--auth-token-ttl must be a whole number of seconds`);
  const bcryptCost = values.get("bcrypt-cost");
  if (bcryptCost !== undefined && !/^\d+$/.test(bcryptCost)) throw new Error(`--bcrypt-cost must be a whole number`);
  const classroom = values.get("listen-classroom-url");
  const certFile = values.get("cert-file");
  const keyFile = values.get("key-file");
  const trustedCaFile = values.get("trusted-ca-file");
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error(`--cert-file and --key-file go together`);
  const tls =
    certFile !== undefined && keyFile !== undefined
      ? {
          certFile,
          keyFile,
          ...(trustedCaFile !== undefined ? { trustedCaFile } : {}),
          clientCertAuth: values.get("client-cert-auth") === "true",
        }
      : undefined;
  const maxRequestBytes = positiveInteger(values, "max-request-bytes");
  const maxConcurrentStreams = positiveInteger(values, "max-concurrent-streams");
  const maxTxnOps = positiveInteger(values, "max-txn-ops");
  const name = values.get("name") ?? "default";
  const memory = values.has("memory") && values.get("memory") !== "false";
  // etcd's default data dir: "<name>.etcd" in the working directory.
  const dataDir = memory ? undefined : (values.get("data-dir") ?? `${name}.etcd`);
  const maxSnapshots = nonNegativeInteger(values, "max-snapshots");
  const maxWals = nonNegativeInteger(values, "max-wals");
  const batchLimit = nonNegativeInteger(values, "backend-batch-limit");
  const batchInterval = values.get("backend-batch-interval");
  const quotaText = values.get("quota-backend-bytes");
  const quotaBackendBytes = quotaText === undefined ? undefined : Number(quotaText);
  if (quotaBackendBytes !== undefined && !Number.isSafeInteger(quotaBackendBytes)) throw new Error(`--quota-backend-bytes must be an integer`);
  return {
    ...(classroom !== undefined ? { listenClassroomUrl: classroom } : {}),
    listenClientUrl: urls("listen-client-urls")?.[0] ?? DEFAULT_LISTEN_CLIENT_URL,
    name,
    snapshotCount,
    ...(maxSnapshots !== undefined ? { maxSnapshots } : {}),
    ...(maxWals !== undefined ? { maxWals } : {}),
    ...(batchLimit !== undefined && batchLimit > 0 ? { backendBatchLimit: batchLimit } : {}),
    ...(batchInterval !== undefined ? { backendBatchIntervalMs: parseDurationMs(batchInterval) } : {}),
    ...(advertise !== undefined ? { advertiseClientUrls: advertise } : {}),
    ...(peers !== undefined ? { initialAdvertisePeerUrls: peers } : {}),
    ...(token !== undefined ? { initialClusterToken: token } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(tokenTTL !== undefined ? { authTokenTTLSeconds: Number(tokenTTL) } : {}),
    ...(values.get("auth-token") !== undefined ? { authToken: values.get("auth-token") as string } : {}),
    ...(bcryptCost !== undefined ? { bcryptCost: Number(bcryptCost) } : {}),
    ...(tls !== undefined ? { tls } : {}),
    ...(maxTxnOps !== undefined ? { maxTxnOps } : {}),
    grpcLimits: {
      ...(maxRequestBytes !== undefined ? { maxRequestBytes } : {}),
      ...(maxConcurrentStreams !== undefined ? { maxConcurrentStreams } : {}),
    },
    ...(quotaBackendBytes !== undefined ? { quotaBackendBytes } : {}),
  };
}

/** Starts from command-line flags, prints the ready line and stops on SIGINT/SIGTERM. */
export async function main(argv: readonly string[]): Promise<RunningEtcd> {
  const { listenClassroomUrl, ...options } = parseFlags(argv);
  const where = options.dataDir === undefined ? "memory only, nothing kept" : `data dir ${options.dataDir}`;
  if (listenClassroomUrl === undefined) {
    const etcd = await startEtcd({ ...options, extraHandlers: [v3Mount(options)] });
    process.stderr.write(`etcdsim listening on ${etcd.clientUrl} (${where})\n`);
    stopOnSignals(etcd);
    return etcd;
  }
  const etcd = await startWithClassroom(options, listenClassroomUrl);
  process.stderr.write(`etcdsim listening on ${etcd.clientUrl} (${where})\n`);
  process.stderr.write(`etcdsim classroom on ${etcd.classroom.url}\n`);
  stopOnSignals(etcd);
  return etcd;
}

/** A running simulator with its classroom page: closing it closes both. */
export interface RunningWithClassroom extends RunningEtcd {
  readonly classroom: RunningClassroom;
}

/**
 * Starts the simulator and the classroom listener beside it. The request log sees each client
 * request before it is routed; the v3 mount hands over its server; both only read.
 */
export async function startWithClassroom(options: EtcdOptions, listenClassroomUrl: string): Promise<RunningWithClassroom> {
  const clock = options.clock ?? new RealClock();
  let v3: EtcdServer | undefined;
  let store: Store | undefined;
  const requests = new RequestLog(clock, { v2Index: () => store?.index ?? 0, v3Rev: () => v3?.kv.rev() ?? 0 });
  const etcd = await startEtcd({
    ...options,
    clock,
    extraHandlers: [...(options.extraHandlers ?? []), v3Mount(options, (server) => (v3 = server))],
    observeRequest: (req, res) => requests.observe(req, res),
    grpcInterceptors: [requests.grpcInterceptor()],
  });
  store = etcd.store;
  if (!(store instanceof V2Store)) throw new Error("the classroom view needs etcdsim's own V2Store");
  const classroom = await startClassroom({
    listenUrl: listenClassroomUrl,
    clock,
    clientUrl: etcd.clientUrl,
    stores: { v2: store, ...(v3 === undefined ? {} : { v3 }), requests, clock },
    // gRPC calls know their peer's address, not their socket: a peer gone from here has disconnected.
    beforeFrame: () => requests.forgetClosedGrpc(new Set([...etcd.sockets].map((socket) => `${socket.remoteAddress ?? ""}:${socket.remotePort ?? 0}`))),
  });
  return {
    ...etcd,
    classroom,
    close: async () => {
      await classroom.close();
      await etcd.close();
    },
  };
}

function stopOnSignals(etcd: RunningEtcd): void {
  const shutdown = (): void => {
    etcd.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`etcdsim: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`etcdsim: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}

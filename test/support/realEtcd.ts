/**
 * Starts a real etcd 3.4 (Debian's `etcd-server`) for differential tests and `--target` runs.
 *
 * Each launch gets free loopback ports, a fresh temp data dir and `--enable-v2=true`, waits until
 * `/health` answers, and is stopped by its own PID (never by name), so it never touches another etcd.
 *
 *   const etcd = await startEtcd();
 *   await fetch(`${etcd.clientUrl}/v2/keys/foo`, { method: "PUT", body: "value=bar", ... });
 *   await etcd.stop();
 *
 * `startCluster(3)` starts three such members that know each other through `--initial-cluster`, as
 * etcd's own docs do for a local cluster (member names m0, m1, m2), and resolves once every member
 * answers healthy, which needs an elected leader:
 *
 *   const cluster = await startCluster(3);
 *   cluster.clientUrls        // ["http://127.0.0.1:41001", "http://127.0.0.1:41003", "http://127.0.0.1:41005"]
 *   await cluster.stop();     // each member by its own PID
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../../shared/clock.js";

export const ETCD_BINARY = process.env["ETCD_BINARY"] ?? "etcd";
export const ETCDCTL_BINARY = process.env["ETCDCTL_BINARY"] ?? "etcdctl";

/** True when a real etcd 3.4 is installed (a laptop may not have it), and always under CI=true. */
export function etcdAvailable(): boolean {
  // In CI a missing etcd is a broken install, not a reason to skip: run the suites and let them fail.
  if (process.env["CI"] === "true") return true;
  const result = spawnSync(ETCD_BINARY, ["--version"], { encoding: "utf8" });
  return result.status === 0 && /3\.4\./.test(result.stdout);
}

/** True when etcdctl is installed. */
export function etcdctlAvailable(): boolean {
  if (process.env["CI"] === "true") return true;
  return spawnSync(ETCDCTL_BINARY, ["version"], { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } }).status === 0;
}

/** A free TCP port on 127.0.0.1, found by binding port 0 and releasing it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") return reject(new Error("no port"));
      server.close(() => resolve(address.port));
    });
  });
}

export interface RealEtcd {
  /** e.g. http://127.0.0.1:40123 */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly name: string;
  readonly pid: number;
  readonly dataDir: string;
  stop(): Promise<void>;
  /** SIGKILL (a crash); the data dir stays, for a restart on it. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** Extra etcd flags, e.g. ["--auto-compaction-retention=1"]. */
  readonly extraArgs?: readonly string[];
  /** Member name (default "default", as a bare `etcd` uses). */
  readonly name?: string;
  /** For clusters: the full --initial-cluster string and this member's ports. */
  readonly initialCluster?: string;
  readonly clientPort?: number;
  readonly peerPort?: number;
  /** Wait for /health (default true; a cluster member cannot be healthy alone). */
  readonly waitHealthy?: boolean;
  /** Start on this existing data dir (a restart) instead of a fresh one; `stop()` then leaves it. */
  readonly dataDir?: string;
}

/** Starts one etcd and resolves when it reports healthy. */
export async function startEtcd(options: StartOptions = {}): Promise<RealEtcd> {
  const clientPort = options.clientPort ?? (await freePort());
  const peerPort = options.peerPort ?? (await freePort());
  const name = options.name ?? "default";
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "etcdsim-real-"));
  const ownDir = options.dataDir === undefined;
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${options.initialCluster ?? `${name}=${peerUrl}`}`,
    "--enable-v2=true",
    "--log-level=error",
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(ETCD_BINARY, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => child.on("exit", () => { exited = true; resolve(); }));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${ETCD_BINARY}`);
  // If this process exits without calling stop() (an uncaught error, process.exit), take the etcd
  // along rather than leave it running on its ports. (A kill by signal still leaves it: stop() is the rule.)
  const killOnExit = (): void => {
    if (!exited) process.kill(pid, "SIGKILL");
  };
  process.on("exit", killOnExit);
  child.on("exit", () => process.off("exit", killOnExit));

  const stop = async (): Promise<void> => {
    if (!exited) {
      process.kill(pid, "SIGTERM");
      await Promise.race([exitPromise, sleep(5000)]);
      if (!exited) process.kill(pid, "SIGKILL");
      await exitPromise;
    }
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const kill = async (): Promise<void> => {
    if (!exited) process.kill(pid, "SIGKILL");
    await exitPromise;
  };

  if (options.waitHealthy !== false) {
    try {
      await waitHealthy(clientUrl, () => exited);
    } catch (error) {
      await stop();
      throw new Error(`etcd did not become healthy: ${(error as Error).message}\n${stderr}`);
    }
  }
  return { clientUrl, peerUrl, name, pid, dataDir, stop, kill };
}

/** Polls GET /health until it answers {"health":"true"}, for at most `attempts` × 100 ms. */
export async function waitHealthy(clientUrl: string, exited: () => boolean = () => false, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (exited()) throw new Error("etcd exited");
    try {
      const response = await fetch(`${clientUrl}/health`);
      const body = (await response.json()) as { health?: string };
      if (body.health === "true") return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`no healthy answer from ${clientUrl}`);
}

export interface RealEtcdCluster {
  readonly members: readonly RealEtcd[];
  /** Every member's client URL, in member order: what `--target` takes, comma-separated. */
  readonly clientUrls: readonly string[];
  stop(): Promise<void>;
}

/**
 * Starts `size` etcd members on loopback that form one new cluster, and resolves once all answer
 * `/health` (a member only reports healthy once a leader is elected, so this also waits for the
 * election). Ports and data dirs are fresh for each member; the cluster token is unique per call, so
 * two clusters started side by side never mistake each other's members for their own.
 *
 *   size 3 → --initial-cluster=m0=http://127.0.0.1:P0,m1=http://127.0.0.1:P1,m2=http://127.0.0.1:P2
 *            --initial-cluster-state=new --initial-cluster-token=etcdsim-<P0>
 */
export async function startCluster(size = 3, options: Pick<StartOptions, "extraArgs"> = {}): Promise<RealEtcdCluster> {
  if (!(size >= 1)) throw new RangeError(`a cluster needs at least one member, got ${size}`);
  const ports: { name: string; clientPort: number; peerPort: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort() });
  const initialCluster = ports.map((p) => `${p.name}=http://127.0.0.1:${p.peerPort}`).join(",");
  const token = `etcdsim-${ports[0]?.peerPort ?? 0}`;
  const started = await Promise.allSettled(
    ports.map((p) =>
      startEtcd({
        name: p.name,
        clientPort: p.clientPort,
        peerPort: p.peerPort,
        initialCluster,
        waitHealthy: false,
        extraArgs: ["--initial-cluster-state=new", `--initial-cluster-token=${token}`, ...(options.extraArgs ?? [])],
      }),
    ),
  );
  const members = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  // One member at a time: members stopped all at once each wait for the others while handing over
  // leadership and only die at the SIGKILL fallback (5 s); one by one they stop in milliseconds.
  const stop = async (): Promise<void> => {
    for (const member of members) await member.stop();
  };
  const failed = started.find((result) => result.status === "rejected");
  if (failed !== undefined) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  try {
    await Promise.all(members.map((member) => waitHealthy(member.clientUrl, () => !isRunning(member.pid))));
  } catch (error) {
    await stop();
    throw new Error(`cluster did not become healthy: ${(error as Error).message}`);
  }
  return { members, clientUrls: members.map((member) => member.clientUrl), stop };
}

/** True while the process with this PID exists (signal 0 checks without sending anything). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

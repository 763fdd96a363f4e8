/**
 * Starts a real etcd 3.4 (Debian's `etcd-server`) for differential tests and `--target` runs.
 *
 * Each launch gets free loopback ports, a fresh temp data dir and `--enable-v2=true`, waits until
 * `/health` answers, and is stopped by its own PID (never by name), so it never touches another etcd.
 *
 *   const etcd = await startEtcd();
 *   await fetch(`${etcd.clientUrl}/v2/keys/foo`, { method: "PUT", body: "value=bar", ... });
 *   await etcd.stop();
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../../shared/clock.js";

export const ETCD_BINARY = process.env["ETCD_BINARY"] ?? "etcd";
export const ETCDCTL_BINARY = process.env["ETCDCTL_BINARY"] ?? "etcdctl";

/** True when a real etcd binary is installed (CI installs it; a laptop may not have it). */
export function etcdAvailable(): boolean {
  const result = spawnSync(ETCD_BINARY, ["--version"], { encoding: "utf8" });
  return result.status === 0 && /3\.4\./.test(result.stdout);
}

/** True when etcdctl is installed. */
export function etcdctlAvailable(): boolean {
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
}

/** Starts one etcd and resolves when it reports healthy. */
export async function startEtcd(options: StartOptions = {}): Promise<RealEtcd> {
  const clientPort = options.clientPort ?? (await freePort());
  const peerPort = options.peerPort ?? (await freePort());
  const name = options.name ?? "default";
  const dataDir = mkdtempSync(join(tmpdir(), "etcdsim-real-"));
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

  const stop = async (): Promise<void> => {
    if (!exited) {
      process.kill(pid, "SIGTERM");
      await Promise.race([exitPromise, sleep(5000)]);
      if (!exited) process.kill(pid, "SIGKILL");
      await exitPromise;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  if (options.waitHealthy !== false) {
    try {
      await waitHealthy(clientUrl, () => exited);
    } catch (error) {
      await stop();
      throw new Error(`etcd did not become healthy: ${(error as Error).message}\n${stderr}`);
    }
  }
  return { clientUrl, peerUrl, name, pid, dataDir, stop };
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

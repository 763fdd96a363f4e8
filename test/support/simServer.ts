/**
 * Starts the simulator server (`npm run serve`) as a child process, for tests that want it over the
 * network exactly as a student would run it. The counterpart of `realEtcd.ts`'s `startEtcd()`.
 *
 * Each launch gets a free loopback port and, unless `--data-dir` or `--memory` is given, a fresh data dir
 * under the system temp dir (removed when the process exits), as `realEtcd.ts` gives a real etcd. It
 * waits for the ready line `etcdsim listening on <url>` on stderr, and is stopped by its own PID
 * (SIGTERM, then SIGKILL after 5 s), never by name.
 *
 *   const sim = await startSim();                       // or startSim({ extraArgs: ["--data-dir", dir] })
 *   await fetch(`${sim.clientUrl}/v2/keys/foo`, { method: "PUT", body: … });
 *   await sim.stop();
 *
 * Nothing here knows which APIs the server mounts: whatever `server/main.ts` serves, tests get.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sleep } from "../../shared/clock.js";
import { freePort } from "./realEtcd.js";

/** The repository root (two levels above this file). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface SimServer {
  /** e.g. http://127.0.0.1:40123 */
  readonly clientUrl: string;
  readonly pid: number;
  /** Everything the server wrote to stderr so far (the ready line, handler failures). */
  stderr(): string;
  /** SIGTERM (the server saves its snapshot and exits), SIGKILL if it has not exited within 5 s. */
  stop(): Promise<void>;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

export interface SimOptions {
  /** Flags added after `--listen-client-urls`, e.g. ["--data-dir", dir, "--snapshot-count", "10"]. */
  readonly extraArgs?: readonly string[];
  /** Use this port instead of a free one (a restart on the same port). */
  readonly port?: number;
  /** How long to wait for the ready line (default 30 s: tsx compiles on first start). */
  readonly readyTimeoutMs?: number;
}

/** Starts `server/main.ts` under tsx and resolves once it prints its ready line. */
export async function startSim(options: SimOptions = {}): Promise<SimServer> {
  const port = options.port ?? (await freePort());
  const listenUrl = `http://127.0.0.1:${port}`;
  const extraArgs = options.extraArgs ?? [];
  const ownDir = extraArgs.some((arg) => /^--?(data-dir|memory)(=|$)/.test(arg)) ? undefined : mkdtempSync(join(tmpdir(), "etcdsim-sim-"));
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, "server", "main.ts"), "--listen-client-urls", listenUrl, ...(ownDir !== undefined ? ["--data-dir", ownDir] : []), ...extraArgs],
    { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error("could not start the simulator");
  let stderr = "";
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      exitCode = code;
      if (ownDir !== undefined) rmSync(ownDir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  const ready = new Promise<string>((resolve) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
      const match = /etcdsim listening on (\S+)/.exec(stderr);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
  });

  const stop = async (): Promise<void> => {
    if (exitCode !== undefined) return;
    process.kill(pid, "SIGTERM");
    const code = await Promise.race([exited, sleep(5000).then(() => "timeout" as const)]);
    if (code === "timeout" && exitCode === undefined) {
      process.kill(pid, "SIGKILL");
      await exited;
    }
  };

  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const outcome = await Promise.race([
    ready,
    exited.then((code) => ({ exitedWith: code })),
    sleep(timeoutMs).then(() => ({ timedOut: true })),
  ]);
  if (typeof outcome !== "string") {
    await stop();
    throw new Error(`the simulator did not start (${JSON.stringify(outcome)}):\n${stderr}`);
  }
  return { clientUrl: outcome, pid, stderr: () => stderr, stop, exited };
}

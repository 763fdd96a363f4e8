/**
 * Runs the real `etcdctl` for differential tests: `ETCDCTL_API` 2 or 3, optional stdin, killed by its
 * own PID after a timeout (a watch that never ends). The client's JSON warn lines (timestamps and
 * random client IDs, `{"level":"warn",…}`) are dropped from both outputs.
 *
 *   const { stdout, stderr, status } = await runEtcdctl("3", ["--endpoints=127.0.0.1:2379", "get", "foo"]);
 */
import { spawn } from "node:child_process";
import { sleep } from "../../shared/clock.js";
import { ETCDCTL_BINARY } from "./realEtcd.js";

export interface CtlResult {
  stdout: string;
  stderr: string;
  /** The exit code; null when killed after the timeout (stderr then ends with "<killed after timeout>"). */
  status: number | null;
}

export function runEtcdctl(api: "2" | "3", args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = spawn(ETCDCTL_BINARY, args, { env: { ...process.env, ETCDCTL_API: api }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.on("error", () => {}); // etcdctl may exit before reading its input
    child.stdin.end(options.input ?? "");
    let timedOut = false;
    void sleep(options.timeoutMs ?? 15_000).then(() => {
      if (child.exitCode === null && child.pid !== undefined) {
        timedOut = true;
        process.kill(child.pid, "SIGKILL");
      }
    });
    const clean = (text: string): string =>
      text
        .split("\n")
        .filter((line) => !line.startsWith('{"level":'))
        .join("\n");
    child.on("close", (status) =>
      resolve({ stdout: clean(stdout), stderr: clean(stderr) + (timedOut ? "<killed after timeout>" : ""), status: timedOut ? null : status }),
    );
  });
}

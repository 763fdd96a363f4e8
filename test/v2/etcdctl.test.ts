/**
 * The real `etcdctl` (ETCDCTL_API=2) against a real etcd 3.4 and against the simulator: each command
 * must print the same stdout and stderr and exit with the same code, after indexes are made relative
 * to the first write and the endpoint URL is masked (see `normalizeCtlOutput`).
 *
 * etcdctl v2 first asks `/v2/members` for the cluster's client URLs and then talks to those, so this
 * also checks that the simulator advertises itself correctly.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../shared/clock.js";
import { instantiate, send, startV2Pair, type Baseline, type V2Pair } from "../support/differential.js";
import { ETCDCTL_BINARY, etcdAvailable, etcdctlAvailable, type RealEtcd } from "../support/realEtcd.js";
import type { SimServer } from "../support/simServer.js";

interface CtlResult {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Runs etcdctl v2 against one endpoint; killed after `timeoutMs` (a watch that never fires). */
function runCtl(endpoint: string, args: readonly string[], timeoutMs = 15_000): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = spawn(ETCDCTL_BINARY, ["--endpoints", endpoint, ...args], {
      env: { ...process.env, ETCDCTL_API: "2" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    let timedOut = false;
    const timer = sleep(timeoutMs).then(() => {
      if (child.exitCode === null && child.pid !== undefined) {
        timedOut = true;
        process.kill(child.pid, "SIGKILL");
      }
    });
    void timer;
    child.on("close", (status) => resolve({ stdout, stderr: timedOut ? stderr + "<killed after timeout>" : stderr, status }));
  });
}

/**
 * Makes one etcdctl output comparable: the endpoint becomes `<endpoint>`; indexes printed as
 * `[N]` (error suffix), `Created-Index: N`, `Modified-Index: N`, `Index: N`, in JSON and as the
 * 20-digit names of in-order keys become
 * relative to the first write; TTLs and expirations are masked (the two servers see the command a
 * few ms apart, and ttl is rounded up to whole seconds from that instant).
 */
export function normalizeCtlOutput(text: string, baseline: Baseline, endpoint: string): string {
  const relative = (digits: string): string => String(Number(digits) === 0 ? 0 : Number(digits) - baseline.etcdIndexBase);
  return text
    .split(endpoint)
    .join("<endpoint>")
    .replace(/\/(\d{20})(?=\/|"|$)/gm, (_, n: string) => `/<in-order ${relative(n)}>`)
    .replace(/\[(\d+)\]$/gm, (_, n: string) => `[${relative(n)}]`)
    .replace(/\[(\d+) != (\d+)\]/g, (_, a: string, b: string) => `[${relative(a)} != ${relative(b)}]`)
    .replace(/^(Created-Index|Modified-Index|Index): (\d+)$/gm, (_, name: string, n: string) => `${name}: ${relative(n)}`)
    .replace(/"(createdIndex|modifiedIndex)":(\d+)/g, (_, name: string, n: string) => `"${name}":${relative(n)}`)
    .replace(/^TTL: [1-9]\d*$/gm, "TTL: <ttl>")
    .replace(/"ttl":\d+/g, '"ttl":<ttl>')
    .replace(/"expiration":"[^"]*"/g, '"expiration":"<expiration>"');
}

describe.skipIf(!etcdAvailable() || !etcdctlAvailable())("etcdctl (API 2) against the simulator and a real etcd 3.4", () => {
  let pair: V2Pair;
  let real: RealEtcd;
  let sim: SimServer;
  let realBase: Baseline;
  let simBase: Baseline;
  const commands: string[] = [];
  let mismatches: string[] = [];

  beforeAll(async () => {
    pair = await startV2Pair();
    ({ real, sim, realBase, simBase } = pair);
  }, 90_000);

  afterAll(async () => {
    process.stdout.write(`etcdctl v2: ${commands.length} commands compared\n`);
    await pair?.stop();
  });

  function compare(args: readonly string[], a: CtlResult, b: CtlResult): void {
    commands.push(args.join(" "));
    const left = { ...a, stdout: normalizeCtlOutput(a.stdout, realBase, real.clientUrl), stderr: normalizeCtlOutput(a.stderr, realBase, real.clientUrl) };
    const right = { ...b, stdout: normalizeCtlOutput(b.stdout, simBase, sim.clientUrl), stderr: normalizeCtlOutput(b.stderr, simBase, sim.clientUrl) };
    if (JSON.stringify(left) !== JSON.stringify(right)) {
      mismatches.push(`etcdctl ${args.join(" ")}\n  real: ${JSON.stringify(a)}\n  sim:  ${JSON.stringify(b)}`);
    }
  }

  /** Runs one command (with `@N` index placeholders) on both, real first, and compares. */
  async function ctl(...args: string[]): Promise<void> {
    const a = await runCtl(real.clientUrl, args.map((arg) => instantiate(arg, realBase)));
    const b = await runCtl(sim.clientUrl, args.map((arg) => instantiate(arg, simBase)));
    compare(args, a, b);
  }

  /** The relative modifiedIndex of a key on the real etcd (to build --swap-with-index arguments). */
  async function relativeIndexOf(key: string): Promise<number> {
    const answer = await send(real.clientUrl, { method: "GET", path: `/v2/keys${key}` });
    return ((JSON.parse(answer.body) as { node: { modifiedIndex: number } }).node.modifiedIndex) - realBase.etcdIndexBase;
  }

  /** Resolves once the server has `count` registered watchers (a watch is listening). */
  async function watchersReach(url: string, count: number): Promise<void> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const stats = JSON.parse((await send(url, { method: "GET", path: "/v2/stats/store" })).body) as { watchers: number };
      if (stats.watchers >= count) return;
      await sleep(25);
    }
    throw new Error(`no watcher registered on ${url}`);
  }

  function assertNoMismatch(): void {
    const found = mismatches;
    mismatches = [];
    expect(found, found.join("\n\n")).toEqual([]);
  }

  it("prints the same for set, get, mk, mkdir, update and ls", async () => {
    await ctl("set", "/ctl/a", "1");
    await ctl("get", "/ctl/a");
    await ctl("mk", "/ctl/a", "2");
    await ctl("mk", "/ctl/b", "2");
    await ctl("mkdir", "/ctl/d");
    await ctl("mkdir", "/ctl/d");
    await ctl("setdir", "/ctl/sd");
    await ctl("updatedir", "/ctl/sd", "--ttl", "100");
    await ctl("update", "/ctl/a", "3");
    await ctl("update", "/ctl/missing", "3");
    await ctl("set", "/ctl/d/inner/deep", "x");
    await ctl("ls", "--recursive", "--sort", "/ctl");
    await ctl("ls", "--recursive", "--sort", "-p", "/ctl");
    await ctl("ls", "/ctl/nothing");
    await ctl("get", "/ctl");
    await ctl("get", "/ctl/nope");
    await ctl("-o", "json", "get", "/ctl/a");
    await ctl("-o", "extended", "get", "/ctl/a");
    await ctl("-o", "json", "set", "/ctl/a", "json");
    await ctl("-o", "extended", "set", "/ctl/a", "extended");
    await ctl("get", "--quorum", "/ctl/a");
    await ctl("ls", "--sort");
    await ctl("mk", "--in-order", "/ctl/q", "job1");
    await ctl("-o", "json", "mk", "--in-order", "/ctl/q", "job2");
    assertNoMismatch();
  });

  it("prints the same for compare-and-swap, TTLs and removals", async () => {
    await ctl("set", "/ctl/a", "4", "--swap-with-value", "extended");
    await ctl("set", "/ctl/a", "5", "--swap-with-value", "nope");
    const index = await relativeIndexOf("/ctl/a");
    await ctl("set", "/ctl/a", "6", "--swap-with-index", `@${index}`);
    await ctl("set", "/ctl/a", "7", "--swap-with-index", "@1");
    await ctl("set", "/ctl/t", "x", "--ttl", "100");
    await ctl("-o", "extended", "get", "/ctl/t");
    await ctl("-o", "json", "get", "/ctl/t");
    await ctl("rm", "/ctl/a", "--with-value", "wrong");
    await ctl("rm", "/ctl/a", "--with-value", "6");
    await ctl("rm", "/ctl/a");
    await ctl("rm", "/ctl/b", "--with-index", "@1");
    await ctl("rm", "/ctl/d");
    await ctl("rmdir", "/ctl/d");
    await ctl("rm", "--dir", "/ctl/sd");
    await ctl("rm", "-r", "/ctl/d");
    await ctl("-o", "json", "rm", "/ctl/b");
    await ctl("rmdir", "/ctl/nothing");
    assertNoMismatch();
  });

  it("prints the same for watches, waiting for a concurrent write", async () => {
    for (const [args, writeKey] of [
      [["watch", "/ctl/w"], "/ctl/w"],
      [["-o", "json", "watch", "--recursive", "/ctl/wd"], "/ctl/wd/child"],
      [["-o", "extended", "watch", "/ctl/w"], "/ctl/w"],
    ] as const) {
      const before = await Promise.all([real.clientUrl, sim.clientUrl].map(async (url) =>
        (JSON.parse((await send(url, { method: "GET", path: "/v2/stats/store" })).body) as { watchers: number }).watchers));
      const a = runCtl(real.clientUrl, args);
      const b = runCtl(sim.clientUrl, args);
      await watchersReach(real.clientUrl, (before[0] ?? 0) + 1);
      await watchersReach(sim.clientUrl, (before[1] ?? 0) + 1);
      await ctl("set", writeKey, "hello");
      compare(args, await a, await b);
    }
    const index = await relativeIndexOf("/ctl/w");
    await ctl("watch", "--after-index", `@${index - 1}`, "/ctl/w");
    assertNoMismatch();
  });

  it("prints the same for cluster-health and member list", async () => {
    await ctl("cluster-health");
    await ctl("member", "list");
    assertNoMismatch();
  });

  it("compared every etcdctl command the task names", () => {
    const names = commands.join("\n");
    for (const needed of ["set", "get", "mk", "mkdir", "update", "rm", "rmdir", "ls --recursive", "--swap-with-value", "--swap-with-index", "--ttl", "watch", "-o json"]) {
      expect(names).toContain(needed);
    }
  });
});

/**
 * What the console prints for etcdctl v3 lines, against what the real `etcdctl` 3.4 prints for the
 * same lines on a fresh real etcd: stdout, stderr and exit code, after the IDs that differ between
 * any two etcds (cluster_id, member_id, lease IDs) are masked. Ported in spirit from etcd's
 * `tests/e2e/ctl_v3_*_test.go`, which run etcdctl and match its output.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openInProcessTarget } from "../../scenarios/adapters/inProcess.js";
import { ConsoleEngine } from "../../scenarios/script/consoleEngine.js";
import { shellWords } from "../../scenarios/script/etcdctlArgs.js";
import { ETCDCTL_BINARY, etcdAvailable, etcdctlAvailable, startEtcd, type RealEtcd } from "../support/realEtcd.js";

/** Lines run in order on both sides; `LEASE` stands for the lease granted first. */
const LINES = [
  "put foo bar",
  "put foo1 bar1 --prev-kv",
  "put foo bar2 --prev-kv",
  "put foo bar3 -w json",
  "put foo bar4 -w fields",
  "put foo bar5 -w table",
  "get foo",
  "get foo -w json",
  "get foo -w fields",
  "get nothing -w json",
  "get nothing -w fields",
  "get foo --prefix --keys-only",
  "get foo --prefix --limit=1 -w json",
  "get foo --prefix --order=DESCEND",
  "get foo --prefix --sort-by=value --order=descend -w fields",
  "get foo foo1",
  "get '' --prefix --keys-only",
  "get foo --from-key --keys-only",
  "get foo --rev=2",
  "get foo --rev=99",
  "get foo --sort-by=mod",
  "get foo --order=up",
  "get foo --print-value-only -w json",
  "get",
  "get foo --prefix --from-key",
  "get foo bar --prefix",
  "get foo --count-only",
  "get foo -w yaml",
  "del nothing",
  "del foo1 --prev-kv",
  "del foo -w json",
  "put foo again",
  "del foo -w fields",
  "del",
  "put",
  "put k v --lease=zz",
  "put k v --lease=1234",
  "put --ignore-value k v",
  "compaction 3",
  "compaction 3",
  "compaction 999",
  "compaction abc",
  "compaction",
  "lease grant 60",
  "put lk v --lease=LEASE",
  "lease timetolive LEASE --keys",
  "lease timetolive LEASE -w fields",
  "lease keep-alive --once LEASE",
  "lease list",
  "lease revoke LEASE",
  "lease revoke LEASE",
  "lease timetolive LEASE",
  "lease keep-alive --once LEASE",
  "lease grant abc",
  "lease grant 9000000001",
  "version",
];

const TXNS = [
  ['value("k") = "v"', "", "put t 1", "get t", "del nothing", "", "get t", "", ""],
  ['mod("t") > "0"', 'create("t") != "0"', 'version("t") < "5"', "", "put t 2", "", "", ""],
  ['value("t") = "nope"', "", "", "get t --prefix", "", ""],
  ['value(t) = "x"'],
  ['foo("t") = "x"'],
  ['version("t") = "abc"'],
  ["", "bogus t", ""],
  ["", "put t"],
];

/** Masks what differs between two etcds: cluster and member IDs, raft term, lease IDs. */
function mask(text: string, leases: readonly string[]): string {
  let out = text
    .replace(/"cluster_id":\d+/g, '"cluster_id":C')
    .replace(/"member_id":\d+/g, '"member_id":M')
    .replace(/"ClusterID" : [1-9]\d*/g, '"ClusterID" : C')
    .replace(/"MemberID" : [1-9]\d*/g, '"MemberID" : M');
  for (const [i, hex] of leases.entries()) {
    out = out.split(hex).join(`LEASE${i}`).split(BigInt(`0x${hex}`).toString()).join(`LEASE${i}`);
  }
  return out;
}

interface Ran {
  out: string;
  err: string;
  exit: number;
}

function runReal(endpoint: string, args: string[], input?: string): Ran {
  const result = spawnSync(ETCDCTL_BINARY, ["--endpoints", endpoint, ...args], {
    env: { ...process.env, ETCDCTL_API: "3" },
    input: input ?? "",
    encoding: "utf8",
  });
  // The Go client's retry warning (a JSON log line) is not simulated; drop it.
  const err = result.stderr
    .split("\n")
    .filter((line) => !line.startsWith('{"level":"warn"'))
    .join("\n");
  return { out: result.stdout, err, exit: result.status ?? -1 };
}

describe.skipIf(!etcdAvailable() || !etcdctlAvailable())("etcdctl v3 output: the console vs the real etcdctl 3.4", () => {
  let etcd: RealEtcd;
  let engine: ConsoleEngine;
  beforeAll(async () => {
    etcd = await startEtcd();
    engine = await ConsoleEngine.open({ open: async () => openInProcessTarget(), replayable: true });
  });
  afterAll(async () => {
    await engine?.close();
    await etcd?.stop();
  });

  it("prints the same stdout, stderr and exit code for every line, in order", async () => {
    const realLeases: string[] = [];
    const simLeases: string[] = [];
    const mismatches: string[] = [];
    let compared = 0;
    for (const line of LINES) {
      const realLine = line.replace("LEASE", realLeases[0] ?? "0");
      const simLine = line.replace("LEASE", simLeases[0] ?? "0");
      const real = runReal(etcd.clientUrl, shellWords(realLine) as string[]);
      const simOut = await engine.input(simLine);
      const sim: Ran = {
        out: simOut.filter((l) => l.stream === "out").map((l) => l.text + "\n").join(""),
        err: simOut.filter((l) => l.stream === "err").map((l) => l.text + "\n").join(""),
        exit: engine.exitCode() ?? -1,
      };
      if (line === "lease grant 60") {
        realLeases.push(/lease ([0-9a-f]+) granted/.exec(real.out)?.[1] ?? "");
        simLeases.push(/lease ([0-9a-f]+) granted/.exec(sim.out)?.[1] ?? "");
      }
      // Go's %v of a usage error repeats the usage; only the first Error: line is kept on both sides.
      const realErr = real.err.split("\n").filter((l) => l.startsWith("Error:")).slice(0, 1).join("\n");
      const simErr = sim.err.split("\n").filter((l) => l.startsWith("Error:")).slice(0, 1).join("\n");
      compared += 1;
      // Known difference: on an unknown flag etcdctl also prints the command's usage text on stdout.
      const realOut = /unknown flag/.test(real.err) ? "" : real.out;
      if (mask(realOut, realLeases) !== mask(sim.out, simLeases) || realErr !== simErr || real.exit !== sim.exit) {
        mismatches.push(`${line}\n  real: ${JSON.stringify(mask(realOut, realLeases))} ${JSON.stringify(realErr)} exit ${real.exit}\n  sim:  ${JSON.stringify(mask(sim.out, simLeases))} ${JSON.stringify(simErr)} exit ${sim.exit}`);
      }
    }
    expect(mismatches, mismatches.join("\n")).toEqual([]);
    expect(compared).toBe(LINES.length);
  }, 120_000);

  it("reads txn -i like etcdctl: prompts, results and the first bad line's error", async () => {
    const mismatches: string[] = [];
    for (const block of TXNS) {
      const real = runReal(etcd.clientUrl, ["txn", "-i"], block.join("\n") + (block.length < 3 ? "\n" : ""));
      const out: string[] = [];
      const err: string[] = [];
      for (const line of ["txn -i", ...block]) {
        for (const l of await engine.input(line)) (l.stream === "err" ? err : out).push(l.text);
      }
      for (const l of await engine.endOfInput()) (l.stream === "err" ? err : out).push(l.text);
      const sim = out.map((l) => l + "\n").join("");
      const realErr = real.err.split("\n").filter((l) => l.startsWith("Error:")).join("\n");
      if (real.out !== sim || realErr !== err.join("\n") || real.exit !== engine.exitCode()) {
        mismatches.push(`${block.join("⏎")}\n  real: ${JSON.stringify(real.out)} ${JSON.stringify(realErr)} exit ${real.exit}\n  sim:  ${JSON.stringify(sim)} ${JSON.stringify(err.join("\n"))} exit ${engine.exitCode()}`);
      }
    }
    expect(mismatches, mismatches.join("\n")).toEqual([]);
  }, 60_000);
});

/**
 * The real `etcdctl` (ETCDCTL_API=3, over gRPC) against a real etcd 3.4.23 and against the
 * simulator: every command of the auth session below must print the same stdout and stderr and
 * exit with the same code. Only the client's warn lines (JSON log lines with a timestamp and a
 * random client ID) are dropped from stderr before comparing; the simulator runs as the same member
 * (same peer URL), so `-w json` headers compare exactly.
 *
 * The session is auth.md §7.2 followed by §5.3's reader/writer examples, txns, watches refused at
 * creation, leases, admin-only calls, maintenance's raw errors (snapshot), argument errors, role
 * and user removal, and auth disable. (Defragment, Alarm and MemberList are served on the `maint`
 * branch; they join this session once it is merged.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEtcdctl, type CtlResult } from "../support/etcdctl.js";
import { etcdAvailable, etcdctlAvailable, startEtcd, type RealEtcd } from "../support/realEtcd.js";
import { startSim, type SimServer } from "../support/simServer.js";

/**
 * Masks the endpoint and generated lease IDs (16 hex digits: the ID generator's time-based part differs).
 */
function normalize(result: CtlResult, endpoint: string): CtlResult {
  const clean = (text: string): string =>
    text
      .split(endpoint)
      .join("<endpoint>")
      .replace(/\b[0-9a-f]{16}\b/g, "<lease ID>");
  return { stdout: clean(result.stdout), stderr: clean(result.stderr), status: result.status };
}

const ROOT = ["--user", "root:rootpw"];
const ALICE = ["--user", "alice:alicepw"];
const BOB = ["--user", "bob:bobpw"];

/** [args, stdin?, timeoutMs?] */
type Step = readonly [readonly string[], string?, number?];

const SESSION: readonly Step[] = [
  // auth.md §7.2
  [["auth", "enable"]],
  [["user", "add", "root:rootpw"]],
  [["user", "get", "root"]],
  [["auth", "enable"]],
  [["role", "list"]],
  [[...ROOT, "user", "list"]],
  [["--user", "root:wrong", "user", "list"]],
  [[...ROOT, "role", "add", "reader"]],
  [[...ROOT, "role", "grant-permission", "reader", "read", "/app/", "--prefix"]],
  [[...ROOT, "role", "grant-permission", "reader", "read", "a", "c"]],
  [[...ROOT, "role", "grant-permission", "reader", "readwrite", "single"]],
  [[...ROOT, "role", "get", "reader"]],
  [[...ROOT, "user", "add", "alice:alicepw"]],
  [[...ROOT, "user", "grant-role", "alice", "reader"]],
  [[...ROOT, "put", "/app/x", "1"]],
  [[...ALICE, "get", "/app/x"]],
  [[...ALICE, "put", "/app/x", "9"]],
  [[...ALICE, "user", "get", "alice"]],
  [[...ALICE, "user", "get", "bob"]],
  [[...ALICE, "watch", "/other"]],
  [[...ALICE, "compaction", "2"]],
  [[...ROOT, "user", "revoke-role", "root", "root"]],
  [[...ROOT, "user", "add", "nopw", "--no-password"]],
  [["--user", "nopw:x", "get", "b"]],
  // a writer role (§5.3)
  [[...ROOT, "role", "add", "writer"]],
  [[...ROOT, "role", "grant-permission", "writer", "write", "/app/w/", "--prefix"]],
  [[...ROOT, "role", "grant-permission", "writer", "readwrite", "/open", "--from-key"]],
  [[...ROOT, "role", "get", "writer"]],
  [[...ROOT, "role", "get", "writer", "-w", "json"]],
  [[...ROOT, "user", "add", "bob", "--new-user-password=bobpw"]],
  [[...ROOT, "user", "grant-role", "bob", "writer"]],
  [[...ROOT, "user", "get", "bob", "--detail"]],
  [[...ROOT, "user", "list", "-w", "json"]],
  [[...ROOT, "role", "list"]],
  [[...ALICE, "get", "/app/", "--prefix"]],
  [[...ALICE, "get", "/", "--prefix"]],
  [[...ALICE, "get", "a", "c"]],
  [[...ALICE, "get", "b"]],
  [[...ALICE, "get", "a", "d"]],
  [[...ALICE, "put", "single", "s2"]],
  [[...ALICE, "put", "single", "s3", "--prev-kv"]],
  [[...ALICE, "del", "single"]],
  [[...BOB, "put", "/app/w/y", "3"]],
  [[...BOB, "get", "/app/w/y"]],
  [[...BOB, "put", "/app/w/y", "4", "--prev-kv"]],
  [[...BOB, "del", "/app/w/y", "--prev-kv"]],
  [[...BOB, "del", "/app/w/", "--prefix"]],
  [[...BOB, "put", "/open/z", "z"]],
  [[...BOB, "get", "/open/z"]],
  [[...BOB, "get", "/open", "--from-key"]],
  [[...BOB, "get", "/open/z", "/zz"]],
  [[...BOB, "get", "", "--prefix"]],
  [[...ROOT, "get", "", "--prefix", "--keys-only"]],
  [["get", "/app/x"]],
  // txns: compares and both branches are checked
  [[...ALICE, "txn"], 'value("/app/x") = "1"\n\nget /app/x\n\nput /app/x no\n\n'],
  [[...ALICE, "txn"], 'value("/app/x") = "1"\n\nget /app/x\n\nget single\n\n'],
  [[...ALICE, "txn"], 'value("/secret") = "1"\n\nget /app/x\n\n\n'],
  [[...BOB, "txn"], "\nput /app/w/t 1\n\n\n"],
  [[...BOB, "txn", "-w", "json"], "\nput /app/w/t 2\ndel /app/w/t\n\n\n"],
  // watches: refused at creation
  [[...BOB, "watch", "/app/w/", "--prefix"]],
  [["watch", "a"]],
  [[...ALICE, "watch", "/app/", "--prefix", "--rev", "1"]],
  // leases
  [[...ROOT, "lease", "grant", "100"]],
  [[...BOB, "lease", "list"]],
  [["lease", "timetolive", "1"]],
  [[...ROOT, "role", "get", "nosuch"]],
  // admin-only and self-service calls
  [[...ALICE, "role", "get", "reader"]],
  [[...ALICE, "role", "get", "writer"]],
  [[...ALICE, "user", "list"]],
  [[...ALICE, "role", "add", "x"]],
  [[...ALICE, "auth", "disable"]],
  [[...ALICE, "user", "passwd", "alice", "--interactive=false"], "newpw\n"],
  [[...ALICE, "snapshot", "save", "/nonexistent-dir/snap.db"]],
  [[...ROOT, "user", "delete", "root"]],
  [[...ROOT, "role", "delete", "root"]],
  // argument errors (client side, exit 128)
  [[...ROOT, "user", "add"]],
  [[...ROOT, "user", "add", ":x"]],
  [[...ROOT, "role", "grant-permission", "reader", "bogus", "k"]],
  [[...ROOT, "role", "grant-permission", "reader", "read", "k", "z", "--prefix"]],
  [[...ROOT, "role", "grant-permission", "reader", "read", "k", "--prefix", "--from-key"]],
  [[...ROOT, "auth", "enable", "extra"]],
  // changes that apply to the very next request
  [[...ROOT, "role", "revoke-permission", "reader", "a", "c"]],
  [[...ROOT, "role", "revoke-permission", "reader", "a"]],
  [[...ROOT, "role", "revoke-permission", "reader", "/app/", "--prefix"]],
  [[...ROOT, "role", "revoke-permission", "writer", "/open", "--from-key"]],
  [[...ALICE, "get", "b"]],
  [[...ALICE, "get", "/app/x"]],
  [[...ROOT, "user", "revoke-role", "alice", "reader"]],
  [[...ROOT, "user", "revoke-role", "alice", "reader"]],
  [[...ALICE, "get", "single"]],
  [[...ROOT, "user", "grant-role", "alice", "writer"]],
  [[...ROOT, "role", "delete", "writer"]],
  [[...ROOT, "user", "get", "alice"]],
  [[...ROOT, "user", "passwd", "alice", "--interactive=false"], "alicepw2\n"],
  [[...ALICE, "get", "single"]],
  [["--user", "alice:alicepw2", "get", "single"]],
  [[...ROOT, "user", "delete", "alice"]],
  [[...ROOT, "user", "delete", "alice"]],
  [["--user", "alice:alicepw2", "get", "single"]],
  [[...ROOT, "auth", "disable"]],
  [["auth", "disable"]],
  [["get", "single"]],
  [[...ROOT, "get", "single"]],
  [["user", "list"]],
  [["role", "list"]],
];

describe.skipIf(!etcdAvailable() || !etcdctlAvailable())("etcdctl (API 3) auth commands against the simulator and a real etcd 3.4", () => {
  let real: RealEtcd;
  let sim: SimServer;
  const mismatches: string[] = [];
  let compared = 0;

  beforeAll(async () => {
    real = await startEtcd();
    sim = await startSim({ extraArgs: ["--initial-advertise-peer-urls", real.peerUrl, "--bcrypt-cost", "4"] });
  }, 90_000);
  afterAll(async () => {
    process.stdout.write(`etcdctl v3 auth differential: ${compared - mismatches.length} of ${compared} invocations equal\n`);
    await Promise.all([real?.stop(), sim?.stop()]);
  });

  it("prints the same output and exits with the same code for every command of the session", async () => {
    const realEndpoint = real.clientUrl.replace("http://", "");
    const simEndpoint = sim.clientUrl.replace("http://", "");
    for (const [args, input, timeoutMs] of SESSION) {
      const run = (endpoint: string): Promise<CtlResult> =>
        runEtcdctl("3", [`--endpoints=${endpoint}`, ...args], { input: input ?? "", ...(timeoutMs === undefined ? {} : { timeoutMs }) });
      const a = normalize(await run(realEndpoint), realEndpoint);
      const b = normalize(await run(simEndpoint), simEndpoint);
      compared++;
      if (JSON.stringify(a) !== JSON.stringify(b)) {
        mismatches.push(`etcdctl ${args.join(" ")}\n  real: ${JSON.stringify(a)}\n  sim:  ${JSON.stringify(b)}`);
      }
    }
    expect(compared).toBeGreaterThanOrEqual(80);
    expect(mismatches.join("\n\n")).toBe("");
  }, 600_000);
});

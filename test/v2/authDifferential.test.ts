/**
 * Differential test of v2 auth (`/v2/auth/*`, Basic credentials on `/v2/keys`, the guest role, the
 * etcd indexes auth writes spend) and of `ETCDCTL_API=2 etcdctl user/role/auth`, against a real
 * etcd 3.4.23: the same status, headers and body (indexes relative to each server's start, see
 * test/support/differential.ts), and for etcdctl the same output and exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeDifference, formatExchange, instantiateRequest, normalize, send, startV2Pair, type RawRequest, type V2Pair } from "../support/differential.js";
import { etcdAvailable, etcdctlAvailable } from "../support/realEtcd.js";
import { runEtcdctl } from "../support/etcdctl.js";

const basic = (user: string, password: string): Record<string, string> => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});
const json = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): RawRequest => ({
  method,
  path,
  ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  headers: { ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
});
const ROOT = basic("root", "rootpw");

describe.skipIf(!etcdAvailable())("v2 auth, compared with a real etcd", () => {
  let pair: V2Pair;
  const failures: string[] = [];
  let compared = 0;
  let mismatched = 0;

  beforeAll(async () => {
    pair = await startV2Pair();
  }, 90_000);
  afterAll(async () => {
    process.stdout.write(`v2 auth differential: ${compared - mismatched} of ${compared} comparisons equal\n`);
    await pair?.stop();
  });

  async function check(raw: RawRequest): Promise<void> {
    const real = await send(pair.real.clientUrl, instantiateRequest(raw, pair.realBase));
    const sim = await send(pair.sim.clientUrl, instantiateRequest(raw, pair.simBase));
    compared++;
    const difference = describeDifference(normalize(real, pair.realBase), normalize(sim, pair.simBase));
    if (difference !== "") {
      mismatched++;
      failures.push(`${difference}\n${formatExchange(raw, real, sim)}`);
    }
  }
  const drain = (): string => failures.splice(0).join("\n\n");

  it("manages users and roles, spending etcd indexes for /2 and each write, and enables with a guest role", async () => {
    await check({ method: "PUT", path: "/v2/keys/top", form: "value=1" });
    await check(json("GET", "/v2/auth/enable"));
    await check(json("PUT", "/v2/auth/enable"));
    await check(json("GET", "/v2/auth/users"));
    await check(json("GET", "/v2/auth/roles"));
    await check(json("PUT", "/v2/auth/users/root", { user: "root", password: "" }));
    await check(json("PUT", "/v2/auth/users/root", { user: "root", password: "rootpw" }));
    await check({ method: "GET", path: "/v2/keys/top" });
    await check(json("PUT", "/v2/auth/users/alice", { user: "alice", password: "alicepw" }));
    await check(json("PUT", "/v2/auth/users/alice", { user: "alice", password: "alicepw", roles: ["app"] }));
    await check(json("PUT", "/v2/auth/users/bob", { user: "bob", password: "bobpw", roles: ["app"] }));
    await check(json("PUT", "/v2/auth/users/bob", { user: "bob" }));
    await check(json("PUT", "/v2/auth/users/bob", { user: "bob", grant: ["app"] }));
    await check(json("PUT", "/v2/auth/users/bob", { user: "bob", revoke: ["nosuch"] }));
    await check(json("PUT", "/v2/auth/users/carol", { user: "carol", grant: ["app"] }));
    await check(json("PUT", "/v2/auth/users/bob", { user: "bob", roles: ["x"], grant: ["y"] }));
    await check(json("PUT", "/v2/auth/users/bob", { user: "other" }));
    await check(json("PUT", "/v2/auth/users/bob", "{nope"));
    await check(json("PUT", "/v2/auth/roles/app", { role: "app", permissions: { kv: { read: ["/app/*"], write: ["/app/w"] } } }));
    await check(json("PUT", "/v2/auth/roles/app", { role: "app", permissions: { kv: { read: ["/x"] } } }));
    await check(json("PUT", "/v2/auth/roles/app", { role: "app", grant: { kv: { read: ["/other", "/a"] } } }));
    await check(json("PUT", "/v2/auth/roles/app", { role: "app", grant: { kv: { read: ["/other"] } } }));
    await check(json("PUT", "/v2/auth/roles/app", { role: "app", revoke: { kv: { read: ["/nosuch"] } } }));
    await check(json("PUT", "/v2/auth/roles/app", { role: "app", revoke: { kv: { read: ["/a"] } } }));
    await check(json("PUT", "/v2/auth/roles/root", { role: "root" }));
    await check(json("GET", "/v2/auth/roles/app"));
    await check(json("GET", "/v2/auth/roles/guest"));
    await check(json("GET", "/v2/auth/users/root"));
    await check(json("GET", "/v2/auth/users/bob"));
    await check(json("GET", "/v2/auth/users/nobody"));
    await check(json("GET", "/v2/auth/users"));
    await check(json("GET", "/v2/auth/roles"));
    await check(json("GET", "/v2/auth/users/a/b"));
    await check(json("POST", "/v2/auth/users/bob"));
    await check(json("POST", "/v2/auth/users"));
    await check(json("PUT", "/v2/auth/enable"));
    await check(json("PUT", "/v2/auth/enable", undefined, ROOT));
    await check(json("GET", "/v2/auth/enable"));
    await check(json("GET", "/v2/auth/roles/guest", undefined, ROOT));
    expect(drain()).toBe("");
  });

  it("checks keys requests against Basic credentials, path patterns and the guest role", async () => {
    await check({ method: "GET", path: "/v2/keys/top" });
    await check({ method: "PUT", path: "/v2/keys/app/x", form: "value=1" });
    await check(json("PUT", "/v2/auth/roles/guest", { role: "guest", revoke: { kv: { read: ["/*"], write: ["/*"] } } }, ROOT));
    await check({ method: "GET", path: "/v2/keys/top" });
    await check({ method: "PUT", path: "/v2/keys/top", form: "value=2" });
    await check({ method: "GET", path: "/v2/keys/app/x", headers: basic("bob", "bobpw") });
    await check({ method: "GET", path: "/v2/keys/app", headers: basic("bob", "bobpw") });
    await check({ method: "GET", path: "/v2/keys/app?recursive=true", headers: basic("bob", "bobpw") });
    await check({ method: "GET", path: "/v2/keys/app/?recursive=true", headers: basic("bob", "bobpw") });
    await check({ method: "PUT", path: "/v2/keys/app/x", form: "value=2", headers: basic("bob", "bobpw") });
    await check({ method: "PUT", path: "/v2/keys/app/w", form: "value=2", headers: basic("bob", "bobpw") });
    await check({ method: "GET", path: "/v2/keys/app/x", headers: basic("bob", "wrong") });
    await check({ method: "GET", path: "/v2/keys/app/x", headers: basic("nobody", "x") });
    await check({ method: "GET", path: "/v2/keys/app/x", headers: { Authorization: "Bearer x" } });
    await check({ method: "GET", path: "/v2/keys/top", headers: ROOT });
    await check({ method: "DELETE", path: "/v2/keys/top", headers: ROOT });
    await check(json("GET", "/v2/auth/users", undefined, basic("bob", "bobpw")));
    await check(json("POST", "/v2/members", { peerURLs: ["http://127.0.0.1:1"] }, basic("bob", "bobpw")));
    await check(json("DELETE", "/v2/members/abc"));
    await check(json("DELETE", "/v2/auth/users/root", undefined, ROOT));
    await check(json("DELETE", "/v2/auth/roles/app", undefined, ROOT));
    await check(json("DELETE", "/v2/auth/roles/app", undefined, ROOT));
    await check(json("GET", "/v2/auth/users/bob", undefined, ROOT));
    await check(json("GET", "/v2/auth/users", undefined, ROOT));
    await check(json("DELETE", "/v2/auth/users/nosuch", undefined, ROOT));
    await check(json("DELETE", "/v2/auth/users/alice", undefined, ROOT));
    await check({ method: "PUT", path: "/v2/keys/after", form: "value=1", headers: ROOT });
    expect(drain()).toBe("");
  });

  it.skipIf(!etcdctlAvailable())("prints the same for ETCDCTL_API=2 user, role and auth commands", async () => {
    const results: string[] = [];
    const steps: string[][] = [
      ["--username", "root:rootpw", "user", "list"],
      ["--username", "root:rootpw", "role", "list"],
      ["--username", "root:rootpw", "role", "add", "ops"],
      ["--username", "root:rootpw", "role", "grant", "ops", "--path", "/ops/*", "--readwrite"],
      ["--username", "root:rootpw", "role", "get", "ops"],
      ["--username", "root:rootpw", "user", "add", "dave:davepw"],
      ["--username", "root:rootpw", "user", "grant", "dave", "--roles", "ops"],
      ["--username", "root:rootpw", "user", "get", "dave"],
      ["--username", "dave:davepw", "set", "/ops/a", "1"],
      ["--username", "dave:davepw", "get", "/ops/a"],
      ["get", "/after"],
      ["--username", "root:rootpw", "user", "revoke", "dave", "--roles", "ops"],
      ["--username", "dave:davepw", "get", "/ops/a"],
      ["--username", "root:rootpw", "role", "revoke", "ops", "--path", "/ops/*", "--readwrite"],
      ["--username", "root:rootpw", "role", "remove", "ops"],
      ["--username", "root:rootpw", "user", "remove", "dave"],
      ["--username", "root:rootpw", "auth", "disable"],
      ["auth", "disable"],
      ["get", "/after"],
    ];
    for (const args of steps) {
      const real = await runEtcdctl("2", ["--endpoints", pair.real.clientUrl, ...args]);
      const sim = await runEtcdctl("2", ["--endpoints", pair.sim.clientUrl, ...args]);
      const clean = (r: { stdout: string; stderr: string; status: number | null }, url: string): string =>
        JSON.stringify({ ...r, stdout: r.stdout.split(url).join("<url>"), stderr: r.stderr.split(url).join("<url>").replace(/\[\d+\]$/gm, "[<index>]") });
      compared++;
      const a = clean(real, pair.real.clientUrl);
      const b = clean(sim, pair.sim.clientUrl);
      if (a !== b) {
        mismatched++;
        results.push(`etcdctl ${args.join(" ")}\n  real: ${a}\n  sim:  ${b}`);
      }
    }
    expect(results.join("\n\n")).toBe("");
  }, 180_000);
});

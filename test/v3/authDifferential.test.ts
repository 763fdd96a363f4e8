/**
 * Differential test of v3 auth through the JSON gateway: every request goes to a real etcd 3.4.23
 * and to the simulator, and the answers must be equal (status, headers, body) after the
 * normalisations of `test/support/differentialV3.ts`; an Authenticate answer's token is compared
 * as `<token>` and each side then sends its own token in the `Authorization` header.
 *
 * The session follows auth.md §7.2 (root, a reader role over a prefix, a range and a key, alice),
 * then §5.3's examples, the admin-only calls, txns with both branches, watches refused at creation,
 * lease revoke against attached keys, tokens (bogus, dropped by passwd, by disable), and disable.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdAvailable, startEtcd, type RealEtcd } from "../support/realEtcd.js";
import { startSim, type SimServer } from "../support/simServer.js";
import { b64, V3Differential, type Body, type V3RequestOptions } from "../support/differentialV3.js";
import { sleep } from "../../shared/clock.js";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

async function startAuthPair(ttlSeconds?: number, extra: string[] = []): Promise<{ etcd: RealEtcd; sim: SimServer; diff: V3Differential }> {
  const ttl = [...(ttlSeconds === undefined ? [] : [`--auth-token-ttl=${ttlSeconds}`]), ...extra];
  const etcd = await startEtcd({ extraArgs: ttl });
  try {
    const sim = await startSim({ extraArgs: ["--initial-advertise-peer-urls", etcd.peerUrl, "--bcrypt-cost", "4", ...ttl] });
    return { etcd, sim, diff: new V3Differential(etcd.clientUrl, sim.clientUrl) };
  } catch (error) {
    await etcd.stop();
    throw error;
  }
}

describe.skipIf(!etcdAvailable())("v3 auth through the gateway, compared with a real etcd", () => {
  let etcd: RealEtcd;
  let sim: SimServer;
  let diff: V3Differential;

  beforeAll(async () => {
    ({ etcd, sim, diff } = await startAuthPair());
  });
  afterAll(async () => {
    if (diff !== undefined) process.stdout.write(`v3 auth differential: ${diff.summary()}\n`);
    await Promise.all([etcd?.stop(), sim?.stop()]);
  });

  const newFailures = (): string => diff.newFailures();
  const call = (path: string, body: Body, options?: V3RequestOptions): Promise<unknown> => diff.unary(path, body, options);
  const as = (token: string | undefined): V3RequestOptions => (token === undefined ? {} : { token });
  const login = (name: string, password: string, tokenAs: string): Promise<unknown> =>
    call("/v3/auth/authenticate", { name, password }, { tokenAs });
  const get = (who: string | undefined, key: string, end?: string): Promise<unknown> =>
    call("/v3/kv/range", { key: b64(key), ...(end === undefined ? {} : { range_end: b64(end) }) }, as(who));
  const put = (who: string | undefined, key: string, value: string, extra: object = {}): Promise<unknown> =>
    call("/v3/kv/put", { key: b64(key), value: b64(value), ...extra }, as(who));
  const del = (who: string | undefined, key: string, extra: object = {}): Promise<unknown> =>
    call("/v3/kv/deleterange", { key: b64(key), ...extra }, as(who));
  const grant = (role: string, permType: string, key: string, end?: string): Promise<unknown> =>
    call("/v3/auth/role/grant", { name: role, perm: { permType, key: b64(key), ...(end === undefined ? {} : { range_end: b64(end) }) } }, as("root"));

  it("refuses auth enable without root, then enables once root holds the root role", async () => {
    await call("/v3/auth/enable", {});
    await call("/v3/auth/authenticate", { name: "root", password: "x" });
    await call("/v3/auth/user/add", { name: "root", password: "rootpw", options: {} });
    await call("/v3/auth/user/get", { name: "root" });
    await call("/v3/auth/enable", {});
    await call("/v3/auth/user/add", { name: "", password: "x" });
    await call("/v3/auth/user/add", { name: "root", password: "x" });
    await call("/v3/auth/role/get", { role: "root" });
    await call("/v3/auth/user/grant", { user: "root", role: "root" });
    await call("/v3/auth/user/grant", { user: "root", role: "nosuch" });
    await call("/v3/auth/user/grant", { user: "nobody", role: "root" });
    await put(undefined, "/app/x", "1");
    await put(undefined, "a", "1");
    await call("/v3/auth/enable", {});
    await call("/v3/auth/enable", {});
    expect(newFailures()).toBe("");
  });

  it("answers anonymous, wrong-password and bad-token requests with etcd's errors", async () => {
    await call("/v3/auth/role/list", {});
    await get(undefined, "a");
    await put(undefined, "a", "2");
    await login("root", "wrong", "bad");
    await login("nobody", "x", "bad");
    await login("", "", "bad");
    await call("/v3/kv/range", { key: b64("a") }, { authorization: "bogus" });
    await call("/v3/kv/range", { key: b64("a") }, { authorization: "bogus.x" });
    await call("/v3/kv/range", { key: b64("a") }, { authorization: "bogus.1" });
    await call("/v3/kv/range", { key: b64("a") }, { authorization: "Bearer x.1" });
    await call("/v3/auth/user/list", {}, { authorization: "bogus.2" });
    expect(newFailures()).toBe("");
  });

  it("lets root manage users and roles, and builds the reader role of the captured session", async () => {
    await login("root", "rootpw", "root");
    await call("/v3/auth/user/list", {}, as("root"));
    await call("/v3/auth/role/add", { name: "reader" }, as("root"));
    await call("/v3/auth/role/add", { name: "reader" }, as("root"));
    await call("/v3/auth/role/add", { name: "" }, as("root"));
    await grant("reader", "READ", "/app/", "/app0");
    await grant("reader", "READ", "a", "c");
    await grant("reader", "READWRITE", "single");
    await call("/v3/auth/role/get", { role: "reader" }, as("root"));
    await call("/v3/auth/role/grant", { name: "nosuch", perm: { key: b64("x") } }, as("root"));
    await call("/v3/auth/user/add", { name: "alice", password: "alicepw", options: {} }, as("root"));
    await call("/v3/auth/user/grant", { user: "alice", role: "reader" }, as("root"));
    await call("/v3/auth/user/grant", { user: "alice", role: "reader" }, as("root"));
    await call("/v3/auth/user/get", { name: "alice" }, as("root"));
    await call("/v3/auth/role/add", { name: "writer" }, as("root"));
    await grant("writer", "WRITE", "/app/w/", "/app/w0");
    await grant("writer", "READWRITE", "/open", "\0");
    await call("/v3/auth/user/add", { name: "bob", password: "bobpw" }, as("root"));
    await call("/v3/auth/user/grant", { user: "bob", role: "writer" }, as("root"));
    await call("/v3/auth/role/list", {}, as("root"));
    await call("/v3/auth/user/list", {}, as("root"));
    expect(newFailures()).toBe("");
  });

  it("checks reads and writes against the merged intervals of each user's roles (auth.md §5.3)", async () => {
    await login("alice", "alicepw", "alice");
    await login("bob", "bobpw", "bob");
    await get("alice", "/app/x");
    await get("alice", "/app/", "/app0");
    await get("alice", "/", "0");
    await get("alice", "a", "c");
    await get("alice", "b");
    await get("alice", "a", "d");
    const [deniedPut] = (await put("alice", "/app/x", "9")) as [{ body: string }];
    expect(deniedPut.body).toContain("etcdserver: permission denied");
    await put("alice", "single", "s2");
    await put("alice", "single", "s3", { prev_kv: true });
    await del("alice", "single");
    await put("bob", "/app/w/y", "3");
    await get("bob", "/app/w/y");
    await put("bob", "/app/w/y", "4", { prev_kv: true });
    await del("bob", "/app/w/y", { prev_kv: true });
    await del("bob", "/app/w/", { range_end: b64("/app/w0") });
    await put("bob", "/open/z", "z");
    await get("bob", "/open/z");
    await get("bob", "/open", "\0");
    await get("bob", "/open/z", "/zz");
    await get("bob", "\0", "\0");
    await get("alice", "single", "\0");
    await get("root", "\0", "\0");
    // an extra role joins [c,e) onto alice's [a,c)
    await call("/v3/auth/role/add", { name: "more" }, as("root"));
    await grant("more", "READ", "c", "e");
    await call("/v3/auth/user/grant", { user: "alice", role: "more" }, as("root"));
    await get("alice", "a", "e");
    await get("alice", "b", "d");
    await get("alice", "a", "f");
    await get(undefined, "a");
    expect(newFailures()).toBe("");
  });

  it("checks every compare and both branches of a txn, but not a nested txn (etcd 3.4 quirk)", async () => {
    const txn = (who: string, body: object): Promise<unknown> => call("/v3/kv/txn", body, as(who));
    const rangeOp = (key: string): object => ({ request_range: { key: b64(key) } });
    const putOp = (key: string, value: string, extra: object = {}): object => ({ request_put: { key: b64(key), value: b64(value), ...extra } });
    await txn("alice", { success: [rangeOp("/app/x")] });
    await txn("alice", { compare: [{ key: b64("/secret"), target: "VERSION", result: "EQUAL", version: "0" }], success: [rangeOp("/app/x")] });
    await txn("alice", { success: [rangeOp("/app/x")], failure: [putOp("/app/x", "no")] });
    await txn("alice", { success: [putOp("single", "t", { prev_kv: true })] });
    await txn("bob", { success: [putOp("/app/w/q", "1", { prev_kv: true })] });
    await txn("alice", { success: [{ request_txn: { success: [putOp("/app/x", "nested")] } }] });
    await get("root", "/app/x");
    await txn("alice", { success: [{ request_del: {} }, { request_delete_range: { key: b64("single"), prev_kv: true } }] });
    expect(newFailures()).toBe("");
  });

  it("refuses a watch at creation with the full status text, and keeps the stream open", async () => {
    const stream = diff.stream(
      "/v3/watch",
      [
        { create_request: { key: b64("/other") } },
        { create_request: { key: b64("/app/"), range_end: b64("/app0") } },
        { create_request: { key: b64("a") } },
        // quirk: a from-key watch is checked as its single key, so alice's point permission on
        // "single" lets her watch every key from "single" on (a from-key range is refused)
        { create_request: { key: b64("single"), range_end: b64("\0") } },
      ],
      { token: "alice" },
    );
    const anonymous = diff.stream("/v3/watch", [{ create_request: { key: b64("a") } }], {});
    try {
      const lines = await stream.collect("alice's watches", { minLines: 4 });
      expect(lines.length).toBe(4);
      expect(lines[3]).not.toContain("canceled");
      expect(lines[0]).toContain("rpc error: code = PermissionDenied desc = etcdserver: permission denied");
      await anonymous.collect("anonymous watch", { minLines: 1 });
    } finally {
      stream.close();
      anonymous.close();
    }
    expect(newFailures()).toBe("");
  });

  it("revokes a lease only for a user who may write every key on it", async () => {
    await call("/v3/lease/grant", { TTL: 100, ID: 7001 }, as("root"));
    await call("/v3/lease/grant", { TTL: 100, ID: 7002 }, as("root"));
    await put("root", "/app/leased", "x", { lease: 7001 });
    await put("bob", "/app/w/leased", "y", { lease: 7001 });
    await call("/v3/kv/lease/revoke", { ID: 7001 }, as("bob"));
    await call("/v3/kv/lease/revoke", { ID: 7002 }, {});
    await call("/v3/kv/lease/revoke", { ID: 7001 }, as("root"));
    await call("/v3/kv/compaction", { revision: 2 }, {});
    expect(newFailures()).toBe("");
  });

  it("keeps user get and role get open to their own user and roles, everything else for root", async () => {
    await call("/v3/auth/user/get", { name: "alice" }, as("alice"));
    await call("/v3/auth/user/get", { name: "bob" }, as("alice"));
    await call("/v3/auth/role/get", { role: "reader" }, as("alice"));
    await call("/v3/auth/role/get", { role: "writer" }, as("alice"));
    await call("/v3/auth/user/changepw", { name: "alice", password: "x" }, as("alice"));
    await call("/v3/auth/user/revoke", { name: "root", role: "root" }, as("root"));
    await call("/v3/auth/user/delete", { name: "root" }, as("root"));
    await call("/v3/auth/role/delete", { role: "root" }, as("root"));
    await call("/v3/auth/user/revoke", { name: "alice", role: "writer" }, as("root"));
    await call("/v3/auth/role/revoke", { role: "reader", key: b64("a") }, as("root"));
    await call("/v3/auth/role/revoke", { role: "reader", key: b64("a"), range_end: b64("c") }, as("root"));
    await call("/v3/auth/role/get", { role: "reader" }, as("root"));
    await get("alice", "b");
    await call("/v3/auth/user/add", { name: "nopw", options: { no_password: true } }, as("root"));
    await login("nopw", "x", "nopw");
    await call("/v3/maintenance/status", {}, as("alice"));
    expect(newFailures()).toBe("");
  });

  it("drops a user's tokens when its password changes, and every token when auth is disabled", async () => {
    await call("/v3/auth/user/changepw", { name: "alice", password: "newpw" }, as("root"));
    await get("alice", "/app/x");
    await login("alice", "alicepw", "alice2");
    await login("alice", "newpw", "alice2");
    await get("alice2", "/app/x");
    await call("/v3/auth/role/delete", { role: "reader" }, as("root"));
    await call("/v3/auth/user/get", { name: "alice" }, as("root"));
    await get("alice2", "/app/x");
    await call("/v3/auth/disable", {}, as("bob"));
    await call("/v3/auth/disable", {}, as("root"));
    await call("/v3/auth/disable", {});
    await get(undefined, "/app/x");
    await get("root", "/app/x");
    await login("root", "rootpw", "again");
    await call("/v3/auth/user/list", {});
    await call("/v3/auth/enable", {});
    await get("alice2", "/app/x");
    expect(newFailures()).toBe("");
  });
});

describe.skipIf(!etcdAvailable())("v3 simple tokens with --auth-token-ttl=3, compared with a real etcd", () => {
  let etcd: RealEtcd;
  let sim: SimServer;
  let diff: V3Differential;

  beforeAll(async () => {
    ({ etcd, sim, diff } = await startAuthPair(3));
  });
  afterAll(async () => {
    if (diff !== undefined) process.stdout.write(`v3 auth token ttl differential: ${diff.summary()}\n`);
    await Promise.all([etcd?.stop(), sim?.stop()]);
  });

  it("keeps a token alive while it is used each second and lets an idle one expire", async () => {
    await diff.unary("/v3/auth/user/add", { name: "root", password: "r" });
    await diff.unary("/v3/auth/user/grant", { user: "root", role: "root" });
    await diff.unary("/v3/auth/enable", {});
    await diff.unary("/v3/auth/authenticate", { name: "root", password: "r" }, { tokenAs: "busy" });
    await diff.unary("/v3/auth/authenticate", { name: "root", password: "r" }, { tokenAs: "idle" });
    for (let i = 0; i < 6; i++) {
      await sleep(1000);
      await diff.unary("/v3/kv/range", { key: b64("k") }, { token: "busy" });
    }
    const [idle] = await diff.unary("/v3/kv/range", { key: b64("k") }, { token: "idle" });
    expect(idle.body).toContain("etcdserver: invalid auth token");
    const [busy] = await diff.unary("/v3/kv/range", { key: b64("k") }, { token: "busy" });
    expect(busy.status).toBe(200);
    expect(diff.failures.join("\n\n")).toBe("");
  }, 30_000);
});

describe.skipIf(!etcdAvailable())("v3 JWT tokens (RS256), compared with a real etcd", () => {
  let etcd: RealEtcd;
  let sim: SimServer;
  let diff: V3Differential;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "etcdsim-jwt-"));
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(join(dir, "pub.pem"), publicKey.export({ type: "spki", format: "pem" }));
    writeFileSync(join(dir, "priv.pem"), privateKey.export({ type: "pkcs8", format: "pem" }));
    const spec = `--auth-token=jwt,pub-key=${join(dir, "pub.pem")},priv-key=${join(dir, "priv.pem")},sign-method=RS256`;
    ({ etcd, sim, diff } = await startAuthPair(undefined, [spec]));
  });
  afterAll(async () => {
    if (diff !== undefined) process.stdout.write(`v3 auth jwt differential: ${diff.summary()}\n`);
    await Promise.all([etcd?.stop(), sim?.stop()]);
  });

  it("carries the auth revision in the token: any auth change makes an older token stale, even after disable", async () => {
    await diff.unary("/v3/auth/user/add", { name: "root", password: "r" });
    await diff.unary("/v3/auth/user/grant", { user: "root", role: "root" });
    await diff.unary("/v3/auth/enable", {});
    await diff.unary("/v3/auth/authenticate", { name: "root", password: "r" }, { tokenAs: "old" });
    await diff.unary("/v3/kv/put", { key: b64("k"), value: b64("v") }, { token: "old" });
    await diff.unary("/v3/kv/range", { key: b64("k") }, { token: "old" });
    await diff.unary("/v3/auth/user/add", { name: "alice", password: "a" }, { token: "old" });
    const [stale] = await diff.unary("/v3/kv/range", { key: b64("k") }, { token: "old" });
    expect(stale.body).toContain("revision of auth store is old");
    await diff.unary("/v3/kv/put", { key: b64("k"), value: b64("w") }, { token: "old" });
    await diff.unary("/v3/auth/authenticate", { name: "root", password: "r" }, { tokenAs: "new" });
    await diff.unary("/v3/kv/range", { key: b64("k") }, { token: "new" });
    await diff.unary("/v3/auth/user/list", {}, { token: "old" });
    await diff.unary("/v3/kv/range", { key: b64("k") }, { authorization: "eyJhbGciOiJSUzI1NiJ9.e30.AAAA" });
    await diff.unary("/v3/auth/disable", {}, { token: "new" });
    await diff.unary("/v3/kv/range", { key: b64("k") }, { token: "new" });
    await diff.unary("/v3/kv/range", { key: b64("k") });
    expect(diff.failures.join("\n\n")).toBe("");
  }, 60_000);
});

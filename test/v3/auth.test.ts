/**
 * The v3 auth store, simple tokens and the server's checks, on a simulated clock: etcd's rules from
 * auth.md §1–§6 as claims, and bad input (malformed tokens, tokens from before a restart, very long
 * names and passwords, a token naming a future raft index).
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { Random } from "../../shared/random.js";
import { utf8 } from "../../shared/bytes.js";
import { EtcdServer, type CallContext } from "../../v3/etcdServer.js";
import { RpcError } from "../../v3/errors.js";
import { PermissionType } from "../../v3/authpb.js";

function newServer(options: { ttl?: number } = {}): { server: EtcdServer; clock: SimulatedClock } {
  const clock = new SimulatedClock();
  const server = new EtcdServer({
    clock,
    random: new Random(7),
    auth: { bcryptCost: 4, ...(options.ttl === undefined ? {} : { tokenTTLSeconds: options.ttl }) },
  });
  return { server, clock };
}

/** The error a call answers, as "code message", or "ok". */
function outcome(run: () => unknown): string {
  try {
    run();
    return "ok";
  } catch (error) {
    if (error instanceof RpcError) return `${error.code} ${error.message}`;
    throw error;
  }
}

function enableWithRoot(server: EtcdServer): CallContext {
  server.userAdd({ name: "root", password: "rootpw" });
  server.userGrantRole({ user: "root", role: "root" });
  server.authEnable();
  return { token: server.authenticate({ name: "root", password: "rootpw" }).token };
}

describe("v3 auth store", () => {
  it("refuses auth enable without user root, or while root lacks the root role", () => {
    const { server } = newServer();
    expect(outcome(() => server.authEnable())).toBe("9 etcdserver: root user does not exist");
    server.userAdd({ name: "root", password: "x" });
    expect(outcome(() => server.authEnable())).toBe("9 etcdserver: root user does not have root role");
    expect(server.auth.isAuthEnabled()).toBe(false);
  });

  it("counts the auth revision as the JWT of auth.md §1.2 showed: 8 after root, enable, a user, a role, a grant and a role grant", () => {
    const { server } = newServer();
    expect(server.auth.revision()).toBe(1);
    server.userAdd({ name: "root", password: "r" }); // 2
    server.roleAdd({ name: "root" }); // 3
    server.userGrantRole({ user: "root", role: "root" }); // 4
    server.authEnable(); // unchanged
    const ctx = { token: server.authenticate({ name: "root", password: "r" }).token };
    server.userAdd({ name: "alice", password: "a" }, ctx); // 5
    server.roleAdd({ name: "reader" }, ctx); // 6
    server.roleGrantPermission({ name: "reader", perm: { permType: PermissionType.READ, key: utf8("k"), range_end: new Uint8Array() } }, ctx); // 7
    server.userGrantRole({ user: "alice", role: "reader" }, ctx); // 8
    server.userGrantRole({ user: "alice", role: "reader" }, ctx); // a repeated grant: success, no bump
    server.userList({}, ctx);
    expect(server.auth.revision()).toBe(8);
  });

  it("replaces only the type of a permission granted again on the same key and end", () => {
    const { server } = newServer();
    server.roleAdd({ name: "r" });
    const grant = (permType: PermissionType, key: string, end: string): unknown =>
      server.roleGrantPermission({ name: "r", perm: { permType, key: utf8(key), range_end: utf8(end) } });
    grant(PermissionType.READWRITE, "\0", "\0");
    grant(PermissionType.READ, "\0", "\0");
    grant(PermissionType.WRITE, "a", "c");
    grant(PermissionType.READ, "a", "");
    const perms = server.roleGet({ role: "r" }).perm.map((p) => [p.permType, Buffer.from(p.key).toString(), Buffer.from(p.range_end).toString()]);
    expect(perms).toEqual([
      [PermissionType.READ, "\0", "\0"],
      [PermissionType.WRITE, "a", "c"],
      [PermissionType.READ, "a", ""],
    ]);
    expect(outcome(() => server.roleRevokePermission({ role: "r", key: utf8("a"), range_end: new Uint8Array() }))).toBe("ok");
    expect(outcome(() => server.roleRevokePermission({ role: "r", key: utf8("a"), range_end: new Uint8Array() }))).toBe(
      "9 etcdserver: permission is not granted to the role",
    );
  });

  it("removes a deleted role from every user, and lets user root hold the role root that was never created", () => {
    const { server } = newServer();
    server.roleAdd({ name: "app" });
    server.userAdd({ name: "alice", password: "a" });
    server.userGrantRole({ user: "alice", role: "app" });
    server.roleDelete({ role: "app" });
    expect(server.userGet({ name: "alice" }).roles).toEqual([]);
    const root = enableWithRoot(server);
    expect(outcome(() => server.roleGet({ role: "root" }, root))).toBe("9 etcdserver: role name not found");
    expect(outcome(() => server.userRevokeRole({ name: "root", role: "root" }, root))).toBe("3 etcdserver: invalid auth management");
    expect(outcome(() => server.userDelete({ name: "root" }, root))).toBe("3 etcdserver: invalid auth management");
  });

  it("answers a no-password user's login with the raw auth error, code 2", () => {
    const { server } = newServer();
    const root = enableWithRoot(server);
    server.userAdd({ name: "nopw", password: "", options: { no_password: true } }, root);
    expect(outcome(() => server.authenticate({ name: "nopw", password: "x" }))).toBe(
      "2 auth: authentication failed, password was given for no password user",
    );
  });

  it("spends a raft index on a denied write, as etcd applies it with an error", () => {
    const { server } = newServer();
    enableWithRoot(server);
    const before = server.raftIndex;
    expect(outcome(() => server.put({ key: utf8("k"), value: utf8("v") }))).toBe("3 etcdserver: user name is empty");
    expect(server.raftIndex).toBe(before + 1);
    expect(server.kv.rev()).toBe(1);
  });
});

describe("v3 simple tokens", () => {
  it("keeps a token used every second alive, and drops one left idle past TTL + the next sweep", () => {
    const { server, clock } = newServer({ ttl: 3 });
    const root = enableWithRoot(server);
    const idle = { token: server.authenticate({ name: "root", password: "rootpw" }).token };
    for (let i = 0; i < 6; i++) {
      clock.advance(1000);
      expect(outcome(() => server.range({ key: utf8("k") }, root))).toBe("ok");
    }
    expect(outcome(() => server.range({ key: utf8("k") }, idle))).toBe("16 etcdserver: invalid auth token");
  });

  it("lets a token die between TTL and TTL + 1 s after its last use (the one-second sweep)", () => {
    const { server, clock } = newServer({ ttl: 3 });
    const root = enableWithRoot(server); // keeper started at t0, token used at t0: expiry t0 + 3 s, swept at t0 + 4 s
    clock.advance(3999);
    const early = { token: server.authenticate({ name: "root", password: "rootpw" }).token };
    expect(outcome(() => server.range({ key: utf8("k") }, root))).toBe("ok"); // 3.999 s: not swept yet, and used again
    clock.advance(3001); // 7.0 s: expiry was 6.999 s, swept at 7 s
    expect(outcome(() => server.range({ key: utf8("k") }, root))).toBe("16 etcdserver: invalid auth token");
    expect(outcome(() => server.range({ key: utf8("k") }, early))).toBe("16 etcdserver: invalid auth token");
  });

  it("drops a user's tokens on passwd and delete, and every token on auth disable, even after re-enabling", () => {
    const { server } = newServer();
    const root = enableWithRoot(server);
    server.userAdd({ name: "alice", password: "a" }, root);
    const alice = { token: server.authenticate({ name: "alice", password: "a" }).token };
    server.userChangePassword({ name: "alice", password: "b" }, root);
    expect(outcome(() => server.userGet({ name: "alice" }, alice))).toBe("16 etcdserver: invalid auth token");
    server.authDisable({}, root);
    server.authEnable();
    expect(outcome(() => server.userList({}, root))).toBe("16 etcdserver: invalid auth token");
  });
});

describe("v3 auth bad input", () => {
  it("refuses malformed tokens as invalid, also while auth is disabled", () => {
    const { server } = newServer();
    for (const token of ["", "bogus", "bogus.x", "a.b.c", "abc.", ".1", "abc.1.5", "Bearer x.1", "x.0x1"]) {
      expect(outcome(() => server.range({ key: utf8("k") }, { token }))).toBe("16 etcdserver: invalid auth token");
    }
    expect(outcome(() => server.range({ key: utf8("k") }, { authorization: "bogus.1" }))).toBe("16 etcdserver: invalid auth token");
    expect(server.kv.rev()).toBe(1);
  });

  it("lets metadata token win over authorization", () => {
    const { server } = newServer();
    const root = enableWithRoot(server);
    expect(outcome(() => server.userList({}, { token: "bad.1", authorization: root.token as string }))).toBe("16 etcdserver: invalid auth token");
    expect(outcome(() => server.userList({}, { authorization: root.token as string }))).toBe("ok");
  });

  it("refuses at once a token naming a raft index not reached yet (etcd waits for the index: the request hangs)", () => {
    const { server } = newServer();
    enableWithRoot(server);
    const future = `AAAAAAAAAAAAAAAA.${server.raftIndex + 1000}`;
    expect(outcome(() => server.range({ key: utf8("k") }, { token: future }))).toBe("16 etcdserver: invalid auth token");
    expect(outcome(() => server.range({ key: utf8("k") }, { token: "AAAAAAAAAAAAAAAA.-1" }))).toBe("16 etcdserver: invalid auth token");
  });

  it("does not accept a token from before a restart, while users and roles carry over", () => {
    const { server, clock } = newServer();
    const root = enableWithRoot(server);
    const state = server.auth.state();
    const restarted = new EtcdServer({ clock, backend: server.backend, random: new Random(8), auth: { bcryptCost: 4, state } });
    expect(outcome(() => restarted.userList({}, root))).toBe("16 etcdserver: invalid auth token");
    const again = { token: restarted.authenticate({ name: "root", password: "rootpw" }).token };
    expect(restarted.userList({}, again).users).toEqual(["root"]);
  });

  it("takes very long names and passwords; bcrypt reads only a password's first 72 bytes, as Go's bcrypt in etcd 3.4 does", () => {
    const { server } = newServer();
    const root = enableWithRoot(server);
    const name = "n".repeat(100_000);
    const password = "p".repeat(80);
    server.userAdd({ name, password: password + "A" }, root);
    server.userGrantRole({ user: name, role: "root" }, root);
    expect(outcome(() => server.authenticate({ name, password: password + "B" }))).toBe("ok");
    expect(outcome(() => server.authenticate({ name, password: "p".repeat(71) }))).toBe("3 etcdserver: authentication failed, invalid user ID or password");
    expect(server.userList({}, root).users).toEqual([name, "root"]);
  });

  it("refuses empty user and role names", () => {
    const { server } = newServer();
    expect(outcome(() => server.userAdd({ name: "", password: "x" }))).toBe("3 etcdserver: user name is empty");
    expect(outcome(() => server.roleAdd({ name: "" }))).toBe("3 etcdserver: role name is empty");
    expect(server.auth.revision()).toBe(1);
  });

  it("answers maintenance's admin check with raw auth texts, code 2", () => {
    const { server } = newServer();
    const root = enableWithRoot(server);
    server.userAdd({ name: "alice", password: "a" }, root);
    const alice = { token: server.authenticate({ name: "alice", password: "a" }).token };
    expect(outcome(() => server.checkMaintenanceAdmin(alice))).toBe("2 auth: permission denied");
    expect(outcome(() => server.checkMaintenanceAdmin({}))).toBe("2 auth: user name is empty");
    expect(outcome(() => server.checkMaintenanceAdmin({ token: "x.1" }))).toBe("2 auth: invalid auth token");
    expect(outcome(() => server.checkMaintenanceAdmin(root))).toBe("ok");
  });

  it("takes the TLS common name as the user only under --client-cert-auth and only without a token", () => {
    const clock = new SimulatedClock();
    const server = new EtcdServer({ clock, random: new Random(3), auth: { bcryptCost: 4, clientCertAuth: true } });
    enableWithRoot(server);
    expect(outcome(() => server.userList({}, { commonName: "root" }))).toBe("ok");
    expect(outcome(() => server.userList({}, { commonName: "ghost" }))).toBe("9 etcdserver: user name not found");
    expect(outcome(() => server.range({ key: utf8("k") }, { commonName: "ghost" }))).toBe("7 etcdserver: permission denied");
    const plain = newServer().server;
    enableWithRoot(plain);
    expect(outcome(() => plain.userList({}, { commonName: "root" }))).toBe("3 etcdserver: user name is empty");
  });
});

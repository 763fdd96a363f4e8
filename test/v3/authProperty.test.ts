/**
 * Property test of v3 authorization: random users, roles and permissions, then random requests
 * (range, put with and without prev_kv, delete, txn, watch create, admin calls) by random users or
 * anonymously. EtcdServer's allow/deny must equal a small reference model written from auth.md
 * §4–§5, and a denied request must leave the store exactly as it was (same revision, same keys).
 *
 * The model decides coverage differently from the implementation on purpose: instead of merging
 * intervals in order, it cuts the request at every permission boundary and asks, for each piece,
 * whether one permission holds the whole piece (auth.md §5.2 "gap-free run").
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SimulatedClock } from "../../shared/clock.js";
import { Random } from "../../shared/random.js";
import { EtcdServer, type CallContext } from "../../v3/etcdServer.js";
import { RpcError } from "../../v3/errors.js";
import { PermissionType, type Permission } from "../../v3/authpb.js";
import type { RequestOp, WatchResponse } from "../../v3/rpc.js";

const enc = (s: string): Uint8Array => Buffer.from(s, "latin1");
const KEYS = ["a", "ab", "b", "ba", "c", "d"];
const INF = "\u0100";

/** A permission: kind point (end ""), range [key, end), or from-key (end "\0"). */
interface ModelPerm {
  type: 0 | 1 | 2;
  key: string;
  end: string;
}

const permArb: fc.Arbitrary<ModelPerm> = fc.oneof(
  fc.record({ type: fc.constantFrom(0 as const, 1 as const, 2 as const), key: fc.constantFrom(...KEYS), end: fc.constant("") }),
  fc.record({ type: fc.constantFrom(0 as const, 1 as const, 2 as const), key: fc.constantFrom(...KEYS), end: fc.constantFrom(...KEYS, "e", "\0") }),
);

type Req =
  | { op: "get"; key: string; end: string }
  | { op: "put"; key: string; prevKv: boolean }
  | { op: "del"; key: string; end: string; prevKv: boolean }
  | { op: "txn"; compare: string; success: Array<{ put?: string; get?: string }>; failure: Array<{ put?: string; get?: string }> }
  | { op: "watch"; key: string; end: string }
  | { op: "userList" };

const endArb = fc.constantFrom("", ...KEYS, "e", "\0");
const txnOpArb = fc.oneof(fc.record({ put: fc.constantFrom(...KEYS) }), fc.record({ get: fc.constantFrom(...KEYS) }));
const reqArb: fc.Arbitrary<Req> = fc.oneof(
  fc.record({ op: fc.constant("get" as const), key: fc.constantFrom(...KEYS), end: endArb }),
  fc.record({ op: fc.constant("put" as const), key: fc.constantFrom(...KEYS), prevKv: fc.boolean() }),
  fc.record({ op: fc.constant("del" as const), key: fc.constantFrom(...KEYS), end: endArb, prevKv: fc.boolean() }),
  fc.record({
    op: fc.constant("txn" as const),
    compare: fc.constantFrom(...KEYS),
    success: fc.array(txnOpArb, { maxLength: 2 }),
    failure: fc.array(txnOpArb, { maxLength: 2 }),
  }),
  fc.record({ op: fc.constant("watch" as const), key: fc.constantFrom(...KEYS), end: endArb }),
  fc.record({ op: fc.constant("userList" as const) }),
);

// ── the reference model (auth.md §4–§5) ──────────────────────────────────────────────────────

function interval(p: { key: string; end: string }): [string, string] {
  if (p.end === "") return [p.key, p.key + "\0"];
  if (p.end === "\0") return [p.key, INF];
  return [p.key, p.end];
}

/** Does the union of `perms` hold every key of the request? (point: one perm holds the key) */
function modelCovers(perms: ModelPerm[], want: "read" | "write", key: string, end: string): boolean {
  const usable = perms.filter((p) => p.type === 2 || (want === "read" ? p.type === 0 : p.type === 1)).map(interval);
  if (end === "") return usable.some(([lo, hi]) => lo <= key && key < hi);
  const [b, e] = interval({ key, end });
  if (!(b < e)) return false;
  const cuts = [...new Set([b, e, ...usable.flat().filter((p) => b < p && p < e)])].sort();
  for (let i = 0; i + 1 < cuts.length; i++) {
    const lo = cuts[i] as string;
    const hi = cuts[i + 1] as string;
    if (!usable.some(([plo, phi]) => plo <= lo && hi <= phi)) return false;
  }
  return true;
}

/** The model's verdict: "ok" or the exact error text. */
function modelVerdict(who: string | undefined, isRoot: boolean, perms: ModelPerm[], req: Req): string {
  // A txn putting one key twice in a branch is refused by the request checks, before auth ("ok" here).
  if (req.op === "txn") {
    for (const branch of [req.success, req.failure]) {
      const puts = branch.flatMap((o) => (o.put === undefined ? [] : [o.put]));
      if (new Set(puts).size !== puts.length) return "ok";
    }
  }
  if (who === undefined) {
    // anonymous: every check fails with "user name is empty"; a txn or put needs checks, always
    return "etcdserver: user name is empty";
  }
  if (req.op === "userList") return isRoot ? "ok" : "etcdserver: permission denied";
  if (isRoot) return "ok";
  const can = (w: "read" | "write", k: string, e = ""): boolean => modelCovers(perms, w, k, e);
  const denied = "etcdserver: permission denied";
  switch (req.op) {
    case "get":
      return can("read", req.key, req.end) ? "ok" : denied;
    case "watch":
      // quirk: a from-key watch is checked as the single key
      return can("read", req.key, req.end === "\0" ? "" : req.end) ? "ok" : denied;
    case "put":
      return can("write", req.key) && (!req.prevKv || can("read", req.key)) ? "ok" : denied;
    case "del":
      return can("write", req.key, req.end) && (!req.prevKv || can("read", req.key, req.end)) ? "ok" : denied;
    case "txn": {
      if (!can("read", req.compare)) return denied;
      for (const op of [...req.success, ...req.failure]) {
        if (op.put !== undefined && !can("write", op.put)) return denied;
        if (op.get !== undefined && !can("read", op.get)) return denied;
      }
      return "ok";
    }
  }
}

const AUTH_ERRORS = ["etcdserver: permission denied", "etcdserver: user name is empty"];

// ── the run ──────────────────────────────────────────────────────────────────────────────────

function errorText(run: () => unknown): string {
  try {
    run();
    return "ok";
  } catch (error) {
    if (error instanceof RpcError) return error.message;
    throw error;
  }
}

function ops(list: Array<{ put?: string; get?: string }>): RequestOp[] {
  return list.map((o) => (o.put !== undefined ? { request_put: { key: enc(o.put), value: enc("v") } } : { request_range: { key: enc(o.get as string) } }));
}

describe("v3 authorization against a reference model", () => {
  it("allows and denies exactly as auth.md says, and a denied request changes nothing", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(permArb, { maxLength: 4 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.subarray([0, 1, 2]), { minLength: 3, maxLength: 3 }),
        fc.array(fc.tuple(fc.constantFrom(-1, 0, 1, 2, 3), reqArb), { minLength: 1, maxLength: 25 }),
        (rolePerms, userRoles, requests) => {
          const clock = new SimulatedClock();
          const server = new EtcdServer({ clock, random: new Random(1), auth: { bcryptCost: 4 } });
          server.userAdd({ name: "root", password: "r" });
          server.userGrantRole({ user: "root", role: "root" });
          rolePerms.forEach((perms, r) => {
            server.roleAdd({ name: `r${r}` });
            for (const p of perms) {
              const perm: Permission = { permType: p.type as PermissionType, key: enc(p.key), range_end: enc(p.end) };
              server.roleGrantPermission({ name: `r${r}`, perm });
            }
          });
          userRoles.forEach((roles, u) => {
            server.userAdd({ name: `u${u}`, password: `p${u}` });
            for (const r of roles) server.userGrantRole({ user: `u${u}`, role: `r${r}` });
          });
          for (const key of KEYS) server.put({ key: enc(key), value: enc("init") });
          server.authEnable();
          const ctxs: CallContext[] = [0, 1, 2].map((u) => ({ token: server.authenticate({ name: `u${u}`, password: `p${u}` }).token }));
          const rootCtx: CallContext = { token: server.authenticate({ name: "root", password: "r" }).token };
          const snapshot = (): string => JSON.stringify([server.kv.rev(), server.range({ key: enc("\0"), range_end: enc("\0") }, rootCtx).kvs.map((kv) => [kv.key.join(), kv.value.join(), kv.mod_revision])]);

          for (const [who, req] of requests) {
            const user = who === -1 ? undefined : who === 3 ? "root" : `u${who}`;
            const ctx: CallContext = who === -1 ? {} : who === 3 ? rootCtx : (ctxs[who] as CallContext);
            const perms = who >= 0 && who <= 2 ? (userRoles[who] as number[]).flatMap((r) => rolePerms[r] as ModelPerm[]) : [];
            const expected = modelVerdict(user, who === 3, perms, req);
            const before = snapshot();
            let actual: string;
            switch (req.op) {
              case "get":
                actual = errorText(() => server.range({ key: enc(req.key), range_end: enc(req.end) }, ctx));
                break;
              case "put":
                actual = errorText(() => server.put({ key: enc(req.key), value: enc("w"), prev_kv: req.prevKv }, ctx));
                break;
              case "del":
                actual = errorText(() => server.deleteRange({ key: enc(req.key), range_end: enc(req.end), prev_kv: req.prevKv }, ctx));
                break;
              case "txn":
                actual = errorText(() =>
                  server.txn({ compare: [{ key: enc(req.compare), target: 0, result: 0, version: 1 }], success: ops(req.success), failure: ops(req.failure) }, ctx),
                );
                break;
              case "userList":
                actual = errorText(() => server.userList({}, ctx));
                break;
              case "watch": {
                const responses: WatchResponse[] = [];
                const stream = server.watch((r) => responses.push(r), {}, ctx);
                stream.recv({ create_request: { key: enc(req.key), range_end: enc(req.end) } });
                stream.close();
                const reason = responses[0]?.cancel_reason ?? "";
                actual = reason === "" ? "ok" : reason.replace(/^rpc error: code = \w+ desc = /, "");
                break;
              }
            }
            // An error that is not auth's (an empty watch range, …) means the auth check passed.
            if (!AUTH_ERRORS.includes(actual)) actual = "ok";
            expect({ user, req, actual }).toEqual({ user, req, actual: expected });
            if (actual !== "ok") expect(snapshot()).toBe(before);
          }
        },
      ),
      { numRuns: 150, seed: 20261204 },
    );
  });
});

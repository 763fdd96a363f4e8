/**
 * Lesson 18 · Who may read what: v2's path patterns and guest vs v3's roles over key ranges.
 *
 *   question                                  v2 (/v2/auth)                        v3 (Auth service)
 *   what a permission names                   a path, or "prefix*"                 a key, a [start, end) range, a prefix
 *   anonymous requests after enabling auth    allowed: the guest role has "/*"     refused: "user name is empty"
 *   a read of the tenant's whole subtree      needs a "…*" pattern (recursive)     needs the whole range covered
 *   a txn whose other branch writes           (no txns)                            refused: both branches are checked
 *   revoking a role while a watch is open     (no per-watch check)                 the watch keeps its events
 *
 * One tenant, `a`, keeps its keys under /tenants/a/. alice may read them, bob may read and write them.
 * Everything below is asked of etcdsim's own auth code (v2/v2auth, v3/auth) in process, with each
 * answer as etcd 3.4 gives it; the differential tests check those answers against a real etcd.
 */
import bcrypt from "bcryptjs";
import { SimulatedClock } from "../shared/clock.js";
import { EtcdServer, type CallContext } from "../v3/etcdServer.js";
import { RpcError } from "../v3/errors.js";
import { PermissionType } from "../v3/authpb.js";
import type { WatchResponse } from "../v3/rpc.js";
import { V2Store } from "../v2/store.js";
import { V2AuthStore } from "../v2/v2auth/store.js";
import { keyAccess } from "../v2/v2auth/http.js";
import type { Lesson } from "./lesson.js";
import { runIfMain } from "./standalone.js";

/** The tenant's prefix in both stores. */
export const TENANT_PREFIX = "/tenants/a/";
/** bcrypt cost for the lesson's users (etcd's default is 10; the answers do not depend on it). */
export const BCRYPT_COST = 4;

const enc = (text: string): Uint8Array => Buffer.from(text, "utf8");
const prefixEnd = (prefix: string): Uint8Array => {
  const end = Buffer.from(prefix, "utf8");
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
};
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** "allowed" or etcd's error text. */
function v3Answer(run: () => unknown): string {
  try {
    run();
    return "allowed";
  } catch (error) {
    if (error instanceof RpcError) return `refused: ${error.message}`;
    throw error;
  }
}

export const lesson: Lesson = {
  id: 18,
  slug: "who-may-read-what",
  title: "Who may read what",
  lesson:
    "v2 and v3 guard keys with two unrelated systems. v2 matches paths against glob-like patterns and lets anonymous requests through a guest role; v3 merges each user's roles into key ranges, refuses anonymous requests, checks every branch of a txn, and checks a watch only once, when it is created.",
  youWillSee: [
    "one tenant's prefix guarded in both stores, with a reader and a writer",
    "what anonymous requests get once auth is on (guest in v2, nothing in v3)",
    "a txn refused for a write in the branch that would not have run",
    "a watch refused at creation, and an open watch that keeps its events after its role is revoked",
  ],
  tryChanging: ["TENANT_PREFIX, the tenant's prefix (a pattern in v2, a range in v3)", "alice's role: grant it write too and watch the txn pass"],
  async run(ctx) {
    ctx.limitation(
      "this lesson asks etcdsim's own auth code in process: the lesson Target API carries no credentials yet, so a --target run shows the same in-process answers (test/v3/authEtcdctl.test.ts and test/v2/authDifferential.test.ts compare them with a real etcd)",
    );
    const clock = new SimulatedClock();
    // v3: one member with auth; v2: the v2 store and its auth module, as the v2 API uses them.
    const v3 = new EtcdServer({ clock, random: ctx.random, auth: { bcryptCost: BCRYPT_COST } });
    const v2Store = new V2Store();
    const v2 = new V2AuthStore(v2Store, { bcryptCost: BCRYPT_COST });
    const v2Can = (method: string, key: string, authorization?: string, recursive = false): string =>
      keyAccess(v2, { method, authorization, commonName: undefined }, key, recursive, false) ? "allowed" : "refused: 110 The request requires user authentication";

    ctx.step(
      "Set up root, a reader and a writer for one tenant",
      `v2: role tenant-a-read reads "${TENANT_PREFIX}*", role tenant-a-write also writes it. v3: role tenant-a-read reads the prefix ${TENANT_PREFIX} (the range [${TENANT_PREFIX}, ${Buffer.from(prefixEnd(TENANT_PREFIX)).toString()})), tenant-a-write reads and writes it. alice gets the reader role, bob the writer role.`,
    );
    v2Store.set(`${TENANT_PREFIX}x`, false, "1", {}, clock.now());
    const indexBefore = v2Store.index;
    v2.createUser({ user: "root", password: "rootpw", roles: null });
    v2.createRole({ role: "tenant-a-read", permissions: { kv: { read: [`${TENANT_PREFIX}*`], write: null } } });
    v2.createRole({ role: "tenant-a-write", permissions: { kv: { read: [`${TENANT_PREFIX}*`], write: [`${TENANT_PREFIX}*`] } } });
    v2.createUser({ user: "alice", password: "alicepw", roles: ["tenant-a-read"] });
    v2.createUser({ user: "bob", password: "bobpw", roles: ["tenant-a-write"] });
    v2.enableAuth();
    const v2IndexSpent = ctx.measure("v2 indexes spent by auth setup", v2Store.index - indexBefore);

    v3.put({ key: enc(`${TENANT_PREFIX}x`), value: enc("1") });
    const revisionBefore = v3.kv.rev();
    v3.userAdd({ name: "root", password: "rootpw" });
    v3.userGrantRole({ user: "root", role: "root" });
    for (const [role, type] of [
      ["tenant-a-read", PermissionType.READ],
      ["tenant-a-write", PermissionType.READWRITE],
    ] as const) {
      v3.roleAdd({ name: role });
      v3.roleGrantPermission({ name: role, perm: { permType: type, key: enc(TENANT_PREFIX), range_end: prefixEnd(TENANT_PREFIX) } });
    }
    v3.userAdd({ name: "alice", password: "alicepw" });
    v3.userGrantRole({ user: "alice", role: "tenant-a-read" });
    v3.userAdd({ name: "bob", password: "bobpw" });
    v3.userGrantRole({ user: "bob", role: "tenant-a-write" });
    v3.authEnable();
    const v3RevisionSpent = ctx.measure("v3 revisions spent by auth setup", v3.kv.rev() - revisionBefore);
    ctx.table(
      [
        { label: "counter moved by the auth setup", v2: `index +${v2IndexSpent}`, v3: `revision +${v3RevisionSpent}` },
        { label: "where users and roles live", v2: "JSON under the hidden /2 of the v2 store", v3: "the auth buckets, beside the keys" },
      ],
      { title: "Setting up auth" },
    );
    ctx.say(
      "v2 auth writes its users and roles into the v2 store itself (outside /v2/keys), so every change spends an etcd index; the first one also creates /2 and its three children. v3 auth has its own auth revision and leaves the KV revision alone.",
    );

    const alice: CallContext = { token: v3.authenticate({ name: "alice", password: "alicepw" }).token };
    const bob: CallContext = { token: v3.authenticate({ name: "bob", password: "bobpw" }).token };
    const root: CallContext = { token: v3.authenticate({ name: "root", password: "rootpw" }).token };
    const aliceBasic = basic("alice", "alicepw");
    const bobBasic = basic("bob", "bobpw");

    ctx.step("Ask both stores the same questions", "Each row is one request; each cell is what that store answers.");
    const key = `${TENANT_PREFIX}x`;
    const rows = [
      { label: `anonymous get ${key}`, v2: v2Can("GET", key), v3: v3Answer(() => v3.range({ key: enc(key) })) },
      { label: `alice get ${key}`, v2: v2Can("GET", key, aliceBasic), v3: v3Answer(() => v3.range({ key: enc(key) }, alice)) },
      { label: `alice put ${key}`, v2: v2Can("PUT", key, aliceBasic), v3: v3Answer(() => v3.put({ key: enc(key), value: enc("2") }, alice)) },
      { label: `bob put ${key}`, v2: v2Can("PUT", key, bobBasic), v3: v3Answer(() => v3.put({ key: enc(key), value: enc("3") }, bob)) },
      {
        label: `alice reads the whole tenant`,
        v2: v2Can("GET", TENANT_PREFIX.replace(/\/$/, ""), aliceBasic, true),
        v3: v3Answer(() => v3.range({ key: enc(TENANT_PREFIX), range_end: prefixEnd(TENANT_PREFIX) }, alice)),
      },
      {
        label: "alice reads every tenant",
        v2: v2Can("GET", "/tenants", aliceBasic, true),
        v3: v3Answer(() => v3.range({ key: enc("/tenants/"), range_end: prefixEnd("/tenants/") }, alice)),
      },
      { label: "alice with a wrong password", v2: v2Can("GET", key, basic("alice", "nope")), v3: v3Answer(() => v3.authenticate({ name: "alice", password: "nope" })) },
    ];
    ctx.table(rows, { labelHeader: "request" });
    ctx.claim({
      id: "guest-vs-anonymous",
      claim: "With auth on, v2 still serves anonymous reads (through the guest role); v3 refuses them",
      v2Value: rows[0]?.v2 ?? null,
      v3Value: rows[0]?.v3 ?? null,
      holds: rows[0]?.v2 === "allowed" && (rows[0]?.v3 ?? "").includes("user name is empty"),
    });
    ctx.claim({
      id: "recursive-needs-a-pattern",
      claim: `v2's "${TENANT_PREFIX}*" does not cover the directory itself read recursively; v3's prefix range covers the whole tenant`,
      v2Value: rows[4]?.v2 ?? null,
      v3Value: rows[4]?.v3 ?? null,
      holds: rows[4]?.v2 !== "allowed" && rows[4]?.v3 === "allowed",
    });

    ctx.step("Take the guest role's patterns away in v2", 'etcd creates the guest role with read and write "/*" when v2 auth is enabled; revoking them closes the door.');
    v2.updateRole({ role: "guest", revoke: { kv: { read: ["/*"], write: ["/*"] } } });
    const anonymousAfter = v2Can("GET", key);
    ctx.table([{ label: `anonymous get ${key}`, v2: anonymousAfter, v3: v3Answer(() => v3.range({ key: enc(key) })) }], { labelHeader: "request" });

    ctx.step(
      "A txn alice cannot run, though the branch that runs only reads",
      "The compare holds, so only the success branch (a read) would run; the failure branch would write. etcd checks both branches before it evaluates anything.",
    );
    const revisionBeforeTxn = v3.kv.rev();
    const txnAnswer = v3Answer(() =>
      v3.txn(
        {
          compare: [{ key: enc(key), target: 0, result: 1, version: 0 }],
          success: [{ request_range: { key: enc(key) } }],
          failure: [{ request_put: { key: enc(key), value: enc("never") } }],
        },
        alice,
      ),
    );
    ctx.table([{ label: "alice: if version > 0 then get else put", v2: "(v2 has no txns)", v3: txnAnswer }], { labelHeader: "request" });
    ctx.claim({
      id: "txn-both-branches",
      claim: "A txn is refused when the branch that would not run needs a permission the user lacks, and nothing changes",
      v2Value: null,
      v3Value: txnAnswer,
      holds: txnAnswer.includes("permission denied") && v3.kv.rev() === revisionBeforeTxn,
    });

    ctx.step(
      "Watches: checked once, when created",
      "alice asks for a watch on another tenant (refused on the stream, which stays open) and one on her tenant (created). Then root revokes her role, and bob writes.",
    );
    const responses: WatchResponse[] = [];
    const stream = v3.watch((r) => responses.push(r), {}, alice);
    stream.recv({ create_request: { key: enc("/tenants/b/"), range_end: prefixEnd("/tenants/b/") } });
    stream.recv({ create_request: { key: enc(TENANT_PREFIX), range_end: prefixEnd(TENANT_PREFIX) } });
    const refused = responses[0];
    const created = responses[1];
    v3.userRevokeRole({ name: "alice", role: "tenant-a-read" }, root);
    const getAfterRevoke = v3Answer(() => v3.range({ key: enc(key) }, alice));
    v3.put({ key: enc(`${TENANT_PREFIX}y`), value: enc("after") }, bob);
    const delivered = responses.filter((r) => r.watch_id === created?.watch_id && r.events.length > 0).length;
    stream.close();
    ctx.table(
      [
        { label: "watch /tenants/b/ (another tenant)", v2: "(no per-watch check)", v3: refused?.canceled === true ? `refused: ${refused.cancel_reason}` : "created" },
        { label: `watch ${TENANT_PREFIX}`, v2: "(no per-watch check)", v3: created?.created === true && !created.canceled ? "created" : "refused" },
        { label: "alice get after her role is revoked", v2: "—", v3: getAfterRevoke },
        { label: "events delivered to the open watch after the revoke", v2: "—", v3: delivered },
      ],
      { labelHeader: "request" },
    );
    ctx.claim({
      id: "watch-checked-at-creation",
      claim: "Revoking a role refuses alice's next get, but her open watch keeps delivering",
      v2Value: null,
      v3Value: ctx.measure("events after revoke", delivered),
      holds: getAfterRevoke.includes("permission denied") && delivered === 1,
    });
    ctx.myth(
      "Revoking a permission in v3 cuts off the user at once, open watches included.",
      "etcd 3.4 checks a watch only when it is created. The next get or put is refused, but an open watch keeps its events until it is cancelled or its stream closes.",
    );
    ctx.myth(
      "Turning on v2 auth locks anonymous clients out.",
      'Enabling v2 auth creates a guest role that reads and writes "/*": anonymous clients keep working until its patterns are revoked.',
    );
    ctx.whatJustHappened(
      "The same tenant was guarded twice: by v2 path patterns checked per request, with guest as the anonymous user, and by v3 key ranges merged per user, with no anonymous access, both txn branches checked, and watches checked once.",
      `Passwords are bcrypt hashes in both (${bcrypt.getRounds(bcrypt.hashSync("x", BCRYPT_COST))} rounds here); tokens (v3) and Basic credentials (v2) carry the identity.`,
    );
  },
};

await runIfMain(import.meta.url, lesson);

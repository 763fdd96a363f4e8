/**
 * The data dir's files and recovery rules (datadir.md §4, §5, §7, §9.5), in process: the WAL's bytes as
 * etcd writes them, restarts that keep every kind of state, a torn tail cut once, damaged snapshots,
 * a purged WAL and a missing backend refused by name.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startEtcd, type EtcdOptions, type RunningEtcd } from "../../server/etcd.js";
import { v3Mount } from "../../server/v3Mount.js";
import { crc32c } from "../../server/wal/crc.js";
import { Decoder } from "../../server/wal/decoder.js";
import { WAL } from "../../server/wal/wal.js";
import { ConfChangeType, decodeConfChange, decodeEntry, EntryType, encodeConfChange } from "../../server/raftpb.js";
import { RecordType } from "../../server/wal/walpb.js";
import { decodeV3Entry, isV3Entry } from "../../server/etcdserverpb.js";
import { startSim } from "../support/simServer.js";

const dirs: string[] = [];
const running: RunningEtcd[] = [];
afterEach(async () => {
  for (const etcd of running.splice(0)) await etcd.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "etcdsim-datadir-"));
  dirs.push(dir);
  return dir;
}

async function start(dataDir: string, options: Partial<EtcdOptions> = {}): Promise<RunningEtcd> {
  const etcd = await startEtcd({ listenClientUrl: "http://127.0.0.1:0", dataDir, extraHandlers: [v3Mount()], ...options });
  running.push(etcd);
  return etcd;
}

async function stop(etcd: RunningEtcd): Promise<void> {
  running.splice(running.indexOf(etcd), 1);
  await etcd.close();
}

const b64 = (text: string): string => Buffer.from(text).toString("base64");

async function v3(etcd: RunningEtcd, path: string, body: unknown): Promise<Record<string, any>> {
  const response = await fetch(`${etcd.clientUrl}/v3/${path}`, { method: "POST", body: JSON.stringify(body) });
  return (await response.json()) as Record<string, any>;
}

async function v2(etcd: RunningEtcd, method: string, key: string, form?: Record<string, string>): Promise<{ index: string | null; body: any }> {
  const response = await fetch(`${etcd.clientUrl}/v2/keys/${key}`, { method, ...(form !== undefined ? { body: new URLSearchParams(form) } : {}) });
  return { index: response.headers.get("x-etcd-index"), body: await response.json() };
}

const walDir = (dataDir: string): string => join(dataDir, "member", "wal");
const snapDir = (dataDir: string): string => join(dataDir, "member", "snap");

/**
 * A kill inside the backend's batch window: a member writes b=1 (committed to the backend by a clean
 * stop), then runs `writes`, then restarts on the backend as it was before `writes`, so they come
 * back from the WAL alone. Returns the restarted member and what `writes` returned.
 */
async function restartWithLaggingBackend<T>(writes: (etcd: RunningEtcd) => Promise<T>): Promise<{ etcd: RunningEtcd; result: T }> {
  const dataDir = tempDir();
  let etcd = await start(dataDir);
  await v3(etcd, "kv/put", { key: b64("b"), value: b64("1") });
  await stop(etcd);
  copyFileSync(join(snapDir(dataDir), "db"), join(dataDir, "db.saved"));
  etcd = await start(dataDir);
  const result = await writes(etcd);
  await stop(etcd);
  copyFileSync(join(dataDir, "db.saved"), join(snapDir(dataDir), "db")); // the db from before `writes`
  return { etcd: await start(dataDir), result };
}
const firstSegment = (dataDir: string): string => join(walDir(dataDir), "0000000000000000-0000000000000000.wal");

describe("the WAL's bytes", () => {
  it("computes CRC-32C with etcd's Castagnoli table, chainable", () => {
    expect(crc32c(0, Buffer.from("123456789"))).toBe(0xe3069283);
    expect(crc32c(crc32c(0, Buffer.from("1234")), Buffer.from("56789"))).toBe(0xe3069283);
  });

  it("lays out a new WAL and its first entries at the offsets a real etcd 3.4 writes them", () => {
    const dir = join(tempDir(), "wal");
    const wal = WAL.create(dir, { nodeId: 0xcc149c9d47511e40n, clusterId: 0x33209fe09af9353en }, { segmentSizeBytes: 4096 });
    const context = Buffer.from('{"id":14705550882591809088,"peerURLs":["http://127.0.0.1:43102"],"name":"s1"}');
    wal.save({ term: 1, vote: 0n, commit: 1 }, [{ type: EntryType.confChange, term: 1, index: 1, data: encodeConfChange({ id: 0n, type: 0, nodeId: 0xcc149c9d47511e40n, context }) }]);
    wal.save(undefined, [{ type: EntryType.normal, term: 2, index: 2, data: new Uint8Array(0) }]);
    wal.close();
    const bytes = readFileSync(join(dir, "0000000000000000-0000000000000000.wal"));
    expect(bytes.length).toBe(4096); // preallocated
    expect([...bytes.subarray(0, 16)]).toEqual([0x04, 0, 0, 0, 0, 0, 0, 0x84, 0x08, 0x04, 0x10, 0x00, 0, 0, 0, 0]);
    const frames: Array<[number, number, number]> = [];
    const decoder = new Decoder([{ name: "seg", bytes }]);
    for (let record = decoder.next(); record !== undefined; record = decoder.next()) {
      const word = bytes.readBigUInt64LE(record.offset);
      frames.push([record.offset, Number(word & 0xffffffffffffffn), record.type]);
    }
    // datadir.md §4.5: crc 4+4 at 0, metadata 31+1 at 16, snapshot 14+2 at 56, ConfChange entry 111+1 at 80,
    // state 16 at 200, the new leader's empty entry 16 at 224.
    expect(frames).toEqual([
      [0, 4, RecordType.crc],
      [16, 31, RecordType.metadata],
      [56, 14, RecordType.snapshot],
      [80, 111, RecordType.entry],
      [200, 16, RecordType.state],
      [224, 16, RecordType.entry],
    ]);
  });

  it("starts a fresh member at raft index 4 and revision 1, as a real etcd, and each restart adds 2", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir);
    expect(await v3(etcd, "maintenance/status", {})).toMatchObject({ raftIndex: "4", raftTerm: "2", header: { revision: "1" } });
    await v3(etcd, "kv/put", { key: b64("a"), value: b64("1") });
    expect(await v3(etcd, "maintenance/status", {})).toMatchObject({ raftIndex: "5", header: { revision: "2" } });
    await stop(etcd);
    etcd = await start(dataDir);
    expect(await v3(etcd, "maintenance/status", {})).toMatchObject({ raftIndex: "7", raftTerm: "3", header: { revision: "2" } });
  });

  it("cuts segments named after the next index, and the purge keeps --max-wals and every segment still needed", async () => {
    const dataDir = tempDir();
    const etcd = await start(dataDir, { walSegmentSizeBytes: 1024, snapshotCount: 10, maxWals: 2, maxSnapshots: 2 });
    for (let i = 0; i < 40; i++) await v2(etcd, "PUT", `k${i}`, { value: "x".repeat(40) });
    const before = readdirSync(walDir(dataDir)).filter((name) => name.endsWith(".wal"));
    expect(before.length).toBeGreaterThan(3);
    expect(before[1]).toMatch(/^0000000000000001-[0-9a-f]{16}\.wal$/);
    etcd.member?.purge();
    const after = readdirSync(walDir(dataDir)).filter((name) => name.endsWith(".wal"));
    expect(after.length).toBe(2);
    expect(readdirSync(snapDir(dataDir)).filter((name) => name.endsWith(".snap")).length).toBe(2);
    await stop(etcd);
    const again = await start(dataDir);
    // A fresh member's own records use v2 indexes 1-3 (/0), so the first client write gets 4, as on a real etcd.
    for (let i = 0; i < 40; i++) expect((await v2(again, "GET", `k${i}`)).body.node.modifiedIndex).toBe(i + 4);
  });
});

describe("restart", () => {
  it("keeps v3 keys, revisions, leases with their keys (TTL back in full), the compaction revision, and v2 keys, TTLs and indexes", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir);
    for (let i = 0; i < 5; i++) await v3(etcd, "kv/put", { key: b64("k"), value: b64(`v${i}`) });
    const grant = await v3(etcd, "lease/grant", { TTL: 60 });
    await v3(etcd, "kv/put", { key: b64("leased"), value: b64("l"), lease: grant["ID"] });
    await v3(etcd, "kv/compaction", { revision: 4 });
    await v3(etcd, "kv/deleterange", { key: b64("k") });
    await v2(etcd, "PUT", "dir/a", { value: "1" });
    const ttl = await v2(etcd, "PUT", "t", { value: "2", ttl: "100" });
    await stop(etcd);
    etcd = await start(dataDir);
    expect(await v3(etcd, "kv/range", { key: b64("k") })).toMatchObject({ header: { revision: "8" } });
    expect((await v3(etcd, "kv/range", { key: b64("k"), revision: 6 }))["kvs"][0]).toMatchObject({ mod_revision: "6", version: "5" });
    expect(await v3(etcd, "kv/range", { key: b64("k"), revision: 3 })).toMatchObject({ error: "etcdserver: mvcc: required revision has been compacted" });
    expect(await v3(etcd, "kv/range", { key: b64("k"), revision: 4 })).toMatchObject({ count: "1" });
    const ttlAnswer = await v3(etcd, "lease/timetolive", { ID: grant["ID"], keys: true });
    expect(ttlAnswer).toMatchObject({ grantedTTL: "60", keys: [b64("leased")] });
    expect(Number(ttlAnswer["TTL"])).toBeGreaterThanOrEqual(59);
    const next = await v3(etcd, "kv/put", { key: b64("n"), value: b64("n") });
    expect(next["header"].revision).toBe("9");
    const t = await v2(etcd, "GET", "t");
    // v2 indexes: 1-3 the fresh member's /0 records, 4 dir/a, 5 t, 6 the restart's attributes publish.
    expect(t.body.node).toMatchObject({ value: "2", modifiedIndex: 5, expiration: ttl.body.node.expiration });
    expect(t.index).toBe("6");
    expect((await v2(etcd, "PUT", "z", { value: "3" })).body.node.modifiedIndex).toBe(7);
  });

  it("keeps an active NOSPACE alarm across a restart, still refusing puts, until it is disarmed", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir);
    const memberId = (await v3(etcd, "maintenance/status", {}))["header"].member_id;
    await v3(etcd, "maintenance/alarm", { action: "ACTIVATE", memberID: memberId, alarm: "NOSPACE" });
    await stop(etcd);
    etcd = await start(dataDir);
    expect(await v3(etcd, "maintenance/alarm", { action: "GET" })).toMatchObject({ alarms: [{ memberID: memberId, alarm: "NOSPACE" }] });
    expect(await v3(etcd, "kv/put", { key: b64("k"), value: b64("v") })).toMatchObject({ error: "etcdserver: mvcc: database space exceeded" });
    await v3(etcd, "maintenance/alarm", { action: "DEACTIVATE", memberID: memberId, alarm: "NOSPACE" });
    await stop(etcd);
    etcd = await start(dataDir);
    expect(await v3(etcd, "kv/put", { key: b64("k"), value: b64("v") })).toMatchObject({ header: { revision: "2" } });
  });

  it("shrinks the backend file on defragment after a compaction, as etcd's rewrite does, and keeps every key", async () => {
    const dataDir = tempDir();
    const etcd = await start(dataDir);
    const big = b64("v".repeat(1024));
    for (let i = 0; i < 600; i++) await v3(etcd, "kv/put", { key: b64(`k${i % 20}`), value: big });
    const grown = Number((await v3(etcd, "maintenance/status", {}))["dbSize"]);
    await v3(etcd, "kv/compaction", { revision: 601, physical: true });
    etcd.member?.backend.commit();
    const compacted = await v3(etcd, "maintenance/status", {});
    expect(Number(compacted["dbSize"])).toBeGreaterThanOrEqual(grown); // compaction frees pages but never shrinks the file
    expect(Number(compacted["dbSizeInUse"])).toBeLessThan(grown / 4);
    expect(await v3(etcd, "maintenance/defragment", {})).not.toHaveProperty("error");
    const defragged = Number((await v3(etcd, "maintenance/status", {}))["dbSize"]);
    expect(defragged).toBeLessThan(grown / 4);
    await v3(etcd, "kv/put", { key: b64("after"), value: b64("1") });
    await stop(etcd);
    const again = await start(dataDir);
    const range = await v3(again, "kv/range", { key: b64("a"), range_end: b64("z") });
    expect(range["count"]).toBe("21");
    expect(range["header"].revision).toBe("602");
  });

  it("cuts a torn last WAL record once, keeps the segment as .broken, and loses only that record", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir);
    await v2(etcd, "PUT", "kept", { value: "1" });
    await v2(etcd, "PUT", "torn", { value: "2" });
    await stop(etcd);
    const bytes = readFileSync(firstSegment(dataDir));
    const decoder = new Decoder([{ name: "seg", bytes }]);
    let lastEntry = 0;
    for (let record = decoder.next(); record !== undefined; record = decoder.next()) if (record.type === RecordType.entry) lastEntry = record.offset;
    truncateSync(firstSegment(dataDir), lastEntry + 20); // the crash hit in the middle of the last entry
    etcd = await start(dataDir);
    expect((await v2(etcd, "GET", "kept")).body.node.value).toBe("1");
    expect((await v2(etcd, "GET", "torn")).body.errorCode).toBe(100);
    const broken = readdirSync(walDir(dataDir)).filter((name) => name.endsWith(".broken"));
    expect(broken).toEqual(["0000000000000000-0000000000000000.wal.broken"]);
    const brokenBytes = readFileSync(join(walDir(dataDir), broken[0] as string));
    await v2(etcd, "PUT", "after", { value: "3" });
    await stop(etcd);
    etcd = await start(dataDir);
    expect((await v2(etcd, "GET", "after")).body.node.value).toBe("3");
    expect(readFileSync(join(walDir(dataDir), broken[0] as string)).equals(brokenBytes)).toBe(true); // no second repair
  });

  it("replays v3 writes from the WAL when the backend lags it (a kill inside the 100 ms batch window)", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir);
    await v3(etcd, "kv/put", { key: b64("early"), value: b64("1") });
    await stop(etcd); // commits the backend: consistent_index covers "early"
    copyFileSync(join(snapDir(dataDir), "db"), join(dataDir, "db.saved"));
    etcd = await start(dataDir);
    await v3(etcd, "kv/put", { key: b64("late"), value: b64("2") });
    await stop(etcd);
    copyFileSync(join(dataDir, "db.saved"), join(snapDir(dataDir), "db")); // the db as it was before "late" was committed
    etcd = await start(dataDir);
    const range = await v3(etcd, "kv/range", { key: b64("a"), range_end: b64("z") });
    expect(range["kvs"].map((kv: { key: string; mod_revision: string }) => [Buffer.from(kv.key, "base64").toString(), kv.mod_revision])).toEqual([
      ["early", "2"],
      ["late", "3"],
    ]);
  });
});

describe("v3 auth in the data dir", () => {
  /** root (with role root), alice with role reader (READ on [a, e)), auth on; everything through the gateway. */
  async function setUpAuth(etcd: RunningEtcd): Promise<void> {
    const ok = async (path: string, body: unknown): Promise<void> => expect(await v3(etcd, path, body)).not.toHaveProperty("error");
    await ok("auth/user/add", { name: "root", password: "rootpw" });
    await ok("auth/user/grant", { user: "root", role: "root" });
    await ok("auth/user/add", { name: "alice", password: "alicepw" });
    await ok("auth/role/add", { name: "reader" });
    await ok("auth/role/grant", { name: "reader", perm: { permType: "READ", key: b64("a"), range_end: b64("e") } });
    await ok("auth/user/grant", { user: "alice", role: "reader" });
    await ok("auth/enable", {});
  }

  /** What alice may and may not do, and what an anonymous caller gets. */
  async function expectAuthInForce(etcd: RunningEtcd): Promise<void> {
    const { token } = await v3(etcd, "auth/authenticate", { name: "alice", password: "alicepw" });
    expect(typeof token).toBe("string");
    const asAlice = async (path: string, body: unknown): Promise<Record<string, any>> => {
      const response = await fetch(`${etcd.clientUrl}/v3/${path}`, { method: "POST", headers: { Authorization: token }, body: JSON.stringify(body) });
      return (await response.json()) as Record<string, any>;
    };
    expect(await asAlice("kv/range", { key: b64("a"), range_end: b64("d") })).not.toHaveProperty("error");
    expect(await asAlice("kv/range", { key: b64("z") })).toMatchObject({ error: "etcdserver: permission denied" });
    expect(await asAlice("kv/put", { key: b64("b"), value: b64("1") })).toMatchObject({ error: "etcdserver: permission denied" });
    expect(await v3(etcd, "kv/range", { key: b64("a") })).toMatchObject({ error: "etcdserver: user name is empty" });
    expect(await v3(etcd, "auth/authenticate", { name: "alice", password: "wrong" })).toMatchObject({ error: "etcdserver: authentication failed, invalid user ID or password" });
  }

  it("keeps users, roles, permissions and the enabled flag across a restart, in etcd's auth buckets", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir);
    await setUpAuth(etcd);
    await expectAuthInForce(etcd);
    await stop(etcd);
    etcd = await start(dataDir);
    await expectAuthInForce(etcd);
    const backend = etcd.member?.backend;
    expect([...(backend?.bucket("authUsers").keys() ?? [])].sort()).toEqual(["alice", "root"]);
    expect([...(backend?.bucket("authRoles").keys() ?? [])]).toEqual(["reader"]);
    expect([...(backend?.bucket("auth").get("authEnabled") ?? [])]).toEqual([1]);
  });

  it("replays auth changes from the WAL when the backend lags it (a kill inside the batch window)", async () => {
    const { etcd } = await restartWithLaggingBackend(setUpAuth);
    await expectAuthInForce(etcd);
  });
});

describe("Lock and Election in the data dir", () => {
  /** Locks "mylock", campaigns on "boss" and proclaims a new value; returns the lock key and the leader key. */
  async function holdLockAndLead(etcd: RunningEtcd): Promise<{ lockKey: string; leaderKey: string }> {
    const lock = await v3(etcd, "lock/lock", { name: b64("mylock") });
    expect(lock).not.toHaveProperty("error");
    const campaign = await v3(etcd, "election/campaign", { name: b64("boss"), value: b64("first") });
    expect(campaign).not.toHaveProperty("error");
    expect(await v3(etcd, "election/proclaim", { leader: campaign["leader"], value: b64("second") })).not.toHaveProperty("error");
    return { lockKey: lock["key"], leaderKey: campaign["leader"].key };
  }

  /** The lock key and the leader key are back, each on its lease, and the election answers the proclaimed value. */
  async function expectHeld(etcd: RunningEtcd, held: { lockKey: string; leaderKey: string }): Promise<void> {
    const lockKv = (await v3(etcd, "kv/range", { key: held.lockKey }))["kvs"]?.[0];
    expect(lockKv).toMatchObject({ key: held.lockKey });
    expect(lockKv.lease).toBeDefined();
    expect(Buffer.from(held.lockKey, "base64").toString()).toBe(`mylock/${BigInt(lockKv.lease).toString(16)}`);
    expect(await v3(etcd, "lease/timetolive", { ID: lockKv.lease, keys: true })).toMatchObject({ grantedTTL: "60", keys: [held.lockKey] });
    const leader = await v3(etcd, "election/leader", { name: b64("boss") });
    expect(leader["kv"]).toMatchObject({ key: held.leaderKey, value: b64("second") });
  }

  it("logs the keys Lock and Election write, so they survive a restart, and an Unlock after it is logged too", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir);
    const held = await holdLockAndLead(etcd);
    await stop(etcd);
    const { entries } = WAL.open(walDir(dataDir), { index: 0, term: 0 });
    const ops = entries.filter((e) => e.type === EntryType.normal && e.data.length > 0 && isV3Entry(e.data)).map((e) => decodeV3Entry(e.data).op);
    // Lock: grant + txn; Campaign: grant + txn; Proclaim: txn (read-only txns are not logged, as in etcd).
    expect(ops).toEqual(["leaseGrant", "txn", "leaseGrant", "txn", "txn"]);
    etcd = await start(dataDir);
    await expectHeld(etcd, held);
    expect(await v3(etcd, "lock/unlock", { key: held.lockKey })).not.toHaveProperty("error");
    await stop(etcd);
    etcd = await start(dataDir);
    expect(await v3(etcd, "kv/range", { key: held.lockKey })).not.toHaveProperty("kvs");
  });

  it("replays the lock and leader keys from the WAL when the backend lags it (a kill inside the batch window)", async () => {
    const { etcd, result: held } = await restartWithLaggingBackend(holdLockAndLead);
    await expectHeld(etcd, held);
  });
});

describe("v2 auth in the data dir", () => {
  const basic = (user: string, password: string): string => "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
  async function auth(etcd: RunningEtcd, method: string, path: string, body?: unknown, user?: [string, string]): Promise<{ status: number; index: string | null; text: string }> {
    const response = await fetch(`${etcd.clientUrl}/v2/auth${path}`, {
      method,
      headers: user === undefined ? {} : { Authorization: basic(user[0], user[1]) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, index: response.headers.get("x-etcd-index"), text: await response.text() };
  }

  it("keeps v2 users, roles and the enabled flag across restarts and a snapshot, with the indexes they spent", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir, { snapshotCount: 5 });
    expect((await auth(etcd, "PUT", "/users/root", { user: "root", password: "rootpw" })).status).toBe(201);
    expect((await auth(etcd, "PUT", "/roles/app", { role: "app", permissions: { kv: { read: ["/app/*"], write: ["/app/*"] } } })).status).toBe(201);
    expect((await auth(etcd, "PUT", "/users/bob", { user: "bob", password: "bobpw", roles: ["app"] })).status, "a user created with roles answers 200, as etcd").toBe(200);
    expect((await auth(etcd, "PUT", "/enable", undefined, ["root", "rootpw"])).status).toBe(200);
    const indexBefore = Number((await v2(etcd, "GET", "")).index);
    const bobWrites = async (key: string): Promise<number> =>
      (await fetch(`${etcd.clientUrl}/v2/keys/${key}`, { method: "PUT", headers: { Authorization: basic("bob", "bobpw") }, body: new URLSearchParams({ value: "1" }) })).status;
    await stop(etcd);
    etcd = await start(dataDir, { snapshotCount: 5 });
    expect(Number((await v2(etcd, "GET", "")).index), "the restart's attributes PUT is the only new index").toBe(indexBefore + 1);
    expect(JSON.parse((await auth(etcd, "GET", "/enable")).text)).toEqual({ enabled: true });
    expect(await bobWrites("app/x")).toBe(201);
    expect(await bobWrites("other/x")).toBe(401);
    for (let i = 0; i < 6; i++) await bobWrites(`app/k${i}`); // past --snapshot-count: a .snap holds /2 now
    await stop(etcd);
    expect(readdirSync(snapDir(dataDir)).some((name) => name.endsWith(".snap"))).toBe(true);
    etcd = await start(dataDir, { snapshotCount: 5 });
    expect(JSON.parse((await auth(etcd, "GET", "/users/bob", undefined, ["root", "rootpw"])).text)).toMatchObject({ user: "bob", roles: [{ role: "app" }] });
    expect(await bobWrites("other/y")).toBe(401);
    expect((await auth(etcd, "GET", "/users", undefined, ["bob", "bobpw"])).status, "bob is not root").toBe(401);
  });
});

describe("damage", () => {
  it("renames a corrupt newest .snap to .broken and recovers the same state from the older one plus the WAL", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir, { snapshotCount: 3 });
    for (let i = 0; i < 9; i++) await v2(etcd, "PUT", `s${i}`, { value: `${i}` });
    await stop(etcd);
    const snaps = readdirSync(snapDir(dataDir)).filter((name) => name.endsWith(".snap")).sort();
    expect(snaps).toEqual(["0000000000000002-0000000000000005.snap", "0000000000000002-0000000000000009.snap", "0000000000000002-000000000000000d.snap"]);
    const newest = join(snapDir(dataDir), snaps[2] as string);
    const bytes = readFileSync(newest);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0xff;
    writeFileSync(newest, bytes);
    etcd = await start(dataDir, { snapshotCount: 3 });
    expect(existsSync(`${newest}.broken`)).toBe(true);
    for (let i = 0; i < 9; i++) expect((await v2(etcd, "GET", `s${i}`)).body.node).toMatchObject({ value: `${i}`, modifiedIndex: i + 4 });
  });

  it("refuses to start when every .snap is corrupt and the WAL before them was purged, naming the missing file", async () => {
    const dataDir = tempDir();
    const etcd = await start(dataDir, { walSegmentSizeBytes: 1024, snapshotCount: 5, maxWals: 1 });
    for (let i = 0; i < 30; i++) await v2(etcd, "PUT", `p${i}`, { value: "y".repeat(40) });
    etcd.member?.purge();
    await stop(etcd);
    for (const name of readdirSync(snapDir(dataDir)).filter((n) => n.endsWith(".snap"))) writeFileSync(join(snapDir(dataDir), name), "");
    await expect(start(dataDir)).rejects.toThrow(/wal: file not found/);
  });

  it("refuses to start when the backend is missing but a snapshot needs it, naming the db file", async () => {
    const dataDir = tempDir();
    const etcd = await start(dataDir, { snapshotCount: 3 });
    for (let i = 0; i < 4; i++) await v3(etcd, "kv/put", { key: b64(`d${i}`), value: b64("v") });
    await stop(etcd);
    rmSync(join(snapDir(dataDir), "db"));
    rmSync(join(snapDir(dataDir), "db-lock"), { force: true });
    await expect(start(dataDir)).rejects.toThrow(/member\/snap\/db is missing/);
    expect(existsSync(join(snapDir(dataDir), "db"))).toBe(false);
  });
});

describe("membership through the log", () => {
  const memberAdd = (etcd: RunningEtcd, peerURLs: string[], isLearner: boolean) => v3(etcd, "cluster/member/add", { peerURLs, isLearner });
  const memberUrls = async (etcd: RunningEtcd): Promise<string[][]> =>
    ((await v3(etcd, "cluster/member/list", {}))["members"] as Array<{ peerURLs: string[]; isLearner?: boolean }>).map((m) => [...m.peerURLs, m.isLearner === true ? "learner" : "voter"]).sort();
  const v2Index = async (etcd: RunningEtcd): Promise<string | null> => (await v2(etcd, "GET", "")).index;

  /** Every ConfChange entry in the data dir's WAL segments, decoded. */
  function loggedConfChanges(dataDir: string): ReturnType<typeof decodeConfChange>[] {
    const changes: ReturnType<typeof decodeConfChange>[] = [];
    for (const name of readdirSync(walDir(dataDir)).filter((n) => n.endsWith(".wal")).sort()) {
      const decoder = new Decoder([{ name, bytes: readFileSync(join(walDir(dataDir), name)) }]);
      for (let record = decoder.next(); record !== undefined; record = decoder.next()) {
        if (record.type !== RecordType.entry) continue;
        const entry = decodeEntry(record.data ?? new Uint8Array(0));
        if (entry.type === EntryType.confChange) changes.push(decodeConfChange(entry.data));
      }
    }
    return changes;
  }

  it("logs a MemberAdd as a ConfChange (AddLearnerNode, the member JSON as context), spends a v2 index on /0, and keeps the learner across a restart", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir);
    const local = await memberUrls(etcd);
    const added = await memberAdd(etcd, ["http://10.0.0.9:2380"], true);
    expect(added["member"]).toMatchObject({ peerURLs: ["http://10.0.0.9:2380"], isLearner: true });
    expect(await v2Index(etcd)).toBe("4"); // 1-3 start-up records, 4 the learner's raftAttributes
    const changes = loggedConfChanges(dataDir);
    expect(changes.map((c) => c.type)).toEqual([ConfChangeType.addNode, ConfChangeType.addLearnerNode]);
    expect((changes[1] as { nodeId: bigint }).nodeId).toBe(BigInt(added["member"].ID));
    expect(Buffer.from((changes[1] as { context: Uint8Array }).context).toString()).toBe(`{"id":${BigInt(added["member"].ID)},"peerURLs":["http://10.0.0.9:2380"],"isLearner":true}`);
    await stop(etcd);
    etcd = await start(dataDir);
    expect(await memberUrls(etcd)).toEqual([...local, ["http://10.0.0.9:2380", "learner"]].sort());
    expect(await v2Index(etcd)).toBe("5"); // + the restart's attributes publish
    // The restored list still refuses what it refused before: a second learner (3.4 allows one).
    expect(await memberAdd(etcd, ["http://10.0.0.10:2380"], true)).toMatchObject({ error: "etcdserver: too many learner members in cluster" });
  });

  it("replays add, remove and add again from the WAL alone when the backend lags it, and restores them from a .snap", async () => {
    const dataDir = tempDir();
    let etcd = await start(dataDir);
    const local = await memberUrls(etcd);
    await stop(etcd);
    copyFileSync(join(snapDir(dataDir), "db"), join(dataDir, "db.saved")); // a backend with no member but the local one
    etcd = await start(dataDir);
    const first = await memberAdd(etcd, ["http://10.0.0.9:2380"], true);
    expect(await v3(etcd, "cluster/member/remove", { ID: first["member"].ID })).not.toHaveProperty("error");
    await memberAdd(etcd, ["http://10.0.0.11:2380"], true);
    const expected = [...local, ["http://10.0.0.11:2380", "learner"]].sort();
    expect(await memberUrls(etcd)).toEqual(expected);
    // v2: 3 start-up + 1 restart publish, then add (1), remove (delete + removed_members: 2), add (1).
    expect(await v2Index(etcd)).toBe("8");
    await stop(etcd);
    copyFileSync(join(dataDir, "db.saved"), join(snapDir(dataDir), "db"));
    etcd = await start(dataDir, { snapshotCount: 1 });
    expect(await memberUrls(etcd)).toEqual(expected);
    expect(await v3(etcd, "cluster/member/remove", { ID: first["member"].ID })).toMatchObject({ error: "etcdserver: member not found" });
    expect(await v2Index(etcd)).toBe("9");
    await v2(etcd, "PUT", "k", { value: "1" }); // more than --snapshot-count entries: a .snap holding the /0 records
    await stop(etcd);
    expect(readdirSync(snapDir(dataDir)).some((name) => name.endsWith(".snap"))).toBe(true);
    etcd = await start(dataDir);
    expect(await memberUrls(etcd)).toEqual(expected);
    expect(await v3(etcd, "cluster/member/remove", { ID: first["member"].ID })).toMatchObject({ error: "etcdserver: member not found" });
    expect(await v2Index(etcd)).toBe("11");
  });

  it("keeps a member added just before a kill -9 of `npm run serve` (acknowledged means synced to the WAL)", async () => {
    const dataDir = tempDir();
    const post = async (url: string, path: string, body: unknown) => (await (await fetch(`${url}/v3/${path}`, { method: "POST", body: JSON.stringify(body) })).json()) as Record<string, any>;
    const first = await startSim({ extraArgs: ["--data-dir", dataDir] });
    let added: Record<string, any>;
    try {
      added = await post(first.clientUrl, "cluster/member/add", { peerURLs: ["http://10.0.0.9:2380"], isLearner: true });
      expect(added).not.toHaveProperty("error");
    } finally {
      process.kill(first.pid, "SIGKILL");
      await first.exited;
    }
    const second = await startSim({ extraArgs: ["--data-dir", dataDir] });
    try {
      const list = await post(second.clientUrl, "cluster/member/list", {});
      expect(list["members"].map((m: { ID: string }) => m.ID)).toContain(added["member"].ID);
    } finally {
      await second.stop();
    }
  }, 60_000);
});

describe("the data dir lock", () => {
  it("refuses a second member on a data dir in use, naming it, and lets one start once the first is closed", async () => {
    const dataDir = tempDir();
    const first = await start(dataDir);
    await v2(first, "PUT", "k", { value: "1" });
    await expect(start(dataDir)).rejects.toThrow(`another etcd process is using "${join(dataDir, "member", "snap", "db")}" and holds the file lock: data dir ${dataDir} is in use`);
    expect((await v2(first, "GET", "k")).body.node.value).toBe("1"); // the first one never noticed
    await stop(first);
    const second = await start(dataDir);
    expect((await v2(second, "GET", "k")).body.node.value).toBe("1");
  });

  it("keeps the lock through a defrag, which replaces the db file", async () => {
    const dataDir = tempDir();
    const etcd = await start(dataDir);
    await v3(etcd, "kv/put", { key: b64("a"), value: b64("1") });
    expect(await v3(etcd, "maintenance/defragment", {})).not.toHaveProperty("error");
    await expect(start(dataDir)).rejects.toThrow(/holds the file lock/);
  });

  it("refuses `npm run serve` on a data dir another process holds, and leaves no stale lock after a kill -9", async () => {
    const dataDir = tempDir();
    const holder = await startSim({ extraArgs: ["--data-dir", dataDir] });
    try {
      await expect(startSim({ extraArgs: ["--data-dir", dataDir] })).rejects.toThrow(/"exitedWith":1[\s\S]*another etcd process is using .* and holds the file lock/);
    } finally {
      process.kill(holder.pid, "SIGKILL");
      await holder.exited;
    }
    const after = await startSim({ extraArgs: ["--data-dir", dataDir] }); // the kernel dropped the lock with the process
    expect((await fetch(`${after.clientUrl}/v2/keys/`)).status).toBe(200);
    await after.stop();
  }, 90_000);
});

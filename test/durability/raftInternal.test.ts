/**
 * etcd 3.4's v3 WAL entries (InternalRaftRequest, server/etcdserverpb.ts), against a real etcd: its
 * entries decode with etcdsim's decoder, and etcdsim's entries for the same requests are the same
 * bytes, apart from the header's request ID (each member draws its own) and Authenticate's simple
 * token (random).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, type Client } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { startEtcd as startSim } from "../../server/etcd.js";
import { v3Mount } from "../../server/v3Mount.js";
import { decodeV3Entry, isV3Entry } from "../../server/etcdserverpb.js";
import { EntryType } from "../../server/raftpb.js";
import { WAL } from "../../server/wal/wal.js";
import { PbWriter, readFields, type PbField } from "../../shared/pb.js";
import { utf8 } from "../../shared/bytes.js";
import { grpcCall, grpcClient } from "../support/grpcClient.js";
import { etcdAvailable, startEtcd as startReal } from "../support/realEtcd.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The same v3 writes, over gRPC, against `address`; returns when all are answered. */
async function writes(address: string): Promise<void> {
  const kv = grpcClient("etcdserverpb.KV", address);
  const lease = grpcClient("etcdserverpb.Lease", address);
  const auth = grpcClient("etcdserverpb.Auth", address);
  const clients: Client[] = [kv, lease, auth];
  try {
    await grpcCall(kv, "Put", { key: utf8("foo"), value: utf8("bar") });
    await grpcCall(lease, "LeaseGrant", { TTL: 600, ID: 0x1234n });
    await grpcCall(kv, "Put", { key: utf8("leased"), value: utf8("v"), lease: 0x1234n, prev_kv: true });
    await grpcCall(kv, "Txn", {
      compare: [{ key: utf8("foo"), target: 3, result: 0, value: utf8("bar") }],
      success: [{ request_put: { key: utf8("t"), value: utf8("1") } }, { request_delete_range: { key: utf8("x"), range_end: utf8("y") } }],
      failure: [{ request_range: { key: utf8("foo") } }],
    });
    await grpcCall(kv, "DeleteRange", { key: utf8("foo"), prev_kv: true });
    await grpcCall(kv, "Compact", { revision: 3, physical: true });
    await grpcCall(lease, "LeaseRevoke", { ID: 0x1234n });
    await grpcCall(auth, "UserAdd", { name: "root", password: "rootpw" });
    await grpcCall(auth, "RoleAdd", { name: "reader" });
    await grpcCall(auth, "RoleGrantPermission", { name: "reader", perm: { permType: 0, key: utf8("a"), range_end: utf8("b") } });
    await grpcCall(auth, "UserGrantRole", { user: "root", role: "root" });
    await grpcCall(auth, "AuthEnable", {});
    const { token } = await grpcCall<{ token: string }>(auth, "Authenticate", { name: "root", password: "rootpw" });
    const asRoot = new Metadata();
    asRoot.set("token", token);
    await grpcCall(kv, "Put", { key: utf8("as-root"), value: utf8("r") }, asRoot);
    await grpcCall(auth, "UserList", {}, asRoot);
  } finally {
    for (const client of clients) client.close();
  }
}

/** The data of every v3 entry in the data dir's WAL. */
function v3Entries(dataDir: string): Uint8Array[] {
  const { wal, entries } = WAL.open(join(dataDir, "member", "wal"), { index: 0, term: 0 });
  wal.close();
  return entries.filter((entry) => entry.type === EntryType.normal && entry.data.length > 0 && isV3Entry(entry.data)).map((entry) => entry.data);
}

/** An entry's bytes with the header's ID (field 1) and Authenticate's simple_token (field 3) left out. */
function comparable(data: Uint8Array): string {
  const writer = new PbWriter();
  const copy = (fields: readonly PbField[], into: PbWriter, drop: number): void => {
    for (const f of fields) {
      if (f.field === drop) continue;
      if (f.bytes !== undefined) into.bytes(f.field, f.bytes);
      else into.uint(f.field, f.varint);
    }
  };
  for (const f of readFields(data)) {
    if (f.bytes !== undefined && (f.field === 100 || f.field === 1012)) {
      const inner = new PbWriter();
      copy(readFields(f.bytes), inner, f.field === 100 ? 1 : 3);
      writer.bytes(f.field, inner.finish());
    } else if (f.bytes !== undefined) writer.bytes(f.field, f.bytes);
    else writer.uint(f.field, f.varint);
  }
  return Buffer.from(writer.finish()).toString("hex");
}

describe.skipIf(!etcdAvailable())("v3 WAL entries against a real etcd 3.4", () => {
  let real: Uint8Array[] = [];
  let sim: Uint8Array[] = [];

  it("logs the same v3 requests as a real etcd, byte for byte apart from the request ID and the token", async () => {
    const realEtcd = await startReal();
    try {
      await writes(realEtcd.clientUrl.replace("http://", ""));
    } finally {
      await realEtcd.kill();
    }
    dirs.push(realEtcd.dataDir);
    real = v3Entries(realEtcd.dataDir);

    const simDir = mkdtempSync(join(tmpdir(), "etcdsim-raftreq-"));
    dirs.push(simDir);
    const simEtcd = await startSim({ listenClientUrl: "http://127.0.0.1:0", dataDir: simDir, extraHandlers: [v3Mount()] });
    try {
      await writes(simEtcd.clientUrl.replace("http://", ""));
    } finally {
      await simEtcd.close();
    }
    sim = v3Entries(simDir);

    expect(real.length).toBe(15);
    expect(sim.map(comparable)).toEqual(real.map(comparable));
  }, 60_000);

  it("decodes a real etcd's entries: each request, its caller and a request ID", () => {
    const decoded = real.map(decodeV3Entry);
    expect(decoded.map((e) => e.method ?? e.op)).toEqual([
      "put", "leaseGrant", "put", "txn", "deleteRange", "compaction", "leaseRevoke",
      "userAdd", "roleAdd", "roleGrantPermission", "userGrantRole", "authEnable", "authenticate", "put", "userList",
    ]);
    for (const entry of decoded) expect(entry.id).not.toBe(0n);
    expect(decoded[1]?.request).toMatchObject({ TTL: 600, ID: 0x1234n });
    expect(Buffer.from((decoded[0]?.request as { value: Uint8Array }).value).toString()).toBe("bar");
    // etcd 3.4.23 does not log the password Authenticate was given.
    expect(decoded[12]?.request).toEqual({ name: "root", prefix: expect.any(String) });
    expect((decoded[12]?.request as { prefix: string }).prefix).toMatch(/^[a-zA-Z]{16}$/);
    expect(decoded[11]?.who).toBeUndefined();
    expect(decoded[13]?.who).toEqual({ username: "root", revision: expect.any(Number) });
    expect(decoded[14]?.who?.username).toBe("root");
  });
});

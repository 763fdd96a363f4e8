/**
 * The Snapshot body is a real bbolt file (v3/backendImage.ts): etcd's own tools read it.
 * `etcdctl snapshot status` reports its revision, rows and size; `etcdctl snapshot restore` turns it
 * into a data dir from which a real etcd 3.4.23 serves the simulator's keys, revisions and leases.
 */
import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimulatedClock, sleep } from "../../shared/clock.js";
import { utf8 } from "../../shared/bytes.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { BOLT_PAGE_BYTES } from "../../v3/backendImage.js";
import { ETCD_BINARY, ETCDCTL_BINARY, etcdAvailable, etcdctlAvailable, freePort, waitHealthy } from "../support/realEtcd.js";

/** A member with `puts` small puts over 10 keys, a lease with a key, a delete and a compaction. */
function history(puts: number): EtcdServer {
  const server = new EtcdServer({ clock: new SimulatedClock() });
  for (let i = 0; i < puts; i++) server.put({ key: utf8(`k${i % 10}`), value: utf8(`value ${i}`) });
  server.leaseGrant({ ID: 1000n, TTL: 600 });
  server.put({ key: utf8("lk"), value: utf8("x"), lease: 1000n });
  server.deleteRange({ key: utf8("k9") });
  server.compact({ revision: 5 });
  return server;
}

function image(server: EtcdServer): Buffer {
  return Buffer.from(server.backend.snapshot());
}

function etcdctl(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(ETCDCTL_BINARY, args, { encoding: "utf8", env: { ...process.env, ETCDCTL_API: "3" } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the backend image", () => {
  it("is a fresh member's 20,480-byte file with two valid meta pages", () => {
    const bytes = image(new EtcdServer({ clock: new SimulatedClock() }));
    expect(bytes.length).toBe(20480);
    for (const page of [0, 1]) {
      const meta = bytes.subarray(page * BOLT_PAGE_BYTES);
      expect(meta.readUInt16LE(8)).toBe(0x04);
      expect(meta.readUInt32LE(16)).toBe(0xed0cdaed);
      expect(meta.readBigUInt64LE(16 + 40)).toBe(5n);
    }
  });
});

describe.skipIf(!etcdAvailable() || !etcdctlAvailable())("etcd's tools read the simulator's snapshot", () => {
  it("reports the last row's revision, every bucket's rows and the size with etcdctl snapshot status", () => {
    const dir = mkdtempSync(join(tmpdir(), "etcdsim-snap-"));
    try {
      const server = history(1000);
      const file = join(dir, "snap.db");
      writeFileSync(file, image(server));
      const status = etcdctl(["snapshot", "status", file, "-w", "json"]);
      expect(status.stderr).toBe("");
      const parsed = JSON.parse(status.stdout) as { revision: number; totalKey: number; totalSize: number };
      // Rows: the key bucket, meta (consistent_index, two compaction marks), one lease, one member,
      // the cluster version and the auth revision.
      expect(parsed).toMatchObject({ revision: server.kv.rev(), totalKey: server.backend.entries + 3 + 1 + 1 + 1 + 1, totalSize: image(server).length });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("restores with etcdctl snapshot restore into a data dir a real etcd serves the same keys from", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etcdsim-restore-"));
    const server = history(200);
    const file = join(dir, "snap.db");
    writeFileSync(file, image(server));
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const dataDir = join(dir, "restored");
    const restore = etcdctl(["snapshot", "restore", file, "--skip-hash-check", "--name", "r", "--data-dir", dataDir, "--initial-cluster", `r=${peerUrl}`, "--initial-advertise-peer-urls", peerUrl]);
    expect(restore.status).toBe(0);
    const child = spawn(
      ETCD_BINARY,
      ["--name=r", `--data-dir=${dataDir}`, `--listen-client-urls=${clientUrl}`, `--advertise-client-urls=${clientUrl}`, `--listen-peer-urls=${peerUrl}`, `--initial-advertise-peer-urls=${peerUrl}`, `--initial-cluster=r=${peerUrl}`, "--log-level=error"],
      { stdio: "ignore" },
    );
    let exited = false;
    child.on("exit", () => (exited = true));
    try {
      await waitHealthy(clientUrl, () => exited);
      const range = async (body: object) => (await (await fetch(`${clientUrl}/v3/kv/range`, { method: "POST", body: JSON.stringify(body) })).json()) as { header: { revision: string }; count?: string; kvs?: Array<{ lease?: string }> };
      const all = await range({ key: Buffer.from("\0").toString("base64"), range_end: Buffer.from("\0").toString("base64") });
      expect(all.header.revision).toBe(String(server.kv.rev()));
      expect(all.count).toBe(String(server.range({ key: new Uint8Array([0]), range_end: new Uint8Array([0]) }).count));
      const leased = await range({ key: Buffer.from("lk").toString("base64") });
      expect(leased.kvs?.[0]?.lease).toBe("1000");
      const compacted = await fetch(`${clientUrl}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: Buffer.from("k1").toString("base64"), revision: 4 }) });
      expect(((await compacted.json()) as { error?: string }).error).toBe("etcdserver: mvcc: required revision has been compacted");
    } finally {
      if (!exited && child.pid !== undefined) process.kill(child.pid, "SIGTERM");
      for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

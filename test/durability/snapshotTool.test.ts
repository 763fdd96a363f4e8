/**
 * `npm run snapshot -- status|restore` (server/v3Snapshot.ts) on a file saved from a running etcdsim
 * through the Maintenance.Snapshot stream, as `etcdctl snapshot save` saves it: image + SHA-256.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startEtcd, type RunningEtcd } from "../../server/etcd.js";
import { v3Mount } from "../../server/v3Mount.js";
import { formatStatus, humanizeBytes, restoreSnapshot, snapshotStatus } from "../../server/v3Snapshot.js";

const dirs: string[] = [];
const running: RunningEtcd[] = [];
afterEach(async () => {
  for (const etcd of running.splice(0)) await etcd.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const b64 = (text: string): string => Buffer.from(text).toString("base64");

async function v3(etcd: RunningEtcd, path: string, body: unknown): Promise<Record<string, any>> {
  const response = await fetch(`${etcd.clientUrl}/v3/${path}`, { method: "POST", body: JSON.stringify(body) });
  return (await response.json()) as Record<string, any>;
}

/** The snapshot stream's blobs, concatenated: what etcdctl writes to the file. */
async function saveSnapshot(etcd: RunningEtcd, file: string): Promise<Buffer> {
  const text = await (await fetch(`${etcd.clientUrl}/v3/maintenance/snapshot`, { method: "POST", body: "{}" })).text();
  const blobs = text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => Buffer.from((JSON.parse(line) as { result: { blob: string } }).result.blob, "base64"));
  const bytes = Buffer.concat(blobs);
  writeFileSync(file, bytes);
  return bytes;
}

describe("snapshot status and restore", () => {
  it("prints sizes as etcdctl does (go-humanize, SI units)", () => {
    expect(humanizeBytes(24576)).toBe("25 kB");
    expect(humanizeBytes(1_634_304)).toBe("1.6 MB");
    expect(formatStatus({ hash: 0xf453e044, revision: 14, totalKey: 20, totalSize: 24576 }, "table")).toBe(
      [
        "+----------+----------+------------+------------+",
        "|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |",
        "+----------+----------+------------+------------+",
        "| f453e044 |       14 |         20 |      25 kB |",
        "+----------+----------+------------+------------+",
      ].join("\n"),
    );
    expect(formatStatus({ hash: 0xf453e044, revision: 14, totalKey: 20, totalSize: 24576 }, "simple")).toBe("f453e044, 14, 20, 25 kB");
  });

  it("restores a data dir that starts with the keys, revision, compaction and leases, and without the v2 data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etcdsim-snapshot-"));
    dirs.push(dir);
    const etcd = await startEtcd({ listenClientUrl: "http://127.0.0.1:0", dataDir: join(dir, "a"), extraHandlers: [v3Mount()] });
    running.push(etcd);
    for (let i = 0; i < 5; i++) await v3(etcd, "kv/put", { key: b64(`k${i}`), value: b64(`v${i}`) });
    const lease = await v3(etcd, "lease/grant", { TTL: 300 });
    await v3(etcd, "kv/put", { key: b64("leased"), value: b64("l"), lease: lease["ID"] });
    await v3(etcd, "kv/deleterange", { key: b64("k0") });
    await v3(etcd, "kv/compaction", { revision: 3 });
    await fetch(`${etcd.clientUrl}/v2/keys/v2only`, { method: "PUT", body: new URLSearchParams({ value: "x" }) });
    const file = join(dir, "snap.db");
    const bytes = await saveSnapshot(etcd, file);
    expect(bytes.length % 512).toBe(32);
    const status = snapshotStatus(bytes);
    expect(status).toMatchObject({ revision: 8, totalSize: bytes.length - 32 });
    await expect(restoreSnapshot(file, { dataDir: join(dir, "a") })).rejects.toThrow(/data-dir ".*" exists/);
    const damaged = Buffer.from(bytes);
    damaged[100] = (damaged[100] as number) ^ 1;
    writeFileSync(join(dir, "bad.db"), damaged);
    await expect(restoreSnapshot(join(dir, "bad.db"), { dataDir: join(dir, "bad") })).rejects.toThrow(/expected sha256/);
    await restoreSnapshot(file, { dataDir: join(dir, "b") });
    expect(existsSync(join(dir, "b", "member", "snap", "0000000000000001-0000000000000001.snap"))).toBe(true);
    const restored = await startEtcd({ listenClientUrl: "http://127.0.0.1:0", dataDir: join(dir, "b"), extraHandlers: [v3Mount()] });
    running.push(restored);
    const range = await v3(restored, "kv/range", { key: b64("a"), range_end: b64("z") });
    expect(range["header"].revision).toBe("8");
    expect(range["kvs"].map((kv: { key: string }) => Buffer.from(kv.key, "base64").toString())).toEqual(["k1", "k2", "k3", "k4", "leased"]);
    expect(await v3(restored, "kv/range", { key: b64("k1"), revision: 2 })).toMatchObject({ error: "etcdserver: mvcc: required revision has been compacted" });
    expect(await v3(restored, "lease/timetolive", { ID: lease["ID"], keys: true })).toMatchObject({ grantedTTL: "300", keys: [b64("leased")] });
    expect((await fetch(`${restored.clientUrl}/v2/keys/v2only`)).status).toBe(404);
    expect((await v3(restored, "kv/put", { key: b64("n"), value: b64("n") }))["header"].revision).toBe("9");
  });
});

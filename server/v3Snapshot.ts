/**
 * Mirrors etcd release-3.4 `clientv3/snapshot/v3_snapshot.go` (what `etcdctl snapshot status` and
 * `etcdctl snapshot restore` do) for saved snapshot files: a bbolt file (etcdsim's Maintenance.Snapshot
 * streams one, v3/backendImage.ts; a real etcd's too) followed by its SHA-256, as `etcdctl snapshot save`
 * writes it. The file is read with a small bbolt page reader (backend/boltReader.ts).
 *
 *   npm run snapshot -- status snap.db [-w table|json|simple]
 *   +----------+----------+------------+------------+
 *   |   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |
 *   +----------+----------+------------+------------+
 *   | 6a3c0e4f |        9 |         17 |      25 kB |
 *   +----------+----------+------------+------------+
 *
 *   npm run snapshot -- restore snap.db --data-dir restored [--name default]
 *       [--initial-advertise-peer-urls http://localhost:2380] [--initial-cluster-token etcd-cluster] [--skip-hash-check]
 *
 * Status, as etcd computes it (datadir.md §5.4): hash = CRC-32C over each bucket's name and then every
 * key and value, buckets in name order; revision = the main revision of the key bucket's last row (a
 * tombstone counts); total keys = rows in every bucket; total size = the image without its hash.
 *
 * Restore, as etcd's (§5.5): refuses an existing data dir; checks the SHA-256 trailer (or needs
 * --skip-hash-check when there is none); writes the rows into a new `member/snap/db` with
 * consistent_index = 1 (the number of members); writes a WAL holding one ConfChange AddNode for the
 * member at term 1, index 1 and a snapshot record at (1, 1), and a `.snap` at (1, 1) whose v2 store is
 * empty: v2 data does not survive a snapshot. The old `members` rows stay, as in etcd 3.4.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { open } from "lmdb";
import { V2Store } from "../v2/store.js";
import { readBoltFile, type BoltBucket } from "./backend/boltReader.js";
import { Crc32c } from "../v3/hash.js";
import { bytesToRev } from "../v3/revision.js";
import { BUCKETS } from "./backend/backend.js";
import { computeClusterId, computeMemberId, DEFAULT_CLUSTER_TOKEN, DEFAULT_PEER_URL, memberContextJson } from "./membership.js";
import { encodeConfChange, EntryType } from "./raftpb.js";
import { Snapshotter } from "./snap/snapshotter.js";
import { dataDirLayout } from "./storage.js";
import { WAL } from "./wal/wal.js";

/** What `snapshot status` reports. */
export interface SnapshotStatus {
  readonly hash: number;
  readonly revision: number;
  readonly totalKey: number;
  readonly totalSize: number;
}

const SHA256_BYTES = 32;

/** The image and whether a SHA-256 trailer follows it (etcd: the size is 32 more than a multiple of 512). */
function splitHash(file: Uint8Array): { image: Uint8Array; hash: Uint8Array | undefined } {
  if (file.length % 512 === SHA256_BYTES) return { image: file.subarray(0, file.length - SHA256_BYTES), hash: file.subarray(file.length - SHA256_BYTES) };
  return { image: file, hash: undefined };
}

/** etcd's snapshot status over a saved file's bytes. */
export function snapshotStatus(file: Uint8Array): SnapshotStatus {
  const { image } = splitHash(file);
  const buckets = [...readBoltFile(image)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const crc = new Crc32c();
  let totalKey = 0;
  let revision = 0;
  for (const bucket of buckets) {
    crc.write(new TextEncoder().encode(bucket.name));
    for (const [key, value] of bucket.rows) {
      crc.write(key);
      crc.write(value);
      totalKey++;
    }
    const last = bucket.rows[bucket.rows.length - 1];
    if (bucket.name === "key" && last !== undefined) revision = bytesToRev(last[0]).main;
  }
  return { hash: crc.sum32(), revision, totalKey, totalSize: image.length };
}

/** go-humanize's `Bytes` (SI units), as etcdctl prints sizes: 24576 → "25 kB". */
export function humanizeBytes(size: number): string {
  if (size < 10) return `${size} B`;
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const e = Math.floor(Math.log(size) / Math.log(1000));
  const value = Math.floor((size / 1000 ** e) * 10 + 0.5) / 10;
  return `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ${units[e] as string}`;
}

/** etcdctl's three output formats for a status. */
export function formatStatus(status: SnapshotStatus, format: string): string {
  const hash = status.hash.toString(16).padStart(8, "0");
  if (format === "json") return JSON.stringify(status);
  if (format === "simple") return `${hash}, ${status.revision}, ${status.totalKey}, ${humanizeBytes(status.totalSize)}`;
  const header = ["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"];
  const cells = [hash, String(status.revision), String(status.totalKey), humanizeBytes(status.totalSize)];
  const widths = header.map((h, i) => Math.max(h.length, (cells[i] as string).length) + 2);
  const line = "+" + widths.map((w) => "-".repeat(w)).join("+") + "+";
  const center = (text: string, width: number): string => {
    const left = Math.ceil((width - text.length) / 2);
    return " ".repeat(left) + text + " ".repeat(width - text.length - left);
  };
  const row = "|" + cells.map((c, i) => (" " + c).padStart((widths[i] as number) - 1) + " ").join("|") + "|";
  return [line, "|" + header.map((h, i) => center(h, widths[i] as number)).join("|") + "|", line, row, line].join("\n");
}

export interface RestoreOptions {
  readonly dataDir: string;
  readonly name?: string;
  readonly peerUrls?: readonly string[];
  readonly clusterToken?: string;
  readonly skipHashCheck?: boolean;
}

/** Restores a data dir from a saved snapshot file (see the header); throws etcdctl's errors. */
export async function restoreSnapshot(path: string, options: RestoreOptions): Promise<void> {
  if (existsSync(options.dataDir)) throw new Error(`data-dir "${options.dataDir}" exists`);
  const file = new Uint8Array(readFileSync(path));
  const { image, hash } = splitHash(file);
  if (hash === undefined && options.skipHashCheck !== true) throw new Error("snapshot missing hash but --skip-hash-check=false");
  if (hash !== undefined && options.skipHashCheck !== true) {
    const actual = createHash("sha256").update(image).digest();
    if (!actual.equals(Buffer.from(hash))) throw new Error(`expected sha256 [${[...hash].join(" ")}], got [${[...actual].join(" ")}]`);
  }
  const buckets: BoltBucket[] = readBoltFile(image);
  const layout = dataDirLayout(options.dataDir);
  mkdirSync(layout.snapDir, { recursive: true, mode: 0o700 });
  const memberId = computeMemberId(options.peerUrls ?? [DEFAULT_PEER_URL], options.clusterToken ?? DEFAULT_CLUSTER_TOKEN);
  const env = open({ path: layout.dbPath, noSubdir: true, maxDbs: 16, compression: false });
  env.transactionSync(() => {
    for (const name of BUCKETS) {
      const db = env.openDB<Buffer, Buffer>(name, { keyEncoding: "binary", encoding: "binary", compression: false });
      for (const [key, value] of buckets.find((b) => b.name === name)?.rows ?? []) db.putSync(Buffer.from(key), Buffer.from(value));
      if (name === "meta") {
        const index = Buffer.alloc(8);
        index.writeBigUInt64BE(1n); // the number of members, as etcd 3.4's restore writes it
        db.putSync(Buffer.from("consistent_index"), index);
      }
    }
  });
  await env.close();
  const wal = WAL.create(layout.walDir, { nodeId: memberId, clusterId: computeClusterId([memberId]) });
  const context = memberContextJson(memberId, options.peerUrls ?? [DEFAULT_PEER_URL], options.name ?? "default");
  const confChange = encodeConfChange({ id: 0n, type: 0, nodeId: memberId, context: Buffer.from(context) });
  wal.save({ term: 1, vote: memberId, commit: 1 }, [{ type: EntryType.confChange, term: 1, index: 1, data: confChange }]);
  new Snapshotter(layout.snapDir).save({ data: Buffer.from(new V2Store().save(), "utf8"), voters: [memberId], index: 1, term: 1 });
  wal.saveSnapshot({ index: 1, term: 1 });
  wal.close();
}

/** `npm run snapshot -- status FILE [-w fmt]` / `restore FILE --data-dir DIR …`. */
export async function main(argv: readonly string[]): Promise<string> {
  const [command, file, ...rest] = argv;
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const match = /^--?([a-z-]+|w)(?:=(.*))?$/.exec(rest[i] as string);
    if (match === null) throw new Error(`unexpected argument ${rest[i]}`);
    const name = match[1] as string;
    flags.set(name, match[2] ?? (name === "skip-hash-check" ? "true" : (rest[++i] ?? "")));
  }
  if (file === undefined) throw new Error("usage: snapshot status FILE [-w table|json|simple] | snapshot restore FILE --data-dir DIR");
  if (command === "status") return formatStatus(snapshotStatus(new Uint8Array(readFileSync(file))), flags.get("w") ?? flags.get("write-out") ?? "table");
  if (command === "restore") {
    const dataDir = flags.get("data-dir") ?? `${flags.get("name") ?? "default"}.etcd`;
    const peers = flags.get("initial-advertise-peer-urls")?.split(",");
    const token = flags.get("initial-cluster-token");
    const name = flags.get("name");
    await restoreSnapshot(file, {
      dataDir,
      ...(name !== undefined ? { name } : {}),
      ...(peers !== undefined ? { peerUrls: peers } : {}),
      ...(token !== undefined ? { clusterToken: token } : {}),
      skipHashCheck: flags.get("skip-hash-check") === "true",
    });
    return `restored snapshot ${file} into ${dataDir}`;
  }
  throw new Error(`unknown command ${String(command)}: status or restore`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (output) => process.stdout.write(output + "\n"),
    (error: unknown) => {
      process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}

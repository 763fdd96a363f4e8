/**
 * Mirrors etcd release-3.4 `etcdserver/api/snap/snapshotter.go` (with `snappb/snap.proto`): the
 * `.snap` files of `member/snap/`.
 *
 *   member/snap/0000000000000002-0000000000000006.snap     %016x-%016x: term, then index
 *
 * A file is `snappb.Snapshot{1 crc, 2 data}` where crc = CRC-32C(0, data) (unchained) and data is a
 * `raftpb.Snapshot` (raftpb.ts) whose own data is the v2 store's JSON. It holds no v3 data: the v3 state
 * lives in the backend (`member/snap/db`). The file is written straight to its name and fsynced, as etcd
 * does (no temp file), so a crash mid-write leaves a damaged file; loading skips it.
 *
 * Loading walks the files newest first and takes the first one that decodes, whose CRC matches, and that
 * the WAL lists among its snapshot records. A file that fails is renamed `<name>.broken` and the next older
 * one is tried. A newer file the WAL does not list yet (written just before a crash) is skipped.
 *
 *   corrupt newest → "snap: corrupted snapshot file …/0000000000000002-00000000000000f4.snap: crc mismatch",
 *                    renamed .broken, the older one loaded
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { bytesOf, PbWriter, readFields, varintOf } from "../../shared/pb.js";
import { decodeRaftSnapshot, encodeRaftSnapshot, type RaftSnapshot } from "../raftpb.js";
import { crc32c } from "../wal/crc.js";
import type { WalSnapshot } from "../wal/walpb.js";

const SNAP_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

/** `%016x-%016x.snap`: term first, then index. */
export function snapName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, "0")}-${index.toString(16).padStart(16, "0")}.snap`;
}

/** Why a `.snap` file was refused (the message names it). */
export class SnapshotFileError extends Error {}

/** The `.snap` names in `dir`, oldest first. */
export function snapNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => SNAP_NAME.test(name))
    .sort();
}

/** Saves, loads and purges the `.snap` files of one directory. */
export class Snapshotter {
  /** Things it did that etcd logs (renamed broken files), for the start-up report. */
  readonly log: string[] = [];

  constructor(readonly dir: string) {}

  /** Writes the snapshot to its file and fsyncs it (etcd's SaveSnap). Returns the path. */
  save(snapshot: RaftSnapshot): string {
    const data = encodeRaftSnapshot(snapshot);
    const bytes = new PbWriter().uint(1, crc32c(0, data)).bytes(2, data).finish();
    const path = join(this.dir, snapName(snapshot.term, snapshot.index));
    const fd = openSync(path, "w", 0o666);
    try {
      writeSync(fd, bytes, 0, bytes.length, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return path;
  }

  /** Reads one file; throws SnapshotFileError naming it if it is empty, undecodable or fails its CRC. */
  static read(path: string): RaftSnapshot {
    const bytes = readFileSync(path);
    if (bytes.length === 0) throw new SnapshotFileError(`snap: empty snapshot (${path})`);
    let crc: number;
    let data: Uint8Array | undefined;
    try {
      const fields = readFields(bytes);
      crc = Number(varintOf(fields, 1));
      data = bytesOf(fields, 2);
    } catch (error) {
      throw new SnapshotFileError(`snap: corrupted snapshot file ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (data === undefined || crc32c(0, data) !== crc) throw new SnapshotFileError(`snap: corrupted snapshot file ${path}: crc mismatch`);
    try {
      return decodeRaftSnapshot(data);
    } catch (error) {
      throw new SnapshotFileError(`snap: corrupted snapshot file ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /**
   * The newest snapshot that loads and that the WAL lists (etcd's LoadNewestAvailable), or undefined.
   * A file that fails to load is renamed `.broken`.
   */
  loadNewestAvailable(walSnapshots: readonly WalSnapshot[]): RaftSnapshot | undefined {
    const listed = new Set(walSnapshots.map((s) => snapName(s.term, s.index)));
    for (const name of snapNames(this.dir).reverse()) {
      if (!listed.has(name)) continue;
      const path = join(this.dir, name);
      try {
        return Snapshotter.read(path);
      } catch (error) {
        if (!(error instanceof SnapshotFileError)) throw error;
        this.log.push(error.message);
        renameSync(path, `${path}.broken`);
        this.log.push(`renamed ${path} to ${path}.broken`);
      }
    }
    return undefined;
  }

  /** Removes the oldest `.snap` files while more than `max` remain (0 = keep all). Returns the removed paths. */
  purge(max: number): string[] {
    if (max <= 0) return [];
    const names = snapNames(this.dir);
    const removed = names.slice(0, Math.max(0, names.length - max)).map((name) => join(this.dir, name));
    for (const path of removed) rmSync(path);
    return removed;
  }
}

/**
 * Mirrors etcd release-3.4 `etcdserver/storage.go` and the data-dir half of `etcdserver/server.go`
 * (`NewServer`): what is under `--data-dir`, and how a member finds its state there at start.
 *
 *   <data-dir>/member/wal/%016x-%016x.wal     the log (wal/wal.ts)
 *   <data-dir>/member/snap/%016x-%016x.snap   v2 store snapshots (snap/snapshotter.ts)
 *   <data-dir>/member/snap/db (+ db-lock)     the v3 backend (backend/backend.ts)
 *
 * A data dir with a WAL is a restart (datadir.md §2.3):
 *   1. the WAL's snapshot records say which `.snap` files are valid; the newest one that loads wins
 *      (a damaged one is renamed `.broken`);
 *   2. the backend is opened; its consistent_index must reach the snapshot's index;
 *   3. the WAL is read from that snapshot on (a torn tail is cut once; other damage refuses to start);
 *   4. the caller loads the v2 store from the snapshot and replays the entries after it.
 * Without a WAL it is a new member: a new WAL and an empty backend. Anything that cannot be read gives
 * a `DataDirError` naming the file, and nothing is overwritten. Before any of this, the member takes
 * an exclusive lock on `member/snap/db` (fileLock.ts); a data dir whose lock another member holds
 * is refused with a DataDirError naming it, and nothing in it is touched.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DiskBackend } from "./backend/backend.js";
import { tryLockFile } from "./fileLock.js";
import type { WalMetadata } from "./etcdserverpb.js";
import type { Entry, HardState, RaftSnapshot } from "./raftpb.js";
import { Snapshotter } from "./snap/snapshotter.js";
import { WAL, walExists, type WalOptions } from "./wal/wal.js";

/** Why a data dir cannot be used; the message names the file. */
export class DataDirError extends Error {}

export interface DataDirLayout {
  readonly member: string;
  readonly walDir: string;
  readonly snapDir: string;
  readonly dbPath: string;
}

export function dataDirLayout(dataDir: string): DataDirLayout {
  const member = join(dataDir, "member");
  return { member, walDir: join(member, "wal"), snapDir: join(member, "snap"), dbPath: join(member, "snap", "db") };
}

export interface OpenedDataDir {
  readonly layout: DataDirLayout;
  readonly restart: boolean;
  readonly wal: WAL;
  readonly snapshotter: Snapshotter;
  readonly backend: DiskBackend;
  /** The snapshot loaded (v2 store JSON in `data`), if any. */
  readonly snapshot: RaftSnapshot | undefined;
  /** Entries after the snapshot, to replay. */
  readonly entries: readonly Entry[];
  readonly state: HardState;
  /** What recovery did that etcd logs: repairs, `.broken` renames. */
  readonly log: readonly string[];
}

export interface OpenDataDirOptions extends WalOptions {
  readonly backendBatchLimit?: number;
}

/** Opens (or creates) the data dir. Throws DataDirError naming the file when it cannot be used. */
export function openDataDir(dataDir: string, metadata: WalMetadata, options: OpenDataDirOptions = {}): OpenedDataDir {
  const layout = dataDirLayout(dataDir);
  mkdirSync(layout.snapDir, { recursive: true, mode: 0o700 });
  const dbExisted = existsSync(layout.dbPath);
  // First of all the lock (fileLock.ts): nothing in a data dir another member uses is touched.
  const lock = tryLockFile(layout.dbPath);
  if (lock === undefined) {
    throw new DataDirError(
      `another etcd process is using "${layout.dbPath}" and holds the file lock: data dir ${dataDir} is in use (a real etcd 3.4 waits for it to exit; etcdsim refuses to start)`,
    );
  }
  // Leftovers of an interrupted receive or defrag (etcd deletes `tmp*` and `db.tmp.*` at start).
  for (const name of readdirSync(layout.snapDir)) if (name.startsWith("tmp") || name.startsWith("db.tmp")) rmSync(join(layout.snapDir, name), { force: true });
  const snapshotter = new Snapshotter(layout.snapDir);
  const backendOptions = { lock, ...(options.backendBatchLimit === undefined ? {} : { batchLimit: options.backendBatchLimit }) };
  const log: string[] = [];
  try {
    if (!walExists(layout.walDir)) {
      const backend = new DiskBackend(layout.dbPath, backendOptions);
      const wal = WAL.create(layout.walDir, metadata, options);
      return { layout, restart: false, wal, snapshotter, backend, snapshot: undefined, entries: [], state: wal.hardState, log };
    }
    const snapshot = snapshotter.loadNewestAvailable(WAL.validSnapshots(layout.walDir));
    log.push(...snapshotter.log);
    if (snapshot === undefined && snapshotter.log.length > 0) log.push("no valid snapshot left: replaying the WAL from its start");
    if (snapshot !== undefined && !dbExisted) {
      throw new DataDirError(`the backend ${layout.dbPath} is missing but the snapshot at index ${snapshot.index} needs it (etcd looks for ${snapshot.index.toString(16).padStart(16, "0")}.snap.db and panics)`);
    }
    const backend = new DiskBackend(layout.dbPath, backendOptions);
    const opened = WAL.open(layout.walDir, { index: snapshot?.index ?? 0, term: snapshot?.term ?? 0 }, options);
    if (opened.repaired !== undefined) log.push(`repaired WAL error (unexpected EOF): the torn tail was cut; the segment as it was is kept as ${opened.repaired}`);
    return { layout, restart: true, wal: opened.wal, snapshotter, backend, snapshot, entries: opened.entries, state: opened.state, log };
  } catch (error) {
    if (!dbExisted) rmSync(layout.dbPath, { force: true }); // the empty file the lock made: leave the dir as found
    lock.close();
    if (error instanceof DataDirError) throw error;
    throw new DataDirError(error instanceof Error ? error.message : String(error));
  }
}

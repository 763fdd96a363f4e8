/**
 * Mirrors etcd release-3.4 `mvcc/backend/backend.go` and `batch_tx.go`: the v3 backend on disk,
 * `member/snap/db`, with etcd's buckets as LMDB named databases (bbolt is a Go port of LMDB's design:
 * one file, copy-on-write B+tree, two meta pages).
 *
 *   key              8-byte BE main ‖ "_" ‖ 8-byte BE sub (17 bytes; a tombstone adds "t")  → mvccpb.KeyValue
 *   meta             consistent_index → 8-byte BE; scheduledCompactRev, finishedCompactRev → 17-byte revision
 *   lease            8-byte BE lease ID → leasepb.Lease{1 ID, 2 TTL, 3 RemainingTTL}
 *   members          member ID in hex → member JSON;  members_removed;  cluster: clusterVersion → "3.4.0"
 *   alarm            AlarmMember{1 MemberID, 2 Alarm} → empty;  auth, authUsers, authRoles (for auth)
 *
 * `DiskBackend` is the in-memory `Backend` (v3/backend.ts) that the MVCC store reads from, plus a batch
 * of pending row writes that reaches the file in one LMDB transaction every `batchIntervalMs` (100 ms,
 * `--backend-batch-interval`) or as soon as `batchLimit` (10,000, `--backend-batch-limit`) bucket writes
 * are pending, as etcd's batch transaction commits. Each commit also writes the meta rows as they are at
 * that moment, so `consistent_index` always names the last raft entry whose rows are in the file: the
 * replay boundary of recovery. A client is answered after the WAL sync, not after this commit: the db
 * may lag the WAL by one batch, never the other way.
 *
 *   put foo=bar at revision 2, raft index 5
 *     pending: key[00..02 5f 00..00] = KeyValue{key foo, create 2, mod 2, version 1, value bar}
 *     commit:  that row + meta consistent_index = 00 00 00 00 00 00 00 05, in one transaction
 *
 * Opening reads every row back into memory in revision order, so restart cost grows with the history
 * kept (bench: recovery of 1M revisions). The leases are diffed at commit time through a Map that
 * remembers which IDs changed.
 */
import { existsSync, renameSync, statSync } from "node:fs";
import { tryLockFile, type FileLock } from "../fileLock.js";
import { open, type Database, type RootDatabase } from "lmdb";
import { Backend, SMALL_BUCKETS, type LeaseRecord, type SmallBucketName } from "../../v3/backend.js";
import { BOLT_PAGE_BYTES } from "../../v3/backendImage.js";
import type { KeepList } from "../../v3/keyIndex.js";
import { bytesToRev, isTombstone, revToBytes } from "../../v3/revision.js";
import type { KeyValue, LeaseID } from "../../v3/rpc.js";
import { marshalKeyValue, marshalLease } from "../../v3/kvPb.js";
import { int64, PbDecodeError, readFields, varintOf } from "../../shared/pb.js";

/** etcd's `--backend-batch-interval` default. */
export const DEFAULT_BATCH_INTERVAL_MS = 100;
/** etcd's `--backend-batch-limit` default. */
export const DEFAULT_BATCH_LIMIT = 10_000;

/** The buckets etcd 3.4 creates (`mvcc/kvstore.go`, `lease/lessor.go`, `membership/store.go`, `auth/store.go`, `alarm/alarms.go`). */
export const BUCKETS = ["key", "meta", "lease", "members", "members_removed", "cluster", "alarm", "auth", "authUsers", "authRoles"] as const;
export type BucketName = (typeof BUCKETS)[number];

const EMPTY = new Uint8Array(0);
const CONSISTENT_INDEX = Buffer.from("consistent_index");
const SCHEDULED_COMPACT = Buffer.from("scheduledCompactRev");
const FINISHED_COMPACT = Buffer.from("finishedCompactRev");

/**
 * mvccpb.KeyValue back from a row (v3/kvPb.ts writes it). Read field by field without the generic
 * reader (pb.ts): a restart decodes every row, so numbers stay numbers (revisions and versions fit in
 * 53 bits) and only the lease, an int64, goes through a bigint. The byte fields are copied out of the
 * row, whose buffer LMDB reuses.
 */
export function decodeKeyValue(bytes: Uint8Array): KeyValue {
  let key = EMPTY;
  let value = EMPTY;
  let create = 0;
  let mod = 0;
  let version = 0;
  let lease = 0n;
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= bytes.length) throw new PbDecodeError("proto: unexpected EOF");
      const byte = bytes[pos++] as number;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
  };
  while (pos < bytes.length) {
    const tag = bytes[pos++] as number;
    switch (tag) {
      case 0x0a:
      case 0x2a: {
        const length = varint();
        if (pos + length > bytes.length) throw new PbDecodeError("proto: unexpected EOF");
        const field = bytes.slice(pos, pos + length);
        pos += length;
        if (tag === 0x0a) key = field;
        else value = field;
        break;
      }
      case 0x10:
        create = varint();
        break;
      case 0x18:
        mod = varint();
        break;
      case 0x20:
        version = varint();
        break;
      case 0x30: {
        const start = pos;
        varint();
        lease = int64(varintOf(readFields(bytes.subarray(start - 1, pos)), 6));
        break;
      }
      default:
        throw new PbDecodeError(`proto: unexpected tag ${tag} in a KeyValue`);
    }
  }
  return { key, create_revision: create, mod_revision: mod, version, value, lease };
}

/** leasepb.Lease back from a row (v3/kvPb.ts writes it). */
export function decodeLease(bytes: Uint8Array): LeaseRecord {
  const fields = readFields(bytes);
  return { ID: int64(varintOf(fields, 1)), TTL: Number(int64(varintOf(fields, 2))), remainingTTL: Number(int64(varintOf(fields, 3))) };
}

function uint64Bytes(value: bigint | number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt.asUintN(64, BigInt(value)));
  return out;
}

/** A Map that remembers which keys were set or deleted since `takeDirty()`. */
class DirtyMap<K, V> extends Map<K, V> {
  private dirty = new Set<K>();
  override set(key: K, value: V): this {
    this.dirty.add(key);
    return super.set(key, value);
  }
  override delete(key: K): boolean {
    this.dirty.add(key);
    return super.delete(key);
  }
  takeDirty(): Set<K> {
    const dirty = this.dirty;
    this.dirty = new Set();
    return dirty;
  }
}

export interface DiskBackendOptions {
  /** Pending bucket writes that force a commit (default 10,000). */
  readonly batchLimit?: number;
  /** The lock held on `path` (storage.ts takes it first); released by `close`, moved to the new file by a defrag. */
  readonly lock?: FileLock;
}

/** The v3 backend kept in `path` (a file, plus LMDB's `path-lock`). */
export class DiskBackend extends Backend {
  override readonly leaseBucket = new DirtyMap<LeaseID, LeaseRecord>();
  /** The data dir's lock on this file, if the caller handed one over. */
  private lock: FileLock | undefined;
  /** LMDB transactions committed (for the fsync figures). */
  commits = 0;
  private env: RootDatabase;
  private dbs: Record<BucketName, Database<Buffer, Buffer>>;
  /** While a defrag swaps the file, commits wait (their rows stay pending). */
  private defragging = false;
  private pendingPuts: Array<[Buffer, Uint8Array]> = [];
  private pendingDeletes: Buffer[] = [];
  private readonly batchLimit: number;
  private committedMeta = { consistentIndex: -1, scheduled: -1, finished: -1 };
  /** The small buckets as last committed; a commit writes the rows that differ. */
  private committedSmall = new Map<SmallBucketName, Map<string, Uint8Array>>();
  /**
   * The file's size as last read. Only a commit or a defrag changes the file, so they forget it;
   * the quota check reads dbSize twice per put, which would otherwise be two stat calls.
   */
  private knownFileSize: number | undefined;

  constructor(
    readonly path: string,
    options: DiskBackendOptions = {},
  ) {
    super();
    this.batchLimit = options.batchLimit ?? DEFAULT_BATCH_LIMIT;
    this.lock = options.lock;
    [this.env, this.dbs] = DiskBackend.openFile(path);
    this.load();
  }

  private static openFile(path: string): [RootDatabase, Record<BucketName, Database<Buffer, Buffer>>] {
    const env = open({ path, noSubdir: true, maxDbs: 16, compression: false });
    const dbs = {} as Record<BucketName, Database<Buffer, Buffer>>;
    for (const name of BUCKETS) dbs[name] = env.openDB<Buffer, Buffer>(name, { keyEncoding: "binary", encoding: "binary", compression: false });
    return [env, dbs];
  }

  /**
   * Rewrites the file without its free pages (etcd's `backend.Defrag`): commit what is pending, copy
   * the live pages into `db.tmp.<n>` (LMDB's compacting copy), close the file, rename the copy over it
   * and reopen. Commits wait meanwhile; reads are served from memory throughout. A crash leaves the
   * `db.tmp.*` file, which the next start deletes (storage.ts).
   *
   *   10,000 puts then a compaction: file 13.9 MB, in use 0.2 MB  →  defrag  →  file ≈ in use
   */
  async defragFile(): Promise<void> {
    if (this.defragging) return;
    this.commit();
    this.defragging = true;
    try {
      const tmp = `${this.path}.tmp.${this.commits}`;
      await this.env.backup(tmp, true);
      // The copy is locked before it takes the name, so `db` is never unlocked in between.
      const lock = this.lock === undefined ? undefined : tryLockFile(tmp);
      await this.env.close();
      renameSync(tmp, this.path);
      this.lock?.close();
      this.lock = lock;
      [this.env, this.dbs] = DiskBackend.openFile(this.path);
    } finally {
      this.defragging = false;
      this.knownFileSize = undefined;
    }
    this.commit();
  }

  /** True when a backend file exists at `path`. */
  static exists(path: string): boolean {
    return existsSync(path);
  }

  /** Reads the buckets into memory (etcd: the MVCC restore reads the key bucket in revision order). */
  private load(): void {
    for (const { key, value } of this.dbs.key.getRange({})) {
      const rev = bytesToRev(key);
      const kv = decodeKeyValue(value);
      // A tombstone row holds only its key; in memory a tombstone is create_revision 0 (v3/backend.ts).
      super.put(rev.main, rev.sub, isTombstone(key) ? { ...kv, create_revision: 0, mod_revision: 0, version: 0 } : kv);
    }
    const meta = this.dbs.meta;
    const consistent = meta.get(CONSISTENT_INDEX);
    if (consistent !== undefined) this.consistentIndex = Number(consistent.readBigUInt64BE(0));
    const scheduled = meta.get(SCHEDULED_COMPACT);
    if (scheduled !== undefined) this.scheduledCompactRev = bytesToRev(scheduled).main;
    const finished = meta.get(FINISHED_COMPACT);
    if (finished !== undefined) this.finishedCompactRev = bytesToRev(finished).main;
    for (const { value } of this.dbs.lease.getRange({})) {
      const record = decodeLease(value);
      this.leaseBucket.set(record.ID, record);
    }
    this.leaseBucket.takeDirty();
    for (const name of SMALL_BUCKETS) {
      const rows = this.dbs[name];
      if (rows.getKeysCount() === 0) continue; // a new file: keep the rows a fresh member starts with
      const bucket = this.bucket(name);
      bucket.clear();
      for (const { key, value } of rows.getRange({})) bucket.set(key.toString("latin1"), new Uint8Array(value));
    }
    this.committedSmall = this.copySmallBuckets();
    this.committedMeta = { consistentIndex: this.consistentIndex, scheduled: this.scheduledCompactRev, finished: this.finishedCompactRev };
  }

  override put(main: number, sub: number, kv: KeyValue): void {
    super.put(main, sub, kv);
    const tombstone = kv.create_revision === 0;
    this.pendingPuts.push([Buffer.from(revToBytes({ main, sub }, tombstone)), marshalKeyValue(tombstone ? { key: kv.key, create_revision: 0, mod_revision: 0, version: 0, value: EMPTY, lease: 0n } : kv)]);
    if (this.pending() >= this.batchLimit) this.commit();
  }

  override compact(rev: number, keep: KeepList): number {
    const before: Array<{ main: number; sub: number; tombstone: boolean }> = [];
    this.range(0, rev + 1, (main, sub, kv) => before.push({ main, sub, tombstone: kv.create_revision === 0 }));
    const removed = super.compact(rev, keep);
    for (const entry of before) {
      if (this.get(entry.main, entry.sub) === undefined) this.pendingDeletes.push(Buffer.from(revToBytes(entry, entry.tombstone)));
    }
    // etcd commits the compaction's deletions batch by batch; here they go with the next commit.
    this.commit();
    return removed;
  }

  /** Every row of a bucket, in key order, read from the file (tests look at what is on disk). */
  rows(bucket: BucketName): Array<{ key: Buffer; value: Buffer }> {
    return [...this.dbs[bucket].getRange({})].map(({ key, value }) => ({ key, value }));
  }

  /** Bucket writes waiting for the next commit. */
  pending(): number {
    return this.pendingPuts.length + this.pendingDeletes.length;
  }

  /**
   * Commits everything pending, with the meta rows as they are now, in one synchronous LMDB
   * transaction (etcd's batchTx.Commit: the pages, then the meta page, each synced).
   */
  commit(): void {
    if (this.defragging) return;
    const leaseIds = this.leaseBucket.takeDirty();
    const metaChanged =
      this.committedMeta.consistentIndex !== this.consistentIndex || this.committedMeta.scheduled !== this.scheduledCompactRev || this.committedMeta.finished !== this.finishedCompactRev;
    const smallChanges = this.smallBucketChanges();
    if (this.pending() === 0 && leaseIds.size === 0 && !metaChanged && smallChanges.length === 0) return;
    const puts = this.pendingPuts;
    const deletes = this.pendingDeletes;
    this.pendingPuts = [];
    this.pendingDeletes = [];
    const { key, meta, lease } = this.dbs;
    this.env.transactionSync(() => {
      for (const [k, v] of puts) key.putSync(k, Buffer.from(v));
      for (const k of deletes) key.removeSync(k);
      for (const id of leaseIds) {
        const record = this.leaseBucket.get(id);
        if (record === undefined) lease.removeSync(uint64Bytes(id));
        else lease.putSync(uint64Bytes(id), Buffer.from(marshalLease(record)));
      }
      for (const [bucket, k, v] of smallChanges) {
        if (v === undefined) this.dbs[bucket].removeSync(Buffer.from(k, "latin1"));
        else this.dbs[bucket].putSync(Buffer.from(k, "latin1"), Buffer.from(v));
      }
      meta.putSync(CONSISTENT_INDEX, uint64Bytes(this.consistentIndex));
      if (this.scheduledCompactRev > 0) meta.putSync(SCHEDULED_COMPACT, Buffer.from(revToBytes({ main: this.scheduledCompactRev, sub: 0 })));
      if (this.finishedCompactRev > 0) meta.putSync(FINISHED_COMPACT, Buffer.from(revToBytes({ main: this.finishedCompactRev, sub: 0 })));
    });
    this.commits++;
    this.knownFileSize = undefined;
    this.committedSmall = this.copySmallBuckets();
    this.committedMeta = { consistentIndex: this.consistentIndex, scheduled: this.scheduledCompactRev, finished: this.finishedCompactRev };
  }

  private copySmallBuckets(): Map<SmallBucketName, Map<string, Uint8Array>> {
    return new Map(SMALL_BUCKETS.map((name) => [name, new Map(this.bucket(name))]));
  }

  /** Rows of the small buckets changed since the last commit (they hold a handful of rows each). */
  private smallBucketChanges(): Array<[SmallBucketName, string, Uint8Array | undefined]> {
    const changes: Array<[SmallBucketName, string, Uint8Array | undefined]> = [];
    for (const name of SMALL_BUCKETS) {
      const now = this.bucket(name);
      const then = this.committedSmall.get(name) ?? new Map<string, Uint8Array>();
      for (const [key, value] of now) {
        const old = then.get(key);
        if (old === undefined || !Buffer.from(old).equals(Buffer.from(value))) changes.push([name, key, value]);
      }
      for (const key of then.keys()) if (!now.has(key)) changes.push([name, key, undefined]);
    }
    return changes;
  }

  /** The file's size in bytes (etcd's dbSize is the file's high-water mark). */
  fileSize(): number {
    this.knownFileSize ??= existsSync(this.path) ? statSync(this.path).size : 0;
    return this.knownFileSize;
  }

  /** etcd's dbSize: the real file's size (whole pages), not the in-memory model's. */
  override get dbSizeBytes(): number {
    const size = this.fileSize();
    return Math.ceil(size / BOLT_PAGE_BYTES) * BOLT_PAGE_BYTES;
  }

  /**
   * etcd's dbSizeInUse: the pages the B+trees hold (two meta pages, the root and every bucket's
   * branch, leaf and overflow pages), from LMDB's own statistics. LMDB reuses freed pages, so after a
   * compaction this drops while the file keeps its size, as bbolt's does.
   */
  override get dbSizeInUseBytes(): number {
    const pages = (stats: unknown): number => {
      const s = stats as { treeBranchPageCount?: number; treeLeafPageCount?: number; overflowPages?: number; branchPages?: number; leafPages?: number };
      return (s.treeBranchPageCount ?? s.branchPages ?? 0) + (s.treeLeafPageCount ?? s.leafPages ?? 0) + (s.overflowPages ?? 0);
    };
    let total = 2 + pages(this.env.getStats());
    for (const name of BUCKETS) total += pages(this.dbs[name].getStats());
    const pageSize = (this.env.getStats() as { pageSize?: number }).pageSize ?? BOLT_PAGE_BYTES;
    return Math.min(total * pageSize, this.dbSizeBytes);
  }

  /** Commits what is pending and closes the file. */
  async close(): Promise<void> {
    this.commit();
    await this.env.close();
    this.lock?.close();
  }

  /**
   * What `kill -9` leaves (lesson 13, crash tests in process): the pending batch is dropped, never
   * committed, and the file and its lock are let go. The file holds the last commit, as bbolt's would.
   */
  async abandon(): Promise<void> {
    this.pendingPuts = [];
    this.pendingDeletes = [];
    await this.env.close();
    this.lock?.close();
  }
}

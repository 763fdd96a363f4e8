/**
 * Mirrors etcd release-3.4 `mvcc/backend/backend.go` (with the buckets of `mvcc/kvstore.go` and
 * `lease/lessor.go`): the on-disk half of the store, bbolt in etcd, kept in memory here.
 *
 * Three buckets, as in etcd:
 *   key    revision → the KeyValue stored at that revision (a tombstone stores only the key)
 *   meta   consistent_index, scheduledCompactRev, finishedCompactRev
 *   lease  lease ID → {ID, TTL, remainingTTL}   (written by the lessor)
 *
 * The key bucket is the second step of every read: the tree index gives a revision, the bucket
 * gives the value. In bbolt it is a B+tree keyed by the 17-byte revision (revision.ts), so a
 * cursor walks versions in revision order. Here it is an array indexed by main revision. That is
 * the same ordered map: main revisions are handed out densely (every main from 2 to the current
 * one holds at least one change) and only ever appended, so "position in the array" is "key in
 * the B+tree", lookups are O(1) instead of O(log n), and `range(from, to)` is a slice walk in
 * revision order. We chose it over sorted-btree because every range does one lookup per key
 * returned (bench target: a 1,000-key range within 2× of a raw B-tree walk).
 *
 *   keyBucket[main - base] =  KeyValue                   one change at (main, 0)   — the common case
 *                          |  (KeyValue | undefined)[]   several changes, indexed by sub
 *                          |  undefined                  everything at this main was compacted away
 *
 * A tombstone is told apart by `create_revision === 0` (a stored put always has create ≥ 2);
 * `entries()` shows it with its 18-byte key. Stored KeyValues are shared with readers and never
 * mutated.
 *
 * Size model (`sizeBytes`, etcd's "db size in use"): each entry costs its bbolt key (17 bytes, 18
 * for a tombstone) + its protobuf-encoded KeyValue + 16 bytes of bbolt leaf-element header
 * (flags, pos, ksize, vsize). Page slack, freelist and branch pages are ignored, and unlike
 * etcd's file size the figure shrinks after compaction (etcd needs a defrag for that).
 *
 *   put foo=bar at 2 → 17 + (2+3 key, 2 create, 2 mod, 2 version, 2+3 value) + 16 = 49 bytes
 *
 * File size model (the Maintenance figures, etcd's `dbSize` and `dbSizeInUse`): bbolt works in
 * 4096-byte pages and etcd fills the key bucket's leaf pages to 90% (it appends in revision
 * order). A fresh etcd reports 16,384 bytes in use (four pages: two meta pages, the root and the
 * freelist) in a 20,480-byte file. Here "in use" is three base pages plus the key bucket's pages:
 * its entry bytes over 90% pages, plus one branch page per 100 leaves once there is more than one,
 * and never less than the fresh four pages. The file is the largest "in use" ever seen plus one free
 * page: it never shrinks when compaction frees pages, only when `defrag()` rewrites it.
 *
 *   fresh                               inUse 16,384   file 20,480      (real etcd: the same)
 *   1,000 puts "value N" over 10 keys   inUse 77,824   file 81,920      (real etcd: 90,112 / 90,112)
 *   compact at the last revision        inUse 16,384   file 81,920      (real etcd: 16,384 / 90,112)
 *   defrag                              inUse 16,384   file 20,480
 *   10,000 puts of 1 KiB over 100 keys  inUse ≈ 12.0 MB                  (real etcd: 13.9 MB; bbolt
 *                                                                        does not split an entry across pages)
 *
 * The small buckets (alarm, auth, authRoles, authUsers, cluster, members, members_removed) are
 * kept as raw rows (`bucket(name)`): their values are already the bytes etcd writes, so Hash
 * (hash.ts) and the snapshot image walk every bucket alike.
 */
import type { KeyValue, LeaseID } from "./rpc.js";
import { InvariantViolation } from "./errors.js";
import type { KeepList } from "./keyIndex.js";
import { REV_BYTES_LEN, MARKED_REV_BYTES_LEN, revToBytes } from "./revision.js";
import { BOLT_PAGE_BYTES, backendImage } from "./backendImage.js";
import { marshalKeyValue, marshalLease } from "./kvPb.js";
import { fromBinaryString } from "../shared/bytes.js";

/** bbolt's per-element header in a leaf page (flags, pos, ksize, vsize: 4 × 4 bytes). */
export const BOLT_LEAF_ELEMENT_BYTES = 16;

/** One entry of the key bucket, decoded (for inspection). */
export interface BackendEntry {
  readonly main: number;
  readonly sub: number;
  readonly tombstone: boolean;
  /** The 17- or 18-byte bbolt key. */
  readonly revisionKey: Uint8Array;
  readonly kv: KeyValue;
}

/** A record of the lease bucket (leasepb.Lease). */
export interface LeaseRecord {
  readonly ID: LeaseID;
  readonly TTL: number;
  readonly remainingTTL: number;
}

/** Bytes in use in a fresh etcd's file: meta 0, meta 1, freelist, root (observed 16,384). */
export const FRESH_IN_USE_BYTES = 4 * BOLT_PAGE_BYTES;
/** The pages every file has besides the key bucket's: meta 0, meta 1, root. */
const BASE_PAGES = 3;
/** etcd fills the key bucket's leaves to 90% (`bucket.FillPercent = 0.9` for sequential puts). */
const LEAF_FILL_BYTES = Math.floor(BOLT_PAGE_BYTES * 0.9);
/** Leaves one branch page points at (4096 × 0.9 / (16-byte element + 17-byte revision key) ≈ 100). */
const LEAVES_PER_BRANCH = 100;

/** The buckets a fresh etcd 3.4 creates besides key, meta and lease (each holds raw rows). */
export const SMALL_BUCKETS = ["alarm", "auth", "authRoles", "authUsers", "cluster", "members", "members_removed"] as const;
export type SmallBucketName = (typeof SMALL_BUCKETS)[number];

/**
 * What the Maintenance service needs of a backend beyond the key, meta and lease buckets. The
 * in-memory `Backend` below implements it; an on-disk backend implements the same members.
 */
export interface MaintenanceBackend {
  /** etcd's `dbSize`: the file's size in bytes, whole pages; it shrinks only on defrag. */
  readonly dbSizeBytes: number;
  /** etcd's `dbSizeInUse`: the file minus its free pages. */
  readonly dbSizeInUseBytes: number;
  /** Rewrites the file without its free pages (etcd's `backend.Defrag`): dbSize drops to in use + 1 page. */
  defrag(): void;
  /** The whole file image, `dbSizeBytes` long (a multiple of 512), as Snapshot streams it. */
  snapshot(): Uint8Array;
  /** The raw rows of a small bucket: key (bytes as a latin1 string) → value. Writers mutate it. */
  bucket(name: SmallBucketName): Map<string, Uint8Array>;
}

/** What `Backend.walk` calls: each bucket's name, then its rows. */
export interface BucketVisitor {
  bucket(name: string): void;
  row(bucket: string, key: Uint8Array, value: Uint8Array): void;
}

type Slot = KeyValue | (KeyValue | undefined)[] | undefined;

/** The storage backend: key, meta and lease buckets, plus the small buckets as raw rows. */
export class Backend implements MaintenanceBackend {
  /** The key bucket; slot i holds main revision `base + i`. */
  private keyBucket: Slot[] = [];
  private base = 0;
  /** The revision of the newest entry (its main and sub); puts must come after it. */
  private lastMain = 0;
  private lastSub = -1;
  private entryCount = 0;
  private size = 0;

  /** meta bucket: the raft index of the last applied entry (0 until something is applied). */
  consistentIndex = 0;
  /** meta bucket: the revision a compaction was scheduled at (0 until one is; etcd: key absent). */
  scheduledCompactRev = 0;
  /** meta bucket: the revision the last compaction finished at (0 until one is). */
  finishedCompactRev = 0;
  /** lease bucket: written by the lessor, replayed on restore. */
  readonly leaseBucket = new Map<LeaseID, LeaseRecord>();
  /** The small buckets, by name (see the header). */
  private readonly smallBuckets = new Map<SmallBucketName, Map<string, Uint8Array>>(SMALL_BUCKETS.map((name) => [name, new Map()]));
  /** The largest in-use size seen since the last defrag (the file never shrinks below it). */
  private highWaterInUseBytes = FRESH_IN_USE_BYTES;

  constructor() {
    // What a fresh etcd 3.4 writes at start-up: the auth store's revision 1 and the cluster version.
    this.bucket("auth").set("authRevision", uint64Bytes(1n));
    this.bucket("cluster").set("clusterVersion", new TextEncoder().encode("3.4.0"));
  }

  /** Number of entries in the key bucket. */
  get entries(): number {
    return this.entryCount;
  }

  /** Bytes of the key bucket's entries, per the size model in the header. */
  get sizeBytes(): number {
    return this.size;
  }

  get dbSizeInUseBytes(): number {
    const leaves = Math.ceil(this.size / LEAF_FILL_BYTES);
    const branches = leaves > 1 ? Math.ceil(leaves / LEAVES_PER_BRANCH) : 0;
    return Math.max(FRESH_IN_USE_BYTES, (BASE_PAGES + leaves + branches) * BOLT_PAGE_BYTES);
  }

  get dbSizeBytes(): number {
    return Math.max(this.highWaterInUseBytes, this.dbSizeInUseBytes) + BOLT_PAGE_BYTES;
  }

  defrag(): void {
    this.highWaterInUseBytes = this.dbSizeInUseBytes;
  }

  bucket(name: SmallBucketName): Map<string, Uint8Array> {
    const rows = this.smallBuckets.get(name);
    if (rows === undefined) throw new InvariantViolation(`backend: no bucket ${name}`);
    return rows;
  }

  snapshot(): Uint8Array {
    return backendImage(this);
  }

  /**
   * Walks every bucket in name order and each bucket's rows in key byte order, as a bbolt cursor
   * over the root and then `ForEach` would (etcd's `backend.Hash` and the snapshot image read this
   * way). Values are the bytes etcd stores: marshalled KeyValues, leasepb.Lease records, 8-byte
   * big-endian meta counters, 17-byte revisions. O(rows), allocating each row's bytes.
   *
   *   alarm, auth, authRoles, authUsers, cluster, key, lease, members, members_removed, meta
   */
  walk(visitor: BucketVisitor): void {
    const names: string[] = [...SMALL_BUCKETS, "key", "lease", "meta"];
    names.sort();
    for (const name of names) {
      visitor.bucket(name);
      if (name === "key") {
        this.range(0, Number.MAX_SAFE_INTEGER, (main, sub, kv) => {
          visitor.row(name, revToBytes({ main, sub }, kv.create_revision === 0), marshalKeyValue(kv));
        });
      } else if (name === "lease") {
        const ids = [...this.leaseBucket.keys()].map((id) => BigInt.asUintN(64, id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        for (const id of ids) {
          const record = this.leaseBucket.get(BigInt.asIntN(64, id));
          if (record !== undefined) visitor.row(name, uint64Bytes(id), marshalLease(record));
        }
      } else if (name === "meta") {
        // Key order: consistent_index < finishedCompactRev < scheduledCompactRev.
        visitor.row(name, fromBinaryString("consistent_index"), uint64Bytes(BigInt(this.consistentIndex)));
        if (this.finishedCompactRev > 0) visitor.row(name, fromBinaryString("finishedCompactRev"), revToBytes({ main: this.finishedCompactRev, sub: 0 }));
        if (this.scheduledCompactRev > 0) visitor.row(name, fromBinaryString("scheduledCompactRev"), revToBytes({ main: this.scheduledCompactRev, sub: 0 }));
      } else {
        const rows = this.bucket(name as SmallBucketName);
        for (const key of [...rows.keys()].sort()) visitor.row(name, fromBinaryString(key), rows.get(key) as Uint8Array);
      }
    }
  }

  /**
   * Stores `kv` at (main, sub) (etcd's UnsafeSeqPut: keys arrive in increasing order). A KeyValue
   * with create_revision 0 is a tombstone. Throws InvariantViolation unless (main, sub) comes
   * right after the newest entry's revision: the same main with the next sub, or a newer main with sub 0. O(1).
   */
  put(main: number, sub: number, kv: KeyValue): void {
    const next = main === this.lastMain ? sub === this.lastSub + 1 : main > this.lastMain && sub === 0;
    if (!next) {
      throw new InvariantViolation(`backend.put: revision ${main}.${sub} does not follow ${this.lastMain}.${this.lastSub}`);
    }
    if (this.keyBucket.length === 0) this.base = main;
    const index = main - this.base;
    while (this.keyBucket.length < index) this.keyBucket.push(undefined);
    if (sub === 0) {
      this.keyBucket[index] = kv;
    } else {
      const slot = this.keyBucket[index];
      // The order check above makes this sub 1 after a single KeyValue, or the next index of an array.
      if (Array.isArray(slot)) slot.push(kv);
      else this.keyBucket[index] = [slot, kv];
    }
    this.lastMain = main;
    this.lastSub = sub;
    this.entryCount++;
    this.size += entrySize(kv);
  }

  /** The KeyValue stored at (main, sub), or undefined. O(1). */
  get(main: number, sub: number): KeyValue | undefined {
    const slot = this.keyBucket[main - this.base];
    if (slot === undefined) return undefined;
    if (Array.isArray(slot)) return slot[sub];
    return sub === 0 ? slot : undefined;
  }

  /**
   * Calls `visitor` for every entry with fromMain ≤ main < toMain, in revision order (etcd's
   * UnsafeRange over [{fromMain, 0}, {toMain, 0})). The watchable store's catch-up reads here.
   * O(toMain − fromMain + entries visited).
   */
  range(fromMain: number, toMain: number, visitor: (main: number, sub: number, kv: KeyValue) => void): void {
    const from = Math.max(fromMain - this.base, 0);
    const to = Math.min(toMain - this.base, this.keyBucket.length);
    for (let i = from; i < to; i++) {
      const slot = this.keyBucket[i];
      if (slot === undefined) continue;
      if (Array.isArray(slot)) {
        for (let sub = 0; sub < slot.length; sub++) {
          const kv = slot[sub];
          if (kv !== undefined) visitor(this.base + i, sub, kv);
        }
      } else {
        visitor(this.base + i, 0, slot);
      }
    }
  }

  /** Decoded entries with fromMain ≤ main < toMain (default: all), for lessons. Allocates. */
  entriesBetween(fromMain = 0, toMain = Number.MAX_SAFE_INTEGER): BackendEntry[] {
    const result: BackendEntry[] = [];
    this.range(fromMain, toMain, (main, sub, kv) => {
      const tombstone = kv.create_revision === 0;
      result.push({ main, sub, tombstone, revisionKey: revToBytes({ main, sub }, tombstone), kv });
    });
    return result;
  }

  /**
   * Deletes every entry with main ≤ rev that is not in `keep` (etcd's scheduleCompaction), then
   * records finishedCompactRev. Returns how many entries went. O(entries ≤ rev + keep log keep).
   *
   *   entries 2.0 3.0 4.0(t) 5.0, all of one key; compact(4, keep = []) → 5.0 left
   */
  compact(rev: number, keep: KeepList): number {
    this.highWaterInUseBytes = Math.max(this.highWaterInUseBytes, this.dbSizeInUseBytes);
    // The keep list arrives in key order; sort it by revision so one merge-walk decides each entry.
    const sortedKeep = Float64Array.from(keep, (kept) => packRevision(kept.main, kept.sub));
    sortedKeep.sort();
    let k = 0;
    let removed = 0;
    const to = Math.min(rev + 1 - this.base, this.keyBucket.length);
    for (let i = 0; i < to; i++) {
      const slot = this.keyBucket[i];
      if (slot === undefined) continue;
      const main = this.base + i;
      if (Array.isArray(slot)) {
        let left = 0;
        for (let sub = 0; sub < slot.length; sub++) {
          const kv = slot[sub];
          if (kv === undefined) continue;
          const packed = packRevision(main, sub);
          while (k < sortedKeep.length && (sortedKeep[k] as number) < packed) k++;
          if (k < sortedKeep.length && sortedKeep[k] === packed) {
            left++;
            continue;
          }
          slot[sub] = undefined;
          this.size -= entrySize(kv);
          removed++;
        }
        if (left === 0) this.keyBucket[i] = undefined;
      } else {
        const packed = packRevision(main, 0);
        while (k < sortedKeep.length && (sortedKeep[k] as number) < packed) k++;
        if (k < sortedKeep.length && sortedKeep[k] === packed) continue;
        this.keyBucket[i] = undefined;
        this.size -= entrySize(slot);
        removed++;
      }
    }
    this.entryCount -= removed;
    this.trimFront();
    this.finishedCompactRev = rev;
    return removed;
  }

  /** Throws InvariantViolation if the bookkeeping (count, size, order) does not add up. O(entries). */
  checkInvariants(): void {
    let count = 0;
    let size = 0;
    let previous = -1;
    this.range(0, Number.MAX_SAFE_INTEGER, (main, sub, kv) => {
      const packed = packRevision(main, sub);
      if (packed <= previous) throw new InvariantViolation(`backend: entries out of order at ${main}.${sub}`);
      previous = packed;
      if (kv.create_revision !== 0 && kv.mod_revision !== main) {
        throw new InvariantViolation(`backend: entry ${main}.${sub} has mod_revision ${kv.mod_revision}`);
      }
      count++;
      size += entrySize(kv);
    });
    if (count !== this.entryCount) throw new InvariantViolation(`backend: counted ${count} entries, recorded ${this.entryCount}`);
    if (size !== this.size) throw new InvariantViolation(`backend: counted ${size} bytes, recorded ${this.size}`);
  }

  /** Drops leading empty slots so the array does not keep growing at the front after compactions. */
  private trimFront(): void {
    let first = 0;
    while (first < this.keyBucket.length && this.keyBucket[first] === undefined) first++;
    if (first === 0) return;
    this.keyBucket = this.keyBucket.slice(first);
    this.base += first;
  }
}

/** 8 big-endian bytes, as etcd writes uint64 values into bbolt. */
export function uint64Bytes(value: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value));
  return bytes;
}

/**
 * A revision as one number that sorts like the pair: main · 2^22 + sub. Exact while main < 2^31
 * (two billion revisions) and sub < 2^22 (four million changes in one transaction).
 */
function packRevision(main: number, sub: number): number {
  return main * 4194304 + sub;
}

/** The size model of the header: bbolt key + protobuf KeyValue + leaf element header. */
export function entrySize(kv: KeyValue): number {
  const tombstone = kv.create_revision === 0;
  return (tombstone ? MARKED_REV_BYTES_LEN : REV_BYTES_LEN) + keyValueProtoSize(kv) + BOLT_LEAF_ELEMENT_BYTES;
}

/** The length of a KeyValue in protobuf encoding (each set field: 1 tag byte + varint or length + bytes). */
export function keyValueProtoSize(kv: KeyValue): number {
  let size = 0;
  if (kv.key.length > 0) size += 1 + varintSize(kv.key.length) + kv.key.length;
  if (kv.create_revision !== 0) size += 1 + varintSize(kv.create_revision);
  if (kv.mod_revision !== 0) size += 1 + varintSize(kv.mod_revision);
  if (kv.version !== 0) size += 1 + varintSize(kv.version);
  if (kv.value.length > 0) size += 1 + varintSize(kv.value.length) + kv.value.length;
  if (kv.lease !== 0n) size += 1 + (kv.lease < 0n ? 10 : varintSize(Number(kv.lease)));
  return size;
}

/** Bytes of a non-negative integer as a protobuf varint (7 bits per byte). */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

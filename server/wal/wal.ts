/**
 * Mirrors etcd release-3.4 `wal/wal.go` (with `wal/util.go` for the names): the write-ahead log, a
 * directory of segments that every state change passes through before it is applied.
 *
 *   member/wal/0000000000000000-0000000000000000.wal     %016x-%016x: sequence, then the raft index of
 *   member/wal/0000000000000001-0000000000000045.wal     the first entry expected in that segment
 *
 * A new WAL's first segment holds crc(0), metadata, snapshot{0,0}; then each `save` appends entry
 * records and a state (HardState) record. `sync` is one fdatasync, the durability point: the server
 * answers nothing before it. Once a save leaves the segment past `segmentSizeBytes` (64,000,000, etcd's
 * SegmentSizeBytes), the segment is truncated to its real end and the next one starts with
 * crc(running value), metadata and the last state. Segments are preallocated to that size as sparse
 * zeros (etcd uses fallocate), so the end of data is the first zero frame word.
 *
 * Opening at a snapshot reads every segment from the one holding that snapshot's record, checks the
 * metadata and the CRC chain, and returns the entries after the snapshot. A torn tail is repaired once
 * (repair.ts); any other damage is refused with the file named.
 *
 * Not modelled: etcd's `.tmp` file pipeline (segments are made in place) and the per-segment file locks
 * (the purge uses the released index instead; see `releaseLockTo`).
 */
import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { decodeMetadata, encodeMetadata, type WalMetadata } from "../etcdserverpb.js";
import { decodeEntry, decodeHardState, encodeEntry, encodeHardState, type Entry, type HardState } from "../raftpb.js";
import { Decoder, UnexpectedEOFError, WalCorruptError, type SegmentBytes } from "./decoder.js";
import { Encoder } from "./encoder.js";
import { repairTornTail } from "./repair.js";
import { decodeWalSnapshot, encodeWalSnapshot, RecordType, type WalSnapshot } from "./walpb.js";

/** etcd's `SegmentSizeBytes`: 64,000,000 (decimal). */
export const SEGMENT_SIZE_BYTES = 64_000_000;

const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

/** `%016x-%016x.wal` (etcd's walName). */
export function walName(seq: number, index: number): string {
  return `${seq.toString(16).padStart(16, "0")}-${index.toString(16).padStart(16, "0")}.wal`;
}

/** Sequence and first index of a segment name, or undefined for anything else. */
export function parseWalName(name: string): { seq: number; index: number } | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (match === null) return undefined;
  return { seq: parseInt(match[1] as string, 16), index: parseInt(match[2] as string, 16) };
}

/** The segment names in `dir`, oldest first; other files are ignored (etcd warns about them). */
export function segmentNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => parseWalName(name) !== undefined)
    .sort();
}

/** True when `dir` holds a WAL (etcd's wal.Exist: a restart, not a new member). */
export function walExists(dir: string): boolean {
  return segmentNames(dir).length > 0;
}

/** Why the WAL cannot be opened; the message names the file. */
export class WalOpenError extends Error {}

export interface WalOptions {
  readonly segmentSizeBytes?: number;
}

/** What `WAL.open` read back. */
export interface WalReadResult {
  readonly wal: WAL;
  readonly metadata: WalMetadata;
  readonly state: HardState;
  /** The entries after the snapshot, in index order. */
  readonly entries: Entry[];
  /** The `.broken` copy made by a repair, if the tail was torn. */
  readonly repaired: string | undefined;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readSegments(dir: string, names: readonly string[]): SegmentBytes[] {
  return names.map((name) => ({ name: join(dir, name), bytes: readFileSync(join(dir, name)) }));
}

/** An open WAL, positioned at the end of its last segment. */
export class WAL {
  /** fdatasync calls made (for the group-commit figures). */
  syncs = 0;
  /** Bytes appended by this WAL object (records after open; segment heads included), for lesson 13. */
  bytesWritten = 0;
  private released = 0;

  private constructor(
    readonly dir: string,
    private fd: number,
    private seq: number,
    private offset: number,
    private readonly encoder: Encoder,
    private readonly metadata: WalMetadata,
    /** Index of the last entry saved. */
    private lastIndex: number,
    private state: HardState,
    private readonly segmentSizeBytes: number,
  ) {}

  /** Creates a new WAL in `dir` (etcd: in `dir.tmp`, then a rename and a directory fsync). */
  static create(dir: string, metadata: WalMetadata, options: WalOptions = {}): WAL {
    if (walExists(dir)) throw new WalOpenError(`wal: ${dir} already exists`);
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    const segmentSize = options.segmentSizeBytes ?? SEGMENT_SIZE_BYTES;
    const name = walName(0, 0);
    const fd = openSync(join(tmp, name), "w", 0o600);
    ftruncateSync(fd, segmentSize);
    const encoder = new Encoder(0);
    const head = Buffer.concat([
      encoder.encode(RecordType.crc, undefined),
      encoder.encode(RecordType.metadata, encodeMetadata(metadata)),
      encoder.encode(RecordType.snapshot, encodeWalSnapshot({ index: 0, term: 0 })),
    ]);
    writeSync(fd, head, 0, head.length, 0);
    fdatasyncSync(fd);
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    fsyncDir(join(dir, ".."));
    const appendFd = openSync(join(dir, name), "r+");
    return new WAL(dir, appendFd, 0, head.length, encoder, metadata, 0, { term: 0, vote: 0n, commit: 0 }, segmentSize);
  }

  /**
   * Every snapshot record in the WAL whose index is at or below the last state's commit (etcd's
   * ValidSnapshotEntries): the `.snap` files a restart may load. A torn tail is tolerated here.
   */
  static validSnapshots(dir: string): WalSnapshot[] {
    const decoder = new Decoder(readSegments(dir, segmentNames(dir)));
    const snapshots: WalSnapshot[] = [{ index: 0, term: 0 }];
    let commit = 0;
    for (;;) {
      let record;
      try {
        record = decoder.next();
      } catch (error) {
        if (error instanceof UnexpectedEOFError) break;
        throw error;
      }
      if (record === undefined) break;
      if (record.type === RecordType.snapshot && record.data !== undefined) snapshots.push(decodeWalSnapshot(record.data));
      if (record.type === RecordType.state && record.data !== undefined) commit = decodeHardState(record.data).commit;
      if (record.type === RecordType.crc) decoder.crc = record.crc;
    }
    return snapshots.filter((snapshot) => snapshot.index <= commit);
  }

  /**
   * Opens the WAL at `snapshot` and reads everything after it (etcd's Open + ReadAll), repairing a torn
   * tail once. Throws WalOpenError naming the file for any other damage.
   */
  static open(dir: string, snapshot: WalSnapshot, options: WalOptions = {}): WalReadResult {
    let repaired: string | undefined;
    for (;;) {
      try {
        return { ...WAL.readAll(dir, snapshot, options), repaired };
      } catch (error) {
        if (!(error instanceof UnexpectedEOFError) || repaired !== undefined) {
          if (error instanceof UnexpectedEOFError) throw new WalOpenError(`wal: ${error.message}, and it cannot be repaired`);
          throw error;
        }
        const names = WAL.namesFrom(dir, snapshot.index);
        const lastName = names[names.length - 1] as string;
        if (error.segment !== names.length - 1) throw new WalOpenError(`wal: ${error.message}: only the last segment may be torn`);
        repaired = repairTornTail(join(dir, lastName), error.lastValidOffset);
      }
    }
  }

  /** The segments to read for a snapshot at `index`: from the newest one whose name index ≤ index. */
  private static namesFrom(dir: string, index: number): string[] {
    const names = segmentNames(dir);
    let start = -1;
    names.forEach((name, i) => {
      if ((parseWalName(name)?.index ?? Infinity) <= index) start = i;
    });
    if (start < 0) throw new WalOpenError(`wal: file not found (no segment in ${dir} holds index ${index})`);
    names.slice(start).forEach((name, i) => {
      const expected = (parseWalName(names[start] as string)?.seq ?? 0) + i;
      if (parseWalName(name)?.seq !== expected) throw new WalOpenError(`wal: file not found: segment ${expected} missing before ${join(dir, name)}`);
    });
    return names.slice(start);
  }

  private static readAll(dir: string, snapshot: WalSnapshot, options: WalOptions): Omit<WalReadResult, "repaired"> {
    const names = WAL.namesFrom(dir, snapshot.index);
    const segments = readSegments(dir, names);
    const decoder = new Decoder(segments);
    let metadata: WalMetadata | undefined;
    let state: HardState = { term: 0, vote: 0n, commit: 0 };
    let entries: Entry[] = [];
    let matched = false;
    for (;;) {
      const record = decoder.next();
      if (record === undefined) break;
      const where = segments[record.segment]?.name ?? dir;
      const data = record.data ?? new Uint8Array(0);
      switch (record.type) {
        case RecordType.entry: {
          const entry = decodeEntry(data);
          if (entry.index > snapshot.index) {
            // A later entry at an index already read replaces it and everything after (raft's log truncation).
            const position = entry.index - snapshot.index - 1;
            if (position > entries.length) throw new WalOpenError(`wal: entry ${entry.index} follows a gap in ${where}`);
            entries = entries.slice(0, position);
            entries.push(entry);
          }
          break;
        }
        case RecordType.state:
          state = decodeHardState(data);
          break;
        case RecordType.metadata: {
          const read = decodeMetadata(data);
          if (metadata !== undefined && (read.nodeId !== metadata.nodeId || read.clusterId !== metadata.clusterId)) {
            throw new WalOpenError(`wal: conflicting metadata found in ${where}`);
          }
          metadata = read;
          break;
        }
        case RecordType.crc:
          // The first crc record of a read seeds the chain; later ones must continue it.
          if (decoder.crc !== 0 && record.crc !== decoder.crc) throw new WalCorruptError(`walpb: crc mismatch in ${where} at offset ${record.offset}`);
          decoder.crc = record.crc;
          break;
        case RecordType.snapshot: {
          const read = decodeWalSnapshot(data);
          if (read.index === snapshot.index) {
            if (read.term !== snapshot.term) throw new WalOpenError(`wal: snapshot mismatch in ${where}`);
            matched = true;
          }
          break;
        }
        default:
          throw new WalOpenError(`wal: unexpected block type ${record.type} in ${where}`);
      }
    }
    if (!matched) throw new WalOpenError(`wal: snapshot not found (index ${snapshot.index}, term ${snapshot.term}) in ${dir}`);
    if (metadata === undefined) throw new WalOpenError(`wal: no metadata in ${dir}`);
    const lastName = names[names.length - 1] as string;
    const last = parseWalName(lastName) as { seq: number; index: number };
    const segmentSize = options.segmentSizeBytes ?? SEGMENT_SIZE_BYTES;
    // Open the last segment for appending: zero everything after the last good record (etcd's ZeroToEnd).
    const fd = openSync(join(dir, lastName), "r+");
    const end = decoder.segmentIndex === names.length - 1 ? decoder.lastValidOffset : 0;
    ftruncateSync(fd, end);
    ftruncateSync(fd, Math.max(segmentSize, end));
    const lastIndex = entries.length > 0 ? (entries[entries.length - 1] as Entry).index : snapshot.index;
    const wal = new WAL(dir, fd, last.seq, end, new Encoder(decoder.crc), metadata, lastIndex, state, segmentSize);
    return { wal, metadata, state, entries };
  }

  /** The hard state last saved. */
  get hardState(): HardState {
    return this.state;
  }

  /**
   * Appends `entries` and then `state` (etcd's Save), without syncing. Cuts to a new segment when this
   * one has passed its size.
   */
  save(state: HardState | undefined, entries: readonly Entry[]): void {
    const parts: Uint8Array[] = entries.map((entry) => this.encoder.encode(RecordType.entry, encodeEntry(entry)));
    if (state !== undefined) parts.push(this.encoder.encode(RecordType.state, encodeHardState(state)));
    this.write(Buffer.concat(parts));
    if (entries.length > 0) this.lastIndex = (entries[entries.length - 1] as Entry).index;
    if (state !== undefined) this.state = state;
    if (this.offset >= this.segmentSizeBytes) this.cut();
  }

  /** One fdatasync of the current segment, off the event loop; resolves once the data is on disk. */
  sync(): Promise<void> {
    this.syncs++;
    return new Promise((resolve, reject) => fdatasync(this.fd, (error) => (error === null ? resolve() : reject(error))));
  }

  /** Appends a snapshot record and syncs (etcd's SaveSnapshot), after the `.snap` file is on disk. */
  saveSnapshot(snapshot: WalSnapshot): void {
    this.write(this.encoder.encode(RecordType.snapshot, encodeWalSnapshot(snapshot)));
    this.syncs++;
    fdatasyncSync(this.fd);
  }

  /**
   * Lets the purge remove every segment that lies wholly before `index`: all but the newest segment
   * whose name index is ≤ index, which holds that snapshot's record (etcd's ReleaseLockTo).
   */
  releaseLockTo(index: number): void {
    const names = segmentNames(this.dir);
    let keepFrom = 0;
    names.forEach((name, i) => {
      if ((parseWalName(name)?.index ?? Infinity) <= index) keepFrom = i;
    });
    this.released = Math.max(this.released, parseWalName(names[keepFrom] as string)?.seq ?? 0);
  }

  /**
   * Removes the oldest segments while more than `max` remain, never one still needed (at or after the
   * released point) (etcd's purgeFile with `--max-wals`; 0 = keep all). Returns the removed paths.
   */
  purge(max: number): string[] {
    if (max <= 0) return [];
    const names = segmentNames(this.dir);
    const removed: string[] = [];
    for (const name of names) {
      if (names.length - removed.length <= max) break;
      if ((parseWalName(name)?.seq ?? Infinity) >= this.released) break;
      rmSync(join(this.dir, name));
      removed.push(join(this.dir, name));
    }
    return removed;
  }

  close(): void {
    if (this.fd < 0) return;
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }

  /**
   * What `kill -9` leaves: the file descriptor goes away with no sync and no truncation. Records an
   * acknowledged write needed were synced before it was answered; anything later is in the page cache.
   */
  abandon(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  private write(bytes: Uint8Array): void {
    writeSync(this.fd, bytes, 0, bytes.length, this.offset);
    this.offset += bytes.length;
    this.bytesWritten += bytes.length;
  }

  /** Starts the next segment (etcd's cut): crc, metadata and the last state at its head. */
  private cut(): void {
    ftruncateSync(this.fd, this.offset);
    fdatasyncSync(this.fd);
    closeSync(this.fd);
    this.seq++;
    const path = join(this.dir, walName(this.seq, this.lastIndex + 1));
    this.fd = openSync(path, "w+", 0o600);
    ftruncateSync(this.fd, this.segmentSizeBytes);
    this.offset = 0;
    const head = Buffer.concat([
      this.encoder.encode(RecordType.crc, undefined),
      this.encoder.encode(RecordType.metadata, encodeMetadata(this.metadata)),
      this.encoder.encode(RecordType.state, encodeHardState(this.state)),
    ]);
    this.write(head);
    fdatasyncSync(this.fd);
    fsyncDir(this.dir);
  }
}

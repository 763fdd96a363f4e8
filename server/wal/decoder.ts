/**
 * Mirrors etcd release-3.4 `wal/decoder.go`: reading the frames of one or more segments back into
 * records, checking the CRC chain as it goes.
 *
 * How a read ends decides what recovery does (datadir.md §4.1, §7):
 *   a frame word of 0, or the file's end between frames  →  that segment is done (the zeros of preallocation)
 *   the file ends inside a frame                          →  "unexpected EOF": a torn write
 *   a record that does not decode, or whose CRC is wrong  →  torn when one of its 512-byte sectors is all
 *                                                            zeros (a write the disk never finished),
 *                                                            otherwise corruption: "walpb: crc mismatch"
 *   a frame longer than 10 MB                             →  refused
 * Only the last segment may end torn; repair.ts then cuts it at `lastValidOffset`.
 */
import { PbDecodeError } from "../../shared/pb.js";
import { crc32c } from "./crc.js";
import { FRAME_SIZE_BYTES } from "./encoder.js";
import { decodeRecord, RecordType, type WalRecord } from "./walpb.js";

/** etcd's `maxWALEntrySizeLimit`. */
export const MAX_WAL_ENTRY_SIZE_BYTES = 10 * 1024 * 1024;
/** The disk sector a torn write leaves zeroed (etcd's `minSectorSize`). */
export const MIN_SECTOR_SIZE = 512;

/** A segment's bytes and its file name (for error messages). */
export interface SegmentBytes {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** A record with where it sits. */
export interface DecodedRecord extends WalRecord {
  readonly segment: number;
  readonly offset: number;
}

/** The read ended inside a record: a torn tail, in `segment` at `lastValidOffset`. */
export class UnexpectedEOFError extends Error {
  constructor(
    readonly segment: number,
    readonly lastValidOffset: number,
    name: string,
  ) {
    super(`unexpected EOF in ${name} after offset ${lastValidOffset}`);
  }
}

/** A record is damaged where no torn write explains it; recovery must refuse. */
export class WalCorruptError extends Error {}

/** Reads records from consecutive segments. */
export class Decoder {
  private segment = 0;
  private offset = 0;
  /** The end of the last good record in the current segment. */
  lastValidOffset = 0;

  constructor(
    private readonly segments: readonly SegmentBytes[],
    /** The running CRC before the first record (0; a crc record re-seeds it). */
    public crc = 0,
  ) {}

  /** Index of the segment being read. */
  get segmentIndex(): number {
    return this.segment;
  }

  /**
   * The next record, undefined at the end of the last segment. Throws UnexpectedEOFError for a torn
   * record and WalCorruptError for a damaged one. A crc record's stored value is checked against the
   * running CRC by the caller (wal.ts), as etcd's ReadAll does.
   */
  next(): DecodedRecord | undefined {
    for (;;) {
      const current = this.segments[this.segment];
      if (current === undefined) return undefined;
      const bytes = current.bytes;
      const remaining = bytes.length - this.offset;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (remaining === 0 || (remaining >= FRAME_SIZE_BYTES && view.getBigUint64(this.offset, true) === 0n)) {
        if (this.segment === this.segments.length - 1) return undefined;
        this.segment++;
        this.offset = 0;
        this.lastValidOffset = 0;
        continue;
      }
      if (remaining < FRAME_SIZE_BYTES) throw new UnexpectedEOFError(this.segment, this.lastValidOffset, current.name);
      const word = view.getBigUint64(this.offset, true);
      const recBytes = Number(word & 0x00ff_ffff_ffff_ffffn);
      const top = Number(word >> 56n);
      const padBytes = top & 0x80 ? top & 0x7 : 0;
      if (recBytes >= MAX_WAL_ENTRY_SIZE_BYTES - padBytes) {
        throw new WalCorruptError(`wal: max entry size limit exceeded, recBytes: ${recBytes}, fileSize(${bytes.length}) - offset(${this.offset}) - padBytes(${padBytes}) = entryLimit(${bytes.length - this.offset - padBytes}) in ${current.name}`);
      }
      const start = this.offset + FRAME_SIZE_BYTES;
      if (start + recBytes + padBytes > bytes.length) throw new UnexpectedEOFError(this.segment, this.lastValidOffset, current.name);
      const data = bytes.subarray(start, start + recBytes + padBytes);
      let record: WalRecord;
      try {
        record = decodeRecord(data.subarray(0, recBytes));
      } catch (error) {
        if (this.isTornEntry(start, data)) throw new UnexpectedEOFError(this.segment, this.lastValidOffset, current.name);
        throw new WalCorruptError(`${error instanceof PbDecodeError ? error.message : String(error)} in ${current.name} at offset ${this.offset}`);
      }
      if (record.type !== RecordType.crc) {
        const expected = crc32c(this.crc, record.data ?? new Uint8Array(0));
        if (record.crc !== expected) {
          if (this.isTornEntry(start, data)) throw new UnexpectedEOFError(this.segment, this.lastValidOffset, current.name);
          throw new WalCorruptError(`walpb: crc mismatch in ${current.name} at offset ${this.offset}`);
        }
        this.crc = expected;
      }
      const decoded: DecodedRecord = { ...record, segment: this.segment, offset: this.offset };
      this.offset = start + recBytes + padBytes;
      this.lastValidOffset = this.offset;
      return decoded;
    }
  }

  /** True when one of the sector-aligned chunks the frame's data spans is all zeros (etcd's isTornEntry). */
  private isTornEntry(fileOffset: number, data: Uint8Array): boolean {
    let position = 0;
    let offset = fileOffset;
    while (position < data.length) {
      const chunkLength = Math.min(MIN_SECTOR_SIZE - (offset % MIN_SECTOR_SIZE), data.length - position);
      let zero = true;
      for (let i = position; i < position + chunkLength; i++) {
        if (data[i] !== 0) {
          zero = false;
          break;
        }
      }
      if (zero) return true;
      position += chunkLength;
      offset += chunkLength;
    }
    return false;
  }
}

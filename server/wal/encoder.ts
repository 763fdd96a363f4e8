/**
 * Mirrors etcd release-3.4 `wal/encoder.go`: how one record becomes bytes in a segment.
 *
 * A frame is an 8-byte little-endian word, the record, then 0–7 zero bytes so the next frame starts on an
 * 8-byte boundary. The word's low 56 bits are the record's length; with padding, its top byte is
 * 0x80 | padBytes:
 *
 *   record 08 04 10 00 (4 bytes)  →  04 00 00 00 00 00 00 84 | 08 04 10 00 | 00 00 00 00
 *   record of 16 bytes            →  10 00 00 00 00 00 00 00 | 16 bytes                  (no padding)
 *
 * Every record but a crc record carries CRC-32C(running value, data), and the running value moves on
 * to it: the chain of crc.ts.
 */
import { crc32c } from "./crc.js";
import { encodeRecord, RecordType } from "./walpb.js";

/** Bytes of the frame word. */
export const FRAME_SIZE_BYTES = 8;

/** The frame word for a record of `length` bytes, and how many pad bytes follow it. */
export function encodeFrameSize(length: number): { word: bigint; padBytes: number } {
  const padBytes = (8 - (length % 8)) % 8;
  let word = BigInt(length);
  if (padBytes !== 0) word |= BigInt(0x80 | padBytes) << 56n;
  return { word, padBytes };
}

/** Frames one encoded record: word + record + padding. */
export function frame(record: Uint8Array): Uint8Array {
  const { word, padBytes } = encodeFrameSize(record.length);
  const out = new Uint8Array(FRAME_SIZE_BYTES + record.length + padBytes);
  new DataView(out.buffer).setBigUint64(0, word, true);
  out.set(record, FRAME_SIZE_BYTES);
  return out;
}

/** Turns records into framed bytes, carrying the running CRC from one record to the next. */
export class Encoder {
  constructor(
    /** The running CRC: 0 for a new WAL, the previous segment's last value after a cut. */
    public crc: number,
  ) {}

  /** One framed record of `type`. A crc record stores the running value and leaves it as it is. */
  encode(type: number, data: Uint8Array | undefined): Uint8Array {
    if (type === RecordType.crc) return frame(encodeRecord({ type, crc: this.crc, data: undefined }));
    this.crc = crc32c(this.crc, data ?? new Uint8Array(0));
    return frame(encodeRecord({ type, crc: this.crc, data }));
  }
}

/**
 * Mirrors etcd release-3.4 `wal/walpb/record.proto` and `record.go`: the two messages of the WAL file
 * itself. Every frame of a segment holds one `Record`; a `snapshot` record's data is a `Snapshot`.
 *
 *   Record   {1 type int64, 2 crc uint32, 3 data bytes}    type and crc always written, data only when set
 *   Snapshot {1 index uint64, 2 term uint64}               both always written: {0,0} → 08 00 10 00
 *
 *   crc record of a fresh WAL  →  08 04 10 00        (type 4, crc 0, no data)
 */
import { bytesOf, PbWriter, readFields, varintOf } from "../../shared/pb.js";

/** Record types (etcd's `wal.go` constants). */
export const RecordType = { metadata: 1, entry: 2, state: 3, crc: 4, snapshot: 5 } as const;

export interface WalRecord {
  readonly type: number;
  readonly crc: number;
  readonly data: Uint8Array | undefined;
}

/** A point in the log that a snapshot covers: (index, term). */
export interface WalSnapshot {
  readonly index: number;
  readonly term: number;
}

export function encodeRecord(record: WalRecord): Uint8Array {
  const writer = new PbWriter().uint(1, record.type).uint(2, record.crc);
  if (record.data !== undefined) writer.bytes(3, record.data);
  return writer.finish();
}

export function decodeRecord(buf: Uint8Array): WalRecord {
  const fields = readFields(buf);
  return { type: Number(varintOf(fields, 1)), crc: Number(varintOf(fields, 2)), data: bytesOf(fields, 3) };
}

export function encodeWalSnapshot(snapshot: WalSnapshot): Uint8Array {
  return new PbWriter().uint(1, snapshot.index).uint(2, snapshot.term).finish();
}

export function decodeWalSnapshot(buf: Uint8Array): WalSnapshot {
  const fields = readFields(buf);
  return { index: Number(varintOf(fields, 1)), term: Number(varintOf(fields, 2)) };
}

/**
 * Mirrors etcd release-3.4 `mvcc/revision.go`.
 *
 * A revision names one change in the store. `main` is the store-wide counter that a write
 * transaction advances by one when it commits; every change in that transaction shares it, so
 * the set of changes with one main revision is applied to the key space atomically. `sub` tells
 * the changes of one transaction apart, in the order they happened (0, 1, 2, …).
 *
 *   put a; put b          (two transactions)  →  a@{2,0}  b@{3,0}
 *   txn { put a; put b }  (one transaction)   →  a@{2,0}  b@{2,1}
 *
 * The backend stores every version under its revision, encoded as 17 bytes:
 *
 *   byte 0..7   main, big-endian          00 00 00 00 00 00 00 42
 *   byte 8      '_' (0x5f)                5f
 *   byte 9..16  sub, big-endian           00 00 00 00 00 00 00 00
 *   byte 17     't' (0x74), tombstones only (18 bytes then)
 *
 * Big-endian makes bytewise order equal numeric order, so bbolt's cursor walks versions in
 * revision order. Inside the simulator the index keeps revisions as these `{main, sub}` objects
 * (see keyIndex.ts) and the backend as a main-indexed array (see backend.ts); the byte form is
 * produced for inspection and lessons.
 */

/** A (main, sub) pair. Ordered by main, then sub. */
export interface Revision {
  /** The store revision of the transaction that made the change. */
  readonly main: number;
  /** The position of the change inside that transaction, from 0. */
  readonly sub: number;
}

/** Length of an encoded revision: 8 (main) + 1 ('_') + 8 (sub). */
export const REV_BYTES_LEN = 8 + 1 + 8;
/** Length of an encoded tombstone revision: the 17 bytes plus the 't' marker. */
export const MARKED_REV_BYTES_LEN = REV_BYTES_LEN + 1;
/** The marker byte appended to a tombstone's backend key ('t'). */
export const MARK_TOMBSTONE = 0x74;
/** The separator between main and sub ('_'). */
export const REV_SEPARATOR = 0x5f;

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareRevision(a: Revision, b: Revision): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

/** True when `a` comes strictly after `b` (etcd's GreaterThan). */
export function revisionGreaterThan(a: Revision, b: Revision): boolean {
  return compareRevision(a, b) > 0;
}

/** "42.0" — the short form the lessons print; "42.1(t)" for a tombstone. */
export function formatRevision(rev: Revision, tombstone = false): string {
  return `${rev.main}.${rev.sub}${tombstone ? "(t)" : ""}`;
}

/**
 * The backend key for a revision: 17 bytes, or 18 with the tombstone marker.
 *
 *   revToBytes({main: 66, sub: 1})       → 00..00 42 5f 00..00 01
 *   revToBytes({main: 66, sub: 1}, true) → 00..00 42 5f 00..00 01 74
 */
export function revToBytes(rev: Revision, tombstone = false): Uint8Array {
  const bytes = new Uint8Array(tombstone ? MARKED_REV_BYTES_LEN : REV_BYTES_LEN);
  writeUint64(bytes, 0, rev.main);
  bytes[8] = REV_SEPARATOR;
  writeUint64(bytes, 9, rev.sub);
  if (tombstone) bytes[REV_BYTES_LEN] = MARK_TOMBSTONE;
  return bytes;
}

/** The revision in a 17- or 18-byte backend key. */
export function bytesToRev(bytes: Uint8Array): Revision {
  if (bytes.length !== REV_BYTES_LEN && bytes.length !== MARKED_REV_BYTES_LEN) {
    throw new RangeError(`a backend revision key has 17 or 18 bytes, got ${bytes.length}`);
  }
  return { main: readUint64(bytes, 0), sub: readUint64(bytes, 9) };
}

/** True when a backend key carries the tombstone marker (etcd's isTombstone). */
export function isTombstone(bytes: Uint8Array): boolean {
  return bytes.length === MARKED_REV_BYTES_LEN && bytes[REV_BYTES_LEN] === MARK_TOMBSTONE;
}

/** A backend key as hex with the separator kept visible: "0000000000000042_0000000000000001t". */
export function formatRevisionKey(bytes: Uint8Array): string {
  const hex = (from: number, to: number): string =>
    Array.from(bytes.subarray(from, to), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex(0, 8)}_${hex(9, 17)}${isTombstone(bytes) ? "t" : ""}`;
}

/** Writes a non-negative integer below 2^53 as 8 big-endian bytes. */
function writeUint64(bytes: Uint8Array, offset: number, value: number): void {
  const high = Math.floor(value / 2 ** 32);
  const low = value >>> 0;
  for (let i = 0; i < 4; i++) {
    bytes[offset + 3 - i] = (high >>> (8 * i)) & 0xff;
    bytes[offset + 7 - i] = (low >>> (8 * i)) & 0xff;
  }
}

function readUint64(bytes: Uint8Array, offset: number): number {
  let high = 0;
  let low = 0;
  for (let i = 0; i < 4; i++) {
    high = high * 256 + (bytes[offset + i] as number);
    low = low * 256 + (bytes[offset + 4 + i] as number);
  }
  return high * 2 ** 32 + low;
}

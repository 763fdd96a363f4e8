/**
 * Mirrors etcd release-3.4 `pkg/crc/crc.go`: a CRC-32 whose running value can be carried from one
 * record to the next. The WAL uses the Castagnoli polynomial (CRC-32C) and chains it: each record's
 * checksum continues from the previous record's, so a record moved, dropped or replayed out of order
 * breaks every checksum after it. `.snap` files use the same polynomial, unchained (seed 0).
 *
 *   crc32c(0, "123456789")  →  0xe3069283   (the standard check value)
 *   crc32c(crc32c(0, a), b) === crc32c(0, a ‖ b)
 */

/** The Castagnoli polynomial, reversed (as Go's `crc32.Castagnoli` table is built). */
const CASTAGNOLI = 0x82f63b78;

const TABLE = ((): Uint32Array => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CASTAGNOLI : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Continues the CRC-32C `previous` over `data` (Go's `crc32.Update(previous, castagnoliTable, data)`). */
export function crc32c(previous: number, data: Uint8Array): number {
  let crc = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) crc = (TABLE[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

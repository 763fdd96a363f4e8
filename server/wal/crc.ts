/**
 * Mirrors etcd release-3.4 `pkg/crc/crc.go`: a CRC-32 whose running value can be carried from one
 * record to the next. The WAL uses the Castagnoli polynomial (CRC-32C) and chains it: each record's
 * checksum continues from the previous record's, so a record moved, dropped or replayed out of order
 * breaks every checksum after it. `.snap` files use the same polynomial, unchained (seed 0).
 *
 *   crc32c(0, "123456789")  →  0xe3069283   (the standard check value)
 *   crc32c(crc32c(0, a), b) === crc32c(0, a ‖ b)
 */

import { Crc32c } from "../../v3/hash.js";

/** Continues the CRC-32C `previous` over `data` (Go's `crc32.Update(previous, castagnoliTable, data)`). */
export function crc32c(previous: number, data: Uint8Array): number {
  const hash = new Crc32c(previous);
  hash.write(data);
  return hash.sum32();
}

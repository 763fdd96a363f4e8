/**
 * Mirrors etcd release-3.4 `mvcc/kvstore.go` (`Hash`, `HashByRev`) and `mvcc/backend/backend.go`
 * (`Hash`): the two checksums the Maintenance service answers, both CRC-32C (Castagnoli).
 *
 * HashKV(R) hashes the key bucket as of revision R, in a form two members agree on even when they
 * compacted at different moments. It feeds the bucket name "key", then for each row of the key
 * bucket in revision order with main ≤ R: the 17/18-byte revision key and the marshalled KeyValue.
 * Rows at or below the compacted revision C are fed only if a compaction at R would keep them
 * (the keep set K of treeIndex.keep), unless K is empty, in which case they are all fed.
 *
 *   put foo=bar; put foo=bar2; del foo; put a=1; put "b b"=""     (revisions 2…6, never compacted)
 *     HashKV(0) → 3642540985 on a real etcd and here;  HashKV(3) → 3581052765
 *   compact 3; HashKV(6) → 1830657466 (rows 4t, 5, 6);  HashKV(4) → 3537877773 (3 and 4t: K is empty at 4)
 *
 * Hash hashes every bucket of the backend (name, then each key and value), skipping only
 * meta/consistent_index. It therefore also covers the members, cluster, auth and lease buckets,
 * which hold member IDs, URLs and lease IDs: it equals a real etcd's only when those are the same.
 */
import type { Backend } from "./backend.js";
import type { KVStore } from "./kvstore.js";
import { CompactedError, FutureRevError } from "./errors.js";
import { marshalKeyValue } from "./kvPb.js";
import { revToBytes } from "./revision.js";

/** CRC-32C's reversed polynomial (Castagnoli), as Go's `crc32.Castagnoli`. */
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

/** A running CRC-32C (Go's `crc32.New(crc32.MakeTable(crc32.Castagnoli))`). */
export class Crc32c {
  private crc = 0xffffffff;

  write(bytes: Uint8Array): void {
    let crc = this.crc;
    for (let i = 0; i < bytes.length; i++) crc = (TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
    this.crc = crc;
  }

  /** The checksum so far, as an unsigned 32-bit number. */
  sum32(): number {
    return (this.crc ^ 0xffffffff) >>> 0;
  }
}

/** crc32c("123456789") = 0xe3069283, the standard check value. */
export function crc32c(bytes: Uint8Array): number {
  const h = new Crc32c();
  h.write(bytes);
  return h.sum32();
}

/** What HashByRev answers: the hash, the current revision and the compacted revision (−1 if none). */
export interface KVHash {
  hash: number;
  currentRev: number;
  compactRev: number;
}

const KEY_BUCKET_NAME = new TextEncoder().encode("key");

/**
 * etcd's `store.HashByRev`. `rev` 0 means the current revision. Throws CompactedError when
 * 0 < rev ≤ the compacted revision (quirk: unlike a Range, hashing at exactly the compacted
 * revision is refused), FutureRevError when rev is above the current revision. O(rows ≤ rev + keys).
 */
export function hashByRev(store: KVStore, rev: number): KVHash {
  const compactRev = store.compactMainRev;
  const currentRev = store.currentRev;
  if (rev > 0 && rev <= compactRev) throw new CompactedError();
  if (rev > 0 && rev > currentRev) throw new FutureRevError();
  const atRev = rev === 0 ? currentRev : rev;
  const keepList = store.index.keep(atRev);
  const keep = new Set<string>();
  for (let i = 0; i < keepList.length; i += 2) keep.add(`${keepList[i]}.${keepList[i + 1]}`);

  const h = new Crc32c();
  h.write(KEY_BUCKET_NAME);
  store.backend.range(0, atRev + 1, (main, sub, kv) => {
    // Rows a compaction at atRev would delete are skipped, unless it would delete nothing.
    if (main <= compactRev && keep.size > 0 && !keep.has(`${main}.${sub}`)) return;
    h.write(revToBytes({ main, sub }, kv.create_revision === 0));
    h.write(marshalKeyValue(kv));
  });
  return { hash: h.sum32(), currentRev, compactRev };
}

/** The meta row every member writes on its own schedule, so Hash leaves it out (etcd's DefaultIgnores). */
const IGNORED_ROWS: ReadonlySet<string> = new Set(["meta/consistent_index"]);

/** etcd's `backend.Hash(DefaultIgnores)`: every bucket name, then its rows' keys and values. O(rows). */
export function hashBackend(backend: Backend): number {
  const h = new Crc32c();
  const decoder = new TextDecoder("latin1");
  backend.walk({
    bucket(name) {
      h.write(new TextEncoder().encode(name));
    },
    row(bucket, key, value) {
      if (IGNORED_ROWS.has(`${bucket}/${decoder.decode(key)}`)) return;
      h.write(key);
      h.write(value);
    },
  });
  return h.sum32();
}

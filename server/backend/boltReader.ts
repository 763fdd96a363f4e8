/**
 * Mirrors the read side of bbolt v1.3.6 (`page.go`, `bucket.go`, `db.go`'s meta pages), enough to list
 * the buckets and rows of a bbolt file such as `etcdctl snapshot save` writes (datadir.md §3.4). etcdsim's
 * Snapshot stream sends one (v3/backendImage.ts), and real etcd's files read the same way.
 *
 *   page   16-byte header: id u64, flags u16 (0x01 branch, 0x02 leaf, 0x04 meta), count u16, overflow u32
 *   meta   pages 0 and 1: magic 0xED0CDAED, version, page size, flags, root {pgid, sequence}, freelist,
 *          high-water pgid, txid, checksum; the valid one with the higher txid wins
 *   leaf   elements of 16 bytes: flags u32 (0x01 = a nested bucket), pos u32 (from the element), ksize, vsize
 *   branch elements of 16 bytes: pos u32, ksize u32, child pgid u64
 *   bucket value {root pgid u64, sequence u64}; root 0 = an inline bucket whose leaf page follows
 * All integers little-endian.
 */

/** A bucket and its rows, in key order. */
export interface BoltBucket {
  readonly name: string;
  readonly rows: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
}

/** The bytes are not a bbolt file, or are cut short. */
export class BoltFileError extends Error {}

const MAGIC = 0xed0cdaed;
const BRANCH = 0x01;
const LEAF = 0x02;
const BUCKET_LEAF_FLAG = 0x01;

/** Every top-level bucket of a bbolt file with its rows (nested buckets inside them are not followed). */
export function readBoltFile(file: Uint8Array): BoltBucket[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const meta = (offset: number): { pageSize: number; root: number; txid: bigint } | undefined => {
    if (offset + 16 + 64 > file.length || view.getUint32(offset + 16, true) !== MAGIC) return undefined;
    return { pageSize: view.getUint32(offset + 24, true), root: Number(view.getBigUint64(offset + 32, true)), txid: view.getBigUint64(offset + 64, true) };
  };
  const first = meta(0);
  if (first === undefined) throw new BoltFileError("not a bbolt file (no meta page with the magic 0xED0CDAED)");
  const second = meta(first.pageSize);
  const chosen = second !== undefined && second.txid > first.txid ? second : first;
  const pageSize = chosen.pageSize;

  /** Leaf elements under the page at `offset` (walking branch pages down), as [flags, key, value]. */
  const elements = (offset: number, out: Array<[number, Uint8Array, Uint8Array]>): void => {
    if (offset + 16 > file.length) throw new BoltFileError(`page at byte ${offset} lies past the end of the file`);
    const flags = view.getUint16(offset + 8, true);
    const count = view.getUint16(offset + 10, true);
    for (let i = 0; i < count; i++) {
      const element = offset + 16 + i * 16;
      if (flags & BRANCH) {
        elements(Number(view.getBigUint64(element + 8, true)) * pageSize, out);
      } else if (flags & LEAF) {
        const start = element + view.getUint32(element + 4, true);
        const ksize = view.getUint32(element + 8, true);
        const vsize = view.getUint32(element + 12, true);
        if (start + ksize + vsize > file.length) throw new BoltFileError(`a row at byte ${start} runs past the end of the file`);
        out.push([view.getUint32(element, true), file.subarray(start, start + ksize), file.subarray(start + ksize, start + ksize + vsize)]);
      } else throw new BoltFileError(`page at byte ${offset} is neither a branch nor a leaf (flags ${flags})`);
    }
  };

  const rootElements: Array<[number, Uint8Array, Uint8Array]> = [];
  elements(chosen.root * pageSize, rootElements);
  const buckets: BoltBucket[] = [];
  for (const [flags, key, value] of rootElements) {
    if ((flags & BUCKET_LEAF_FLAG) === 0) continue;
    const bucketView = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const root = Number(bucketView.getBigUint64(0, true));
    const rows: Array<[number, Uint8Array, Uint8Array]> = [];
    if (root === 0) {
      // Inline: the bucket's leaf page follows its 16-byte header inside the value.
      const inlineStart = value.byteOffset - file.byteOffset + 16;
      elements(inlineStart, rows);
    } else elements(root * pageSize, rows);
    buckets.push({ name: new TextDecoder().decode(key), rows: rows.map(([, k, v]) => [k, v] as const) });
  }
  return buckets;
}

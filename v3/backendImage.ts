/**
 * Mirrors the file layout of bbolt v1.3.6 (`page.go`, `node.go`, `db.go`: the format of etcd
 * release-3.4's `member/snap/db`) as etcd's `backend.Snapshot` streams it: the in-memory backend
 * written out as a real bbolt file, so `etcdctl snapshot save` keeps a file that `etcdctl snapshot
 * status` and `snapshot restore` can read.
 *
 * A bbolt file is an array of 4096-byte pages, every field little-endian:
 *
 *   page 0, 1   meta: magic 0xED0CDAED, version 2, page size, flags, root bucket {root page, sequence},
 *               freelist page (none: 0xffff…, etcd opens bbolt with NoFreelistSync), page count,
 *               txid, FNV-1a 64 of the fields before it. The valid meta with the higher txid wins.
 *   page 2      the root bucket: a leaf whose elements are the buckets (flag 0x01), name → {root page, 0};
 *               a bucket that fits in a quarter page is inline: root page 0, its leaf right after
 *   then        per bigger bucket in name order: its leaves (elements: flags, pos, ksize, vsize), and a
 *               branch page over them when there is more than one (elements: pos, ksize, child page)
 *   padding     zero pages up to the Status file size; with no freelist stored, bbolt counts every
 *               page it cannot reach as free, as it does for the pages compaction freed in a real file.
 *               (Where the page model packs large values tighter than these leaves, the image is
 *               a few pages longer than the Status figure.)
 *
 * Every page starts with a 16-byte header {id, flags (branch 0x01, leaf 0x02, meta 0x04), count,
 * overflow}; a page whose content needs more than 4096 bytes takes `overflow` extra pages after it.
 * Each element's `pos` counts from the element itself to its key.
 *
 *   a fresh backend  → pages 0-1 meta, 2 root (10 inline buckets), padded to 20,480 bytes
 *   1,000 small puts → the key bucket's 17 leaves and a branch page after the root
 */
import type { Backend } from "./backend.js";

/** bbolt's page size (the file grows, and Status reports it, in whole pages). */
export const BOLT_PAGE_BYTES = 4096;
const MAGIC = 0xed0cdaed;
const VERSION = 2;
const PAGE_HEADER_BYTES = 16;
const ELEMENT_BYTES = 16;
const BRANCH_PAGE_FLAG = 0x01;
const LEAF_PAGE_FLAG = 0x02;
const META_PAGE_FLAG = 0x04;
const BUCKET_LEAF_FLAG = 0x01;
/** No freelist page (bbolt's `pgidNoFreelist`): the freelist is rebuilt by scanning at open. */
const NO_FREELIST = 0xffffffffffffffffn;
/** A leaf is closed once its content passes this many bytes (bbolt's default fill, one page). */
const LEAF_TARGET_BYTES = BOLT_PAGE_BYTES - PAGE_HEADER_BYTES;
/** At most this many elements per page: `count` is a uint16. */
const MAX_ELEMENTS = 0xffff;
const META_ROOT_PAGE = 2;
/** bbolt inlines a bucket whose one leaf fits in a quarter page (`Bucket.inlineable`). */
const INLINE_MAX_BYTES = BOLT_PAGE_BYTES / 4;

interface Row {
  key: Uint8Array;
  value: Uint8Array;
  flags: number;
}

/** A page to be written: its first id, its flags and its elements. */
interface PlannedPage {
  id: number;
  flags: number;
  rows: Row[];
  /** For a branch page: each child's first key and page id. */
  children?: Array<{ key: Uint8Array; id: number }>;
  pages: number;
}

/** The backend as a bbolt file, at least `dbSizeBytes` long (see the header). O(rows + size). */
export function backendImage(backend: Backend): Uint8Array {
  const buckets: Array<{ name: Uint8Array; rows: Row[] }> = [];
  backend.walk({
    bucket(name) {
      buckets.push({ name: new TextEncoder().encode(name), rows: [] });
    },
    row(_bucket, key, value) {
      buckets.at(-1)?.rows.push({ key, value, flags: 0 });
    },
  });

  const planned: PlannedPage[] = [];
  let nextId = META_ROOT_PAGE;
  const plan = (page: Omit<PlannedPage, "id" | "pages">): PlannedPage => {
    const pages = Math.ceil(contentBytes(page) / BOLT_PAGE_BYTES);
    const placed = { ...page, id: nextId, pages };
    nextId += pages;
    planned.push(placed);
    return placed;
  };
  // The root leaf comes first so it sits at page 2; its values (bucket headers) are filled in below.
  const rootRows: Row[] = buckets.map((bucket) => ({ key: bucket.name, value: new Uint8Array(16), flags: BUCKET_LEAF_FLAG }));
  plan({ flags: LEAF_PAGE_FLAG, rows: rootRows });
  buckets.forEach((bucket, i) => {
    const rootRow = rootRows[i] as Row;
    if (contentBytes({ flags: LEAF_PAGE_FLAG, rows: bucket.rows }) <= INLINE_MAX_BYTES) {
      // bbolt keeps a small bucket inline: its header says root page 0 and its one leaf follows.
      const inline = new Uint8Array(16 + contentBytes({ flags: LEAF_PAGE_FLAG, rows: bucket.rows }));
      writePage(inline.subarray(16), { id: 0, flags: LEAF_PAGE_FLAG, rows: bucket.rows, pages: 1 }, 0);
      rootRow.value = inline;
      return;
    }
    const leaves = splitIntoLeaves(bucket.rows).map((rows) => plan({ flags: LEAF_PAGE_FLAG, rows }));
    let root = leaves[0] as PlannedPage;
    if (leaves.length > 1) {
      const children = leaves.map((leaf) => ({ key: leaf.rows[0]?.key ?? new Uint8Array(), id: leaf.id }));
      root = plan({ flags: BRANCH_PAGE_FLAG, rows: [], children });
    }
    new DataView(rootRow.value.buffer).setBigUint64(0, BigInt(root.id), true);
  });

  const pageCount = Math.max(nextId, Math.ceil(backend.dbSizeBytes / BOLT_PAGE_BYTES));
  const image = new Uint8Array(pageCount * BOLT_PAGE_BYTES);
  writeMeta(image, 0, pageCount, 2n);
  writeMeta(image, 1, pageCount, 3n);
  for (const page of planned) writePage(image, page, page.id * BOLT_PAGE_BYTES);
  return image;
}

/** A bucket's rows in leaves of about one page each (an empty bucket still has one, empty, leaf). */
function splitIntoLeaves(rows: Row[]): Row[][] {
  const leaves: Row[][] = [[]];
  let bytes = 0;
  for (const row of rows) {
    const current = leaves.at(-1) as Row[];
    const size = ELEMENT_BYTES + row.key.length + row.value.length;
    if (current.length > 0 && (bytes + size > LEAF_TARGET_BYTES || current.length === MAX_ELEMENTS)) {
      leaves.push([row]);
      bytes = size;
    } else {
      current.push(row);
      bytes += size;
    }
  }
  return leaves;
}

function contentBytes(page: Omit<PlannedPage, "id" | "pages">): number {
  if (page.children !== undefined) return PAGE_HEADER_BYTES + page.children.reduce((sum, child) => sum + ELEMENT_BYTES + child.key.length, 0);
  return PAGE_HEADER_BYTES + page.rows.reduce((sum, row) => sum + ELEMENT_BYTES + row.key.length + row.value.length, 0);
}

/** Writes `page` at byte `base` of `image` (an inline page is written into its bucket's value). */
function writePage(image: Uint8Array, page: PlannedPage, base: number): void {
  const view = new DataView(image.buffer, image.byteOffset + base, image.length - base);
  const count = page.children?.length ?? page.rows.length;
  view.setBigUint64(0, BigInt(page.id), true);
  view.setUint16(8, page.flags, true);
  view.setUint16(10, count, true);
  view.setUint32(12, page.pages - 1, true);
  // Elements first, then the keys and values they point at, in the same order.
  let data = PAGE_HEADER_BYTES + count * ELEMENT_BYTES;
  for (let i = 0; i < count; i++) {
    const element = PAGE_HEADER_BYTES + i * ELEMENT_BYTES;
    if (page.children !== undefined) {
      const child = page.children[i] as { key: Uint8Array; id: number };
      view.setUint32(element, data - element, true);
      view.setUint32(element + 4, child.key.length, true);
      view.setBigUint64(element + 8, BigInt(child.id), true);
      image.set(child.key, base + data);
      data += child.key.length;
    } else {
      const row = page.rows[i] as Row;
      view.setUint32(element, row.flags, true);
      view.setUint32(element + 4, data - element, true);
      view.setUint32(element + 8, row.key.length, true);
      view.setUint32(element + 12, row.value.length, true);
      image.set(row.key, base + data);
      image.set(row.value, base + data + row.key.length);
      data += row.key.length + row.value.length;
    }
  }
}

/** Meta page `id` (0 or 1): the root bucket at page 2, no freelist, `pageCount` pages, this txid. */
function writeMeta(image: Uint8Array, id: number, pageCount: number, txid: bigint): void {
  const view = new DataView(image.buffer, image.byteOffset + id * BOLT_PAGE_BYTES, BOLT_PAGE_BYTES);
  view.setBigUint64(0, BigInt(id), true);
  view.setUint16(8, META_PAGE_FLAG, true);
  const m = PAGE_HEADER_BYTES;
  view.setUint32(m, MAGIC, true);
  view.setUint32(m + 4, VERSION, true);
  view.setUint32(m + 8, BOLT_PAGE_BYTES, true);
  view.setUint32(m + 12, 0, true);
  view.setBigUint64(m + 16, BigInt(META_ROOT_PAGE), true); // root bucket: root page
  view.setBigUint64(m + 24, 0n, true); // root bucket: sequence
  view.setBigUint64(m + 32, NO_FREELIST, true);
  view.setBigUint64(m + 40, BigInt(pageCount), true);
  view.setBigUint64(m + 48, txid, true);
  view.setBigUint64(m + 56, fnv1a64(new Uint8Array(image.buffer, image.byteOffset + id * BOLT_PAGE_BYTES + m, 56)), true);
}

/** FNV-1a, 64 bits (Go's `hash/fnv` New64a), as bbolt checksums its meta pages. */
function fnv1a64(bytes: Uint8Array): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  return hash;
}

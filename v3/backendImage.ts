/**
 * Mirrors the image half of etcd release-3.4 `mvcc/backend/backend.go` (`Snapshot` writes the bbolt
 * file to the client): the in-memory backend as one byte image, the body of a Maintenance Snapshot.
 *
 * etcd streams its bbolt file; the in-memory backend has no file, so it writes its buckets in a
 * plain layout of its own and pads it to the file size the Status answer reports (whole 4096-byte
 * pages). `etcdctl snapshot save` only needs the length to be a multiple of 512 before the 32-byte
 * SHA-256 trailer, so it accepts the image; `etcdctl snapshot status/restore` read bbolt and do not.
 *
 *   "etcdsim-backend-image/1\n"
 *   per bucket:  u32 name length, name, u32 row count, then per row u32 key length, key, u32 value length, value
 *   zero padding up to dbSizeBytes (or the next page if the rows need more)
 *
 * All integers are big-endian. The buckets and rows come in `Backend.walk` order.
 */
import { BOLT_PAGE_BYTES, type Backend } from "./backend.js";

/** The first bytes of every image, so a reader can tell it from a bbolt file. */
export const BACKEND_IMAGE_MAGIC = "etcdsim-backend-image/1\n";

/** The image of `backend` (see the header). O(rows + size). */
export function backendImage(backend: Backend): Uint8Array {
  const parts: Uint8Array[] = [new TextEncoder().encode(BACKEND_IMAGE_MAGIC)];
  let rowCount: Uint8Array | undefined;
  let rows = 0;
  const closeBucket = (): void => {
    if (rowCount !== undefined) new DataView(rowCount.buffer).setUint32(0, rows);
  };
  backend.walk({
    bucket(name) {
      closeBucket();
      const bytes = new TextEncoder().encode(name);
      parts.push(u32(bytes.length), bytes);
      rowCount = u32(0);
      rows = 0;
      parts.push(rowCount);
    },
    row(_bucket, key, value) {
      rows++;
      parts.push(u32(key.length), key, u32(value.length), value);
    },
  });
  closeBucket();
  const used = parts.reduce((sum, part) => sum + part.length, 0);
  const length = Math.max(backend.dbSizeBytes, Math.ceil(used / BOLT_PAGE_BYTES) * BOLT_PAGE_BYTES);
  const image = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    image.set(part, offset);
    offset += part.length;
  }
  return image;
}

function u32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value);
  return bytes;
}

/** One bucket read back from an image. */
export interface ImageBucket {
  readonly name: string;
  readonly rows: ReadonlyArray<readonly [Uint8Array, Uint8Array]>;
}

/** Thrown for bytes that are not an image of this format (or are cut short inside its rows). */
export class BackendImageError extends Error {}

/** The buckets and rows of an image written by `backendImage` (the padding after them is ignored). */
export function readBackendImage(image: Uint8Array): ImageBucket[] {
  const magic = new TextEncoder().encode(BACKEND_IMAGE_MAGIC);
  if (image.length < magic.length || !magic.every((byte, i) => image[i] === byte)) {
    throw new BackendImageError("not an etcdsim backend image (a real etcd's bbolt file cannot be read here)");
  }
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  let pos = magic.length;
  const need = (n: number): void => {
    if (pos + n > image.length) throw new BackendImageError(`backend image cut short at byte ${pos}`);
  };
  const u32At = (): number => {
    need(4);
    const value = view.getUint32(pos);
    pos += 4;
    return value;
  };
  const bytes = (): Uint8Array => {
    const length = u32At();
    need(length);
    const out = image.slice(pos, pos + length);
    pos += length;
    return out;
  };
  const buckets: ImageBucket[] = [];
  // Buckets follow one another until the zero padding: a bucket name is never empty.
  while (pos + 4 <= image.length && view.getUint32(pos) !== 0) {
    const name = new TextDecoder().decode(bytes());
    const count = u32At();
    const rows: Array<readonly [Uint8Array, Uint8Array]> = [];
    for (let i = 0; i < count; i++) rows.push([bytes(), bytes()] as const);
    buckets.push({ name, rows });
  }
  return buckets;
}

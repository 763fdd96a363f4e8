/**
 * Byte helpers. etcd v3 keys and values are byte strings ordered bytewise (Go's bytes.Compare);
 * strings enter as UTF-8. JavaScript's own string order is by UTF-16 code unit, which differs from
 * byte order for characters above U+FFFF, so v3 code compares `Uint8Array`s, never strings.
 *
 *   compareBytes(utf8("key12"), utf8("key2")) < 0    // '1' (0x31) < '2' (0x32): "key12" sorts first
 *   compareBytes(utf8("a"), utf8("a\0")) < 0         // a prefix sorts before its extensions
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A string as UTF-8 bytes. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** UTF-8 bytes as a string (invalid sequences become U+FFFD, as for display only). */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Bytewise order: negative, zero or positive, like Go's bytes.Compare. O(min(a, b)). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** True when both byte strings hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Standard base64 with padding, as protobuf's JSON mapping writes `bytes` fields. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Bytes as latin1 "binary" string: one char per byte, so JS string order equals byte order. */
export function toBinaryString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** The inverse of `toBinaryString`. */
export function fromBinaryString(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "latin1"));
}

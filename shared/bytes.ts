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

/**
 * Bytes as a latin1 "binary" string, one char (U+0000–U+00FF) per byte, like Go's `string(key)`:
 * JavaScript compares such strings char by char, which is exactly bytewise order. This is the one
 * conversion both stores use for keys held in maps, trees and sets. Short keys (the usual case)
 * go through `String.fromCharCode`, several times cheaper than a Buffer view; longer ones through
 * Buffer's latin1 decoder (`fromCharCode.apply` would hit the argument limit on a huge key).
 *
 *   toBinaryString(utf8("é")) → "\xc3\xa9"     (two chars: the two UTF-8 bytes)
 */
export function toBinaryString(bytes: Uint8Array): string {
  if (bytes.length <= SHORT_KEY_BYTES) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** Up to this many bytes `toBinaryString` uses `String.fromCharCode` (measured faster below ~64). */
const SHORT_KEY_BYTES = 64;

/** The inverse of `toBinaryString`. */
export function fromBinaryString(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "latin1"));
}

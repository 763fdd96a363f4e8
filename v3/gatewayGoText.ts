/**
 * Mirrors the text conversions etcd release-3.4's JSON gateway inherits from Go's standard library:
 * `encoding/base64` (StdEncoding.Decode, for every bytes field), `encoding/json`'s string encoder
 * (every string in an answer) and `strconv.Quote` (the `%q` in jsonpb's enum error).
 *
 *   goBase64Decode("Zm9v\n")  → "foo"   (newlines are skipped anywhere)
 *   goBase64Decode("Zm9")      → throws "illegal base64 data at input byte 0"
 *   goJsonString('X<&>')       → "X\u003c\u0026\u003e"   (Go escapes HTML characters)
 *   goQuote("a\nb")            → "\"a\\nb\""          (as `%q` prints raw bytes)
 */

/** A Go error surfaced by the gateway's decoding; `message` is Go's `err.Error()`. */
export class GoJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GoJsonError";
  }
}

/** The length of the valid UTF-8 sequence at `i`, or 0 when the byte there starts none (Go's DecodeRune). */
export function validUtf8Length(b: Uint8Array, i: number): number {
  const c0 = b[i] as number;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const v = b[i + k];
    return v !== undefined && v >= lo && v <= hi;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) return cont(1) ? 2 : 0;
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const lo = c0 === 0xe0 ? 0xa0 : 0x80;
    const hi = c0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const lo = c0 === 0xf0 ? 0x90 : 0x80;
    const hi = c0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// encoding/base64: StdEncoding.Decode, with Go's error offsets
// ---------------------------------------------------------------------------------------------

const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < BASE64_ALPHABET.length; i++) BASE64_DECODE[BASE64_ALPHABET.charCodeAt(i)] = i;

/**
 * Go's `base64.StdEncoding.Decode`: padding required, `\r` and `\n` skipped anywhere, and the error
 * offset Go reports ("illegal base64 data at input byte N"). It works one 4-character quantum at a time.
 *
 *   "Zm9v" → "foo"    "Zm9v\n" → "foo"    "Zm9" → byte 0 (quantum start)    "Zm9v!" → byte 4
 */
export function goBase64Decode(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let si = 0;
  const corrupt = (offset: number): GoJsonError => new GoJsonError(`illegal base64 data at input byte ${offset}`);
  while (si < src.length) {
    const quantum = [0, 0, 0, 0];
    let dlen = 4;
    let trailingError: number | undefined;
    let j = 0;
    for (; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return new Uint8Array(out);
        throw corrupt(si - j);
      }
      const input = src[si] as number;
      si++;
      const decoded = BASE64_DECODE[input] as number;
      if (decoded >= 0) {
        quantum[j] = decoded;
        continue;
      }
      if (input === 0x0a || input === 0x0d) {
        j--;
        continue;
      }
      if (input !== 0x3d /* = */) throw corrupt(si - 1);
      // Padding: the end of the input.
      if (j === 0 || j === 1) throw corrupt(si - 1);
      if (j === 2) {
        while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
        if (si === src.length) throw corrupt(src.length);
        if (src[si] !== 0x3d) throw corrupt(si - 1);
        si++;
      }
      while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si < src.length) trailingError = si;
      dlen = j;
      break;
    }
    const val = ((quantum[0] as number) << 18) | ((quantum[1] as number) << 12) | ((quantum[2] as number) << 6) | (quantum[3] as number);
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    for (let k = 0; k < dlen - 1; k++) out.push(bytes[k] as number);
    if (trailingError !== undefined) throw corrupt(trailingError);
  }
  return new Uint8Array(out);
}

// ---------------------------------------------------------------------------------------------
// encoding/json encode.go: strings, and strconv.Quote for messages built with %q
// ---------------------------------------------------------------------------------------------

const HEX = "0123456789abcdef";

/**
 * A JS string as `json.Marshal` writes a Go string (HTML-safe escaping, as Go's default):
 *   goJsonString('a"<b>') → "\"a\\\"\\u003cb\\u003e\""
 */
export function goJsonString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (cp === 0x22) out += '\\"';
    else if (cp === 0x5c) out += "\\\\";
    else if (cp === 0x0a) out += "\\n";
    else if (cp === 0x0d) out += "\\r";
    else if (cp === 0x09) out += "\\t";
    else if (cp < 0x20 || cp === 0x3c || cp === 0x3e || cp === 0x26) out += "\\u00" + HEX[cp >> 4] + HEX[cp & 0xf];
    else if (cp === 0x2028 || cp === 0x2029) out += "\\u" + cp.toString(16);
    else if (cp >= 0xd800 && cp < 0xe000) out += "\\ufffd"; // a lone surrogate: not valid UTF-8
    else out += ch;
  }
  return out + '"';
}

/**
 * Go's `strconv.Quote` for text that arrived as bytes (latin1 string, one char per byte), as `%q`
 * prints a `[]byte`: printable runes stay, others are escaped (`\n`, `\x00`, `\u0080`, `\ufffd` for bad UTF-8).
 */
export function goQuote(latin1Bytes: string): string {
  const bytes = Buffer.from(latin1Bytes, "latin1");
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i] as number;
    let rune: number;
    let size: number;
    if (c < 0x80) {
      rune = c;
      size = 1;
    } else {
      size = validUtf8Length(bytes, i);
      if (size === 0) {
        out += "\\x" + HEX[c >> 4] + HEX[c & 0xf];
        i++;
        continue;
      }
      rune = Buffer.from(bytes.subarray(i, i + size)).toString("utf8").codePointAt(0) as number;
    }
    i += size;
    out += quoteRune(rune);
  }
  return out + '"';
}

export function quoteRune(rune: number): string {
  const escapes: Record<number, string> = { 7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 0x5c: "\\\\", 0x22: '\\"' };
  const escaped = escapes[rune];
  if (escaped !== undefined) return escaped;
  if (rune >= 0x20 && rune < 0x7f) return String.fromCharCode(rune);
  if (rune < 0x20 || rune === 0x7f) return "\\x" + HEX[rune >> 4] + HEX[rune & 0xf];
  // Go's IsPrint: letters, marks, numbers, punctuation, symbols and U+0020.
  const ch = String.fromCodePoint(rune);
  if (/[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) return ch;
  if (rune < 0x10000) return "\\u" + rune.toString(16).padStart(4, "0");
  return "\\U" + rune.toString(16).padStart(8, "0");
}

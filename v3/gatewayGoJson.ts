/**
 * Mirrors Go's `encoding/json` (scanner.go, stream.go, decode.go) as far as etcd release-3.4's JSON
 * gateway (`etcdserver/etcdserverpb/gw/rpc.pb.gw.go`) exposes it; base64 and string escaping are in
 * gatewayGoText.ts.
 *
 * The gateway is a Go program: every request body goes through `json.Decoder`, every bytes field
 * through `base64.StdEncoding`, every string in an answer through `json.Marshal`. Their exact error
 * texts reach the client verbatim, so the simulator ports the parts a client can observe:
 *
 *   body `{bad`                 → "invalid character 'b' looking for beginning of object key string"
 *   body `{"key":"Zm9v"`        → "unexpected EOF"                 (the stream ended inside a value)
 *   body `` or `  `             → no error: an empty request (the gateway ignores io.EOF)
 *   key  "Zm9"                  → "illegal base64 data at input byte 0"   (the quantum's first byte)
 *   limit 1.5                   → "json: cannot unmarshal number 1.5 into Go value of type int64"
 *   an error text with `<`      → written as `\u003c` (Go escapes HTML characters in JSON strings)
 *
 * The scanner below is Go's state machine, one function per state, so the error for any byte at any
 * position is the one Go gives. Values are then read into `GoJsonValue` trees that keep each value's
 * raw text, because jsonpb looks at raw text (a quoted int64 has its quotes cut off, not unquoted).
 */
import { GoJsonError, quoteRune, validUtf8Length } from "./gatewayGoText.js";

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** A JSON value as Go's decoder sees it. `raw` is the exact source text of the value. */
export type GoJsonValue =
  | { readonly kind: "object"; readonly raw: string; readonly fields: ReadonlyMap<string, GoJsonValue> }
  | { readonly kind: "array"; readonly raw: string; readonly items: readonly GoJsonValue[] }
  | { readonly kind: "string"; readonly raw: string; readonly bytes: Uint8Array }
  | { readonly kind: "number"; readonly raw: string }
  | { readonly kind: "bool"; readonly raw: string; readonly value: boolean }
  | { readonly kind: "null"; readonly raw: string };

// ---------------------------------------------------------------------------------------------
// The scanner (encoding/json/scanner.go)
// ---------------------------------------------------------------------------------------------

const SCAN_CONTINUE = 0;
const SCAN_BEGIN_LITERAL = 1;
const SCAN_BEGIN_OBJECT = 2;
const SCAN_OBJECT_KEY = 3;
const SCAN_OBJECT_VALUE = 4;
const SCAN_END_OBJECT = 5;
const SCAN_BEGIN_ARRAY = 6;
const SCAN_ARRAY_VALUE = 7;
const SCAN_END_ARRAY = 8;
const SCAN_SKIP_SPACE = 9;
const SCAN_END = 10;
const SCAN_ERROR = 11;

const PARSE_OBJECT_KEY = 0;
const PARSE_OBJECT_VALUE = 1;
const PARSE_ARRAY_VALUE = 2;

/** Go's `maxNestingDepth`: deeper input fails with "exceeded max depth". */
const MAX_NESTING_DEPTH = 10_000;

type State = (s: Scanner, c: number) => number;

/** One pass of Go's JSON state machine. `err` is set once a byte is invalid. */
class Scanner {
  step: State = stateBeginValue;
  parseState: number[] = [];
  err: string | undefined = undefined;
  endTop = false;

  reset(): void {
    this.step = stateBeginValue;
    this.parseState = [];
    this.err = undefined;
    this.endTop = false;
  }

  /** The end of input: scanEnd if a value just completed, otherwise an error. */
  eof(): number {
    if (this.err !== undefined) return SCAN_ERROR;
    if (this.endTop) return SCAN_END;
    this.step(this, 0x20);
    if (this.endTop) return SCAN_END;
    if (this.err === undefined) this.err = "unexpected end of JSON input";
    return SCAN_ERROR;
  }

  pushParseState(c: number, newParseState: number, successState: number): number {
    this.parseState.push(newParseState);
    if (this.parseState.length <= MAX_NESTING_DEPTH) return successState;
    return this.error(c, "exceeded max depth");
  }

  popParseState(): void {
    this.parseState.pop();
    if (this.parseState.length === 0) {
      this.step = stateEndTop;
      this.endTop = true;
    } else {
      this.step = stateEndValue;
    }
  }

  error(c: number, context: string): number {
    this.step = stateError;
    this.err = `invalid character ${quoteChar(c)} ${context}`;
    return SCAN_ERROR;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function stateBeginValueOrEmpty(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  if (c === 0x5d /* ] */) return stateEndValue(s, c);
  return stateBeginValue(s, c);
}

function stateBeginValue(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  switch (c) {
    case 0x7b /* { */:
      s.step = stateBeginStringOrEmpty;
      return s.pushParseState(c, PARSE_OBJECT_KEY, SCAN_BEGIN_OBJECT);
    case 0x5b /* [ */:
      s.step = stateBeginValueOrEmpty;
      return s.pushParseState(c, PARSE_ARRAY_VALUE, SCAN_BEGIN_ARRAY);
    case 0x22 /* " */:
      s.step = stateInString;
      return SCAN_BEGIN_LITERAL;
    case 0x2d /* - */:
      s.step = stateNeg;
      return SCAN_BEGIN_LITERAL;
    case 0x30 /* 0 */:
      s.step = state0;
      return SCAN_BEGIN_LITERAL;
    case 0x74 /* t */:
      s.step = literalState("true", 1);
      return SCAN_BEGIN_LITERAL;
    case 0x66 /* f */:
      s.step = literalState("false", 1);
      return SCAN_BEGIN_LITERAL;
    case 0x6e /* n */:
      s.step = literalState("null", 1);
      return SCAN_BEGIN_LITERAL;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = state1;
    return SCAN_BEGIN_LITERAL;
  }
  return s.error(c, "looking for beginning of value");
}

function stateBeginStringOrEmpty(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  if (c === 0x7d /* } */) {
    s.parseState[s.parseState.length - 1] = PARSE_OBJECT_VALUE;
    return stateEndValue(s, c);
  }
  return stateBeginString(s, c);
}

function stateBeginString(s: Scanner, c: number): number {
  if (isSpace(c)) return SCAN_SKIP_SPACE;
  if (c === 0x22) {
    s.step = stateInString;
    return SCAN_BEGIN_LITERAL;
  }
  return s.error(c, "looking for beginning of object key string");
}

function stateEndValue(s: Scanner, c: number): number {
  const n = s.parseState.length;
  if (n === 0) {
    // The top-level value completed before this byte.
    s.step = stateEndTop;
    s.endTop = true;
    return stateEndTop(s, c);
  }
  if (isSpace(c)) {
    s.step = stateEndValue;
    return SCAN_SKIP_SPACE;
  }
  switch (s.parseState[n - 1]) {
    case PARSE_OBJECT_KEY:
      if (c === 0x3a /* : */) {
        s.parseState[n - 1] = PARSE_OBJECT_VALUE;
        s.step = stateBeginValue;
        return SCAN_OBJECT_KEY;
      }
      return s.error(c, "after object key");
    case PARSE_OBJECT_VALUE:
      if (c === 0x2c /* , */) {
        s.parseState[n - 1] = PARSE_OBJECT_KEY;
        s.step = stateBeginString;
        return SCAN_OBJECT_VALUE;
      }
      if (c === 0x7d) {
        s.popParseState();
        return SCAN_END_OBJECT;
      }
      return s.error(c, "after object key:value pair");
    case PARSE_ARRAY_VALUE:
      if (c === 0x2c) {
        s.step = stateBeginValue;
        return SCAN_ARRAY_VALUE;
      }
      if (c === 0x5d) {
        s.popParseState();
        return SCAN_END_ARRAY;
      }
      return s.error(c, "after array element");
  }
  return s.error(c, "");
}

/** Quirk kept from Go: the error is recorded, yet scanEnd is returned (a Decoder ignores it). */
function stateEndTop(s: Scanner, c: number): number {
  if (!isSpace(c)) s.error(c, "after top-level value");
  return SCAN_END;
}

function stateInString(s: Scanner, c: number): number {
  if (c === 0x22) {
    s.step = stateEndValue;
    return SCAN_CONTINUE;
  }
  if (c === 0x5c /* \ */) {
    s.step = stateInStringEsc;
    return SCAN_CONTINUE;
  }
  if (c < 0x20) return s.error(c, "in string literal");
  return SCAN_CONTINUE;
}

function stateInStringEsc(s: Scanner, c: number): number {
  if ("bfnrt\\/\"".includes(String.fromCharCode(c))) {
    s.step = stateInString;
    return SCAN_CONTINUE;
  }
  if (c === 0x75 /* u */) {
    s.step = hexEscapeState(4);
    return SCAN_CONTINUE;
  }
  return s.error(c, "in string escape code");
}

/** stateInStringEscU, …U1, …U12, …U123: `remaining` hex digits still expected. */
function hexEscapeState(remaining: number): State {
  return (s, c) => {
    if (!isHex(c)) return s.error(c, "in \\u hexadecimal character escape");
    s.step = remaining === 1 ? stateInString : hexEscapeState(remaining - 1);
    return SCAN_CONTINUE;
  };
}

function stateNeg(s: Scanner, c: number): number {
  if (c === 0x30) {
    s.step = state0;
    return SCAN_CONTINUE;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = state1;
    return SCAN_CONTINUE;
  }
  return s.error(c, "in numeric literal");
}

function state1(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = state1;
    return SCAN_CONTINUE;
  }
  return state0(s, c);
}

function state0(s: Scanner, c: number): number {
  if (c === 0x2e /* . */) {
    s.step = stateDot;
    return SCAN_CONTINUE;
  }
  if (c === 0x65 || c === 0x45) {
    s.step = stateE;
    return SCAN_CONTINUE;
  }
  return stateEndValue(s, c);
}

function stateDot(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = stateDot0;
    return SCAN_CONTINUE;
  }
  return s.error(c, "after decimal point in numeric literal");
}

function stateDot0(s: Scanner, c: number): number {
  if (isDigit(c)) return SCAN_CONTINUE;
  if (c === 0x65 || c === 0x45) {
    s.step = stateE;
    return SCAN_CONTINUE;
  }
  return stateEndValue(s, c);
}

function stateE(s: Scanner, c: number): number {
  if (c === 0x2b || c === 0x2d) {
    s.step = stateESign;
    return SCAN_CONTINUE;
  }
  return stateESign(s, c);
}

function stateESign(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = stateE0;
    return SCAN_CONTINUE;
  }
  return s.error(c, "in exponent of numeric literal");
}

function stateE0(s: Scanner, c: number): number {
  if (isDigit(c)) return SCAN_CONTINUE;
  return stateEndValue(s, c);
}

/** stateT, stateTr, stateTru (and the false/null chains): expects `word[index]` next. */
function literalState(word: string, index: number): State {
  return (s, c) => {
    const expected = word.charCodeAt(index);
    if (c !== expected) return s.error(c, `in literal ${word} (expecting '${word[index]}')`);
    s.step = index + 1 === word.length ? stateEndValue : literalState(word, index + 1);
    return SCAN_CONTINUE;
  };
}

function stateError(): number {
  return SCAN_ERROR;
}

/** Go's `quoteChar`: how a byte is shown inside "invalid character … ". */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  // Go quotes string(c): the byte taken as a rune, so 0xe9 shows as 'é'.
  return "'" + quoteRune(c) + "'";
}

// ---------------------------------------------------------------------------------------------
// The stream decoder (encoding/json/stream.go)
// ---------------------------------------------------------------------------------------------

/** What `GoJsonStream.next` found at the front of the unread input. */
export type StreamItem =
  | { readonly kind: "value"; readonly value: GoJsonValue }
  | { readonly kind: "eof" }
  | { readonly kind: "more" }
  | { readonly kind: "error"; readonly message: string };

/**
 * Go's `json.Decoder` over a body that may still be arriving: bytes are `push`ed as they come,
 * `end()` marks the end of the body, and `next()` returns one value at a time, in order.
 *
 *   push(`{"a":1}{"b"`)  next() → value {"a":1};  next() → more
 *   push(`:2}`); end()   next() → value {"b":2};  next() → eof
 *   a body ending inside a value gives "unexpected EOF"; after an error every next() repeats it.
 */
export class GoJsonStream {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private sticky: string | undefined = undefined;

  push(chunk: Uint8Array): void {
    this.buffer = this.buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buffer, chunk]);
  }

  end(): void {
    this.ended = true;
  }

  next(): StreamItem {
    if (this.sticky !== undefined) return { kind: "error", message: this.sticky };
    const scanner = new Scanner();
    const buf = this.buffer;
    let end = -1;
    for (let i = 0; i < buf.length; i++) {
      const code = scanner.step(scanner, buf[i] as number);
      if (code === SCAN_END) {
        end = i;
        break;
      }
      if (code === SCAN_END_OBJECT || code === SCAN_END_ARRAY) {
        // Go invents a space after a closing brace rather than block for one more byte.
        if (stateEndValue(scanner, 0x20) === SCAN_END) {
          end = i + 1;
          break;
        }
      }
      if (code === SCAN_ERROR) return this.fail(scanner.err ?? "invalid JSON");
    }
    if (end < 0) {
      if (!this.ended) return { kind: "more" };
      if (scanner.step(scanner, 0x20) === SCAN_END) end = buf.length;
      else if (buf.some((c) => !isSpace(c))) return this.fail("unexpected EOF");
      else return { kind: "eof" };
    }
    const text = buf.subarray(0, end);
    this.buffer = buf.subarray(end);
    return { kind: "value", value: parseValid(text) };
  }

  private fail(message: string): StreamItem {
    this.sticky = message;
    return { kind: "error", message };
  }
}

/**
 * Go's `checkValid` + `json.Unmarshal` front end for one self-contained text (used where jsonpb
 * re-parses a raw slice, e.g. a quoted int64 with its quotes cut off). Throws Go's syntax error.
 */
export function parseGoJson(text: string): GoJsonValue {
  const bytes = Buffer.from(text, "latin1");
  const scanner = new Scanner();
  for (const c of bytes) {
    if (scanner.step(scanner, c) === SCAN_ERROR) throw new GoJsonError(scanner.err ?? "invalid JSON");
  }
  if (scanner.eof() === SCAN_ERROR) throw new GoJsonError(scanner.err ?? "invalid JSON");
  return parseValid(bytes);
}

/** Builds the tree of a text the scanner already accepted. Keys decode like Go's map keys; the last duplicate wins. */
function parseValid(bytes: Uint8Array): GoJsonValue {
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < bytes.length && isSpace(bytes[pos] as number)) pos++;
  };
  const rawOf = (start: number): string => Buffer.from(bytes.subarray(start, pos)).toString("latin1");
  const value = (): GoJsonValue => {
    skipSpace();
    const start = pos;
    const c = bytes[pos] as number;
    if (c === 0x7b) {
      pos++;
      const fields = new Map<string, GoJsonValue>();
      skipSpace();
      if (bytes[pos] === 0x7d) {
        pos++;
        return { kind: "object", raw: rawOf(start), fields };
      }
      for (;;) {
        skipSpace();
        const key = string();
        skipSpace();
        pos++; // ':'
        const item = value();
        fields.delete(key.text);
        fields.set(key.text, item);
        skipSpace();
        if (bytes[pos++] === 0x7d) break; // '}' (else ',')
      }
      return { kind: "object", raw: rawOf(start), fields };
    }
    if (c === 0x5b) {
      pos++;
      const items: GoJsonValue[] = [];
      skipSpace();
      if (bytes[pos] === 0x5d) {
        pos++;
        return { kind: "array", raw: rawOf(start), items };
      }
      for (;;) {
        items.push(value());
        skipSpace();
        if (bytes[pos++] === 0x5d) break;
      }
      return { kind: "array", raw: rawOf(start), items };
    }
    if (c === 0x22) {
      const s = string();
      return { kind: "string", raw: rawOf(start), bytes: s.bytes };
    }
    if (c === 0x74 || c === 0x66) {
      pos += c === 0x74 ? 4 : 5;
      return { kind: "bool", raw: rawOf(start), value: c === 0x74 };
    }
    if (c === 0x6e) {
      pos += 4;
      return { kind: "null", raw: rawOf(start) };
    }
    while (pos < bytes.length && /[-+.eE0-9]/.test(String.fromCharCode(bytes[pos] as number))) pos++;
    return { kind: "number", raw: rawOf(start) };
  };
  const string = (): { text: string; bytes: Uint8Array } => {
    const start = pos;
    pos++;
    while (bytes[pos] !== 0x22) pos += bytes[pos] === 0x5c ? 2 : 1;
    pos++;
    const decoded = goUnquote(bytes.subarray(start + 1, pos - 1));
    return { text: Buffer.from(decoded).toString("utf8"), bytes: decoded };
  };
  return value();
}

/**
 * Go's `unquoteBytes`: resolves escapes; a bad surrogate or an invalid UTF-8 byte becomes U+FFFD.
 *   goUnquote(`a\u00e9`) → bytes of "aé"
 */
function goUnquote(body: Uint8Array): Uint8Array {
  const out: number[] = [];
  const pushRune = (rune: number): void => {
    for (const b of Buffer.from(String.fromCodePoint(rune), "utf8")) out.push(b);
  };
  const hex4 = (at: number): number => parseInt(Buffer.from(body.subarray(at, at + 4)).toString("latin1"), 16);
  let i = 0;
  while (i < body.length) {
    const c = body[i] as number;
    if (c === 0x5c) {
      const e = body[i + 1] as number;
      const simple: Record<number, number> = { 0x62: 8, 0x66: 12, 0x6e: 10, 0x72: 13, 0x74: 9, 0x5c: 0x5c, 0x2f: 0x2f, 0x22: 0x22 };
      const mapped = simple[e];
      if (mapped !== undefined) {
        out.push(mapped);
        i += 2;
        continue;
      }
      // \uXXXX, possibly a surrogate pair
      let rune = hex4(i + 2);
      i += 6;
      if (rune >= 0xd800 && rune < 0xe000) {
        if (rune < 0xdc00 && body[i] === 0x5c && body[i + 1] === 0x75) {
          const low = hex4(i + 2);
          if (low >= 0xdc00 && low < 0xe000) {
            rune = 0x10000 + ((rune - 0xd800) << 10) + (low - 0xdc00);
            i += 6;
            pushRune(rune);
            continue;
          }
        }
        rune = 0xfffd;
      }
      pushRune(rune);
      continue;
    }
    if (c < 0x80) {
      out.push(c);
      i++;
      continue;
    }
    const size = validUtf8Length(body, i);
    if (size === 0) {
      pushRune(0xfffd);
      i++;
    } else {
      for (let k = 0; k < size; k++) out.push(body[i + k] as number);
      i += size;
    }
  }
  return new Uint8Array(out);
}

/**
 * Mirrors Go's `net/http` `Request.ParseForm` and `net/url` `ParseQuery`/`QueryUnescape` as etcd
 * release-3.4 `etcdserver/api/v2http/client.go` meets them: `parseKeyRequest` calls `r.ParseForm()`
 * before it looks at a single parameter, so every v2 request is first a Go form.
 *
 * What a student sees through it: a PUT or POST reads an `application/x-www-form-urlencoded` body and
 * then the query, so the body's value comes first and wins; GET, HEAD and DELETE bodies are never read;
 * a bad escape or a `;` separator is an error (etcd answers 210 with Go's text as the cause).
 *
 *   PUT /v2/keys/k?value=q   body value=b&value=c   →  { value: ["b", "c", "q"] }   FormValue → "b"
 *   GET /v2/keys/k?a=%zz                            →  error `invalid URL escape "%zz"`
 */
import type { IncomingMessage } from "node:http";

/** Go's `maxFormSize`: a form body larger than 10 MB is refused. */
const MAX_FORM_SIZE_BYTES = 10 << 20;

/** Parameters by name, every value kept in order (Go's `url.Values`). */
export type FormValues = ReadonlyMap<string, readonly string[]>;

/**
 * Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; a bad escape is an error message. The input
 * is a byte string (one char per byte, as Node hands over the request line); the output is UTF-8 text.
 */
function queryUnescape(text: string): string | { error: string } {
  const bad = /%(?![0-9A-Fa-f]{2})/.exec(text);
  if (bad !== null) return { error: `invalid URL escape ${JSON.stringify(text.slice(bad.index, bad.index + 3))}` };
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === "%") {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === "+") bytes.push(0x20);
    else bytes.push(c.charCodeAt(0) & 0xff); // the text holds raw bytes, one per char (latin1)
  }
  return Buffer.from(bytes).toString("utf8");
}

/**
 * Go's `url.ParseQuery`: pairs split on `&`; a pair holding `;` is an error (Go 1.17+), and so is a bad
 * escape. Parsing goes on after an error, keeping the good pairs; the error reported is the first
 * escape error, or the last semicolon error, exactly as Go keeps them.
 *
 *   "a=1&b=%zz"  →  { a: ["1"] }, error `invalid URL escape "%zz"`
 *   "x=1;y=2"    →  { },          error `invalid semicolon separator in query`
 */
export function parseQuery(query: string, into: Map<string, string[]>): string | undefined {
  let error: string | undefined;
  for (const pair of query.split("&")) {
    if (pair.includes(";")) {
      error = "invalid semicolon separator in query";
      continue;
    }
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    const key = queryUnescape(equals < 0 ? pair : pair.slice(0, equals));
    if (typeof key !== "string") {
      error ??= key.error;
      continue;
    }
    const value = queryUnescape(equals < 0 ? "" : pair.slice(equals + 1));
    if (typeof value !== "string") {
      error ??= value.error;
      continue;
    }
    const list = into.get(key);
    if (list === undefined) into.set(key, [value]);
    else list.push(value);
  }
  return error;
}

/** Go's `mime.ParseMediaType`, main type only: the lower-cased `type/subtype`, or an error text. */
function mediaType(contentType: string): string | { error: string } {
  const main = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  if (main === "") return { error: "mime: no media type" };
  if (!/^[^\s/]+\/[^\s/]+$/.test(main)) return { error: "mime: expected slash after first token" };
  return main;
}

/**
 * Go's `Request.ParseForm`: for PUT, POST and PATCH an `application/x-www-form-urlencoded` body is
 * read first, then the query string is added after it, so a body value comes first and wins with
 * `FormValue`. GET, HEAD and DELETE bodies are never read (`DELETE` with body `prevValue=x` is a plain
 * delete). The first error found is kept, body errors before query errors.
 */
export async function parseForm(req: IncomingMessage, rawQuery: string): Promise<{ values: FormValues; error: string | undefined }> {
  const values = new Map<string, string[]>();
  let error: string | undefined;
  const method = req.method ?? "GET";
  if (method === "POST" || method === "PUT" || method === "PATCH") {
    const type = mediaType(req.headers["content-type"] ?? "application/octet-stream");
    if (typeof type !== "string") error = type.error;
    else if (type === "application/x-www-form-urlencoded") {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_FORM_SIZE_BYTES) break;
        chunks.push(chunk);
      }
      if (size > MAX_FORM_SIZE_BYTES) error = "http: POST too large";
      else error = parseQuery(Buffer.concat(chunks).toString("latin1"), values);
    }
  }
  const queryValues = new Map<string, string[]>();
  const queryError = parseQuery(rawQuery, queryValues);
  error ??= queryError;
  for (const [key, list] of queryValues) values.set(key, [...(values.get(key) ?? []), ...list]);
  return { values, error };
}

/** The first value of a parameter, "" when absent (Go's `FormValue`). */
export function formValue(form: FormValues, name: string): string {
  return form.get(name)?.[0] ?? "";
}

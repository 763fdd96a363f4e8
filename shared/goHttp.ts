/**
 * Mirrors the parts of Go's `net/http` (`server.go`: ServeMux, Error, NotFound, Redirect, body
 * framing; `header.go`: sorted, canonical header lines) that etcd's client port inherits, so answers
 * look like etcd's byte for byte. It is the one place for them: the v2 handler, the v3 gateway and
 * the server all write through it (which is why it sits in shared/, below both stores).
 *
 * etcd does not write these answers itself; Go does, before or around etcd's handlers:
 *   - a request target with a bad escape (`/v2/keys/%zz`) is refused by the server: 400, connection closed;
 *   - the mux cleans the path and answers **301** with `Location: <clean path>?<query>` when it changed:
 *       GET /v2/keys/a/../b?x=1   →  301  Location: /v2/keys/b?x=1
 *       body (GET only)              <a href="/v2/keys/b?x=1">Moved Permanently</a>.\n\n
 *     A trailing slash is not "unclean": `/v2/keys/a/` reaches the handler as is.
 *   - a path no handler claims gets `404 page not found\n` as text/plain;
 *   - a body of at most 2048 bytes written in one go gets `Content-Length`; a longer one is sent
 *     chunked (Go buffers 2048 bytes before it has to commit to a framing).
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** Go's response buffer size: bodies up to this many bytes get a Content-Length header. */
export const GO_BUFFER_BEFORE_CHUNKING_BYTES = 2048;

/** The exact text Go's server sends for a request it cannot parse, before closing the connection. */
export const GO_BAD_REQUEST_RESPONSE =
  "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request";

/** A request target split the way Go's `url.ParseRequestURI` splits it. */
export interface RequestTarget {
  /** The percent-decoded path (`r.URL.Path`). */
  readonly path: string;
  /** The query exactly as sent, without `?` (`r.URL.RawQuery`). */
  readonly rawQuery: string;
}

/**
 * Splits and decodes `req.url`. Returns undefined when Go would refuse it (a bad `%` escape).
 * Decoding follows Go's path mode: `%2F` becomes `/`, `+` stays `+`.
 *
 *   parseRequestTarget("/v2/keys/sp%20ace?x=1")  →  { path: "/v2/keys/sp ace", rawQuery: "x=1" }
 *   parseRequestTarget("/v2/keys/%zz")           →  undefined
 */
export function parseRequestTarget(url: string): RequestTarget | undefined {
  const question = url.indexOf("?");
  const rawPath = question < 0 ? url : url.slice(0, question);
  const rawQuery = question < 0 ? "" : url.slice(question + 1);
  if (!/^(?:[^%]|%[0-9A-Fa-f]{2})*$/.test(rawPath)) return undefined;
  try {
    return { path: decodeURIComponent(rawPath), rawQuery };
  } catch {
    // Valid escapes that do not form UTF-8: keep the bytes as Latin-1 rather than refusing them.
    return { path: unescape(rawPath), rawQuery };
  }
}

/**
 * Go's `path.Clean`: the shortest equivalent path, rooted paths only.
 *
 *   cleanPath("/a//b/./c/..")  →  "/a/b"        cleanPath("/..")  →  "/"
 */
export function pathClean(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

/**
 * ServeMux's `cleanPath`: `path.Clean`, but a trailing slash survives.
 *
 *   muxCleanPath("/v2/keys/a/")       →  "/v2/keys/a/"
 *   muxCleanPath("/v2/keys//a/./")    →  "/v2/keys/a/"
 */
export function muxCleanPath(path: string): string {
  if (path === "") return "/";
  const rooted = path.startsWith("/") ? path : "/" + path;
  let clean = pathClean(rooted);
  if (rooted.endsWith("/") && clean !== "/") clean += "/";
  return clean;
}

/** Go's path escaping (`url.PathEscape` minus `/`): unreserved characters and `$&+,/:;=@` stay. */
export function escapeGoPath(path: string): string {
  let out = "";
  for (const byte of Buffer.from(path, "utf8")) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~$&+,/:;=@]/.test(c)) out += c;
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Go's `htmlEscape` used in redirect bodies. */
function htmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;" })[c] ?? c);
}

/** Go's `CanonicalMIMEHeaderKey`: "x-etcd-cluster-id" → "X-Etcd-Cluster-Id". */
function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/**
 * Re-adds the headers sorted and canonically cased, as Go's `Header.Write` puts them on the wire
 * (Node keeps the order they were set in).
 *
 *   set X-Etcd-Index, Content-Type  →  "Content-Type: …\r\nX-Etcd-Index: …"
 */
export function sortHeadersLikeGo(res: ServerResponse): void {
  const names = res.getHeaderNames().sort();
  const values = names.map((name) => [canonicalHeaderName(name), res.getHeader(name)] as const);
  for (const name of names) res.removeHeader(name);
  for (const [name, value] of values) if (value !== undefined) res.setHeader(name, value);
}

/**
 * Writes a complete body the way Go frames it: Content-Length for at most 2048 bytes, chunked above,
 * headers sorted. For HEAD the length is still announced but no body is sent (Go "eats" the write).
 *
 *   writeGoBody(req, res, 200, "ok\n")        →  Content-Length: 3
 *   writeGoBody(req, res, 200, 3000 bytes)    →  Transfer-Encoding: chunked
 */
export function writeGoBody(req: IncomingMessage, res: ServerResponse, status: number, body: string): void {
  const bytes = Buffer.from(body, "utf8");
  if (bytes.length <= GO_BUFFER_BEFORE_CHUNKING_BYTES) {
    if (req.method !== "HEAD" || bytes.length > 0) res.setHeader("Content-Length", String(bytes.length));
    sortHeadersLikeGo(res);
    res.writeHead(status);
    res.end(req.method === "HEAD" ? undefined : bytes);
    return;
  }
  sortHeadersLikeGo(res);
  res.writeHead(status);
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  // Writing before end() makes Node choose chunked framing, as Go does past its buffer.
  res.write(bytes);
  res.end();
}

/** Go's `http.Error`: text/plain, nosniff, the text and a newline. */
export function writeGoError(req: IncomingMessage, res: ServerResponse, text: string, status: number): void {
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("X-Content-Type-Options", "nosniff");
  writeGoBody(req, res, status, text + "\n");
}

/** Go's `http.NotFound`. */
export function writeNotFound(req: IncomingMessage, res: ServerResponse): void {
  writeGoError(req, res, "404 page not found", 404);
}

/**
 * Go's `http.Redirect(w, r, url, 301)` as ServeMux calls it for an unclean path. Only GET and HEAD get
 * a Content-Type, and only GET gets the small HTML body.
 */
export function writeMovedPermanently(req: IncomingMessage, res: ServerResponse, cleanPath: string, rawQuery: string): void {
  const location = escapeGoPath(cleanPath) + (rawQuery === "" ? "" : "?" + rawQuery);
  res.setHeader("Location", location);
  if (req.method === "GET" || req.method === "HEAD") res.setHeader("Content-Type", "text/html; charset=utf-8");
  const body = req.method === "GET" ? `<a href="${htmlEscape(location)}">Moved Permanently</a>.\n\n` : "";
  writeGoBody(req, res, 301, body);
}

/** etcd's `allowMethod`: 405 with `Allow: A,B,C` unless the method is listed. True when allowed. */
export function allowMethod(req: IncomingMessage, res: ServerResponse, ...methods: string[]): boolean {
  if (methods.includes(req.method ?? "")) return true;
  res.setHeader("Allow", methods.join(","));
  writeGoError(req, res, "Method Not Allowed", 405);
  return false;
}

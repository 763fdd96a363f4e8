/**
 * Mirrors etcd release-3.4 `embed/serve.go` (the client listener's HTTP side): one server on one port,
 * a CORS wrapper, Go's ServeMux path cleaning, then a list of handlers tried in order.
 *
 * In etcd the client URL serves v2 (`/v2/keys`, `/v2/members`, …), the basics (`/version`, `/health`)
 * and the v3 JSON gateway (`/v3/…`) on one port. etcdsim does the same: `handlers` is that list, and
 * each handler answers `true` when it took the request. A request walks through:
 *
 *   1. a target Go cannot parse (`/v2/keys/%zz`)        → 400, connection closed (Go's server does this);
 *      `OPTIONS *` → 200 and any other `*` → 400, also answered by Go itself
 *   2. CORS headers on every answer; OPTIONS            → 200, empty (etcd's default `--cors=*`)
 *   3. an unclean path (`//`, `/./`, `/../`)            → 301 to the clean path (Go's ServeMux);
 *      `/v3`                                             → 301 to `/v3/` (a subtree pattern's bare path)
 *   4. handlers[0], handlers[1], … until one says true
 *   5. nobody took it                                    → 404 `404 page not found`
 *
 * A handler that throws gets a 500 and the server keeps serving: nothing a client sends may stop it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import {
  GO_BAD_REQUEST_RESPONSE,
  muxCleanPath,
  parseRequestTarget,
  writeGoError,
  writeMovedPermanently,
  writeNotFound,
} from "../shared/goHttp.js";

/**
 * One mounted API: answers the request and returns true, or returns false to let the next one try.
 * A handler may keep answering asynchronously after returning true (a watch does); it must then catch
 * its own asynchronous failures.
 */
export type Handler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The CORS headers etcd 3.4 sends by default (`--cors` unset means every origin). */
export const DEFAULT_CORS_HEADERS: Readonly<Record<string, string>> = {
  "Access-Control-Allow-Headers": "accept, content-type, authorization",
  "Access-Control-Allow-Methods": "POST, GET, OPTIONS, PUT, DELETE",
  "Access-Control-Allow-Origin": "*",
};

/**
 * Subtree patterns registered on etcd's client mux without their slash-less twin. Go's ServeMux
 * redirects the bare path to the pattern: `GET /v3` → 301 `Location: /v3/` (the JSON gateway's mount).
 * `/v2/keys/` and `/v2/members/` are also registered bare, so they do not redirect.
 */
export const SUBTREE_PATTERNS: readonly string[] = ["/v3/"];

/** Answers 500 if nothing was sent yet, otherwise cuts the connection; logs either way. */
export function answerInternalError(res: ServerResponse, error: unknown): void {
  process.stderr.write(`etcdsim: handler failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  if (!res.headersSent) {
    try {
      writeGoError(res.req, res, "Internal Server Error", 500);
      return;
    } catch {
      // fall through to cutting the connection
    }
  }
  res.destroy();
}

/** Steps 1-5 above for one request. */
export function route(handlers: readonly Handler[], req: IncomingMessage, res: ServerResponse): void {
  // A proxy-style absolute target ("GET http://host:2379/v2/keys/a") means its path, as in Go.
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i.exec(req.url ?? "");
  if (absolute !== null) req.url = (req.url ?? "").slice(absolute[0].length) || "/";
  if (req.url === "*") {
    // Go answers "OPTIONS *" itself, before any handler (no CORS headers); the mux refuses any other "*".
    if (req.method === "OPTIONS") {
      res.setHeader("Content-Length", "0");
      res.writeHead(200);
      res.end();
      return;
    }
    for (const [name, value] of Object.entries(DEFAULT_CORS_HEADERS)) res.setHeader(name, value);
    res.setHeader("Connection", "close");
    res.setHeader("Content-Length", "0");
    res.writeHead(400);
    res.end();
    return;
  }
  const target = (req.url ?? "").startsWith("/") ? parseRequestTarget(req.url ?? "/") : undefined;
  if (target === undefined) {
    // Go refuses the request before any handler runs: no CORS headers, connection closed.
    const socket: Socket = req.socket;
    socket.end(GO_BAD_REQUEST_RESPONSE);
    return;
  }
  for (const [name, value] of Object.entries(DEFAULT_CORS_HEADERS)) res.setHeader(name, value);
  if (req.method === "OPTIONS") {
    res.setHeader("Content-Length", "0");
    res.writeHead(200);
    res.end();
    return;
  }
  const clean = muxCleanPath(target.path);
  if (req.method !== "CONNECT" && SUBTREE_PATTERNS.includes(clean + "/")) {
    writeMovedPermanently(req, res, clean + "/", target.rawQuery);
    return;
  }
  if (clean !== target.path && req.method !== "CONNECT") {
    writeMovedPermanently(req, res, clean, target.rawQuery);
    return;
  }
  for (const handler of handlers) {
    if (handler(req, res)) return;
  }
  writeNotFound(req, res);
}

/**
 * Sees each request before it is routed (the classroom view's request log). It may read the method,
 * target and headers and listen for the response's end; it must not read the body or write.
 */
export type RequestObserver = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * An HTTP server that routes every request through `handlers` (each seen first by `observe`, if given). Handler exceptions become 500s;
 * malformed requests get Go's own 400. The caller listens on it.
 */
export function createEtcdHttpServer(handlers: readonly Handler[], observe?: RequestObserver): Server {
  const server = createServer((req, res) => {
    try {
      observe?.(req, res);
      route(handlers, req, res);
    } catch (error) {
      answerInternalError(res, error);
    }
  });
  server.on("clientError", (_error, socket: Socket) => {
    if (socket.writable) socket.end(GO_BAD_REQUEST_RESPONSE);
    else socket.destroy();
  });
  return server;
}

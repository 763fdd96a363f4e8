/**
 * Mirrors etcd release-3.4 `etcdserver/etcdserverpb/gw/rpc.pb.gw.go` (the grpc-gateway routes) and the
 * unary handlers of `etcdserver/api/v3rpc` (`key.go`, `lease.go`, `maintenance.go`): the v3 JSON API on
 * the client port. Every route is a POST whose body is the JSON form of an `rpc.ts` request.
 *
 *   POST /v3/kv/range        RangeRequest        → RangeResponse
 *   POST /v3/kv/put          PutRequest          → PutResponse
 *   POST /v3/kv/deleterange  DeleteRangeRequest  → DeleteRangeResponse
 *   POST /v3/kv/txn          TxnRequest          → TxnResponse
 *   POST /v3/kv/compaction   CompactionRequest   → CompactionResponse
 *   POST /v3/lease/grant | revoke | timetolive | leases     (also under /v3/kv/lease/ for the last three)
 *   POST /v3/lease/keepalive                   a stream (see gatewayStream.ts)
 *   POST /v3/watch                             a stream (see gatewayStream.ts, watchServer.ts)
 *   POST /v3/maintenance/status
 *   /v3beta/… is rewritten to /v3/… before routing; /v3alpha/… is not served (`404 page not found`).
 *
 * Answers, byte for byte as etcd 3.4.23 writes them:
 *   success           200, `Content-Type: application/json`, `Grpc-Metadata-Content-Type: application/grpc`,
 *                     the JSON body with no trailing newline (chunked past 2048 bytes, as Go frames it)
 *   rejected by etcd  HTTP status of the gRPC code (3 → 400, 5 → 404, 9 → 412, 11 → 400, …),
 *                     `{"error":m,"message":m,"code":c}`, chunked, with a `Grpc-Trailer-Content-Type` trailer
 *   bad JSON/base64   400 with Go's decoder message and code 3, Content-Length, no trailer (never reached etcd)
 *   unknown /v3 path  404 `Not Found`;  a method other than POST on a route → 405 `Method Not Allowed`
 *
 *   POST /v3/kv/put {"key":"Zm9v","value":"YmFy"}
 *     → 200 {"header":{"cluster_id":"…","member_id":"…","revision":"2","raft_term":"2"}}
 *   POST /v3/kv/range {"key":""}
 *     → 400 {"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}
 *
 * Bad input changes nothing: a request is fully decoded before the server sees it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { GoJsonStream, type StreamItem } from "./gatewayGoJson.js";
import { GoJsonError } from "./gatewayGoText.js";
import {
  decodeRequest,
  encodeCompactionResponse,
  encodeDeleteRangeResponse,
  encodeErrorBody,
  encodeLeaseGrantResponse,
  encodeLeaseKeepAliveResponse,
  encodeLeaseLeasesResponse,
  encodeLeaseRevokeResponse,
  encodeLeaseTimeToLiveResponse,
  encodePutResponse,
  encodeRangeResponse,
  encodeStatusResponse,
  encodeTxnResponse,
  encodeWatchResponse,
  NilMessageInListPanic,
  type RequestTypes,
} from "./gatewayJson.js";
import { grpcReceiveLimitError } from "./gatewayLimits.js";
import { GO_BUFFER_BEFORE_CHUNKING_BYTES, writeGoError } from "../shared/goHttp.js";
import { connectionWillClose, serveStream, type StreamSession, type StreamSink } from "./gatewayStream.js";
import { InvariantViolation, RpcError, toRpcError, GrpcCode } from "./errors.js";
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchResponse,
} from "./rpc.js";

/**
 * One open Watch stream on the server (etcd: `serverWatchStream`, see watchServer.ts). Opened
 * without auto-pumping: event responses wait in the stream's channel (`watchStream.ch`, 128 slots)
 * until the gateway pumps them, which it does only while the HTTP client keeps reading.
 */
export interface WatchSession {
  recv(request: WatchRequest): void;
  close(): void;
  /** Moves up to `max` event responses from the channel to `onResponse`; returns how many moved. */
  pump(max?: number): number;
  readonly watchStream: { readonly ch: { onSend: (() => void) | undefined } };
}

/**
 * What the gateway needs from the v3 server: the unary RPCs, and a way to open a watch stream.
 * Each method throws an `RpcError` (or a sentinel that `toRpcError` converts) to refuse a request.
 */
export interface V3Api {
  range(request: RangeRequest): RangeResponse;
  put(request: PutRequest): PutResponse;
  deleteRange(request: DeleteRangeRequest): DeleteRangeResponse;
  txn(request: TxnRequest): TxnResponse;
  compact(request: CompactionRequest): CompactionResponse;
  leaseGrant(request: LeaseGrantRequest): LeaseGrantResponse;
  leaseRevoke(request: LeaseRevokeRequest): LeaseRevokeResponse;
  /** One keep-alive; an unknown lease answers TTL 0 (etcd's LeaseServer turns not-found into TTL 0). */
  leaseKeepAlive(request: LeaseKeepAliveRequest): LeaseKeepAliveResponse;
  leaseTimeToLive(request: LeaseTimeToLiveRequest): LeaseTimeToLiveResponse;
  leaseLeases(): LeaseLeasesResponse;
  status(): StatusResponse;
  /** Opens a watch stream whose responses go to `onResponse`, in order (events only when pumped). */
  watch(onResponse: (response: WatchResponse) => void, options: { autoPump: boolean }): WatchSession;
}

/** A unary route: the body's first JSON item in, the encoded answer out (or a thrown error). */
type Unary = (api: V3Api, item: StreamItem) => string;

/** A unary route: decode the request, call the server, encode the answer. */
function unary<K extends keyof RequestTypes>(requestType: K, call: (api: V3Api, request: RequestTypes[K]) => string): Unary {
  return (api, item) => {
    if (item.kind === "error") throw new GoJsonError(item.message);
    const request = decodeRequest(requestType, item.kind === "value" ? item.value : undefined);
    // Past this point the request has reached gRPC: errors are statuses, sent with trailers.
    const tooLarge = grpcReceiveLimitError(requestType, request);
    if (tooLarge !== undefined) throw tooLarge;
    return call(api, request);
  };
}

/** The unary routes, by path under /v3. */
const UNARY_ROUTES: ReadonlyMap<string, Unary> = new Map<string, Unary>([
  ["/v3/kv/range", unary("RangeRequest", (api, r) => encodeRangeResponse(api.range(r)))],
  ["/v3/kv/put", unary("PutRequest", (api, r) => encodePutResponse(api.put(r)))],
  ["/v3/kv/deleterange", unary("DeleteRangeRequest", (api, r) => encodeDeleteRangeResponse(api.deleteRange(r)))],
  ["/v3/kv/txn", unary("TxnRequest", (api, r) => encodeTxnResponse(api.txn(r)))],
  ["/v3/kv/compaction", unary("CompactionRequest", (api, r) => encodeCompactionResponse(api.compact(r)))],
  ["/v3/lease/grant", unary("LeaseGrantRequest", (api, r) => encodeLeaseGrantResponse(api.leaseGrant(r)))],
  ["/v3/lease/revoke", unary("LeaseRevokeRequest", (api, r) => encodeLeaseRevokeResponse(api.leaseRevoke(r)))],
  ["/v3/kv/lease/revoke", unary("LeaseRevokeRequest", (api, r) => encodeLeaseRevokeResponse(api.leaseRevoke(r)))],
  ["/v3/lease/timetolive", unary("LeaseTimeToLiveRequest", (api, r) => encodeLeaseTimeToLiveResponse(api.leaseTimeToLive(r)))],
  ["/v3/kv/lease/timetolive", unary("LeaseTimeToLiveRequest", (api, r) => encodeLeaseTimeToLiveResponse(api.leaseTimeToLive(r)))],
  ["/v3/lease/leases", unary("LeaseLeasesRequest", (api) => encodeLeaseLeasesResponse(api.leaseLeases()))],
  ["/v3/kv/lease/leases", unary("LeaseLeasesRequest", (api) => encodeLeaseLeasesResponse(api.leaseLeases()))],
  ["/v3/maintenance/status", unary("StatusRequest", (api) => encodeStatusResponse(api.status()))],
]);

const STREAM_ROUTES: ReadonlySet<string> = new Set(["/v3/watch", "/v3/lease/keepalive"]);

/**
 * The v3 gateway as a server handler: returns true when it took the request (every path under
 * /v3/ and /v3beta/), false otherwise. The bare `/v3` is the mux's business (server.ts: a 301 to
 * the `/v3/` subtree), as it is Go's ServeMux's in etcd.
 */
export function createV3Gateway(api: V3Api): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const url = req.url ?? "/";
    const question = url.indexOf("?");
    let path = question < 0 ? url : url.slice(0, question);
    try {
      path = decodeURIComponent(path);
    } catch {
      return false;
    }
    // etcd 3.4 serves the v3beta API by rewriting its prefix before routing.
    if (path.startsWith("/v3beta/")) path = "/v3/" + path.slice("/v3beta/".length);
    if (!path.startsWith("/v3/")) return false;

    const route = UNARY_ROUTES.get(path);
    const isStream = STREAM_ROUTES.has(path);
    if (route === undefined && !isStream) {
      writeGoError(req, res, "Not Found", 404);
      return true;
    }
    if (req.method !== "POST") {
      writeGoError(req, res, "Method Not Allowed", 405);
      return true;
    }
    if (path === "/v3/watch") serveStream(req, res, "WatchRequest", (sink) => openWatch(api, sink));
    else if (path === "/v3/lease/keepalive") serveStream(req, res, "LeaseKeepAliveRequest", (sink) => openKeepAlive(api, sink));
    else if (route !== undefined) serveUnary(api, route, req, res);
    return true;
  };
}

/**
 * Decodes the first JSON value of the body as soon as it is complete and runs the request then
 * (grpc-gateway decodes one value and ignores the rest). The answer goes out at once when the
 * connection will close, otherwise once the body has ended (Go's server reads the rest of the
 * body before it answers on a connection it may reuse; see gatewayStream.ts).
 */
function serveUnary(api: V3Api, route: Unary, req: IncomingMessage, res: ServerResponse): void {
  const body = new GoJsonStream();
  const early = connectionWillClose(req);
  let answer: (() => void) | undefined;
  let bodyEnded = false;
  const step = (): void => {
    if (answer === undefined) {
      const item = body.next();
      if (item.kind === "more") return;
      answer = runUnary(api, route, item, res);
    }
    if (bodyEnded || early) {
      const write = answer;
      answer = () => {};
      write();
    }
  };
  req.on("data", (chunk: Buffer) => {
    if (answer !== undefined) return; // the rest of the body is never read
    body.push(chunk);
    step();
  });
  req.on("end", () => {
    bodyEnded = true;
    body.end();
    step();
  });
}

/** Runs one decoded request now; returns the function that writes its answer. */
function runUnary(api: V3Api, route: Unary, item: StreamItem, res: ServerResponse): () => void {
  try {
    const json = route(api, item);
    return () => writeJson(res, 200, json, { "Grpc-Metadata-Content-Type": "application/grpc" });
  } catch (error) {
    if (error instanceof GoJsonError) {
      const json = encodeErrorBody(GrpcCode.InvalidArgument, error.message);
      return () => writeJson(res, 400, json, {});
    }
    // Go's net/http after a handler panic: no answer, connection closed.
    if (error instanceof NilMessageInListPanic) return () => res.destroy();
    // A broken invariant is etcd's panic too: logged, never an answer.
    if (error instanceof InvariantViolation) {
      process.stderr.write(`etcdsim: broken invariant in /v3: ${error.stack ?? error.message}\n`);
      return () => res.destroy();
    }
    const rpcError = toRpcError(error);
    return () => writeRpcError(res, rpcError);
  }
}

/**
 * The watch stream: each decoded request goes to the server's stream, each response comes back as
 * a line. Control answers (created, canceled, progress) go out at once; event responses are pumped
 * out of the channel one at a time while the client keeps reading (etcd's sendLoop blocked on a
 * full gRPC window), so a client that stops reading fills the channel and makes victims.
 */
function openWatch(api: V3Api, sink: StreamSink): StreamSession<WatchRequest> {
  const session = api.watch((response) => sink.send(encodeWatchResponse(response)), { autoPump: false });
  const pump = (): void => {
    while (sink.writable() && session.pump(1) > 0) {
      // one response per turn, re-checking the client's buffer each time
    }
  };
  session.watchStream.ch.onSend = pump;
  sink.onWritable(pump);
  return {
    recv: (request) => session.recv(request),
    // etcd's recvLoop returns on EOF and the stream stays open for events: nothing to do.
    closeSend: () => {},
    close: () => session.close(),
  };
}

/**
 * Mirrors `etcdserver/api/v3rpc/lease.go` `leaseKeepAlive`: one answer per request, in order; the
 * stream ends when the client stops sending. An unknown lease answers TTL 0, not an error.
 */
function openKeepAlive(api: V3Api, sink: StreamSink): StreamSession<LeaseKeepAliveRequest> {
  return {
    recv: (request) => sink.send(encodeLeaseKeepAliveResponse(api.leaseKeepAlive(request))),
    closeSend: () => sink.finish(),
    close: () => {},
  };
}

// ---------------------------------------------------------------------------------------------
// Writing answers the way Go's net/http and grpc-gateway do
// ---------------------------------------------------------------------------------------------

/** A complete JSON body: Content-Length up to 2048 bytes, chunked beyond (Go's buffer). */
function writeJson(res: ServerResponse, status: number, json: string, headers: Readonly<Record<string, string>>): void {
  res.setHeader("Content-Type", "application/json");
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  const bytes = Buffer.from(json, "utf8");
  if (bytes.length <= GO_BUFFER_BEFORE_CHUNKING_BYTES) res.setHeader("Content-Length", String(bytes.length));
  res.writeHead(status);
  if (bytes.length > GO_BUFFER_BEFORE_CHUNKING_BYTES) res.write(bytes);
  res.end(bytes.length > GO_BUFFER_BEFORE_CHUNKING_BYTES ? undefined : bytes);
}

/** A gRPC status as the gateway writes it: chunked, with the gRPC content type as a trailer. */
function writeRpcError(res: ServerResponse, error: RpcError): void {
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Trailer", "Grpc-Trailer-Content-Type");
  res.writeHead(error.httpStatus);
  res.write(encodeErrorBody(error.code, error.message));
  res.addTrailers({ "Grpc-Trailer-Content-Type": "application/grpc" });
  res.end();
}


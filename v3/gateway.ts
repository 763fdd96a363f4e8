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
 *   POST /v3/maintenance/status | alarm | defragment | hash | transfer-leadership
 *   POST /v3/maintenance/snapshot              a server stream: one `{"result":…}` line per chunk
 *   POST /v3/cluster/member/list | add | remove | update | promote
 *   POST /v3/lock/lock | unlock                Lock answers once the lock is held
 *   POST /v3/election/campaign | proclaim | leader | resign, /v3/election/observe (a server stream)
 *   Quirk: Hash and HashKV both declare /v3/maintenance/hash; Hash serves it (no compact_revision),
 *   so HashKV is reachable over gRPC only.
 *   POST /v3/auth/{enable,disable,authenticate}, /v3/auth/user/{add,get,list,delete,changepw,grant,revoke},
 *        /v3/auth/role/{add,get,list,delete,grant,revoke}       the Auth service
 *   Credentials: the `Authorization` header (or `Grpc-Metadata-Token`) carries the token, raw.
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
import type { CallContext, EtcdServer } from "./etcdServer.js";
import {
  decodeRequest,
  encodeAuthenticateResponse,
  encodeAuthHeaderResponse,
  encodeAuthRoleGetResponse,
  encodeAuthRoleListResponse,
  encodeAuthUserGetResponse,
  encodeAuthUserListResponse,
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
  encodeAlarmResponse,
  encodeCampaignResponse,
  encodeHashResponse,
  encodeHeaderOnlyResponse,
  encodeLeaderResponse,
  encodeLockResponse,
  encodeMemberAddResponse,
  encodeMemberListResponse,
  encodeSnapshotResponse,
  encodeStreamChunk,
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
  AlarmRequest,
  AlarmResponse,
  DefragmentResponse,
  HashKVRequest,
  HashKVResponse,
  HashResponse,
  MemberAddRequest,
  MemberAddResponse,
  MemberListResponse,
  MemberPromoteRequest,
  MemberRemoveRequest,
  MemberUpdateRequest,
  MoveLeaderRequest,
  MoveLeaderResponse,
  SnapshotResponse,
} from "./rpc.js";
import type { LockRequest, LockResponse, UnlockRequest, UnlockResponse } from "./v3lock.js";
import type {
  CampaignRequest,
  CampaignResponse,
  LeaderRequest,
  LeaderResponse,
  ProclaimRequest,
  ProclaimResponse,
  ResignRequest,
  ResignResponse,
} from "./v3election.js";

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
export interface V3Api extends Partial<V3AuthApi> {
  /** Is v3 auth enabled? (for the CN refusal above; absent = never) */
  authEnabled?(): boolean;
  range(request: RangeRequest, ctx?: CallContext): RangeResponse;
  // Requests that go through raft may answer later: with a data dir, once logged, synced and applied.
  put(request: PutRequest, ctx?: CallContext): Awaitable<PutResponse>;
  deleteRange(request: DeleteRangeRequest, ctx?: CallContext): Awaitable<DeleteRangeResponse>;
  txn(request: TxnRequest, ctx?: CallContext): Awaitable<TxnResponse>;
  compact(request: CompactionRequest, ctx?: CallContext): Awaitable<CompactionResponse>;
  leaseGrant(request: LeaseGrantRequest): Awaitable<LeaseGrantResponse>;
  leaseRevoke(request: LeaseRevokeRequest, ctx?: CallContext): Awaitable<LeaseRevokeResponse>;
  /** One keep-alive; an unknown lease answers TTL 0 (etcd's LeaseServer turns not-found into TTL 0). */
  leaseKeepAlive(request: LeaseKeepAliveRequest): LeaseKeepAliveResponse;
  leaseTimeToLive(request: LeaseTimeToLiveRequest): LeaseTimeToLiveResponse;
  leaseLeases(): LeaseLeasesResponse;
  status(): StatusResponse;
  // Defragment, Hash, HashKV and Snapshot are for the root user once auth is on; so are member changes.
  hash(ctx?: CallContext): HashResponse;
  /** gRPC only (see the Quirk on /v3/maintenance/hash). */
  hashKV(request: HashKVRequest, ctx?: CallContext): HashKVResponse;
  defragment(ctx?: CallContext): Awaitable<DefragmentResponse>;
  alarm(request: AlarmRequest): Awaitable<AlarmResponse>;
  /** The backend image's chunks and the trailing SHA-256 message. */
  snapshot(ctx?: CallContext): SnapshotResponse[];
  moveLeader(request: MoveLeaderRequest): MoveLeaderResponse;
  memberList(): MemberListResponse;
  // Membership changes go through raft too: with a data dir, as a logged ConfChange.
  memberAdd(request: MemberAddRequest, ctx?: CallContext): Awaitable<MemberAddResponse>;
  memberRemove(request: MemberRemoveRequest, ctx?: CallContext): Awaitable<MemberListResponse>;
  memberUpdate(request: MemberUpdateRequest, ctx?: CallContext): Awaitable<MemberListResponse>;
  memberPromote(request: MemberPromoteRequest, ctx?: CallContext): Awaitable<MemberListResponse>;
  /** Blocking calls: `signal` fires when the HTTP client goes away. */
  lock(request: LockRequest, signal?: AbortSignal): Promise<LockResponse>;
  unlock(request: UnlockRequest): Promise<UnlockResponse>;
  campaign(request: CampaignRequest, signal?: AbortSignal): Promise<CampaignResponse>;
  proclaim(request: ProclaimRequest): Promise<ProclaimResponse>;
  leader(request: LeaderRequest): Promise<LeaderResponse>;
  resign(request: ResignRequest): Promise<ResignResponse>;
  observe(request: LeaderRequest, send: (response: LeaderResponse) => void, signal: AbortSignal): Promise<void>;
  /** Opens a watch stream whose responses go to `onResponse`, in order (events only when pumped). */
  watch(onResponse: (response: WatchResponse) => void, options: { autoPump: boolean }, ctx?: CallContext): WatchSession;
}

/** A value now, or later. */
export type Awaitable<T> = T | Promise<T>;

/** `encode(value)`, now for a value, later for a promise. */
function then<T>(value: Awaitable<T>, encode: (value: T) => string): Awaitable<string> {
  return value instanceof Promise ? value.then(encode) : encode(value);
}

/** The CN of the request's verified TLS client certificate, if there is one. */
function verifiedCommonName(req: IncomingMessage): string | undefined {
  const socket = req.socket as { authorized?: boolean; getPeerCertificate?: () => { subject?: { CN?: string | string[] } } };
  if (socket.authorized !== true || socket.getPeerCertificate === undefined) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return name === undefined || name === "" ? undefined : name;
}

/** The Auth service (etcdserverpb.Auth), as EtcdServer implements it; without it /v3/auth/* is 404. */
export type V3AuthMethod =
  | "authEnable"
  | "authDisable"
  | "authenticate"
  | "userAdd"
  | "userGet"
  | "userList"
  | "userDelete"
  | "userChangePassword"
  | "userGrantRole"
  | "userRevokeRole"
  | "roleAdd"
  | "roleGet"
  | "roleList"
  | "roleDelete"
  | "roleGrantPermission"
  | "roleRevokePermission";
/** Each Auth method with EtcdServer's request and answer; with a data dir the answer may come later. */
export type V3AuthApi = {
  [M in V3AuthMethod]: (request: Parameters<EtcdServer[M]>[0], ctx?: CallContext) => Awaitable<ReturnType<EtcdServer[M]>>;
};

/**
 * A unary route: the body's first JSON item in, the encoded answer out (or a thrown error). `ctx`
 * carries the caller's credentials. A blocking RPC (Lock, Campaign) answers with a Promise and is
 * told through the signal `gone()` gives when the client goes away.
 */
type Unary = (api: V3Api, item: StreamItem, ctx: CallContext, gone: () => AbortSignal) => string | Promise<string>;

/** A unary route: decode the request, call the server, encode the answer. */
function unary<K extends keyof RequestTypes>(
  requestType: K,
  call: (api: V3Api, request: RequestTypes[K], ctx: CallContext, gone: () => AbortSignal) => string | Promise<string>,
): Unary {
  return (api, item, ctx, gone) => {
    if (item.kind === "error") throw new GoJsonError(item.message);
    const request = decodeRequest(requestType, item.kind === "value" ? item.value : undefined);
    // Past this point the request has reached gRPC: errors are statuses, sent with trailers.
    const tooLarge = grpcReceiveLimitError(requestType, request);
    if (tooLarge !== undefined) throw tooLarge;
    return call(api, request, ctx, gone);
  };
}

/** An Auth route: 404 (as an unknown path) when the API has no Auth service. */
function authUnary<K extends keyof RequestTypes, M extends V3AuthMethod>(requestType: K, method: M, encode: (response: ReturnType<EtcdServer[M]>) => string): Unary {
  return unary(requestType, (api, request, ctx) => {
    const call = api[method] as ((r: RequestTypes[K], c: CallContext) => Awaitable<ReturnType<EtcdServer[M]>>) | undefined;
    if (call === undefined) throw new RpcError(GrpcCode.Unimplemented, `unknown service etcdserverpb.Auth`);
    return then(call.call(api, request, ctx), encode);
  });
}

/** The unary routes, by path under /v3. */
const UNARY_ROUTES: ReadonlyMap<string, Unary> = new Map<string, Unary>([
  ["/v3/kv/range", unary("RangeRequest", (api, r, ctx) => encodeRangeResponse(api.range(r, ctx)))],
  ["/v3/kv/put", unary("PutRequest", (api, r, ctx) => then(api.put(r, ctx), encodePutResponse))],
  ["/v3/kv/deleterange", unary("DeleteRangeRequest", (api, r, ctx) => then(api.deleteRange(r, ctx), encodeDeleteRangeResponse))],
  ["/v3/kv/txn", unary("TxnRequest", (api, r, ctx) => then(api.txn(r, ctx), encodeTxnResponse))],
  ["/v3/kv/compaction", unary("CompactionRequest", (api, r, ctx) => then(api.compact(r, ctx), encodeCompactionResponse))],
  ["/v3/lease/grant", unary("LeaseGrantRequest", (api, r) => then(api.leaseGrant(r), encodeLeaseGrantResponse))],
  ["/v3/lease/revoke", unary("LeaseRevokeRequest", (api, r, ctx) => then(api.leaseRevoke(r, ctx), encodeLeaseRevokeResponse))],
  ["/v3/kv/lease/revoke", unary("LeaseRevokeRequest", (api, r, ctx) => then(api.leaseRevoke(r, ctx), encodeLeaseRevokeResponse))],
  ["/v3/lease/timetolive", unary("LeaseTimeToLiveRequest", (api, r) => encodeLeaseTimeToLiveResponse(api.leaseTimeToLive(r)))],
  ["/v3/kv/lease/timetolive", unary("LeaseTimeToLiveRequest", (api, r) => encodeLeaseTimeToLiveResponse(api.leaseTimeToLive(r)))],
  ["/v3/lease/leases", unary("LeaseLeasesRequest", (api) => encodeLeaseLeasesResponse(api.leaseLeases()))],
  ["/v3/kv/lease/leases", unary("LeaseLeasesRequest", (api) => encodeLeaseLeasesResponse(api.leaseLeases()))],
  ["/v3/maintenance/status", unary("StatusRequest", (api) => encodeStatusResponse(api.status()))],
  ["/v3/maintenance/alarm", unary("AlarmRequest", (api, r) => then(api.alarm(r), encodeAlarmResponse))],
  ["/v3/maintenance/defragment", unary("DefragmentRequest", (api, _r, ctx) => then(api.defragment(ctx), encodeHeaderOnlyResponse))],
  // Quirk: Hash and HashKV share this path and Hash wins; a body's "revision" is ignored.
  ["/v3/maintenance/hash", unary("HashRequest", (api, _r, ctx) => encodeHashResponse(api.hash(ctx)))],
  ["/v3/maintenance/transfer-leadership", unary("MoveLeaderRequest", (api, r) => encodeHeaderOnlyResponse(api.moveLeader(r)))],
  ["/v3/cluster/member/list", unary("MemberListRequest", (api) => encodeMemberListResponse(api.memberList()))],
  ["/v3/cluster/member/add", unary("MemberAddRequest", (api, r, ctx) => then(api.memberAdd(r, ctx), encodeMemberAddResponse))],
  ["/v3/cluster/member/remove", unary("MemberRemoveRequest", (api, r, ctx) => then(api.memberRemove(r, ctx), encodeMemberListResponse))],
  ["/v3/cluster/member/update", unary("MemberUpdateRequest", (api, r, ctx) => then(api.memberUpdate(r, ctx), encodeMemberListResponse))],
  ["/v3/cluster/member/promote", unary("MemberPromoteRequest", (api, r, ctx) => then(api.memberPromote(r, ctx), encodeMemberListResponse))],
  ["/v3/lock/lock", unary("LockRequest", async (api, r, _ctx, gone) => encodeLockResponse(await api.lock(r, gone())))],
  ["/v3/lock/unlock", unary("UnlockRequest", async (api, r) => encodeHeaderOnlyResponse(await api.unlock(r)))],
  ["/v3/election/campaign", unary("CampaignRequest", async (api, r, _ctx, gone) => encodeCampaignResponse(await api.campaign(r, gone())))],
  ["/v3/election/proclaim", unary("ProclaimRequest", async (api, r) => encodeHeaderOnlyResponse(await api.proclaim(r)))],
  ["/v3/election/leader", unary("LeaderRequest", async (api, r) => encodeLeaderResponse(await api.leader(r)))],
  ["/v3/election/resign", unary("ResignRequest", async (api, r) => encodeHeaderOnlyResponse(await api.resign(r)))],
  ["/v3/auth/enable", authUnary("AuthEmptyRequest", "authEnable", encodeAuthHeaderResponse)],
  ["/v3/auth/disable", authUnary("AuthEmptyRequest", "authDisable", encodeAuthHeaderResponse)],
  ["/v3/auth/authenticate", authUnary("AuthenticateRequest", "authenticate", encodeAuthenticateResponse)],
  ["/v3/auth/user/add", authUnary("AuthUserAddRequest", "userAdd", encodeAuthHeaderResponse)],
  ["/v3/auth/user/get", authUnary("AuthUserNameRequest", "userGet", encodeAuthUserGetResponse)],
  ["/v3/auth/user/list", authUnary("AuthEmptyRequest", "userList", encodeAuthUserListResponse)],
  ["/v3/auth/user/delete", authUnary("AuthUserNameRequest", "userDelete", encodeAuthHeaderResponse)],
  ["/v3/auth/user/changepw", authUnary("AuthUserChangePasswordRequest", "userChangePassword", encodeAuthHeaderResponse)],
  ["/v3/auth/user/grant", authUnary("AuthUserGrantRoleRequest", "userGrantRole", encodeAuthHeaderResponse)],
  ["/v3/auth/user/revoke", authUnary("AuthUserRevokeRoleRequest", "userRevokeRole", encodeAuthHeaderResponse)],
  ["/v3/auth/role/add", authUnary("AuthRoleAddRequest", "roleAdd", encodeAuthHeaderResponse)],
  ["/v3/auth/role/get", authUnary("AuthRoleNameRequest", "roleGet", encodeAuthRoleGetResponse)],
  ["/v3/auth/role/list", authUnary("AuthEmptyRequest", "roleList", encodeAuthRoleListResponse)],
  ["/v3/auth/role/delete", authUnary("AuthRoleNameRequest", "roleDelete", encodeAuthHeaderResponse)],
  ["/v3/auth/role/grant", authUnary("AuthRoleGrantPermissionRequest", "roleGrantPermission", encodeAuthHeaderResponse)],
  ["/v3/auth/role/revoke", authUnary("AuthRoleRevokePermissionRequest", "roleRevokePermission", encodeAuthHeaderResponse)],
]);

/**
 * The server-streaming routes (one request, many answers): the request decodes as a unary one does,
 * and each answer is a `{"result":…}` line. `start` sends through `send` and resolves when the
 * stream ends; `signal` fires when the client goes away.
 */
type ServerStream = (api: V3Api, item: StreamItem, send: (messageJson: string) => void, ctx: CallContext, signal: AbortSignal) => Promise<void>;

function serverStream<K extends keyof RequestTypes>(
  requestType: K,
  run: (api: V3Api, request: RequestTypes[K], send: (messageJson: string) => void, ctx: CallContext, signal: AbortSignal) => Promise<void>,
): ServerStream {
  return async (api, item, send, ctx, signal) => {
    if (item.kind === "error") throw new GoJsonError(item.message);
    await run(api, decodeRequest(requestType, item.kind === "value" ? item.value : undefined), send, ctx, signal);
  };
}

const SERVER_STREAM_ROUTES: ReadonlyMap<string, ServerStream> = new Map<string, ServerStream>([
  [
    "/v3/maintenance/snapshot",
    serverStream("SnapshotRequest", async (api, _r, send, ctx) => {
      for (const chunk of api.snapshot(ctx)) send(encodeSnapshotResponse(chunk));
    }),
  ],
  [
    "/v3/election/observe",
    serverStream("LeaderRequest", (api, r, send, _ctx, signal) => api.observe(r, (response) => send(encodeLeaderResponse(response)), signal)),
  ],
]);

/**
 * The gRPC metadata the gateway forwards (grpc-gateway v1): the `Authorization` header becomes
 * metadata `authorization`, a `Grpc-Metadata-Token` header becomes `token`. The token is sent raw.
 */
export function callContextOf(req: IncomingMessage): CallContext {
  const token = req.headers["grpc-metadata-token"];
  const authorization = req.headers["authorization"];
  return {
    ...(typeof token === "string" ? { token } : {}),
    ...(typeof authorization === "string" ? { authorization } : {}),
  };
}

const STREAM_ROUTES: ReadonlySet<string> = new Set(["/v3/watch", "/v3/lease/keepalive"]);

/**
 * The v3 gateway as a server handler: returns true when it took the request (every path under
 * /v3/ and /v3beta/), false otherwise. The bare `/v3` is the mux's business (server.ts: a 301 to
 * the `/v3/` subtree), as it is Go's ServeMux's in etcd.
 */
export function createV3Gateway(api: V3Api, options: { clientCertAuth?: boolean } = {}): (req: IncomingMessage, res: ServerResponse) => boolean {
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
    // etcd's accessController: with --client-cert-auth and auth on, a gateway request whose verified
    // client certificate has a CN is refused (the gateway's own gRPC call could not carry it).
    if (options.clientCertAuth === true && api.authEnabled?.() === true && verifiedCommonName(req) !== undefined) {
      writeGoError(req, res, "CommonName of client sending a request against gateway will be ignored and not used as expected", 400);
      return true;
    }

    const route = UNARY_ROUTES.get(path);
    const serverStreamRoute = SERVER_STREAM_ROUTES.get(path);
    const isStream = STREAM_ROUTES.has(path);
    if (route === undefined && serverStreamRoute === undefined && !isStream) {
      writeGoError(req, res, "Not Found", 404);
      return true;
    }
    if (req.method !== "POST") {
      writeGoError(req, res, "Method Not Allowed", 405);
      return true;
    }
    const ctx = callContextOf(req);
    if (path === "/v3/watch") serveStream(req, res, "WatchRequest", (sink) => openWatch(api, sink, ctx));
    else if (path === "/v3/lease/keepalive") serveStream(req, res, "LeaseKeepAliveRequest", (sink) => openKeepAlive(api, sink));
    else if (route !== undefined) serveUnary(api, route, req, res, ctx);
    else if (serverStreamRoute !== undefined) serveServerStream(api, serverStreamRoute, req, res, ctx);
    return true;
  };
}

/**
 * Decodes the first JSON value of the body as soon as it is complete and runs the request then
 * (grpc-gateway decodes one value and ignores the rest). The answer goes out at once when the
 * connection will close, otherwise once the body has ended (Go's server reads the rest of the
 * body before it answers on a connection it may reuse; see gatewayStream.ts).
 */
function serveUnary(api: V3Api, route: Unary, req: IncomingMessage, res: ServerResponse, ctx: CallContext): void {
  const gone = clientGone(res);
  readFirstValue(req, (item, whenBodyEnds) => {
    const answer = runUnary(api, route, item, res, ctx, gone);
    if (answer instanceof Promise) void answer.then(whenBodyEnds);
    else whenBodyEnds(answer);
  });
}

/**
 * Reads the body's first JSON value and hands it to `onValue` as soon as it is complete. The
 * answer `onValue` gives to `whenBodyEnds` is written at once when the connection will close,
 * otherwise once the body has ended (Go's server reads the rest of a body before it answers on a
 * connection it may reuse; see gatewayStream.ts).
 */
function readFirstValue(req: IncomingMessage, onValue: (item: StreamItem, whenBodyEnds: (write: () => void) => void) => void): void {
  const body = new GoJsonStream();
  const early = connectionWillClose(req);
  let started = false;
  let bodyEnded = false;
  let pending: (() => void) | undefined;
  const writeWhenReady = (): void => {
    if (pending === undefined || !(bodyEnded || early)) return;
    const write = pending;
    pending = () => {};
    write();
  };
  const step = (): void => {
    if (started) return writeWhenReady();
    const item = body.next();
    if (item.kind === "more") return;
    started = true;
    onValue(item, (write) => {
      pending = write;
      writeWhenReady();
    });
  };
  req.on("data", (chunk: Buffer) => {
    if (started) return; // the rest of the body is never read
    body.push(chunk);
    step();
  });
  req.on("end", () => {
    bodyEnded = true;
    body.end();
    step();
  });
}

/**
 * The AbortSignal that fires when the connection closes before the answer went out, made the first
 * time a route asks for it. Only the blocking RPCs ask; one AbortController per request was 2% of
 * the server's CPU under gateway puts.
 */
function clientGone(res: ServerResponse): () => AbortSignal {
  let signal: AbortSignal | undefined;
  return () => {
    if (signal !== undefined) return signal;
    const controller = new AbortController();
    signal = controller.signal;
    const abort = (): void => {
      if (!res.writableFinished) controller.abort(new Error("context canceled"));
    };
    if (res.closed) abort();
    else res.once("close", abort);
    return signal;
  };
}

/** Runs one decoded request now; returns the function that writes its answer (later, for a blocking RPC). */
function runUnary(api: V3Api, route: Unary, item: StreamItem, res: ServerResponse, ctx: CallContext, gone: () => AbortSignal): (() => void) | Promise<() => void> {
  try {
    const json = route(api, item, ctx, gone);
    if (typeof json === "string") return () => writeJson(res, 200, json, { "Grpc-Metadata-Content-Type": "application/grpc" });
    return json.then(
      (text) => () => writeJson(res, 200, text, { "Grpc-Metadata-Content-Type": "application/grpc" }),
      (error: unknown) => unaryError(error, res),
    );
  } catch (error) {
    return unaryError(error, res);
  }
}

/** How a refused unary request is answered (see the header). */
function unaryError(error: unknown, res: ServerResponse): () => void {
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

/**
 * A server stream (grpc-gateway's `ForwardResponseStream`): once the request has decoded and the
 * body has ended, 200 with chunked `{"result":…}` lines, one per message, as they come. A failure
 * before the first message is a plain error answer; a later one is a last line
 * `{"error":{"grpc_code":…,"http_code":…,"message":…,"http_status":…}}`.
 */
function serveServerStream(api: V3Api, route: ServerStream, req: IncomingMessage, res: ServerResponse, ctx: CallContext): void {
  const gone = clientGone(res);
  readFirstValue(req, (item, whenBodyEnds) => {
    let wroteHeader = false;
    const held: string[] = [];
    let ready = false;
    const writeHeader = (): void => {
      if (wroteHeader) return;
      wroteHeader = true;
      res.setHeader("Content-Type", "application/json");
      res.setHeader("Grpc-Metadata-Content-Type", "application/grpc");
      res.setHeader("Transfer-Encoding", "chunked");
      res.writeHead(200);
    };
    const send = (messageJson: string): void => {
      if (res.destroyed) return;
      if (!ready) return void held.push(messageJson);
      writeHeader();
      res.write(encodeStreamChunk(messageJson) + "\n");
    };
    let outcome: { error: unknown } | "done" | undefined;
    const finish = (): void => {
      if (res.destroyed || outcome === undefined) return;
      if (outcome === "done") {
        writeHeader();
        res.end();
        return;
      }
      const { error } = outcome;
      if (!wroteHeader) return unaryError(error, res)();
      const rpcError = toRpcError(error);
      res.end(streamErrorLine(rpcError) + "\n");
    };
    whenBodyEnds(() => {
      ready = true;
      for (const message of held.splice(0)) send(message);
      finish();
    });
    route(api, item, send, ctx, gone()).then(
      () => {
        outcome = "done";
        if (ready) finish();
      },
      (error: unknown) => {
        outcome = { error };
        if (ready) finish();
      },
    );
  });
}

/** grpc-gateway's stream error line (`streamChunk` with an error). */
function streamErrorLine(error: RpcError): string {
  const status = error.httpStatus;
  return `{"error":{"grpc_code":${error.code},"http_code":${status},"message":${JSON.stringify(error.message)},"http_status":${JSON.stringify(HTTP_STATUS_TEXT[status] ?? "")}}}`;
}

/** Go's http.StatusText for the statuses gRPC codes map to. */
const HTTP_STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  412: "Precondition Failed",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * The watch stream: each decoded request goes to the server's stream, each response comes back as
 * a line. Control answers (created, canceled, progress) go out at once; event responses are pumped
 * out of the channel one at a time while the client keeps reading (etcd's sendLoop blocked on a
 * full gRPC window), so a client that stops reading fills the channel and makes victims.
 */
function openWatch(api: V3Api, sink: StreamSink, ctx: CallContext): StreamSession<WatchRequest> {
  const session = api.watch((response) => sink.send(encodeWatchResponse(response)), { autoPump: false }, ctx);
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


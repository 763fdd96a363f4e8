/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2http/client.go` (with `http.go`, and the request → store
 * mapping of `etcdserver/v2_server.go` and `apply_v2.go`).
 *
 * The v2 wire API: a request to `/v2/keys/<path>` is parsed into one etcd request (method, path,
 * value, flags, an absolute expiry), checked parameter by parameter in etcd's order, sent to exactly
 * one store operation, and the store's event or error is written back as JSON with the `X-Etcd-Index`,
 * `X-Raft-Index` and `X-Raft-Term` headers. A watch holds the connection open and writes events as
 * they come. The same file serves `/v2/stats/*`, `/v2/members` and `/v2/machines`, as etcd's does.
 *
 *   PUT  /v2/keys/message  value=Hello            →  store.set("/message", false, "Hello", {}, now)
 *     201  X-Etcd-Index: 1                           {"action":"set","node":{"key":"/message",…}}\n
 *   PUT  /v2/keys/message  value=Hi&prevExist=true →  store.update(…)       200 {"action":"update",…}
 *   PUT  /v2/keys/message  value=Hi&prevValue=Yo   →  store.compareAndSwap(…)  412 {"errorCode":101,…}
 *   GET  /v2/keys/message?wait=true                →  store.watch(…): 200 + headers now, the body later
 *
 * Go's form parsing, which runs before any of this, is in `httpForm.ts`.
 *
 * Real etcd keeps user keys under a hidden `/1` directory and trims that prefix from every answer;
 * the simulator's store holds only the user tree, so there is nothing to trim.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../shared/clock.js";
import { allowMethod, sortHeadersLikeGo, writeGoBody } from "../shared/goHttp.js";
import type { Event } from "./event.js";
import { formValue, parseForm, type FormValues } from "./httpForm.js";
import { cleanKey } from "./path.js";
import type { ExpireOptions, Store } from "./store.js";
import type { Watcher } from "./watcher.js";
import {
  EcodeIndexNaN,
  EcodeInvalidField,
  EcodeInvalidForm,
  EcodePrevValueRequired,
  EcodeRaftInternal,
  EcodeRefreshTTLRequired,
  EcodeRefreshValue,
  EcodeTTLNaN,
  InvariantViolation,
  V2Error,
} from "./v2error.js";

/** The URL prefixes the v2 handler answers; anything else falls through to the next handler. */
export const KEYS_PREFIX = "/v2/keys";
export const MACHINES_PREFIX = "/v2/machines";
export const MEMBERS_PREFIX = "/v2/members";
export const STATS_PREFIX = "/v2/stats";

/** The one-member cluster as the v2 endpoints print it (structurally `server/membership.ts` ClusterInfo). */
export interface V2ClusterView {
  readonly clusterId: string;
  readonly memberId: string;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

/**
 * What the simulator shows for raft, which it does not run. `term` stays 2 (a fresh single member
 * elects itself in term 2); `index` counts what would have been proposed: every write request,
 * successful or not, every quorum read and every expiry SYNC. It never decreases.
 */
export interface RaftStatus {
  index: number;
  term: number;
}

/** What the v2 handler is built from; it reads time only through `clock`. */
export interface V2HandlerOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly cluster: V2ClusterView;
  /** Shared with the server's SYNC ticker, which also proposes. Default: a private counter. */
  readonly raft?: RaftStatus;
  /** When the member started (for `/v2/stats/self`). Default: the clock at creation. */
  readonly startTimeMs?: number;
  /** Called after every proposal is applied (the server counts them for `--snapshot-count`). */
  readonly onApply?: () => void;
}

/**
 * One parsed `/v2/keys` request: etcd's `etcdserverpb.Request` fields that the keys API fills in.
 * `prevExist` and `refresh` are tri-state: undefined means "not given", which is not `false`.
 */
export interface KeyRequest {
  readonly method: string;
  readonly path: string;
  readonly value: string;
  readonly dir: boolean;
  readonly prevValue: string;
  readonly prevIndex: number;
  readonly prevExist: boolean | undefined;
  readonly wait: boolean;
  readonly waitIndex: number;
  readonly recursive: boolean;
  readonly sorted: boolean;
  readonly quorum: boolean;
  readonly stream: boolean;
  readonly refresh: boolean | undefined;
  /** Absolute expiry (ms) from `ttl`; undefined = no ttl given. */
  readonly expireTimeMs: number | undefined;
  readonly noValueOnSuccess: boolean;
}

// ---------------------------------------------------------------------------------------------
// etcd's parseKeyRequest
// ---------------------------------------------------------------------------------------------

/** Go's `strconv.ParseBool`: exactly these spellings, anything else is an error (undefined). */
function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}

/** Go's `strconv.ParseUint(text, 10, 64)`: digits only, at most 2^64 − 1; undefined on error. */
function parseGoUint64(text: string): bigint | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value <= 0xffff_ffff_ffff_ffffn ? value : undefined;
}

/** `getBool`: absent → false; the first value must parse. Throws 209 `invalid value for "<name>"`. */
function getBool(form: FormValues, name: string): boolean {
  const first = form.get(name)?.[0];
  if (first === undefined) return false;
  const parsed = parseGoBool(first);
  if (parsed === undefined) throw new V2Error(EcodeInvalidField, `invalid value for "${name}"`, 0);
  return parsed;
}

/** `getUint64`: absent → 0; the first value must parse. Throws 203 `invalid value for "<name>"`. */
function getIndex(form: FormValues, name: string): number {
  const first = form.get(name)?.[0];
  if (first === undefined) return 0;
  const parsed = parseGoUint64(first);
  if (parsed === undefined) throw new V2Error(EcodeIndexNaN, `invalid value for "${name}"`, 0);
  return Number(parsed);
}

/**
 * An absolute expiry from a ttl in seconds, with Go's int64 nanosecond arithmetic, wrap included:
 * `time.Duration(ttl) * time.Second` and `now.Add(…).UnixNano()` both overflow silently.
 *
 *   ttl 5 at now = T               →  T + 5000
 *   ttl 9223372036 (≈ 292 years)   →  wraps to a date before 1970 (the store then treats an expiry
 *                                     before 2000 as permanent on create and set, see store.ts)
 *
 * Returns undefined only when the result is exactly 0 ns, which etcd's request reads as "no ttl".
 */
export function expireTimeFromTtl(ttlSeconds: bigint, nowMs: number): number | undefined {
  const ttlNs = BigInt.asIntN(64, BigInt.asIntN(64, ttlSeconds) * 1_000_000_000n);
  const expireNs = BigInt.asIntN(64, BigInt(nowMs) * 1_000_000n + ttlNs);
  if (expireNs === 0n) return undefined; // Expiration 0 is "not set" in etcd's request
  return Number(expireNs / 1_000_000n);
}

/**
 * etcd's `parseKeyRequest`: every check in etcd's order; the first failure is thrown as a V2Error with
 * index 0. `urlPath` is the decoded, clean path starting with `/v2/keys`.
 *
 *   ?prevIndex=x&recursive=maybe   →  203 invalid value for "prevIndex"   (prevIndex is checked first)
 *   PUT ?wait=true                 →  209 "wait" can only be used with GET requests
 *   PUT refresh=true&value=v&ttl=5 →  211 A value was provided on a refresh
 */
export function parseKeyRequest(method: string, urlPath: string, form: FormValues, nowMs: number): KeyRequest {
  const path = cleanKey(urlPath.slice(KEYS_PREFIX.length));
  const prevIndex = getIndex(form, "prevIndex");
  const waitIndex = getIndex(form, "waitIndex");
  const recursive = getBool(form, "recursive");
  const sorted = getBool(form, "sorted");
  const wait = getBool(form, "wait");
  const dir = getBool(form, "dir");
  const quorum = getBool(form, "quorum");
  const stream = getBool(form, "stream");
  if (wait && method !== "GET") throw new V2Error(EcodeInvalidField, `"wait" can only be used with GET requests`, 0);
  const prevValue = formValue(form, "prevValue");
  if (form.has("prevValue") && prevValue === "") throw new V2Error(EcodePrevValueRequired, `"prevValue" cannot be empty`, 0);
  const noValueOnSuccess = getBool(form, "noValueOnSuccess");

  // ttl is nullable: missing or empty means no TTL at all.
  let expireTimeMs: number | undefined;
  let ttlGiven = false;
  if (formValue(form, "ttl").length > 0) {
    const ttl = parseGoUint64(formValue(form, "ttl"));
    if (ttl === undefined) throw new V2Error(EcodeTTLNaN, `invalid value for "ttl"`, 0);
    ttlGiven = true;
    expireTimeMs = expireTimeFromTtl(ttl, nowMs);
  }

  let prevExist: boolean | undefined;
  if (form.has("prevExist")) {
    prevExist = parseGoBool(formValue(form, "prevExist"));
    if (prevExist === undefined) throw new V2Error(EcodeInvalidField, "invalid value for prevExist", 0);
  }

  let refresh: boolean | undefined;
  if (form.has("refresh")) {
    refresh = parseGoBool(formValue(form, "refresh"));
    if (refresh === undefined) throw new V2Error(EcodeInvalidField, "invalid value for refresh", 0);
    if (refresh) {
      if (form.has("value") && formValue(form, "value") !== "") {
        throw new V2Error(EcodeRefreshValue, "A value was provided on a refresh", 0);
      }
      if (!ttlGiven) throw new V2Error(EcodeRefreshTTLRequired, "No TTL value set", 0);
    }
  }

  return {
    method,
    path,
    value: formValue(form, "value"),
    dir,
    prevValue,
    prevIndex,
    prevExist,
    wait,
    waitIndex,
    recursive,
    sorted,
    quorum,
    stream,
    refresh,
    expireTimeMs,
    noValueOnSuccess,
  };
}

/** What a request produced: an event to write now, or a watcher to hold the connection for. */
export type KeyResponse = { readonly event: Event } | { readonly watcher: Watcher };

/** True for requests that go through raft in etcd (and so move `X-Raft-Index`). */
function isProposal(request: KeyRequest): boolean {
  return request.method === "PUT" || request.method === "POST" || request.method === "DELETE" || (request.method === "GET" && request.quorum);
}

/**
 * etcd's `RequestV2.Handle` plus `applierV2store`: one request, exactly one store call.
 *
 *   GET  quorum             →  get (wait ignored)        GET wait  →  watch        GET/HEAD  →  get
 *   POST                    →  create(unique = true)
 *   PUT  prevExist=true     →  update, or compareAndSwap when prevValue/prevIndex is given
 *   PUT  prevExist=false    →  create (prevValue/prevIndex ignored)
 *   PUT  prevValue|prevIndex→  compareAndSwap            PUT  otherwise  →  set
 *   DELETE prevValue|prevIndex → compareAndDelete         DELETE otherwise → delete
 */
export function applyKeyRequest(store: Store, request: KeyRequest, nowMs: number): KeyResponse {
  const expireOpts: ExpireOptions = {
    ...(request.expireTimeMs !== undefined ? { expireTimeMs: request.expireTimeMs } : {}),
    ...(request.refresh === true ? { refresh: true } : {}),
  };
  const { path } = request;
  switch (request.method) {
    case "GET":
      if (request.quorum) return { event: store.get(path, request.recursive, request.sorted, nowMs) };
      if (request.wait) return { watcher: store.watch(path, request.recursive, request.stream, request.waitIndex) };
      return { event: store.get(path, request.recursive, request.sorted, nowMs) };
    case "HEAD":
      return { event: store.get(path, request.recursive, request.sorted, nowMs) };
    case "POST":
      return { event: store.create(path, request.dir, request.value, true, expireOpts, nowMs) };
    case "PUT":
      if (request.prevExist === true) {
        if (request.prevIndex === 0 && request.prevValue === "") return { event: store.update(path, request.value, expireOpts, nowMs) };
        return { event: store.compareAndSwap(path, request.prevValue, request.prevIndex, request.value, expireOpts, nowMs) };
      }
      if (request.prevExist === false) return { event: store.create(path, request.dir, request.value, false, expireOpts, nowMs) };
      if (request.prevIndex > 0 || request.prevValue !== "") {
        return { event: store.compareAndSwap(path, request.prevValue, request.prevIndex, request.value, expireOpts, nowMs) };
      }
      return { event: store.set(path, request.dir, request.value, expireOpts, nowMs) };
    case "DELETE":
      if (request.prevIndex > 0 || request.prevValue !== "") {
        return { event: store.compareAndDelete(path, request.prevValue, request.prevIndex, nowMs) };
      }
      return { event: store.delete(path, request.dir, request.recursive, nowMs) };
    default:
      // Unreachable: the handler answers 405 first. etcd's own text for it:
      throw new Error("etcdserver: unknown method");
  }
}

// ---------------------------------------------------------------------------------------------
// Writing answers
// ---------------------------------------------------------------------------------------------

/**
 * Go's `encoding/json` text for a value: JSON.stringify, plus Go's HTML-safe escapes (`<` → \u003c,
 * `>` → \u003e, `&` → \u0026, U+2028/U+2029) and Go's spelling of \b and \f as \u0008 and \u000c.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/\\\\|\\b|\\f|[<>&\u2028\u2029]/g, (match) => {
    switch (match) {
      case "\\\\":
        return match;
      case "\\b":
        return "\\u0008";
      case "\\f":
        return "\\u000c";
      default:
        return "\\u" + match.charCodeAt(0).toString(16).padStart(4, "0");
    }
  });
}

/**
 * etcd's `writeKeyError`: a V2Error as its JSON and status, with `X-Etcd-Index` = its index; anything
 * else becomes 300 "Raft Internal Error" (HTTP 500) with the error's text as cause.
 */
function writeKeyError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  if (error instanceof InvariantViolation) {
    // etcd's v2store panics here; Go's net/http then closes the connection without an answer.
    process.stderr.write(`etcdsim: broken invariant in /v2/keys: ${error.stack ?? error.message}\n`);
    res.destroy();
    return;
  }
  const v2Error = error instanceof V2Error ? error : new V2Error(EcodeRaftInternal, error instanceof Error ? error.message : String(error), 0);
  if (!(error instanceof V2Error)) process.stderr.write(`etcdsim: unexpected error in /v2/keys: ${String(error)}\n`);
  res.setHeader("X-Etcd-Index", String(v2Error.index));
  res.setHeader("Content-Type", "application/json");
  writeGoBody(req, res, v2Error.statusCode, goJson(v2Error) + "\n");
}

// ---------------------------------------------------------------------------------------------
// The handler
// ---------------------------------------------------------------------------------------------

/** Go's `time.Duration.String()` for a non-negative number of milliseconds: "2.5s", "1m2.004s", "1h0m0s". */
function goDuration(ms: number): string {
  if (ms <= 0) return "0s";
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = ((ms % 60_000) / 1000).toFixed(3).replace(/\.?0+$/, "");
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return ms < 1000 ? `${ms}ms` : `${seconds}s`;
}

function memberJson(cluster: V2ClusterView): Record<string, unknown> {
  return { id: cluster.memberId, name: cluster.name, peerURLs: cluster.peerUrls, clientURLs: cluster.clientUrls };
}

/**
 * The v2 API handler: `/v2/keys`, `/v2/stats/{store,self,leader}`, `/v2/members`, `/v2/machines`.
 * Returns a function answering `true` when the request was one of these (it may keep writing after,
 * for watches) and `false` otherwise. It expects the server to have cleaned the path already.
 */
export function createV2Handler(options: V2HandlerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { store, clock, cluster } = options;
  const raft: RaftStatus = options.raft ?? { index: store.index, term: 2 };
  const startTimeMs = options.startTimeMs ?? clock.now();
  const startTime = new Date(startTimeMs).toISOString(); // formats a given instant; reads no clock

  const serveKeys = (req: IncomingMessage, res: ServerResponse, urlPath: string, rawQuery: string): void => {
    if (!allowMethod(req, res, "HEAD", "GET", "PUT", "POST", "DELETE")) return;
    res.setHeader("X-Etcd-Cluster-Id", cluster.clusterId);
    parseForm(req, rawQuery)
      .then((form) => {
        if (res.destroyed) return;
        let request: KeyRequest;
        try {
          if (form.error !== undefined) throw new V2Error(EcodeInvalidForm, form.error, 0);
          request = parseKeyRequest(req.method ?? "GET", urlPath, form.values, clock.now());
        } catch (error) {
          writeKeyError(req, res, error);
          return;
        }
        const proposes = isProposal(request);
        let response: KeyResponse;
        try {
          response = applyKeyRequest(store, request, clock.now());
        } catch (error) {
          if (proposes) proposed();
          writeKeyError(req, res, error);
          return;
        }
        if (proposes) proposed();
        if ("event" in response) writeKeyEvent(req, res, response.event, request.noValueOnSuccess);
        else serveWatch(req, res, response.watcher, request.stream);
      })
      .catch((error: unknown) => {
        if (!res.headersSent) writeKeyError(req, res, error);
        else res.destroy();
      });
  };

  const proposed = (): void => {
    raft.index += 1;
    options.onApply?.();
  };

  /** etcd's `writeKeyEvent`: 201 for a creation, 200 otherwise; noValueOnSuccess drops the nodes. */
  const writeKeyEvent = (req: IncomingMessage, res: ServerResponse, event: Event, noValueOnSuccess: boolean): void => {
    res.setHeader("Content-Type", "application/json");
    res.setHeader("X-Etcd-Index", String(event.etcdIndex));
    res.setHeader("X-Raft-Index", String(raft.index));
    res.setHeader("X-Raft-Term", String(raft.term));
    const dropNodes = noValueOnSuccess && ["set", "compareAndSwap", "create", "update"].includes(event.action);
    const body = dropNodes ? goJson({ action: event.action }) : goJson(event);
    writeGoBody(req, res, event.isCreated() ? 201 : 200, body + "\n");
  };

  /**
   * etcd's `handleKeyWatch`: headers (X-Etcd-Index = the index when the watch started) go out at once;
   * each event follows as one JSON line. A one-shot watch ends after its event, a stream never does.
   * When the client goes away, or the store drops the watcher, the watcher is removed.
   */
  const serveWatch = (req: IncomingMessage, res: ServerResponse, watcher: Watcher, stream: boolean): void => {
    res.setHeader("Content-Type", "application/json");
    res.setHeader("X-Etcd-Index", String(watcher.startIndex));
    res.setHeader("X-Raft-Index", String(raft.index));
    res.setHeader("X-Raft-Term", String(raft.term));
    sortHeadersLikeGo(res);
    res.writeHead(200);
    res.flushHeaders();
    let finished = false;
    let detach = (): void => undefined;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      detach();
      watcher.remove();
      if (!res.writableEnded) res.end();
    };
    // A slow reader: when the socket stops taking data, stop taking events too. They then pile up in
    // the watcher's 100-event buffer, and past that the store drops the watcher and the response
    // ends, as etcd's blocked handler goroutine leads to.
    const deliver = (event: Event): void => {
      if (finished) return;
      const flushed = res.write(goJson(event) + "\n");
      // Defer the removal: this runs inside the store's notify, which is still walking its watchers.
      if (!stream) queueMicrotask(finish);
      else if (!flushed) {
        detach();
        res.once("drain", () => {
          if (finished) return;
          detach(); // in case the pause happened while onEvent was still handing out buffered events
          detach = watcher.eventChan.onEvent(deliver);
        });
      }
    };
    res.on("close", finish);
    detach = watcher.eventChan.onEvent(deliver);
    watcher.eventChan.onClose(() => queueMicrotask(finish));
  };

  const serveStats = (req: IncomingMessage, res: ServerResponse, which: string): void => {
    if (!allowMethod(req, res, "GET")) return;
    res.setHeader("Content-Type", "application/json");
    let body: string;
    if (which === "store") body = store.jsonStats();
    else if (which === "self") {
      body = goJson({
        name: cluster.name,
        id: cluster.memberId,
        state: "StateLeader",
        startTime,
        leaderInfo: { leader: cluster.memberId, uptime: goDuration(clock.now() - startTimeMs), startTime },
        recvAppendRequestCnt: 0,
        sendAppendRequestCnt: 0,
      });
    } else body = goJson({ leader: cluster.memberId, followers: {} });
    writeGoBody(req, res, 200, body);
  };

  /** `/v2/members` (GET only here: a one-member simulator cannot add, remove or move members). */
  const serveMembers = (req: IncomingMessage, res: ServerResponse, rest: string): void => {
    if (!allowMethod(req, res, "GET", "POST", "DELETE", "PUT")) return;
    res.setHeader("X-Etcd-Cluster-Id", cluster.clusterId);
    res.setHeader("Content-Type", "application/json");
    if (req.method !== "GET") {
      writeGoBody(req, res, 501, goJson({ message: "etcdsim: membership changes are not simulated" }));
      return;
    }
    if (rest === "") writeGoBody(req, res, 200, goJson({ members: [memberJson(cluster)] }) + "\n");
    else if (rest === "leader") writeGoBody(req, res, 200, goJson(memberJson(cluster)) + "\n");
    else writeGoBody(req, res, 404, goJson({ message: "Not found" }));
  };

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? "/";
    const question = url.indexOf("?");
    const rawPath = question < 0 ? url : url.slice(0, question);
    const rawQuery = question < 0 ? "" : url.slice(question + 1);
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(rawPath);
    } catch {
      urlPath = unescape(rawPath); // escapes that do not form UTF-8: keep the bytes
    }
    if (urlPath === KEYS_PREFIX || urlPath.startsWith(KEYS_PREFIX + "/")) {
      serveKeys(req, res, urlPath, rawQuery);
      return true;
    }
    if (urlPath === `${STATS_PREFIX}/store` || urlPath === `${STATS_PREFIX}/self` || urlPath === `${STATS_PREFIX}/leader`) {
      serveStats(req, res, urlPath.slice(STATS_PREFIX.length + 1));
      return true;
    }
    if (urlPath === MEMBERS_PREFIX || urlPath.startsWith(MEMBERS_PREFIX + "/")) {
      serveMembers(req, res, urlPath.slice(MEMBERS_PREFIX.length).replace(/^\//, ""));
      return true;
    }
    if (urlPath === MACHINES_PREFIX) {
      if (!allowMethod(req, res, "GET", "HEAD")) return true;
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      writeGoBody(req, res, 200, cluster.clientUrls.join(", "));
      return true;
    }
    return false;
  };
}

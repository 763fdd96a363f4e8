/**
 * Mirrors etcd release-3.4 `etcdserver/v2_server.go` and `etcdserver/apply_v2.go`: a v2 keys request as
 * the `etcdserverpb.Request` etcd logs, and the way a logged one is applied.
 *
 *   PUT /v2/keys/foo?value=bar&ttl=5    →  Request{Method "PUT", Path "/1/foo", Val "bar", Expiration <unix ns>}
 *   the server's TTL sweep               →  Request{Method "SYNC", Time <unix ns>}
 *
 * The expiry is absolute and fixed when the request is parsed, before it is logged, so replaying the
 * log gives every key the expiry it was acknowledged with, however late the replay runs. A SYNC carries
 * the leader's clock reading; replaying it expires exactly what it expired the first time.
 */
import { applyAuthRecords, type AuthRecord } from "../v2/v2auth/store.js";
import { applyKeyRequest, type KeyRequest } from "../v2/http.js";
import type { Store } from "../v2/store.js";
import type { V2Request } from "./etcdserverpb.js";
import { ATTRIBUTES_PATH, CLUSTER_VERSION_KEY, saveClusterVersionToStore, updateMemberAttributesInStore } from "./membershipStore.js";

/** etcd's prefix for the keys space inside the v2 store ("/0" holds the membership). */
export const KEYS_PREFIX_IN_STORE = "/1";

/** Milliseconds → Unix nanoseconds (0 stays 0: no expiry). */
function toNanos(ms: number | undefined): bigint {
  if (ms === undefined || ms === 0) return 0n;
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1_000_000));
}

/** Unix nanoseconds → milliseconds (0 → undefined: no expiry). */
function toMillis(ns: bigint): number | undefined {
  // Split before converting: Unix nanoseconds need 61 bits, more than a double holds exactly.
  return ns === 0n ? undefined : Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1_000_000;
}

/** The logged form of a keys request (etcd's RequestV2 fields). */
export function toV2Request(id: bigint, request: KeyRequest): V2Request {
  return {
    id,
    method: request.method === "GET" ? "QGET" : request.method,
    path: KEYS_PREFIX_IN_STORE + request.path,
    val: request.value,
    dir: request.dir,
    prevValue: request.prevValue,
    prevIndex: request.prevIndex,
    prevExist: request.prevExist,
    expiration: toNanos(request.expireTimeMs),
    wait: request.wait,
    since: request.waitIndex,
    recursive: request.recursive,
    sorted: request.sorted,
    quorum: request.quorum,
    time: 0n,
    stream: request.stream,
    refresh: request.refresh,
  };
}

/** etcd's prefix of v2 auth's records in the v2 store (`StorePermsPrefix`). */
export const AUTH_STORE_PREFIX = "/2";

/**
 * A v2 auth write as the logged request etcd's v2auth sends: a create is a PUT with prevExist false
 * (a directory for /2, /2/users, /2/roles), an update a PUT with prevExist true, a delete a DELETE.
 *
 *   {create, "/2/users/alice", '{"user":"alice",…}'}  →  PUT /2/users/alice prevExist=false val={…}
 */
export function toAuthRequest(id: bigint, record: AuthRecord): V2Request {
  const base = toV2Request(id, EMPTY_KEY_REQUEST);
  if (record.action === "delete") return { ...base, method: "DELETE", path: record.path, recursive: true };
  return { ...base, method: "PUT", path: record.path, val: record.value, dir: record.action === "create" && record.value === "", prevExist: record.action === "create" ? false : record.action === "update" ? true : undefined };
}

/** The record a logged `/2` request carries (the inverse of `toAuthRequest`). */
function fromAuthRequest(request: V2Request): AuthRecord {
  if (request.method === "DELETE") return { action: "delete", path: request.path, value: "" };
  return { action: request.prevExist === false ? "create" : request.prevExist === true ? "update" : "set", path: request.path, value: request.val };
}

/** The SYNC request of the TTL sweep at `nowMs`. */
export function syncRequest(id: bigint, nowMs: number): V2Request {
  return { ...toV2Request(id, EMPTY_KEY_REQUEST), method: "SYNC", path: "", time: toNanos(nowMs) };
}

const EMPTY_KEY_REQUEST: KeyRequest = {
  method: "",
  path: "",
  value: "",
  dir: false,
  prevValue: "",
  prevIndex: 0,
  prevExist: undefined,
  wait: false,
  waitIndex: 0,
  recursive: false,
  sorted: false,
  quorum: false,
  stream: false,
  refresh: undefined,
  expireTimeMs: undefined,
  noValueOnSuccess: false,
};

/** A logged keys request back as the handler's KeyRequest. */
export function fromV2Request(request: V2Request): KeyRequest {
  const expireTimeMs = toMillis(request.expiration);
  return {
    ...EMPTY_KEY_REQUEST,
    method: request.method === "QGET" ? "GET" : request.method,
    path: request.path.startsWith(KEYS_PREFIX_IN_STORE) ? request.path.slice(KEYS_PREFIX_IN_STORE.length) || "/" : request.path,
    value: request.val,
    dir: request.dir,
    prevValue: request.prevValue,
    prevIndex: request.prevIndex,
    prevExist: request.prevExist,
    wait: request.wait,
    waitIndex: request.since,
    recursive: request.recursive,
    sorted: request.sorted,
    quorum: request.method === "QGET" || request.quorum,
    stream: request.stream,
    refresh: request.refresh,
    expireTimeMs,
  };
}

/**
 * Applies a logged v2 request to the store (etcd's applyV2Request). A SYNC expires what its time says;
 * a QGET changes nothing; a PUT of a member's attributes or of the cluster version goes to `/0`. Errors are the request's answer, not the log's: they are thrown to the caller,
 * who ignores them on replay.
 */
export function applyV2Request(store: Store, request: V2Request, nowMs: number): ReturnType<typeof applyKeyRequest> | undefined {
  if (request.method === "SYNC") {
    store.deleteExpiredKeys(toMillis(request.time) ?? 0);
    return undefined;
  }
  // etcd's applierV2store.Put: the member's attributes and the cluster version are membership
  // records (membershipStore.ts), written to `/0` with no answer for anyone.
  const attributes = request.method === "PUT" ? ATTRIBUTES_PATH.exec(request.path) : null;
  if (attributes !== null) {
    updateMemberAttributesInStore(store, BigInt(`0x${attributes[1] as string}`), request.val);
    return undefined;
  }
  if (request.method === "PUT" && request.path === CLUSTER_VERSION_KEY) {
    saveClusterVersionToStore(store, request.val);
    return undefined;
  }
  // v2 auth's records under `/2` (v2/v2auth/store.ts), with no answer for anyone.
  if (request.path === AUTH_STORE_PREFIX || request.path.startsWith(AUTH_STORE_PREFIX + "/")) {
    applyAuthRecords(store, [fromAuthRequest(request)]);
    return undefined;
  }
  return applyKeyRequest(store, fromV2Request(request), nowMs);
}

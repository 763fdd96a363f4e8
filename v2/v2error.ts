/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2error/error.go`.
 *
 * Every v2 failure is one `V2Error`: a numeric code from a fixed table, the table's message, a
 * `cause` (usually the path involved) and `index`, the store's etcd index when the error happened.
 * Parameter errors raised by the HTTP layer carry index 0. The HTTP status comes from a small map;
 * every code not in it answers 400.
 *
 *   new V2Error(EcodeKeyNotFound, "/foo", 7).toString()  →  "Key not found (/foo)"
 *   JSON.stringify(thatError)  →  {"errorCode":100,"message":"Key not found","cause":"/foo","index":7}
 *   new V2Error(EcodeNotFile, "", 3).toString()          →  "Not a file ()"   (Go prints the parens anyway)
 *
 * Codes keep etcd's names. Those etcd 3.4 never raises are kept (lower-case in Go, so unexported
 * there) because the table is part of the wire protocol a student may look up.
 */

export const EcodeKeyNotFound = 100;
export const EcodeTestFailed = 101;
export const EcodeNotFile = 102;
/** Never raised by etcd 3.4. */
export const EcodeNoMorePeer = 103;
export const EcodeNotDir = 104;
export const EcodeNodeExist = 105;
/** Never raised by etcd 3.4. */
export const EcodeKeyIsPreserved = 106;
export const EcodeRootROnly = 107;
export const EcodeDirNotEmpty = 108;
/** Never raised by etcd 3.4. */
export const EcodeExistingPeerAddr = 109;
export const EcodeUnauthorized = 110;

/** Never raised by etcd 3.4. */
export const EcodeValueRequired = 200;
export const EcodePrevValueRequired = 201;
export const EcodeTTLNaN = 202;
export const EcodeIndexNaN = 203;
/** Never raised by etcd 3.4. */
export const EcodeValueOrTTLRequired = 204;
/** Never raised by etcd 3.4. */
export const EcodeTimeoutNaN = 205;
/** Never raised by etcd 3.4. */
export const EcodeNameRequired = 206;
/** Never raised by etcd 3.4. */
export const EcodeIndexOrValueRequired = 207;
/** Never raised by etcd 3.4. */
export const EcodeIndexValueMutex = 208;
export const EcodeInvalidField = 209;
export const EcodeInvalidForm = 210;
export const EcodeRefreshValue = 211;
export const EcodeRefreshTTLRequired = 212;

export const EcodeRaftInternal = 300;
/** Never raised by etcd 3.4. */
export const EcodeLeaderElect = 301;

/** Never raised by etcd 3.4 (recovery keeps watchers registered instead of clearing them). */
export const EcodeWatcherCleared = 400;
export const EcodeEventIndexCleared = 401;
/** Never raised by etcd 3.4. */
export const EcodeStandbyInternal = 402;
/** Never raised by etcd 3.4. */
export const EcodeInvalidActiveSize = 403;
/** Never raised by etcd 3.4. */
export const EcodeInvalidRemoveDelay = 404;

/** Never raised by etcd 3.4. */
export const EcodeClientInternal = 500;

/** The fixed message of every code, exactly as etcd sends it. */
export const ERROR_MESSAGES: ReadonlyMap<number, string> = new Map([
  [EcodeKeyNotFound, "Key not found"],
  [EcodeTestFailed, "Compare failed"],
  [EcodeNotFile, "Not a file"],
  [EcodeNoMorePeer, "Reached the max number of peers in the cluster"],
  [EcodeNotDir, "Not a directory"],
  [EcodeNodeExist, "Key already exists"],
  [EcodeKeyIsPreserved, "The prefix of given key is a keyword in etcd"],
  [EcodeRootROnly, "Root is read only"],
  [EcodeDirNotEmpty, "Directory not empty"],
  [EcodeExistingPeerAddr, "Peer address has existed"],
  [EcodeUnauthorized, "The request requires user authentication"],

  [EcodeValueRequired, "Value is Required in POST form"],
  [EcodePrevValueRequired, "PrevValue is Required in POST form"],
  [EcodeTTLNaN, "The given TTL in POST form is not a number"],
  [EcodeIndexNaN, "The given index in POST form is not a number"],
  [EcodeValueOrTTLRequired, "Value or TTL is required in POST form"],
  [EcodeTimeoutNaN, "The given timeout in POST form is not a number"],
  [EcodeNameRequired, "Name is required in POST form"],
  [EcodeIndexOrValueRequired, "Index or value is required"],
  [EcodeIndexValueMutex, "Index and value cannot both be specified"],
  [EcodeInvalidField, "Invalid field"],
  [EcodeInvalidForm, "Invalid POST form"],
  [EcodeRefreshValue, "Value provided on refresh"],
  [EcodeRefreshTTLRequired, "A TTL must be provided on refresh"],

  [EcodeRaftInternal, "Raft Internal Error"],
  [EcodeLeaderElect, "During Leader Election"],

  [EcodeWatcherCleared, "watcher is cleared due to etcd recovery"],
  [EcodeEventIndexCleared, "The event in requested index is outdated and cleared"],
  [EcodeStandbyInternal, "Standby Internal Error"],
  [EcodeInvalidActiveSize, "Invalid active size"],
  [EcodeInvalidRemoveDelay, "Standby remove delay"],

  [EcodeClientInternal, "Client Internal Error"],
]);

/**
 * HTTP status per code (etcd's `errorStatus` map). Every other code answers 400 Bad Request.
 *
 *   100 → 404   101, 105 → 412   102, 108 → 403   110 → 401   300, 301 → 500
 */
export const ERROR_HTTP_STATUS: ReadonlyMap<number, number> = new Map([
  [EcodeKeyNotFound, 404],
  [EcodeNotFile, 403],
  [EcodeDirNotEmpty, 403],
  [EcodeUnauthorized, 401],
  [EcodeTestFailed, 412],
  [EcodeNodeExist, 412],
  [EcodeRaftInternal, 500],
  [EcodeLeaderElect, 500],
]);

/** The JSON body of an error response, fields in etcd's order; `cause` is left out when empty. */
export interface V2ErrorJSON {
  readonly errorCode: number;
  readonly message: string;
  readonly cause?: string;
  readonly index: number;
}

/**
 * One v2 error: `errorCode`, the code's fixed `message`, a free-text `cause` and the etcd `index`.
 *
 * Invariant: `message` is always `ERROR_MESSAGES.get(errorCode)`; an unknown code is a programming
 * error and throws a RangeError at construction.
 *
 *   const error = new V2Error(EcodeTestFailed, "[wrong != cas1]", 12);
 *   error.toString()   →  "Compare failed ([wrong != cas1])"
 *   error.statusCode   →  412
 */
export class V2Error extends Error {
  /** etcd's numeric code, e.g. 100 for "Key not found". */
  readonly errorCode: number;
  /** What the error is about: a path, a compare diff like `[a != b]`, or a parameter problem. */
  override readonly cause: string;
  /** The store's etcd index when the error happened (0 for parameter errors). */
  index: number;

  constructor(errorCode: number, cause: string = "", index: number = 0) {
    const message = ERROR_MESSAGES.get(errorCode);
    if (message === undefined) throw new RangeError(`unknown v2 error code ${errorCode}`);
    super(message);
    this.name = "V2Error";
    this.errorCode = errorCode;
    this.cause = cause;
    this.index = index;
  }

  /** The HTTP status etcd answers with (400 for codes outside the map). */
  get statusCode(): number {
    return ERROR_HTTP_STATUS.get(this.errorCode) ?? 400;
  }

  /** Go's `Error()`: "Message (cause)", parentheses included even when the cause is empty. */
  override toString(): string {
    return `${this.message} (${this.cause})`;
  }

  /** The wire body: `{"errorCode":…,"message":…,"cause":…,"index":…}` with an empty cause left out. */
  toJSON(): V2ErrorJSON {
    return this.cause === ""
      ? { errorCode: this.errorCode, message: this.message, index: this.index }
      : { errorCode: this.errorCode, message: this.message, cause: this.cause, index: this.index };
  }
}

/** True when `error` is a V2Error (narrowing helper for `catch (error: unknown)`). */
export function isV2Error(error: unknown): error is V2Error {
  return error instanceof V2Error;
}

/**
 * A broken invariant of the v2 store: a bug in etcdsim, never an answer. etcd's v2store panics
 * where this is thrown, and Go's net/http then drops the connection without answering; the v2
 * HTTP handler does the same with this error (see `writeKeyError`), so it never turns into a
 * V2Error body. It is the only form of invariant error in `v2/` (a test greps for others).
 *
 *   checkInvariants() on a node created after its parent's index  →  InvariantViolation
 */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}

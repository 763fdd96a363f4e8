/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/store.go` (`Save`, `Recovery`, `Clone`).
 *
 * The v2 store's snapshot format, what `store.save()` writes and `store.recovery()` reads, plus
 * helpers that put a snapshot in a file atomically and read it back safely. etcd's Save and Recovery
 * JSON-encode the whole store (tree, event history, current index, stats) into the `.snap` file.
 * etcdsim keeps the same parts with readable field names, limited to the user tree:
 *
 *   {"currentIndex":3,"format":"etcdsim/v2store","formatVersion":1,
 *    "history":{"capacity":1000,"events":[{"action":"set","etcdIndex":1,"node":{…},"refresh":false},…],
 *               "lastIndex":3,"startIndex":1},
 *    "root":{"children":[…],"createdIndex":0,"expireTimeMs":0,"modifiedIndex":0,"path":"/","value":""},
 *    "stats":{…},"ttlKeys":["/t"],"version":2}
 *
 * The text goes through `fast-json-stable-stringify` (keys sorted), so two equal stores give
 * identical text. Two additions over etcd, both so that a recovered store answers exactly like the
 * original: children are an ordered list (listing order survives), and `ttlKeys` records the order in
 * which TTL nodes will expire (etcd rebuilds its heap from Go's randomly ordered maps instead).
 * Like etcd, registered watchers are not part of a snapshot; unlike etcd, neither is their count
 * (etcd saves whatever `watchers` value its stats last computed), so equal stores save equal text.
 *
 * Invariant: `decodeSnapshot` either returns a fully checked snapshot or throws `SnapshotError`;
 * nothing is half-read. A snapshot file is one header line (format, byte length, SHA-256 of the
 * body) followed by the body, so a truncated, corrupted or foreign file is refused by name.
 */
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import stableStringify from "fast-json-stable-stringify";
import { Event, InternalEvent, type Action } from "./event.js";
import type { NodeState } from "./node.js";
import type { NodeExtern } from "./nodeExtern.js";
import { joinPath, splitPath } from "./path.js";
import { STATS_FIELDS, type StatsJSON } from "./stats.js";

/** Names the body format; a snapshot from anything else is refused. */
export const SNAPSHOT_FORMAT = "etcdsim/v2store";
/** Bumped whenever the body layout changes incompatibly. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** Names the file format (header line + body). */
export const SNAPSHOT_FILE_FORMAT = "etcdsim/v2store-file";

/** Counters a snapshot keeps: all but `watchers`, which counts live watchers, and those are not saved. */
const STORED_STATS_FIELDS = STATS_FIELDS.filter((field) => field !== "watchers");

/** Why a snapshot text or file was refused. */
export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SnapshotError";
  }
}

/** One history event as stored: the wire fields plus `etcdIndex` and `refresh`. */
export interface EventSnapshot {
  readonly action: Action;
  readonly node: NodeExtern;
  readonly prevNode?: NodeExtern;
  readonly etcdIndex: number;
  readonly refresh: boolean;
  /** Only when true: a write in `/0` or `/2` (see Event.internal). */
  readonly internal?: true;
}

/** The parts of a store a snapshot holds. */
export interface SnapshotParts {
  readonly version: number;
  readonly currentIndex: number;
  readonly root: NodeState;
  readonly history: { readonly capacity: number; readonly startIndex: number; readonly lastIndex: number; readonly events: readonly Event[] };
  /** The counters; `watchers` is not stored (watchers are not part of a snapshot) and reads back as 0. */
  readonly stats: StatsJSON;
  /** Paths of the nodes with a TTL, in the order they will expire. */
  readonly ttlKeys: readonly string[];
  /** The internal `/0` nodes (membership), in the order they were made; left out of the text when none. */
  readonly internal: readonly InternalNodeSnapshot[];
}

/** One internal (`/0`) node as stored. */
export interface InternalNodeSnapshot {
  readonly path: string;
  readonly value: string;
  readonly createdIndex: number;
  readonly modifiedIndex: number;
}

/**
 * Encodes a store's parts as deterministic JSON text: exactly what `fast-json-stable-stringify`
 * writes for them, keys sorted at every level. The tree, nearly all of the text, is written by
 * `encodeNodeState`, which knows a node's six fields and so skips the generic per-object key sort
 * (which made a 100k-node save 15× slower than JSON.stringify). The rest goes through stableStringify.
 */
export function encodeSnapshot(parts: SnapshotParts): string {
  const history = stableStringify({
    capacity: parts.history.capacity,
    startIndex: parts.history.startIndex,
    lastIndex: parts.history.lastIndex,
    events: parts.history.events.map((event): EventSnapshot => {
      const stored = { action: event.action, node: event.node, etcdIndex: event.etcdIndex, refresh: event.refresh, ...(event.internal ? { internal: true as const } : {}) };
      return event.prevNode === undefined ? stored : { ...stored, prevNode: event.prevNode };
    }),
  });
  const stats = stableStringify(Object.fromEntries(STORED_STATS_FIELDS.map((field) => [field, parts.stats[field]])));
  // The top-level keys in sorted order, as stableStringify puts them.
  return (
    `{"currentIndex":${encodeNumber(parts.currentIndex)},"format":${JSON.stringify(SNAPSHOT_FORMAT)},` +
    `"formatVersion":${encodeNumber(SNAPSHOT_FORMAT_VERSION)},"history":${history},` +
    (parts.internal.length > 0 ? `"internal":${stableStringify(parts.internal)},` : "") +
    `"root":${encodeNodeState(parts.root)},` +
    `"stats":${stats},"ttlKeys":${stableStringify(parts.ttlKeys)},"version":${encodeNumber(parts.version)}}`
  );
}

/** A number as stableStringify writes one. */
function encodeNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : "null";
}

/**
 * A NodeState subtree as stableStringify writes it, keys in sorted order. O(nodes).
 *
 *   {"children":null,"createdIndex":2,"expireTimeMs":0,"modifiedIndex":5,"path":"/a/b","value":"x"}
 */
function encodeNodeState(state: NodeState): string {
  let children = "null";
  if (state.children !== null) {
    const encoded: string[] = [];
    for (const child of state.children) encoded.push(encodeNodeState(child));
    children = `[${encoded.join(",")}]`;
  }
  return (
    `{"children":${children},"createdIndex":${encodeNumber(state.createdIndex)},"expireTimeMs":${encodeNumber(state.expireTimeMs)},` +
    `"modifiedIndex":${encodeNumber(state.modifiedIndex)},"path":${JSON.stringify(state.path)},"value":${JSON.stringify(state.value)}}`
  );
}

/**
 * Parses and checks a snapshot text. Checks: the format name and version, every node's shape and
 * path (a child's path is its parent's plus one name, names unique), indexes are non-negative
 * integers no larger than `currentIndex`, the history holds one event per index from `startIndex`
 * to `lastIndex` (= `currentIndex` when not empty) within `capacity`, the stats have every counter,
 * and `ttlKeys` lists exactly the nodes that have an expiry.
 */
export function decodeSnapshot(text: string): SnapshotParts {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new SnapshotError(`v2 snapshot is not valid JSON (${(error as Error).message}); is it truncated?`);
  }
  const top = object(data, "snapshot");
  if (top["format"] !== SNAPSHOT_FORMAT) throw new SnapshotError(`not a v2 store snapshot: format is ${JSON.stringify(top["format"])}, expected "${SNAPSHOT_FORMAT}"`);
  if (top["formatVersion"] !== SNAPSHOT_FORMAT_VERSION) throw new SnapshotError(`unsupported v2 snapshot format version ${JSON.stringify(top["formatVersion"])} (this build reads ${SNAPSHOT_FORMAT_VERSION})`);
  const version = index(top["version"], "version");
  if (version !== 2) throw new SnapshotError(`v2 snapshot has store version ${version}, expected 2`);
  const currentIndex = index(top["currentIndex"], "currentIndex");

  const ttlPaths = new Set<string>();
  const root = decodeNode(top["root"], "/", currentIndex, ttlPaths);
  if (root.children === null) throw new SnapshotError("v2 snapshot root is a file, not a directory");

  const historyData = object(top["history"], "history");
  const capacity = index(historyData["capacity"], "history.capacity");
  if (capacity < 1) throw new SnapshotError("v2 snapshot history.capacity must be at least 1");
  const startIndex = index(historyData["startIndex"], "history.startIndex");
  const lastIndex = index(historyData["lastIndex"], "history.lastIndex");
  const eventsData = array(historyData["events"], "history.events");
  if (eventsData.length > capacity) throw new SnapshotError(`v2 snapshot history holds ${eventsData.length} events, more than its capacity ${capacity}`);
  const events = eventsData.map((item, i) => decodeEvent(item, `history.events[${i}]`));
  if (events.length === 0) {
    if (startIndex !== 0 || lastIndex !== 0 || currentIndex !== 0) throw new SnapshotError("v2 snapshot has an empty history but non-zero indexes");
  } else {
    events.forEach((event, i) => {
      if (event.index !== startIndex + i) throw new SnapshotError(`v2 snapshot history.events[${i}] has index ${event.index}, expected ${startIndex + i}`);
    });
    if (lastIndex !== startIndex + events.length - 1) throw new SnapshotError(`v2 snapshot history.lastIndex ${lastIndex} does not match its events`);
    if (lastIndex !== currentIndex) throw new SnapshotError(`v2 snapshot history ends at ${lastIndex} but currentIndex is ${currentIndex}`);
  }

  const statsData = object(top["stats"], "stats");
  const stats: Record<string, number> = { watchers: 0 };
  for (const field of STORED_STATS_FIELDS) stats[field] = index(statsData[field], `stats.${field}`);

  const ttlKeys = array(top["ttlKeys"], "ttlKeys").map((item, i) => string(item, `ttlKeys[${i}]`));
  const listed = new Set(ttlKeys);
  if (listed.size !== ttlKeys.length || listed.size !== ttlPaths.size || ttlKeys.some((path) => !ttlPaths.has(path))) {
    throw new SnapshotError("v2 snapshot ttlKeys does not list exactly the nodes that have an expiry");
  }

  const internal = (top["internal"] === undefined ? [] : array(top["internal"], "internal")).map((item, i): InternalNodeSnapshot => {
    const fields = object(item, `internal[${i}]`);
    const path = string(fields["path"], `internal[${i}].path`);
    // etcd's internal namespaces: /0 (membership) and /2 (v2 auth, its directory included).
    if (!path.startsWith("/0/") && path !== "/2" && !path.startsWith("/2/")) throw new SnapshotError(`v2 snapshot internal[${i}].path ${JSON.stringify(path)} is not under /0 or /2`);
    const createdIndex = index(fields["createdIndex"], `internal[${i}].createdIndex`);
    const modifiedIndex = index(fields["modifiedIndex"], `internal[${i}].modifiedIndex`);
    if (createdIndex > modifiedIndex || modifiedIndex > currentIndex) throw new SnapshotError(`v2 snapshot internal[${i}] has indexes outside 0..currentIndex`);
    return { path, value: string(fields["value"], `internal[${i}].value`), createdIndex, modifiedIndex };
  });

  return {
    version,
    currentIndex,
    internal,
    root,
    history: { capacity, startIndex, lastIndex, events },
    stats: stats as StatsJSON,
    ttlKeys,
  };
}

/**
 * Writes `store.save()` to `filePath` atomically: the text goes to a temporary file in the same
 * directory, is flushed to disk, and is then renamed over the target, so a crash leaves either the
 * old file or the new one, never half of one.
 */
export function saveSnapshotFile(filePath: string, store: { save(): string }): void {
  const body = store.save();
  const header = JSON.stringify({
    format: SNAPSHOT_FILE_FORMAT,
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    bytes: Buffer.byteLength(body, "utf8"),
    sha256: sha256(body),
  });
  const temporary = `${filePath}.tmp-${process.pid}`;
  const fd = openSync(temporary, "w", 0o600);
  try {
    writeSync(fd, `${header}\n${body}`);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temporary, filePath);
  // Make the rename itself durable where the platform allows syncing a directory.
  try {
    const dirFd = openSync(dirname(filePath), "r");
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the file itself is already on disk.
  }
}

/**
 * Reads a snapshot file and checks its header, length and checksum, returning the body text.
 * Throws SnapshotError for a missing header, a foreign file, a truncated body or a corrupted one.
 */
export function readSnapshotFile(filePath: string): string {
  let raw: string;
  try {
    raw = readFileSync(filePath, "utf8");
  } catch (error) {
    throw new SnapshotError(`cannot read v2 snapshot file: ${(error as Error).message}`);
  }
  const newline = raw.indexOf("\n");
  if (newline === -1) throw new SnapshotError("not a v2 snapshot file: no header line (empty or truncated file?)");
  let header: Record<string, unknown>;
  try {
    header = object(JSON.parse(raw.slice(0, newline)), "snapshot file header");
  } catch {
    throw new SnapshotError("not a v2 snapshot file: the first line is not an etcdsim header");
  }
  if (header["format"] !== SNAPSHOT_FILE_FORMAT) throw new SnapshotError(`not a v2 snapshot file: format is ${JSON.stringify(header["format"])}, expected "${SNAPSHOT_FILE_FORMAT}"`);
  if (header["formatVersion"] !== SNAPSHOT_FORMAT_VERSION) throw new SnapshotError(`unsupported v2 snapshot file version ${JSON.stringify(header["formatVersion"])}`);
  const body = raw.slice(newline + 1);
  const bytes = Buffer.byteLength(body, "utf8");
  if (bytes !== header["bytes"]) throw new SnapshotError(`v2 snapshot file is truncated or padded: body has ${bytes} bytes, header says ${String(header["bytes"])}`);
  if (sha256(body) !== header["sha256"]) throw new SnapshotError("v2 snapshot file is corrupted: SHA-256 of the body does not match its header");
  return body;
}

/** Loads a snapshot file into `store` (all or nothing): see `readSnapshotFile` and `store.recovery`. */
export function loadSnapshotFile(filePath: string, store: { recovery(json: string): void }): void {
  store.recovery(readSnapshotFile(filePath));
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

function decodeNode(data: unknown, path: string, currentIndex: number, ttlPaths: Set<string>): NodeState {
  const where = `node ${path}`;
  const fields = object(data, where);
  if (fields["path"] !== path) throw new SnapshotError(`v2 snapshot ${where} has path ${JSON.stringify(fields["path"])}`);
  const createdIndex = index(fields["createdIndex"], `${where}.createdIndex`);
  const modifiedIndex = index(fields["modifiedIndex"], `${where}.modifiedIndex`);
  if (createdIndex > modifiedIndex || modifiedIndex > currentIndex) {
    throw new SnapshotError(`v2 snapshot ${where} has indexes created ${createdIndex}, modified ${modifiedIndex} beyond current ${currentIndex}`);
  }
  const expireTimeMs = fields["expireTimeMs"];
  if (typeof expireTimeMs !== "number" || !Number.isSafeInteger(expireTimeMs)) throw new SnapshotError(`v2 snapshot ${where}.expireTimeMs is not an integer`);
  if (expireTimeMs !== 0) {
    if (path === "/") throw new SnapshotError("v2 snapshot root has an expiry");
    ttlPaths.add(path);
  }
  const value = string(fields["value"], `${where}.value`);
  let children: NodeState[] | null = null;
  if (fields["children"] !== null) {
    if (value !== "") throw new SnapshotError(`v2 snapshot directory ${path} has a value`);
    const names = new Set<string>();
    children = array(fields["children"], `${where}.children`).map((child, i) => {
      const childPath = string(object(child, `${where}.children[${i}]`)["path"], `${where}.children[${i}].path`);
      const [parentPart, name] = splitPath(childPath);
      if (name === "" || name === "." || name === ".." || joinPath(path, name) !== childPath || (path !== "/" && parentPart !== `${path}/`)) {
        throw new SnapshotError(`v2 snapshot child ${JSON.stringify(childPath)} does not belong under ${path}`);
      }
      if (names.has(name)) throw new SnapshotError(`v2 snapshot directory ${path} lists ${name} twice`);
      names.add(name);
      return decodeNode(child, childPath, currentIndex, ttlPaths);
    });
  }
  return Object.freeze({ path, createdIndex, modifiedIndex, expireTimeMs, value, children: children === null ? null : Object.freeze(children) });
}

const ACTIONS: ReadonlySet<string> = new Set(["get", "create", "set", "update", "delete", "compareAndSwap", "compareAndDelete", "expire"]);

function decodeEvent(data: unknown, where: string): Event {
  const fields = object(data, where);
  const action = fields["action"];
  if (typeof action !== "string" || !ACTIONS.has(action)) throw new SnapshotError(`v2 snapshot ${where}.action is ${JSON.stringify(action)}`);
  const node = decodeNodeExtern(fields["node"], `${where}.node`);
  const prevNode = fields["prevNode"] === undefined ? undefined : decodeNodeExtern(fields["prevNode"], `${where}.prevNode`);
  const etcdIndex = index(fields["etcdIndex"], `${where}.etcdIndex`);
  const refresh = fields["refresh"];
  if (typeof refresh !== "boolean") throw new SnapshotError(`v2 snapshot ${where}.refresh is not a boolean`);
  const internal = fields["internal"];
  if (internal !== undefined && internal !== true) throw new SnapshotError(`v2 snapshot ${where}.internal is not true`);
  return internal === true ? new InternalEvent(action as Action, node, prevNode, etcdIndex, refresh) : new Event(action as Action, node, prevNode, etcdIndex, refresh);
}

const EXTERN_ORDER = ["key", "value", "dir", "expiration", "ttl", "nodes", "modifiedIndex", "createdIndex"] as const;

/** Rebuilds a NodeExtern with etcd's field order (the stored text has its keys sorted). */
function decodeNodeExtern(data: unknown, where: string): NodeExtern {
  const fields = object(data, where);
  for (const key of Object.keys(fields)) {
    if (!(EXTERN_ORDER as readonly string[]).includes(key)) throw new SnapshotError(`v2 snapshot ${where} has an unknown field ${key}`);
  }
  const node: Record<string, unknown> = {};
  for (const key of EXTERN_ORDER) {
    const value = fields[key];
    if (value === undefined) continue;
    switch (key) {
      case "key":
      case "value":
      case "expiration":
        node[key] = string(value, `${where}.${key}`);
        break;
      case "dir":
        if (value !== true) throw new SnapshotError(`v2 snapshot ${where}.dir must be true when present`);
        node[key] = true;
        break;
      case "ttl":
        if (typeof value !== "number" || !Number.isSafeInteger(value)) throw new SnapshotError(`v2 snapshot ${where}.ttl is not an integer`);
        node[key] = value;
        break;
      case "nodes":
        node[key] = Object.freeze(array(value, `${where}.nodes`).map((child, i) => decodeNodeExtern(child, `${where}.nodes[${i}]`)));
        break;
      case "modifiedIndex":
      case "createdIndex":
        node[key] = index(value, `${where}.${key}`);
        break;
    }
  }
  return Object.freeze(node) as NodeExtern;
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new SnapshotError(`v2 snapshot ${where} is not an object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new SnapshotError(`v2 snapshot ${where} is not a list`);
  return value;
}

function string(value: unknown, where: string): string {
  if (typeof value !== "string") throw new SnapshotError(`v2 snapshot ${where} is not a string`);
  return value;
}

function index(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new SnapshotError(`v2 snapshot ${where} is not a non-negative integer`);
  return value;
}

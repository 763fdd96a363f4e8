/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/store.go`.
 *
 * The v2 store: an in-memory tree of directories and keys, one store-wide etcd index that every
 * successful change moves up by exactly one, a 1000-event history, a watcher hub and a TTL heap.
 * The `Store` interface below is the whole v2 API on one screen; `V2Store` implements it.
 *
 * Time is data. The store never reads a clock. A write that sets a TTL receives the absolute expiry
 * in `expireOpts.expireTimeMs` (the HTTP layer computes now + ttl, as etcd does before replicating),
 * every method whose answer shows a `ttl` takes `nowMs` (the reading to count the seconds left from),
 * and expiry happens only when someone calls `deleteExpiredKeys(cutoffMs)`, etcd's SYNC request.
 *
 *   const clock = new SimulatedClock();
 *   const store = new V2Store();
 *   store.set("/t", false, "x", { expireTimeMs: clock.now() + 5_000 }, clock.now());   // ttl 5
 *   clock.advance(5_000);
 *   store.deleteExpiredKeys(clock.now());     →  [ expire event for /t ], index +1
 *
 * Errors are thrown as `V2Error` (see v2error.ts) and change nothing except the stats counters.
 */
import * as actions from "./event.js";
import { Event, InternalEvent } from "./event.js";
import { EVENT_HISTORY_CAPACITY, EventHistory } from "./eventHistory.js";
import { CompareIndexNotMatch, CompareMatch, CompareValueNotMatch, Node, PERMANENT, type CompareResult, type NodeContext, type NodeState } from "./node.js";
import { makeFileExtern, makeNodeExtern, type NodeExtern } from "./nodeExtern.js";
import { cleanKey, joinPath } from "./path.js";
import { decodeSnapshot, encodeSnapshot, SnapshotError } from "./snapshot.js";
import { STATS_FIELDS, Stats, type StatsField, type StatsJSON } from "./stats.js";
import { TTLKeyHeap } from "./ttlKeyHeap.js";
import { EcodeKeyNotFound, EcodeNotDir, EcodeNotFile, EcodeNodeExist, EcodeRootROnly, EcodeTestFailed, InvariantViolation, V2Error } from "./v2error.js";
import { WATCHER_BUFFER_CAPACITY, type Watcher } from "./watcher.js";
import { WatcherHub } from "./watcherHub.js";

/** The store format version etcd reports (`Store.Version()`). */
export const STORE_VERSION = 2;

/**
 * etcd's `TTLOptionSet`: the absolute expiry and the refresh flag of a write.
 *
 *   {}                                        permanent (no TTL; on update/CAS this removes a TTL)
 *   { expireTimeMs: nowMs + 30_000 }          ttl=30
 *   { expireTimeMs: nowMs }                   ttl=0: expires at the next sweep
 *   { expireTimeMs: nowMs + 30_000, refresh: true }   new TTL, value kept, watchers not told
 */
export interface ExpireOptions {
  /** Absolute expiry in ms since the Unix epoch. Absent or 0 = permanent (Go's zero time). */
  readonly expireTimeMs?: number;
  /** True: a TTL refresh (set, update, compareAndSwap only; create ignores it). */
  readonly refresh?: boolean;
}

/** The whole v2 store API. Every method that fails throws a `V2Error` and changes nothing but stats. */
export interface Store {
  /** Always 2 (etcd's `Version()`). */
  version(): number;
  /** The current etcd index: the index of the last successful change (0 in an empty store). */
  readonly index: number;

  /**
   * A write in etcd's internal namespaces: `/0` (membership: `/0/members/<id>/raftAttributes`,
   * `…/attributes`, `/0/version`, `/0/removed_members/<id>`) and `/2` (v2 auth's users, roles and
   * enabled flag, v2/v2auth/store.ts), as etcd's membership and v2auth code write them:
   * one etcd index and one history event (an `internal` one: no watch or scan sees it), counted in
   * the stats like any create/set/update/delete. `/v2/keys` never lists these nodes. A delete
   * removes the node and everything below it. Returns the event.
   *
   *   fresh member:  internalWrite("create", "/0/members/8e9e05c52164694d/raftAttributes", '{"peerURLs":[…]}')  → index 1
   *                  internalWrite("set", "/0/members/8e9e05c52164694d/attributes", '{"name":…}')            → index 2
   *                  internalWrite("set", "/0/version", "3.4.0")                                               → index 3
   */
  internalWrite(action: InternalAction, path: string, value: string): Event;
  /** The value of an internal node (`/0/version`), if it exists. */
  internalValue(path: string): string | undefined;
  /** Every internal node's value by path, in the order they were made (etcd's `membersFromStore` reads them). */
  internalRecords(): ReadonlyMap<string, string>;
  /** Reads a node. `recursive` lists the whole visible subtree, `sorted` sorts `nodes` by key. */
  get(path: string, recursive: boolean, sorted: boolean, nowMs: number): Event;
  /** Creates or replaces a key (or, with `dir`, an empty directory). Action `set`. */
  set(path: string, dir: boolean, value: string, expireOpts: ExpireOptions, nowMs: number): Event;
  /** Creates a node that must not exist (105 otherwise). `unique`: POST, a new in-order child of `path`. */
  create(path: string, dir: boolean, value: string, unique: boolean, expireOpts: ExpireOptions, nowMs: number): Event;
  /** Changes an existing node's value and TTL (a directory: TTL only). Action `update`. */
  update(path: string, value: string, expireOpts: ExpireOptions, nowMs: number): Event;
  /** Update of a file if `prevValue` ("" = any) and `prevIndex` (0 = any) match. Action `compareAndSwap`. */
  compareAndSwap(path: string, prevValue: string, prevIndex: number, value: string, expireOpts: ExpireOptions, nowMs: number): Event;
  /** Removes a key, or a directory with `dir` (empty) or `recursive` (whole subtree). Action `delete`. */
  delete(path: string, dir: boolean, recursive: boolean, nowMs: number): Event;
  /** Removes a file if `prevValue` and `prevIndex` match. Action `compareAndDelete`. */
  compareAndDelete(path: string, prevValue: string, prevIndex: number, nowMs: number): Event;

  /**
   * Starts a watch. `sinceIndex` 0 means "from the next change". An event already in the history
   * (index ≥ sinceIndex) is queued at once; otherwise the watcher waits in the hub.
   * Throws 401 when `sinceIndex` is older than the history keeps.
   */
  watch(path: string, recursive: boolean, stream: boolean, sinceIndex: number): Watcher;

  /** Removes every node whose expiry is ≤ cutoffMs, one `expire` event and one index each; returns them. */
  deleteExpiredKeys(cutoffMs: number): Event[];
  /** True while some node has a TTL (the server sends SYNC only then). */
  hasTTLKeys(): boolean;

  /** The whole store (tree, index, history, stats, TTL order) as deterministic JSON text. */
  save(): string;
  /** Replaces this store's state with a `save()` text; refuses invalid input without changing anything. Watchers stay. */
  recovery(json: string): void;
  /** An independent deep copy without watchers (etcd's `Clone()`). */
  clone(): Store;

  /** The stats counters, `watchers` included, in etcd's order. */
  stats(): StatsJSON;
  /** `JSON.stringify(stats())`: the `/v2/stats/store` body (etcd's `JsonStats()`). */
  jsonStats(): string;

  /** The tree as frozen plain data, sharing unchanged subtrees with earlier calls (cheap before/after copies). */
  tree(): NodeState;
  /** Throws if an internal invariant is broken (index, history, heap, tree links). For tests. */
  checkInvariants(): void;
}

/** The writes etcd's membership code makes in `/0`. */
export type InternalAction = typeof actions.Create | typeof actions.Set | typeof actions.Update | typeof actions.Delete;

/** An internal (`/0`) node: permanent, never listed. */
export interface InternalNode {
  readonly value: string;
  readonly createdIndex: number;
  readonly modifiedIndex: number;
}

/**
 * Expiry times before 2000-01-01T00:00:00Z count as permanent when a node is created (etcd's
 * `minExpireTime`). That is why a huge `ttl`, whose expiry overflows int64 nanoseconds and wraps to
 * a date before 2000, silently makes a permanent key. Quirk: update and compareAndSwap skip this check.
 */
export const MIN_EXPIRE_TIME_MS = Date.UTC(2000, 0, 1);

/** Tunables, with etcd's values as defaults. */
export interface V2StoreOptions {
  /** Events the history keeps (default EVENT_HISTORY_CAPACITY = 1000). */
  readonly historyCapacity?: number;
  /** Unread events a watcher may hold before it is dropped (default WATCHER_BUFFER_CAPACITY = 100). */
  readonly watcherCapacity?: number;
}

/**
 * The v2 store. See the `Store` interface for the API and the file header for how time is passed in.
 *
 * Invariants (checked by `checkInvariants`): `index` = the index of the newest history event (0
 * while empty); every node's createdIndex ≤ modifiedIndex ≤ index; a node is in the TTL heap if and
 * only if it has an expiry; the hub's watcher count equals the watchers it holds.
 *
 * Watch delivery is synchronous, inside the write. A listener must not call back into the store
 * while that write is still running (etcd would deadlock on its world lock); the store refuses such a
 * call with an Error. Read the event, then act after the write returns (e.g. `queueMicrotask`).
 */
export class V2Store implements Store, NodeContext {
  /** The root directory "/" (etcd's `Root`; read-only for writes). */
  private root: Node;
  /** etcd's `CurrentIndex` (exported in Go too). Read it through `index`; only the store writes it. */
  currentIndex = 0;
  /** The internal `/0` nodes by path (etcd's `/0` directory; `/v2/keys` reaches only `/1`). */
  private internal = new Map<string, InternalNode>();
  /** Every node with an expiry, ordered by it (etcd's `ttlKeyHeap`). Public only for the nodes' sake. */
  ttlKeyHeap = new TTLKeyHeap();
  /** Watchers and the event history (etcd's `WatcherHub`). */
  private watcherHub: WatcherHub;
  /** Operation counters (etcd's `Stats`). */
  private counters = new Stats();
  private readonly options: V2StoreOptions;
  /** True while a call is running: guards against re-entry from a watch listener. */
  private busy = false;
  /** Errors etcd returns past its bookkeeping, which therefore count as successes (quirk). */
  private readonly countedAsSuccess = new WeakSet<V2Error>();

  constructor(options: V2StoreOptions = {}) {
    this.options = options;
    this.root = Node.newDir(this, "/", 0, undefined, PERMANENT);
    this.watcherHub = new WatcherHub(options.historyCapacity ?? EVENT_HISTORY_CAPACITY, options.watcherCapacity ?? WATCHER_BUFFER_CAPACITY);
  }

  version(): number {
    return STORE_VERSION;
  }

  get index(): number {
    return this.currentIndex;
  }

  internalWrite(action: InternalAction, path: string, value: string): Event {
    const success: StatsField = action === actions.Create ? "createSuccess" : action === actions.Set ? "setsSuccess" : action === actions.Update ? "updateSuccess" : "deleteSuccess";
    const fail: StatsField = action === actions.Create ? "createFail" : action === actions.Set ? "setsFail" : action === actions.Update ? "updateFail" : "deleteFail";
    return this.run(success, fail, () => {
      const key = cleanKey(path);
      const existing = this.internal.get(key);
      if (action === actions.Create && existing !== undefined) throw new V2Error(EcodeNodeExist, key, this.currentIndex);
      if ((action === actions.Update || action === actions.Delete) && existing === undefined && !(action === actions.Delete && this.hasInternalBelow(key))) {
        throw new V2Error(EcodeKeyNotFound, key, this.currentIndex);
      }
      const index = ++this.currentIndex;
      const prevNode = existing === undefined ? undefined : makeNodeExtern({ key, value: existing.value, modifiedIndex: existing.modifiedIndex, createdIndex: existing.createdIndex });
      let node: NodeExtern;
      if (action === actions.Delete) {
        this.internal.delete(key);
        for (const other of [...this.internal.keys()]) if (other.startsWith(key + "/")) this.internal.delete(other);
        node = makeNodeExtern({ key, modifiedIndex: index, createdIndex: existing?.createdIndex ?? index });
      } else {
        const createdIndex = action === actions.Update && existing !== undefined ? existing.createdIndex : index;
        this.internal.set(key, { value, createdIndex, modifiedIndex: index });
        node = makeNodeExtern({ key, value, modifiedIndex: index, createdIndex });
      }
      const event = new InternalEvent(action, node, prevNode, index);
      this.watcherHub.add(event);
      return event;
    });
  }

  internalValue(path: string): string | undefined {
    return this.internal.get(cleanKey(path))?.value;
  }

  internalRecords(): ReadonlyMap<string, string> {
    return new Map([...this.internal].map(([path, node]) => [path, node.value]));
  }

  /** True when some internal node lies below `key` (a recursive delete of a member's directory). */
  private hasInternalBelow(key: string): boolean {
    for (const other of this.internal.keys()) if (other.startsWith(key + "/")) return true;
    return false;
  }

  /**
   * Reads a node. Errors: 100 (cause = the first missing path), 104 (cause = the file in the way).
   *
   *   set /dir/a=1, set /dir/_h=2, set /dir/sub/b=3
   *   get("/dir", false, true)  →  nodes [/dir/a (value 1), /dir/sub (dir, no nodes)]    /dir/_h is hidden
   *   get("/dir", true,  true)  →  the same, with /dir/sub listing /dir/sub/b
   */
  get(nodePath: string, recursive: boolean, sorted: boolean, nowMs: number): Event {
    return this.run("getsSuccess", "getsFail", () => {
      const key = cleanKey(nodePath);
      const node = this.internalGet(key);
      const extern = node.reprForGet(recursive, sorted, nowMs); // node.path === key
      return new Event(actions.Get, extern, undefined, this.currentIndex);
    });
  }

  /**
   * Creates or replaces a key. Missing parent directories are created (permanent, with this index).
   * An existing file is replaced by a new node (new createdIndex, old TTL gone); an existing
   * directory answers 102. With `refresh`, the key must exist and keeps its value; the event goes to
   * the history but not to watchers.
   *
   *   set("/message", false, "Hello")  →  {"action":"set","node":{…"value":"Hello","modifiedIndex":1,"createdIndex":1}}
   *   set("/message", false, "World")  →  node created/modified 2, prevNode the "Hello" node
   */
  set(nodePath: string, dir: boolean, value: string, expireOpts: ExpireOptions, nowMs: number): Event {
    return this.run("setsSuccess", "setsFail", () => {
      // Get the node at the key, if any: a missing key (100) is what a set usually meets, any other
      // error (104, a file in the way) ends the set.
      const key = cleanKey(nodePath);
      const node = this.internalGet(key, true);
      const refresh = expireOpts.refresh === true;
      if (refresh) {
        if (node === undefined) this.internalGet(key); // throws the 100 etcd returns
        else value = node.value;
      }
      // The node it replaces, as it was (read before internalCreate removes it).
      const prevNode = node === undefined || node.isDir() ? undefined : node.repr(false, false, nowMs);
      // Set the new value.
      const created = this.internalCreate(key, dir, value, false, true, expireOpts.expireTimeMs ?? PERMANENT, nowMs);
      const event = new Event(actions.Set, created, prevNode, this.currentIndex, refresh);
      if (refresh) this.watcherHub.add(event);
      else this.watcherHub.notify(event);
      return event;
    });
  }

  /**
   * Creates a node that must not exist yet (105 otherwise). With `unique` (POST), the new node is a
   * child of `nodePath` named after the new index, 20 digits zero-padded: "/queue/00000000000000000007".
   * `refresh` is ignored.
   */
  create(nodePath: string, dir: boolean, value: string, unique: boolean, expireOpts: ExpireOptions, nowMs: number): Event {
    return this.run("createSuccess", "createFail", () => {
      const created = this.internalCreate(nodePath, dir, value, unique, false, expireOpts.expireTimeMs ?? PERMANENT, nowMs);
      const event = new Event(actions.Create, created, undefined, this.currentIndex);
      this.watcherHub.notify(event);
      return event;
    });
  }

  /**
   * Changes a node in place: a file gets `value` (the old one with `refresh`) and its modifiedIndex
   * moves; every node gets the new expiry, and an absent expiry makes it permanent. A directory only
   * accepts an empty value (else 102) and only its TTL changes.
   *
   *   Quirk: a directory's stored modifiedIndex does not move, though the event shows the new index.
   *   Quirk: an absent `value` is "", so an update meant to change only the TTL wipes the value.
   */
  update(nodePath: string, value: string, expireOpts: ExpireOptions, nowMs: number): Event {
    return this.run("updateSuccess", "updateFail", () => {
      const key = cleanKey(nodePath);
      if (key === "/") throw this.quirkCountedAsSuccess(new V2Error(EcodeRootROnly, "/", this.currentIndex));
      const nextIndex = this.currentIndex + 1;
      const node = this.internalGet(key);
      if (node.isDir() && value.length !== 0) throw this.quirkCountedAsSuccess(new V2Error(EcodeNotFile, key, this.currentIndex));
      const refresh = expireOpts.refresh === true;
      if (refresh) value = node.value;

      const prevNode = node.repr(false, false, nowMs);
      node.write(value, nextIndex);
      node.updateTTL(expireOpts.expireTimeMs ?? PERMANENT);
      const [expiration, ttl] = node.expirationAndTTL(nowMs);
      const extern = makeNodeExtern({
        key,
        value: node.isDir() ? undefined : value,
        dir: node.isDir(),
        expiration,
        ttl,
        modifiedIndex: nextIndex,
        createdIndex: node.createdIndex,
      });
      this.currentIndex = nextIndex;
      const event = new Event(actions.Update, extern, prevNode, nextIndex, refresh);
      if (refresh) this.watcherHub.add(event);
      else this.watcherHub.notify(event);
      return event;
    });
  }

  /**
   * Replaces a file's value if `prevValue` ("" = not checked) equals its value and `prevIndex`
   * (0 = not checked) equals its modifiedIndex. A failure is 101 whose cause lists the failed tests:
   *
   *   value only: "[wrong != cas1]"    index only: "[1 != 8]"    both: "[wrong != cas1] [1 != 8]"
   *
   * On success createdIndex stays, modifiedIndex moves, and the TTL is replaced (absent = permanent).
   */
  compareAndSwap(nodePath: string, prevValue: string, prevIndex: number, value: string, expireOpts: ExpireOptions, nowMs: number): Event {
    return this.run("compareAndSwapSuccess", "compareAndSwapFail", () => {
      const key = cleanKey(nodePath);
      if (key === "/") throw this.quirkCountedAsSuccess(new V2Error(EcodeRootROnly, "/", this.currentIndex));
      const node = this.internalGet(key);
      if (node.isDir()) throw new V2Error(EcodeNotFile, key, this.currentIndex);
      const which = node.compare(prevValue, prevIndex);
      if (which !== CompareMatch) throw new V2Error(EcodeTestFailed, compareFailCause(node, which, prevValue, prevIndex), this.currentIndex);
      const refresh = expireOpts.refresh === true;
      if (refresh) value = node.value;

      this.currentIndex++;
      const prevNode = node.repr(false, false, nowMs);
      node.write(value, this.currentIndex);
      node.updateTTL(expireOpts.expireTimeMs ?? PERMANENT);
      const [expiration, ttl] = node.expirationAndTTL(nowMs);
      const extern = makeNodeExtern({ key, value, expiration, ttl, modifiedIndex: this.currentIndex, createdIndex: node.createdIndex });
      const event = new Event(actions.CompareAndSwap, extern, prevNode, this.currentIndex, refresh);
      if (refresh) this.watcherHub.add(event);
      else this.watcherHub.notify(event);
      return event;
    });
  }

  /**
   * Removes a file, or a directory when `dir` (it must be empty, else 108) or `recursive` (the whole
   * subtree at once: one index, one event keyed by the directory). A directory without either is 102.
   * Watchers sitting exactly on any removed path hear of it, children first, then the usual prefixes.
   *
   *   delete("/dir", false, true) with /dir/a  →  {"action":"delete","node":{"key":"/dir","dir":true,"modifiedIndex":5,…},"prevNode":{…}}
   */
  delete(nodePath: string, dir: boolean, recursive: boolean, nowMs: number): Event {
    return this.run("deleteSuccess", "deleteFail", () => {
      const key = cleanKey(nodePath);
      if (key === "/") throw this.quirkCountedAsSuccess(new V2Error(EcodeRootROnly, "/", this.currentIndex));
      if (recursive) dir = true; // recursive implies dir
      const node = this.internalGet(key);
      node.checkRemove(dir, recursive);

      const nextIndex = this.currentIndex + 1;
      const extern = makeNodeExtern({ key, dir: node.isDir(), modifiedIndex: nextIndex, createdIndex: node.createdIndex });
      const event = new Event(actions.Delete, extern, node.repr(false, false, nowMs), nextIndex);
      node.remove(dir, recursive, (path) => this.watcherHub.notifyWatchers(event, path, true));
      this.currentIndex = nextIndex;
      this.watcherHub.notify(event);
      return event;
    });
  }

  /**
   * Removes a file if `prevValue` and `prevIndex` match, exactly as compareAndSwap tests them.
   *
   *   Quirk: there is no read-only check, so the root answers 102 "Not a file" with an empty cause
   *   (etcd's cause is its hidden "/1" prefix, which the HTTP layer trims away).
   *   Quirk: failures with 101 and 102 count as compareAndDeleteSuccess.
   */
  compareAndDelete(nodePath: string, prevValue: string, prevIndex: number, nowMs: number): Event {
    return this.run("compareAndDeleteSuccess", "compareAndDeleteFail", () => {
      const key = cleanKey(nodePath);
      const node = this.internalGet(key);
      if (node.isDir()) throw this.quirkCountedAsSuccess(new V2Error(EcodeNotFile, key === "/" ? "" : key, this.currentIndex));
      const which = node.compare(prevValue, prevIndex);
      if (which !== CompareMatch) {
        throw this.quirkCountedAsSuccess(new V2Error(EcodeTestFailed, compareFailCause(node, which, prevValue, prevIndex), this.currentIndex));
      }
      this.currentIndex++;
      const extern = makeNodeExtern({ key, modifiedIndex: this.currentIndex, createdIndex: node.createdIndex });
      const event = new Event(actions.CompareAndDelete, extern, node.repr(false, false, nowMs), this.currentIndex);
      node.remove(false, false, (path) => this.watcherHub.notifyWatchers(event, path, true));
      this.watcherHub.notify(event);
      return event;
    });
  }

  /**
   * Starts a watch at `nodePath` (cleaned). `sinceIndex` 0 means index + 1. Watches are not counted
   * in the stats. See `WatcherHub.watch` for history replay and the 401 error:
   *
   *   after 1100 changes: watch("/x", false, false, 1)  →  V2Error 401
   *     "The event in requested index is outdated and cleared (the requested history has been cleared [101/1])"
   */
  watch(nodePath: string, recursive: boolean, stream: boolean, sinceIndex: number): Watcher {
    return this.guarded(() => {
      const key = cleanKey(nodePath);
      const since = sinceIndex === 0 ? this.currentIndex + 1 : sinceIndex;
      return this.watcherHub.watch(key, recursive, stream, since, this.currentIndex);
    });
  }

  /**
   * etcd's `DeleteExpiredKeys`, run when a SYNC request carrying `cutoffMs` is applied. While the
   * earliest expiry is ≤ cutoffMs: take one index, remove that node with its whole subtree (children
   * vanish silently, their own TTLs included), count it, and tell watchers with one `expire` event.
   * The cutoff also serves as "now" for the prevNode's ttl (it works out to 0 or less, so is usually absent).
   *
   *   /t (expires at 5 s) and /tdir (at 6 s), index 6:  deleteExpiredKeys(7 s)  →  expire /t at 7, expire /tdir at 8
   */
  deleteExpiredKeys(cutoffMs: number): Event[] {
    return this.guarded(() => {
      const events: Event[] = [];
      for (;;) {
        const node = this.ttlKeyHeap.top();
        if (node === undefined || node.expireTimeMs > cutoffMs) break;
        this.currentIndex++;
        const extern = makeNodeExtern({ key: node.path, dir: node.isDir(), modifiedIndex: this.currentIndex, createdIndex: node.createdIndex });
        const event = new Event(actions.Expire, extern, node.repr(false, false, cutoffMs), this.currentIndex);
        this.ttlKeyHeap.pop();
        node.remove(true, true, (path) => this.watcherHub.notifyWatchers(event, path, true));
        this.counters.inc("expireCount");
        this.watcherHub.notify(event);
        events.push(event);
      }
      return events;
    });
  }

  hasTTLKeys(): boolean {
    return this.ttlKeyHeap.length > 0;
  }

  /** Deterministic JSON text of the whole store; see snapshot.ts for the layout. */
  save(): string {
    return this.guarded(() =>
      encodeSnapshot({
        version: STORE_VERSION,
        currentIndex: this.currentIndex,
        root: this.root.state(),
        history: {
          capacity: this.watcherHub.eventHistory.queue.capacity,
          startIndex: this.watcherHub.eventHistory.startIndex,
          lastIndex: this.watcherHub.eventHistory.lastIndex,
          events: this.watcherHub.eventHistory.queue.toArray(),
        },
        stats: this.stats(),
        ttlKeys: this.ttlKeyHeap.ordered().map((node) => node.path),
        internal: [...this.internal].map(([path, node]) => ({ path, ...node })),
      }),
    );
  }

  /**
   * Replaces the tree, index, history, stats and TTL heap with those of a `save()` text. The text is
   * checked completely first (SnapshotError otherwise) and the store is untouched on failure.
   * Registered watchers stay registered, as in etcd (its JSON decode leaves the hub's watcher map alone).
   * Nodes whose expiry passed meanwhile are removed by the next `deleteExpiredKeys`, not here.
   */
  recovery(json: string): void {
    this.guarded(() => {
      const snapshot = decodeSnapshot(json);
      const heap = new TTLKeyHeap();
      const root = this.buildTree(snapshot.root, heap, snapshot.ttlKeys);
      const history = new EventHistory(snapshot.history.capacity);
      for (const event of snapshot.history.events) history.addEvent(event);
      if (history.startIndex !== snapshot.history.startIndex || history.lastIndex !== snapshot.history.lastIndex) {
        throw new SnapshotError("v2 snapshot history bounds do not match its events");
      }
      const counters = new Stats();
      for (const field of STATS_FIELDS) if (field !== "watchers") counters.setValue(field, snapshot.stats[field]);

      // Everything is checked and built: switch over in one step.
      this.root = root;
      this.ttlKeyHeap = heap;
      this.currentIndex = snapshot.currentIndex;
      this.watcherHub.eventHistory = history;
      this.counters = counters;
      this.internal = new Map(snapshot.internal.map(({ path, ...node }) => [path, node]));
    });
  }

  /** An independent deep copy with the same tree, index, history, stats and expiry order, and no watchers. */
  clone(): V2Store {
    return this.guarded(() => {
      const copy = new V2Store(this.options);
      const heap = new TTLKeyHeap();
      copy.root = copy.buildTree(this.root.state(), heap, this.ttlKeyHeap.ordered().map((node) => node.path));
      copy.ttlKeyHeap = heap;
      copy.currentIndex = this.currentIndex;
      copy.watcherHub = this.watcherHub.clone();
      copy.counters = this.counters.clone();
      copy.internal = new Map(this.internal);
      return copy;
    });
  }

  stats(): StatsJSON {
    this.counters.setValue("watchers", this.watcherHub.count);
    return this.counters.toJSON();
  }

  jsonStats(): string {
    return JSON.stringify(this.stats());
  }

  /**
   * The tree as frozen plain data (see `NodeState`). Each node caches its frozen state and a write
   * clears only the caches on its own path, so this costs O(nodes changed since the last call), and
   * consecutive trees share every unchanged subtree:
   *
   *   const before = store.tree();  store.set("/a/x", …);  const after = store.tree();
   *   before !== after;  before.children[1] === after.children[1]   (an untouched /b is shared)
   *
   * Why plain frozen data: a lesson can keep any number of before/after trees for the price of the
   * changed paths, print or diff them, and hand them to Immer's `produce` to sketch "what if" trees
   * without touching the store. We don't run each write through `produce` itself: one proxy per write
   * would cost more than the write, and watcher-heavy benchmarks measure exactly that path.
   */
  tree(): NodeState {
    return this.guarded(() => this.root.state());
  }

  /**
   * The event history, for observers that draw it (the classroom view's ring). Read it, never
   * change it: it is the hub's own object. Not part of `Store`; etcd's `WatcherHub.EventHistory`
   * is the same field, reached the same way.
   */
  eventHistory(): Readonly<EventHistory> {
    return this.watcherHub.eventHistory;
  }

  /** Throws an Error naming the first broken invariant. O(nodes + history + watchers). */
  checkInvariants(): void {
    const withTTL = new Set<Node>();
    this.root.checkInvariants((node) => {
      if (node.createdIndex > node.modifiedIndex || node.modifiedIndex > this.currentIndex) {
        throw new InvariantViolation(`${node.path} has created ${node.createdIndex}, modified ${node.modifiedIndex}, current ${this.currentIndex}`);
      }
      if (node.parent !== undefined && node.createdIndex < node.parent.createdIndex) {
        throw new InvariantViolation(`${node.path} was created before its parent`);
      }
      if (!node.isPermanent()) withTTL.add(node);
      if (node.isPermanent() === this.ttlKeyHeap.has(node)) throw new InvariantViolation(`${node.path} TTL heap membership is wrong`);
    });
    if (this.root.path !== "/" || !this.root.isDir() || !this.root.isPermanent()) throw new InvariantViolation("the root must be a permanent directory at /");
    if (withTTL.size !== this.ttlKeyHeap.length) throw new InvariantViolation(`TTL heap holds ${this.ttlKeyHeap.length} nodes, tree has ${withTTL.size}`);
    this.ttlKeyHeap.checkInvariants();

    const history = this.watcherHub.eventHistory;
    const events = history.queue.toArray();
    if (history.lastIndex !== this.currentIndex) throw new InvariantViolation(`history ends at ${history.lastIndex}, index is ${this.currentIndex}`);
    events.forEach((event, i) => {
      if (event.index !== history.startIndex + i) throw new InvariantViolation(`history slot ${i} holds index ${event.index}, expected ${history.startIndex + i}`);
    });
    this.watcherHub.checkInvariants();
  }

  /**
   * etcd's `internalGet`: walks a clean path from the root; 104 at a file in the way, 100 at the
   * first missing name, with that name's path as the cause.
   *
   *   set /a/f=1:  internalGet("/a/f/x") → 104 (cause "/a/f")   internalGet("/b/c") → 100 (cause "/b")
   *
   * Go returns the error as a value, and `set` goes on after a 100. Here errors are thrown, and
   * building a V2Error captures a stack trace (about 4 µs, several times a set's own cost), so
   * `set` passes `missingIsUndefined` and gets undefined in place of the 100.
   */
  private internalGet(key: string): Node;
  private internalGet(key: string, missingIsUndefined: true): Node | undefined;
  private internalGet(key: string, missingIsUndefined = false): Node | undefined {
    let current = this.root;
    // The names are read straight out of the clean key: "/a/b" is "a" at 1, "b" at 3.
    for (let start = 1; start < key.length; ) {
      const slash = key.indexOf("/", start);
      const end = slash === -1 ? key.length : slash;
      const name = key.slice(start, end);
      if (current.children === undefined) throw new V2Error(EcodeNotDir, current.path, this.currentIndex);
      const child = current.children.get(name);
      if (child === undefined) {
        if (missingIsUndefined) return undefined;
        throw new V2Error(EcodeKeyNotFound, joinPath(current.path, name), this.currentIndex);
      }
      current = child;
      start = end + 1;
    }
    return current;
  }

  /**
   * etcd's `internalCreate`, used by set (`replace`) and create. Walks to the parent directory,
   * making missing ones on the way (`walk` with `checkDir`), and adds the new node with the next
   * index. An existing node there answers 105 unless `replace`; a directory there answers 102; a
   * file there is removed first. `unique` (POST) names the node after the new index.
   *
   *   internalCreate("/q", false, "job", unique)  →  /q/00000000000000000007 (index 7)
   *
   * It changes nothing when it fails: a 104 can only come from an existing file, which lies above any
   * directory this call would create, and the 105/102 checks find an existing target, which means
   * every parent already existed.
   */
  private internalCreate(nodePath: string, dir: boolean, value: string, unique: boolean, replace: boolean, expireTimeMs: number, nowMs: number): NodeExtern {
    const currIndex = this.currentIndex;
    const nextIndex = currIndex + 1;
    if (unique) nodePath += "/" + String(nextIndex).padStart(20, "0");
    const key = cleanKey(nodePath);
    // The root is read-only.
    if (key === "/") throw new V2Error(EcodeRootROnly, "/", currIndex);
    // Expiry times far in the past mean "none" (a zero time that went through JSON).
    if (expireTimeMs < MIN_EXPIRE_TIME_MS) expireTimeMs = PERMANENT;

    // Walk through the path, creating directories, to the last directory.
    const parent = this.createDirs(key, nextIndex);
    const nodeName = key.slice(key.lastIndexOf("/") + 1);
    const existing = parent.children?.get(nodeName);
    if (existing !== undefined) {
      // With replace, an existing file goes.
      if (!replace) throw new V2Error(EcodeNodeExist, key, currIndex);
      if (existing.isDir()) throw new V2Error(EcodeNotFile, key, currIndex);
      existing.remove(false, false);
    }

    const node = dir ? Node.newDir(this, key, nextIndex, parent, expireTimeMs) : Node.newKV(this, key, value, nextIndex, parent, expireTimeMs);
    parent.add(node, nodeName);
    let expiration: string | undefined;
    let ttl: number | undefined;
    if (!node.isPermanent()) {
      this.ttlKeyHeap.push(node);
      [expiration, ttl] = node.expirationAndTTL(nowMs);
    }
    this.currentIndex = nextIndex;
    return !dir && expiration === undefined
      ? makeFileExtern(key, value, nextIndex) // the usual case; the same fields makeNodeExtern would set
      : makeNodeExtern({ key, value: dir ? undefined : value, dir, expiration, ttl, modifiedIndex: nextIndex, createdIndex: nextIndex });
  }

  /**
   * etcd's `walk(dirName, checkDir)` for internalCreate: walks the names of the clean `key` up to
   * (not including) its last one and returns the directory there, creating missing ones (permanent,
   * created at `createdIndex`). A file in the way answers 104 with the file's path.
   *
   *   createDirs("/a/b/k", 7)  →  the directory /a/b (/a and /a/b made at index 7 if missing)
   */
  private createDirs(key: string, createdIndex: number): Node {
    let current = this.root;
    let start = 1; // after the leading "/"
    for (let slash = key.indexOf("/", start); slash !== -1; slash = key.indexOf("/", start)) {
      const name = key.slice(start, slash);
      const child = current.children?.get(name);
      if (child === undefined) {
        // The key is clean (no empty, "." or ".." name), so its prefix is the path etcd's
        // path.Join(parent, name) would build.
        const created = Node.newDir(this, key.slice(0, slash), createdIndex, current, PERMANENT);
        current.add(created, name);
        current = created;
      } else if (child.isDir()) {
        current = child;
      } else {
        throw new V2Error(EcodeNotDir, child.path, this.currentIndex);
      }
      start = slash + 1;
    }
    return current;
  }

  /**
   * Builds live nodes for this store from a frozen tree and fills `heap` in the saved expiry order.
   * The nodes find the heap through `this.ttlKeyHeap`, so the caller installs `heap` there next.
   */
  private buildTree(state: NodeState, heap: TTLKeyHeap, ttlKeys: readonly string[]): Node {
    const byPath = new Map<string, Node>();
    const root = Node.fromState(this, state, undefined, false);
    root.checkInvariants((node) => {
      if (!node.isPermanent()) byPath.set(node.path, node);
    });
    for (const path of ttlKeys) {
      const node = byPath.get(path);
      if (node === undefined) throw new SnapshotError(`v2 snapshot ttlKeys names ${path}, which has no expiry`);
      heap.push(node);
    }
    if (heap.length !== byPath.size) throw new SnapshotError("v2 snapshot ttlKeys misses some nodes that have an expiry");
    return root;
  }

  /** Marks an error that etcd returns past its stats bookkeeping, so it counts as a success. */
  private quirkCountedAsSuccess(error: V2Error): V2Error {
    this.countedAsSuccess.add(error);
    return error;
  }

  /** Runs one counted operation: a success or failure counter goes up, as etcd's deferred Stats.Inc does. */
  private run<T>(success: StatsField, fail: StatsField, operation: () => T): T {
    return this.guarded(() => {
      try {
        const result = operation();
        this.counters.inc(success);
        return result;
      } catch (error) {
        this.countFailure(success, fail, error);
        throw error;
      }
    });
  }

  /** The failure half of `run`: counts a V2Error (a quirk may count it as a success); other errors count nothing. */
  private countFailure(success: StatsField, fail: StatsField, error: unknown): void {
    if (error instanceof V2Error) {
      // Quirk: a create that fails with 104 inside the walk also counts setsFail (etcd's internalCreate does).
      if (success === "createSuccess" && error.errorCode === EcodeNotDir) this.counters.inc("setsFail");
      this.counters.inc(this.countedAsSuccess.has(error) ? success : fail);
    }
  }

  /** Refuses a call made while another is running (a watch listener calling back into the store). */
  private guarded<T>(operation: () => T): T {
    if (this.busy) throw new Error("v2 store: called from a watch listener during a write; act after the write returns");
    this.busy = true;
    try {
      return operation();
    } finally {
      this.busy = false;
    }
  }
}

/** etcd's `getCompareFailCause`: "[prevValue != value]", "[prevIndex != modifiedIndex]", or both. */
function compareFailCause(node: Node, which: CompareResult, prevValue: string, prevIndex: number): string {
  switch (which) {
    case CompareIndexNotMatch:
      return `[${prevIndex} != ${node.modifiedIndex}]`;
    case CompareValueNotMatch:
      return `[${prevValue} != ${node.value}]`;
    default:
      return `[${prevValue} != ${node.value}] [${prevIndex} != ${node.modifiedIndex}]`;
  }
}

/**
 * The in-process v2 adapter: a `V2Client` over a `V2Store`, mapping each request the way etcd's
 * HTTP layer does (`etcdserver/api/v2http/client.go` + `etcdserver/apply_v2.go`):
 *
 *   PUT  prevExist=true                 → update, or compareAndSwap when prevValue/prevIndex is given
 *   PUT  prevExist=false                → create
 *   PUT  prevValue/prevIndex            → compareAndSwap
 *   PUT                                 → set
 *   POST                                → create(unique)
 *   DELETE prevValue/prevIndex          → compareAndDelete, otherwise delete
 *   GET  wait=true                      → watch
 *
 * A TTL becomes an absolute expiry (now + ttl) here, before the store sees it, as etcd does before
 * replicating. The simulated clock runs the SYNC sweep: every 500 ms, while some key has a TTL,
 * `deleteExpiredKeys(now)` (etcd's leader ticker in `etcdserver/server.go`).
 *
 * Answers are the wire JSON (`JSON.parse(JSON.stringify(event))`), so lessons see exactly what the
 * HTTP API would send, and nothing that only the in-process store has.
 */
import type { SimulatedClock } from "../../shared/clock.js";
import type { Event } from "../../v2/event.js";
import { V2Store, type Store } from "../../v2/store.js";
import { V2Error } from "../../v2/v2error.js";
import type { Watcher } from "../../v2/watcher.js";
import type {
  TraceStep,
  V2Client,
  V2ErrorBody,
  V2Event,
  V2HistoryWindow,
  V2Internals,
  V2Outcome,
  V2SetOptions,
  V2StoreStats,
  V2Watch,
} from "../workload.js";

/** etcd's leader proposes a SYNC every 500 ms while TTL keys exist (`etcdserver/server.go`). */
export const V2_SYNC_INTERVAL_MS = 500;

function toWire(event: Event): V2Event {
  return { ...(JSON.parse(JSON.stringify(event)) as Omit<V2Event, "etcdIndex">), etcdIndex: event.etcdIndex };
}

function errorBody(error: V2Error): V2ErrorBody {
  return JSON.parse(JSON.stringify(error)) as V2ErrorBody;
}

/** Runs a store call; a V2Error becomes the error body, anything else is a bug and is rethrown. */
function attempt<T>(call: () => T): V2Outcome<T> {
  try {
    return { ok: true, value: call() };
  } catch (error) {
    if (error instanceof V2Error) return { ok: false, error: errorBody(error) };
    throw error;
  }
}

/** Parameter errors the HTTP layer raises before the store is reached (index 0). */
function parameterError(errorCode: number, cause: string): V2Outcome<never> {
  return { ok: false, error: errorBody(new V2Error(errorCode, cause, 0)) };
}

/**
 * One long poll. etcd's HTTP handler goroutine copies each event from the watcher's channel to the
 * socket (`handleKeyWatch` in v2http). It runs between the store's operations, not during one: a
 * single operation that produces more than 100 events for one watcher (a SYNC sweep expiring 1000
 * keys) overflows the watcher's buffer, and the store drops the watcher, exactly as in etcd.
 * `pump()` is that goroutine: the client calls it before every request and before every SYNC.
 */
class LocalV2Watch implements V2Watch {
  readonly etcdIndex: number;
  private readonly received: V2Event[] = [];
  constructor(private readonly watcher: Watcher) {
    this.etcdIndex = watcher.startIndex;
  }
  /** Moves what the watcher buffered to the client side. */
  pump(): void {
    for (const event of this.watcher.eventChan.drain()) this.received.push(toWire(event));
  }
  async take(): Promise<V2Event[]> {
    this.pump();
    return this.received.splice(0, this.received.length);
  }
  done(): boolean {
    return this.watcher.removed || this.watcher.eventChan.closed;
  }
  async close(): Promise<void> {
    this.pump();
    this.watcher.remove();
  }
}

export class V2LocalClient implements V2Client {
  private readonly watches = new Set<LocalV2Watch>();

  constructor(
    private readonly store: Store,
    private readonly clock: SimulatedClock,
  ) {}

  /** Lets every open watch's HTTP goroutine catch up (see LocalV2Watch). */
  pump(): void {
    for (const watch of this.watches) {
      watch.pump();
      if (watch.done()) this.watches.delete(watch);
    }
  }

  async get(key: string, options: { recursive?: boolean; sorted?: boolean } = {}): Promise<V2Outcome<V2Event>> {
    this.pump();
    return attempt(() => toWire(this.store.get(key, options.recursive ?? false, options.sorted ?? false, this.clock.now())));
  }

  async set(key: string, value: string, options: V2SetOptions = {}): Promise<V2Outcome<V2Event>> {
    this.pump();
    const now = this.clock.now();
    if (options.refresh === true) {
      if (value !== "") return parameterError(211, "A value was provided on a refresh");
      if (options.ttlSeconds === undefined) return parameterError(212, "No TTL value set");
    }
    const expire = {
      ...(options.ttlSeconds === undefined ? {} : { expireTimeMs: now + options.ttlSeconds * 1000 }),
      ...(options.refresh === true ? { refresh: true } : {}),
    };
    const dir = options.dir ?? false;
    const compares = (options.prevValue ?? "") !== "" || (options.prevIndex ?? 0) !== 0;
    if (options.prevValue === "") return parameterError(201, `"prevValue" cannot be empty`);
    return attempt(() => {
      if (options.prevExist === false) return toWire(this.store.create(key, dir, value, false, expire, now));
      if (compares) return toWire(this.store.compareAndSwap(key, options.prevValue ?? "", options.prevIndex ?? 0, value, expire, now));
      if (options.prevExist === true) return toWire(this.store.update(key, value, expire, now));
      return toWire(this.store.set(key, dir, value, expire, now));
    });
  }

  async createInOrder(dir: string, value: string, options: { ttlSeconds?: number } = {}): Promise<V2Outcome<V2Event>> {
    this.pump();
    const now = this.clock.now();
    const expire = options.ttlSeconds === undefined ? {} : { expireTimeMs: now + options.ttlSeconds * 1000 };
    return attempt(() => toWire(this.store.create(dir, false, value, true, expire, now)));
  }

  async delete(
    key: string,
    options: { dir?: boolean; recursive?: boolean; prevValue?: string; prevIndex?: number } = {},
  ): Promise<V2Outcome<V2Event>> {
    this.pump();
    const now = this.clock.now();
    return attempt(() =>
      options.prevValue !== undefined || options.prevIndex !== undefined
        ? toWire(this.store.compareAndDelete(key, options.prevValue ?? "", options.prevIndex ?? 0, now))
        : toWire(this.store.delete(key, options.dir ?? false, options.recursive ?? false, now)),
    );
  }

  async watch(key: string, options: { recursive?: boolean; waitIndex?: number; stream?: boolean } = {}): Promise<V2Outcome<V2Watch>> {
    this.pump();
    const answer = attempt(() => new LocalV2Watch(this.store.watch(key, options.recursive ?? false, options.stream ?? false, options.waitIndex ?? 0)));
    if (answer.ok) this.watches.add(answer.value);
    return answer;
  }

  async stats(): Promise<V2StoreStats> {
    this.pump();
    const stats = this.store.stats();
    return {
      watchers: stats.watchers,
      expireCount: stats.expireCount,
      setsSuccess: stats.setsSuccess,
      compareAndSwapSuccess: stats.compareAndSwapSuccess,
      compareAndSwapFail: stats.compareAndSwapFail,
    };
  }
}

/** The SYNC sweep on the simulated clock; returns the handle that stops it. */
export function startV2Sweep(store: Store, clock: SimulatedClock, client: V2LocalClient): () => void {
  return clock.every(V2_SYNC_INTERVAL_MS, () => {
    client.pump();
    if (store.hasTTLKeys()) store.deleteExpiredKeys(clock.now());
  });
}

interface SavedHistory {
  startIndex?: number;
  lastIndex?: number;
  capacity?: number;
  size?: number;
}

/** Views only the in-process store has, read through its public API. */
export function v2LocalInternals(store: Store, clock: SimulatedClock): V2Internals {
  return {
    historyWindow(): V2HistoryWindow {
      // The snapshot carries the ring's bounds (etcd's WatcherHub.EventHistory in the .snap file).
      const saved = JSON.parse(store.save()) as Record<string, unknown>;
      const history = findHistory(saved);
      const startIndex = history.startIndex ?? 0;
      const lastIndex = history.lastIndex ?? 0;
      return {
        startIndex,
        lastIndex,
        capacity: history.capacity ?? 1000,
        size: history.size ?? (lastIndex === 0 ? 0 : lastIndex - startIndex + 1),
      };
    },
    save: () => store.save(),
    traceGet(key, recursive) {
      return traceV2Get(store, clock, key, recursive);
    },
    nodeCount() {
      return countNodes(JSON.parse(JSON.stringify(store.get("/", true, false, clock.now()))).node) - 1;
    },
    recoverCopy(snapshot) {
      const copy = new V2Store();
      copy.recovery(snapshot);
      return { index: copy.index, nodes: countNodes(JSON.parse(JSON.stringify(copy.get("/", true, false, clock.now()))).node) - 1 };
    },
  };
}

function findHistory(saved: Record<string, unknown>): SavedHistory {
  for (const [name, value] of Object.entries(saved)) {
    if (/history/i.test(name) && typeof value === "object" && value !== null) {
      const record = value as Record<string, unknown>;
      const queue = (record["queue"] ?? record["Queue"]) as Record<string, unknown> | undefined;
      const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
      const out: SavedHistory = {};
      const start = num(record["startIndex"] ?? record["StartIndex"]);
      const last = num(record["lastIndex"] ?? record["LastIndex"]);
      const capacity = num(record["capacity"] ?? queue?.["capacity"] ?? queue?.["Capacity"]);
      const size = num(queue?.["size"] ?? queue?.["Size"]);
      if (start !== undefined) out.startIndex = start;
      if (last !== undefined) out.lastIndex = last;
      if (capacity !== undefined) out.capacity = capacity;
      if (size !== undefined) out.size = size;
      return out;
    }
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const inner = findHistory(value as Record<string, unknown>);
      if (inner.startIndex !== undefined) return inner;
    }
  }
  return {};
}

interface WireNode {
  key?: string;
  dir?: boolean;
  nodes?: WireNode[];
}

function countNodes(node: WireNode): number {
  return 1 + (node.nodes ?? []).reduce((sum, child) => sum + countNodes(child), 0);
}

/**
 * The walk v2's `internalGet` makes: from the root, one directory lookup per path component
 * (`walk` in store.go), then, for a recursive get, a visit of every node below.
 *
 *   get /a/b/c  →  visit "/", child "a" of "/", child "b" of "/a", child "c" of "/a/b"
 */
function traceV2Get(store: Store, clock: SimulatedClock, key: string, recursive: boolean): TraceStep[] {
  const steps: TraceStep[] = [{ layer: "tree", detail: `start at the root "/"` }];
  const parts = key.split("/").filter((p) => p !== "");
  let path = "";
  for (const part of parts) {
    const parent = path === "" ? "/" : path;
    path += "/" + part;
    steps.push({ layer: "tree", detail: `look up child "${part}" in the children map of ${parent}` });
  }
  const event = JSON.parse(JSON.stringify(store.get(key, recursive, false, clock.now()))) as { node: WireNode & { value?: string } };
  if (event.node.dir === true) {
    const below = countNodes(event.node) - 1;
    steps.push({ layer: "tree", detail: `${path || "/"} is a directory: ${recursive ? `copy all ${below} visible nodes below it` : "list its children"}` });
  } else {
    steps.push({ layer: "tree", detail: `${path} is a file: copy its value "${event.node.value ?? ""}"` });
  }
  return steps;
}

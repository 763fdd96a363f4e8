/**
 * The classroom view's contract: what the page shows, and the frames that change it. etcd has no
 * counterpart; this is the "view model" of the Learn Git Branching split (the engine is the truth,
 * the picture follows it). The server builds frames (observer.ts), the page applies them with the
 * same `applyFrame` below, and nothing here touches a store, the DOM or Node: both sides import it.
 *
 * A frame is a difference. Big collections (v2 nodes, v3 keys, the revision log, the event ring, the
 * timeline) travel as upserts, removals and appends; small ones (leases, watchers, connections) are
 * replaced whole when they change. A frame with `reset` replaces everything: the first frame a page
 * gets, and the one a page gets after falling too far behind (then `behind` says so).
 *
 *   model seq 7 + frame { seq 8, v2: { index 12, upsert [/foo = "bar" @12], ring: { append [12 set /foo] } } }
 *     →  model seq 8, /foo shown with modifiedIndex 12, ring newest 12
 *
 * Invariant: applying frames 1..n to an empty model gives the same model as applying the snapshot
 * taken at n (tested in test/classroom/viewModel.test.ts).
 */

/** One node of the v2 tree, flattened: the page draws the tree as rows sorted by `treeOrder`. */
export interface V2NodeRow {
  readonly path: string;
  readonly dir: boolean;
  /** Empty for directories. */
  readonly value: string;
  readonly createdIndex: number;
  readonly modifiedIndex: number;
  /** 0: permanent; else the absolute expiry on the server's clock. */
  readonly expireTimeMs: number;
  /** A name on the path starts with "_": etcd hides it from listings and watches of its parent. */
  readonly hidden: boolean;
}

/** One slot of the v2 event history ring. */
export interface RingEvent {
  readonly index: number;
  readonly action: string;
  readonly key: string;
}

/** A waiting v2 watch (one long poll, so one TCP connection each). */
export interface V2WatcherRow {
  readonly conn: number;
  readonly key: string;
  readonly recursive: boolean;
  readonly stream: boolean;
  /** The index the watch waits from: its waitIndex, or the store index + 1 when it gave none. */
  readonly waitIndex: number;
}

/** One v3 key in the tree index: its keyIndex generations, oldest first. */
export interface V3KeyRow {
  /** The key as a binary string (one char per byte): sorts in byte order, as etcd's btree does. */
  readonly sortKey: string;
  /** The key as text for display. */
  readonly key: string;
  /**
   * Each generation's revisions "main.sub", a trailing "(t)" on a tombstone; [] is `{empty}`. (keyIndex's
   * own drawing, "{empty} {4.0, 5.0(t)} {1.0, 2.0, 3.0(t)}", is not sent: it says the same, newest first.)
   */
  readonly generations: readonly (readonly string[])[];
}

/** One entry of the v3 backend's key bucket (the revision log). */
export interface V3LogRow {
  readonly main: number;
  readonly sub: number;
  readonly key: string;
  readonly value: string;
  readonly tombstone: boolean;
  readonly lease: string;
}

export interface LeaseRow {
  /** Hex, as etcdctl prints it. */
  readonly id: string;
  readonly ttlSeconds: number;
  /** Absolute expiry on the server's clock; null while the lessor is not primary (never here). */
  readonly expiryMs: number | null;
  readonly keys: readonly string[];
}

export type WatcherGroupName = "synced" | "unsynced" | "victim";

export interface V3WatcherRow {
  /** The watch stream the watcher lives on (etcdsim numbers streams in the order it sees them). */
  readonly stream: number;
  readonly id: number;
  readonly key: string;
  /** "" for one key; "\0" shown as "(all)"; else the exclusive end. */
  readonly end: string;
  readonly minRev: number;
  readonly group: WatcherGroupName;
}

/** One client TCP connection to the client port. */
export interface ConnectionRow {
  readonly conn: number;
  readonly remote: string;
  readonly userAgent: string;
  readonly requests: number;
  /** v2 long polls waiting on it now (each holds the connection: one watch per connection). */
  readonly v2Watches: number;
  /** v3 watch streams open on it now (their watchers are listed by stream in the v3 pane). */
  readonly v3Streams: number;
}

/** One finished request on the client port: the timeline's bar. */
export interface TimelineRow {
  /** Request number, in arrival order. */
  readonly n: number;
  /** HTTP/1.1 or gRPC; `status` is an HTTP status or a gRPC code (0 OK) accordingly. */
  readonly transport: "http" | "grpc";
  /** The frame it first appears in: scrubbing to the row shows that frame. */
  readonly seq: number;
  readonly atMs: number;
  readonly conn: number;
  readonly api: "v2" | "v3" | "other";
  readonly method: string;
  readonly target: string;
  readonly status: number;
  readonly v2Index: number;
  readonly v3Rev: number;
  readonly durationMs: number;
}

export interface Model {
  seq: number;
  nowMs: number;
  v2: {
    index: number;
    nodes: Map<string, V2NodeRow>;
    ring: { startIndex: number; lastIndex: number; capacity: number; events: RingEvent[] };
    watchers: V2WatcherRow[];
    syncIntervalMs: number;
  };
  v3: {
    rev: number;
    compactRev: number;
    dbSizeBytes: number;
    keys: Map<string, V3KeyRow>;
    /** The newest `LOG_ROWS_KEPT` entries, in revision order; `logHidden` counts older ones left out. */
    log: V3LogRow[];
    logHidden: number;
    leases: LeaseRow[];
    watchers: V3WatcherRow[];
  };
  connections: ConnectionRow[];
  timeline: TimelineRow[];
}

/** A change to the model; see the file header. */
export interface Frame {
  readonly seq: number;
  readonly nowMs: number;
  /** Replace the whole model with this frame's contents. */
  readonly reset?: boolean;
  /** Sent with a reset when the page resumed from a frame the server no longer keeps. */
  readonly behind?: boolean;
  readonly v2?: {
    readonly index: number;
    readonly upsert: readonly V2NodeRow[];
    readonly remove: readonly string[];
    readonly ring?: { readonly startIndex: number; readonly lastIndex: number; readonly capacity: number; readonly append: readonly RingEvent[] };
    readonly watchers?: readonly V2WatcherRow[];
  };
  readonly v3?: {
    readonly rev: number;
    readonly compactRev: number;
    readonly dbSizeBytes: number;
    readonly upsert: readonly V3KeyRow[];
    readonly remove: readonly string[];
    readonly logAppend: readonly V3LogRow[];
    /** After a compaction: the whole log as the backend now holds it. */
    readonly logReset?: readonly V3LogRow[];
    readonly logHidden?: number;
    readonly leases?: readonly LeaseRow[];
    readonly watchers?: readonly V3WatcherRow[];
  };
  readonly connections?: readonly ConnectionRow[];
  readonly timelineAppend?: readonly TimelineRow[];
}

/** etcd's v2 event history size (`newWatchHub(1000)`), shown as the ring's slots. */
export const RING_CAPACITY = 1000;
/** Revision-log rows the model keeps (newest); older ones are counted, not kept. */
export const LOG_ROWS_KEPT = 20_000;
/** Timeline rows the model keeps (newest). */
export const TIMELINE_ROWS_KEPT = 2_000;

/** An empty model at seq 0. */
export function emptyModel(): Model {
  return {
    seq: 0,
    nowMs: 0,
    v2: { index: 0, nodes: new Map(), ring: { startIndex: 0, lastIndex: 0, capacity: RING_CAPACITY, events: [] }, watchers: [], syncIntervalMs: 500 },
    v3: { rev: 1, compactRev: -1, dbSizeBytes: 0, keys: new Map(), log: [], logHidden: 0, leases: [], watchers: [] },
    connections: [],
    timeline: [],
  };
}

/**
 * Applies one frame to `model` in place and returns it. A reset frame empties the model first.
 * Frames must arrive in order (seq + 1); the caller checks that and asks for a snapshot otherwise.
 * O(rows in the frame), plus O(kept rows) when a bounded list overflows.
 */
export function applyFrame(model: Model, frame: Frame): Model {
  if (frame.reset === true) Object.assign(model, emptyModel());
  model.seq = frame.seq;
  model.nowMs = frame.nowMs;
  const v2 = frame.v2;
  if (v2 !== undefined) {
    model.v2.index = v2.index;
    for (const path of v2.remove) model.v2.nodes.delete(path);
    for (const row of v2.upsert) model.v2.nodes.set(row.path, row);
    if (v2.ring !== undefined) {
      const ring = model.v2.ring;
      ring.startIndex = v2.ring.startIndex;
      ring.lastIndex = v2.ring.lastIndex;
      ring.capacity = v2.ring.capacity;
      ring.events.push(...v2.ring.append);
      // The ring holds startIndex..lastIndex; older events were evicted by newer ones.
      const firstKept = ring.events.findIndex((event) => event.index >= ring.startIndex);
      if (firstKept > 0) ring.events.splice(0, firstKept);
      else if (firstKept < 0) ring.events.length = 0;
    }
    if (v2.watchers !== undefined) model.v2.watchers = [...v2.watchers];
  }
  const v3 = frame.v3;
  if (v3 !== undefined) {
    model.v3.rev = v3.rev;
    model.v3.compactRev = v3.compactRev;
    model.v3.dbSizeBytes = v3.dbSizeBytes;
    for (const key of v3.remove) model.v3.keys.delete(key);
    for (const row of v3.upsert) model.v3.keys.set(row.sortKey, row);
    if (v3.logReset !== undefined) model.v3.log = [...v3.logReset];
    model.v3.log.push(...v3.logAppend);
    if (v3.logHidden !== undefined) model.v3.logHidden = v3.logHidden;
    if (model.v3.log.length > LOG_ROWS_KEPT) {
      const drop = model.v3.log.length - LOG_ROWS_KEPT;
      model.v3.log.splice(0, drop);
      model.v3.logHidden += drop;
    }
    if (v3.leases !== undefined) model.v3.leases = [...v3.leases];
    if (v3.watchers !== undefined) model.v3.watchers = [...v3.watchers];
  }
  if (frame.connections !== undefined) model.connections = [...frame.connections];
  if (frame.timelineAppend !== undefined) {
    model.timeline.push(...frame.timelineAppend);
    if (model.timeline.length > TIMELINE_ROWS_KEPT) model.timeline.splice(0, model.timeline.length - TIMELINE_ROWS_KEPT);
  }
  return model;
}

/** The whole model as one reset frame (what a new page, or one that fell behind, receives). */
export function snapshotFrame(model: Model, behind = false): Frame {
  return {
    seq: model.seq,
    nowMs: model.nowMs,
    reset: true,
    ...(behind ? { behind: true } : {}),
    v2: {
      index: model.v2.index,
      upsert: [...model.v2.nodes.values()],
      remove: [],
      ring: { startIndex: model.v2.ring.startIndex, lastIndex: model.v2.ring.lastIndex, capacity: model.v2.ring.capacity, append: model.v2.ring.events },
      watchers: model.v2.watchers,
    },
    v3: {
      rev: model.v3.rev,
      compactRev: model.v3.compactRev,
      dbSizeBytes: model.v3.dbSizeBytes,
      upsert: [...model.v3.keys.values()],
      remove: [],
      logAppend: [],
      logReset: model.v3.log,
      logHidden: model.v3.logHidden,
      leases: model.v3.leases,
      watchers: model.v3.watchers,
    },
    connections: model.connections,
    timelineAppend: model.timeline,
  };
}

/** A deep-enough copy: rows are immutable, so only the containers are copied. O(rows). */
export function copyModel(model: Model): Model {
  return {
    seq: model.seq,
    nowMs: model.nowMs,
    v2: { ...model.v2, nodes: new Map(model.v2.nodes), ring: { ...model.v2.ring, events: [...model.v2.ring.events] }, watchers: [...model.v2.watchers] },
    v3: { ...model.v3, keys: new Map(model.v3.keys), log: [...model.v3.log], leases: [...model.v3.leases], watchers: [...model.v3.watchers] },
    connections: [...model.connections],
    timeline: [...model.timeline],
  };
}

/**
 * The v2 tree's row order: a directory, then everything under it, then its next sibling.
 * Comparing with "/" read as the lowest character does it: "/a" < "/a/b" < "/a-b".
 */
export function treeOrder(a: string, b: string): number {
  const x = a.replaceAll("/", "\u0000");
  const y = b.replaceAll("/", "\u0000");
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Parses keyIndex's drawing ("{empty} {4.0, 5.0(t)} {1.0}", newest first) into generations, oldest first. */
export function parseGenerations(diagram: string): string[][] {
  const generations: string[][] = [];
  for (const match of diagram.matchAll(/\{([^}]*)\}/g)) {
    const body = (match[1] ?? "").trim();
    generations.push(body === "empty" || body === "" ? [] : body.split(",").map((rev) => rev.trim()));
  }
  return generations.reverse();
}

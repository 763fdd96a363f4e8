/**
 * Watches both stores from the outside and turns what changed into classroom frames
 * (viewModel.ts). etcd has no counterpart; what it reads does: the v2 tree (`v2store/node.go`),
 * the event history ring (`event_history.go`), the v3 tree index and key bucket (`mvcc/index.go`,
 * `mvcc/backend`), the lessor (`lease/lessor.go`) and the watchable store's three watcher groups
 * (`mvcc/watchable_store.go`).
 *
 * Nothing here is called by a store. `build()` runs on the server's clock (every
 * FRAME_INTERVAL_MS) and asks "what moved since last time?" with reads that cost what changed:
 *
 *   v2 tree     store.tree() shares unchanged subtrees, so the diff skips them by reference
 *   v2 ring     the history holds one event per index: read lastIndex+1 … newest
 *   v3 keys     the key bucket is keyed by revision: read the entries after the last revision seen,
 *               and re-read only those keys' keyIndexes (all of them after a compaction)
 *   leases, watchers, connections   small: rebuilt when their fingerprint changes
 *
 * So 10,000 puts between two frames make one frame, not 10,000 (coalescing on the clock), and a
 * store with no page connected pays nothing but a timer.
 *
 *   put foo=bar (rev 2), then build()  →  { seq 1, v3: { rev 2, upsert [foo {2.0}], logAppend [2.0 foo=bar] } }
 */
import type { NodeState } from "../v2/node.js";
import type { V2Store } from "../v2/store.js";
import type { EtcdServer } from "../v3/etcdServer.js";
import { StoreInspector, type BackendEntryView } from "../v3/inspect.js";
import type { Watcher } from "../v3/watchableStore.js";
import { fromBinaryString, fromUtf8, toBinaryString } from "../shared/bytes.js";
import type { RequestLog } from "./requestLog.js";
import {
  applyFrame,
  emptyModel,
  LOG_ROWS_KEPT,
  parseGenerations,
  snapshotFrame,
  type Frame,
  type LeaseRow,
  type Model,
  type RingEvent,
  type TimelineRow,
  type V2NodeRow,
  type V3KeyRow,
  type V3LogRow,
  type V3WatcherRow,
  type WatcherGroupName,
} from "./viewModel.js";

/**
 * How often frames are built: at most 4 a second, however fast the writes come. A projector needs
 * no more (a write shows within a quarter second, and the 500 ms SYNC sweep still shows as its own
 * step), and with 16 clients writing a frame carries ~250 ms of puts at once: a key written twice
 * in that window is read and sent once, and the page draws four times a second, not ten: CPU it
 * would take from the server on a 2-core laptop (the classroom bench, README). Under a write storm
 * the listener builds every other tick (STORM_FRAME_CHARS, classroomServer.ts).
 */
export const FRAME_INTERVAL_MS = 250;
/** Values longer than this are cut for display ("…"). */
export const VALUE_CHARS_SHOWN = 120;

/** What the builder reads. `v3` is absent when only the v2 API is mounted. */
export interface ObservedStores {
  readonly v2: V2Store;
  readonly v3?: EtcdServer;
  readonly requests?: RequestLog;
  readonly clock: { now(): number };
}

/**
 * Stores nobody is watching frame by frame (a lesson step, the sandbox) as one reset frame: a fresh
 * builder, one build, its model as a snapshot.
 */
export function storesFrame(stores: ObservedStores): Frame {
  const builder = new FrameBuilder(stores);
  builder.build();
  return snapshotFrame(builder.model);
}

/** Builds frames from the stores and keeps the model they add up to. */
export class FrameBuilder {
  /** The model after the last frame built (what a new page gets as its snapshot). */
  readonly model: Model = emptyModel();
  private lastTree: NodeState | undefined;
  private lastRingIndex = 0;
  private lastRev = 1;
  private lastCompactRev = -1;
  private lastLeaseFingerprint = "";
  private lastWatcherFingerprint = "";
  private lastRequestVersion = -1;
  private readonly inspector: StoreInspector | undefined;
  private readonly streamNumbers = new WeakMap<object, number>();
  private nextStream = 1;

  constructor(private readonly stores: ObservedStores) {
    this.inspector = stores.v3 === undefined ? undefined : new StoreInspector(stores.v3.kv);
  }

  /** The frame for everything that changed since the last one, or undefined if nothing did. */
  build(): Frame | undefined {
    const seq = this.model.seq + 1;
    const nowMs = this.stores.clock.now();
    let changed = false;
    const frame: { -readonly [K in keyof Frame]: Frame[K] } = { seq, nowMs };

    const v2 = this.buildV2();
    if (v2 !== undefined) {
      frame.v2 = v2;
      changed = true;
    }
    const v3 = this.buildV3();
    if (v3 !== undefined) {
      frame.v3 = v3;
      changed = true;
    }
    const requests = this.stores.requests;
    if (requests !== undefined) {
      if (requests.version !== this.lastRequestVersion) {
        this.lastRequestVersion = requests.version;
        frame.connections = requests.connectionRows();
        frame.v2 = { ...(frame.v2 ?? { index: this.stores.v2.index, upsert: [], remove: [] }), watchers: requests.v2Watchers() };
        changed = true;
      }
      const finished = requests.takeFinished();
      if (finished.length > 0) {
        frame.timelineAppend = finished.map((request): TimelineRow => ({ ...request, seq }));
        changed = true;
      }
    }
    if (!changed) return undefined;
    applyFrame(this.model, frame);
    return frame;
  }

  // ── v2 ──────────────────────────────────────────────────────────────────────────────────────

  private buildV2(): Frame["v2"] | undefined {
    const store = this.stores.v2;
    const tree = store.tree();
    const upsert: V2NodeRow[] = [];
    const remove: string[] = [];
    if (tree !== this.lastTree) {
      diffChildren(this.lastTree, tree, upsert, remove);
      this.lastTree = tree;
    }
    const history = store.eventHistory();
    let ring: NonNullable<Frame["v2"]>["ring"];
    if (history.lastIndex !== this.lastRingIndex) {
      const append: RingEvent[] = [];
      // A restored snapshot can move the index back; the ring then starts afresh.
      const restarted = history.lastIndex < this.lastRingIndex;
      const from = restarted ? history.startIndex : Math.max(this.lastRingIndex + 1, history.startIndex);
      for (let index = from; index <= history.lastIndex; index++) {
        const event = history.queue.at(index - history.startIndex);
        if (event !== undefined) append.push({ index: event.index, action: event.action, key: event.node.key ?? "/" });
      }
      if (restarted) this.model.v2.ring.events.length = 0;
      this.lastRingIndex = history.lastIndex;
      ring = { startIndex: history.startIndex, lastIndex: history.lastIndex, capacity: history.queue.capacity, append };
    }
    if (upsert.length === 0 && remove.length === 0 && ring === undefined && store.index === this.model.v2.index) return undefined;
    return { index: store.index, upsert, remove, ...(ring === undefined ? {} : { ring }) };
  }

  // ── v3 ──────────────────────────────────────────────────────────────────────────────────────

  private buildV3(): Frame["v3"] | undefined {
    const server = this.stores.v3;
    const inspector = this.inspector;
    if (server === undefined || inspector === undefined) return undefined;
    const rev = inspector.currentRevision();
    const compactRev = inspector.compactedRevision();
    const upsert: V3KeyRow[] = [];
    const remove: string[] = [];
    let logAppend: V3LogRow[] = [];
    let logReset: V3LogRow[] | undefined;
    let logHidden: number | undefined;
    if (compactRev !== this.lastCompactRev) {
      // A compaction rewrites generations and drops log entries: read everything once.
      const seen = new Set<string>();
      for (const key of inspector.indexedKeys()) {
        const row = this.keyRow(key);
        if (row === undefined) continue;
        seen.add(row.sortKey);
        upsert.push(row);
      }
      for (const sortKey of this.model.v3.keys.keys()) if (!seen.has(sortKey)) remove.push(sortKey);
      const entries = inspector.backendEntries();
      const kept = entries.slice(Math.max(0, entries.length - LOG_ROWS_KEPT));
      logReset = kept.map(logRow);
      logHidden = entries.length - kept.length;
      this.lastCompactRev = compactRev;
    } else if (rev !== this.lastRev) {
      const entries = inspector.backendEntries(this.lastRev + 1);
      logAppend = entries.map(logRow);
      const touched = new Map<string, Uint8Array>();
      for (const entry of entries) touched.set(toBinaryString(entry.kv.key), entry.kv.key);
      for (const [sortKey, key] of touched) {
        const row = this.keyRow(key);
        if (row === undefined) remove.push(sortKey);
        else upsert.push(row);
      }
    }
    this.lastRev = rev;

    const leases = this.leaseRows(server);
    const leaseFingerprint = JSON.stringify(leases);
    const leasesChanged = leaseFingerprint !== this.lastLeaseFingerprint;
    this.lastLeaseFingerprint = leaseFingerprint;

    const watcherFingerprint = this.watcherFingerprint(server);
    const watchers = watcherFingerprint !== this.lastWatcherFingerprint ? this.watcherRows(server) : undefined;
    this.lastWatcherFingerprint = watcherFingerprint;

    const dbSizeBytes = inspector.backendSizeBytes();
    const nothing =
      upsert.length === 0 && remove.length === 0 && logAppend.length === 0 && logReset === undefined && !leasesChanged && watchers === undefined;
    if (nothing && rev === this.model.v3.rev && dbSizeBytes === this.model.v3.dbSizeBytes && compactRev === this.model.v3.compactRev) return undefined;
    return {
      rev,
      compactRev,
      dbSizeBytes,
      upsert,
      remove,
      logAppend,
      ...(logReset === undefined ? {} : { logReset }),
      ...(logHidden === undefined ? {} : { logHidden }),
      ...(leasesChanged ? { leases } : {}),
      ...(watchers === undefined ? {} : { watchers }),
    };
  }

  private keyRow(key: Uint8Array): V3KeyRow | undefined {
    const view = this.inspector?.keyIndex(key);
    if (view === undefined) return undefined;
    return { sortKey: toBinaryString(key), key: displayText(key), generations: parseGenerations(view.diagram) };
  }

  private leaseRows(server: EtcdServer): LeaseRow[] {
    return server.lessor.leases().map((lease) => ({
      id: lease.ID.toString(16),
      ttlSeconds: lease.ttlSeconds,
      expiryMs: Number.isFinite(lease.expiryMs) ? lease.expiryMs : null,
      keys: [...lease.itemSet].map((item) => displayText(fromBinaryString(item))),
    }));
  }

  /** Cheap: counts and revisions of every watcher, so a move between groups shows. O(watchers). */
  private watcherFingerprint(server: EtcdServer): string {
    const store = server.watchableStore;
    let sum = 0;
    for (const watcher of store.synced.watchers) sum += watcher.minRev + watcher.id;
    for (const watcher of store.unsynced.watchers) sum += 2 * watcher.minRev + watcher.id;
    return `${store.synced.size}/${store.unsynced.size}/${store.victims.length}/${sum}`;
  }

  private watcherRows(server: EtcdServer): V3WatcherRow[] {
    const store = server.watchableStore;
    const rows: V3WatcherRow[] = [];
    const add = (watcher: Watcher, group: WatcherGroupName): void => {
      rows.push({
        stream: this.streamNumber(watcher.ch),
        id: watcher.id,
        key: displayText(watcher.key),
        end: watcher.end === undefined ? "" : watcher.end.length === 1 && watcher.end[0] === 0 ? "\u0000" : displayText(watcher.end),
        minRev: watcher.minRev,
        group,
      });
    };
    for (const watcher of store.synced.watchers) add(watcher, "synced");
    for (const watcher of store.unsynced.watchers) add(watcher, "unsynced");
    for (const batch of store.victims) for (const watcher of batch.keys()) add(watcher, "victim");
    rows.sort((a, b) => a.stream - b.stream || a.id - b.id);
    return rows;
  }

  private streamNumber(channel: object): number {
    let number = this.streamNumbers.get(channel);
    if (number === undefined) {
      number = this.nextStream++;
      this.streamNumbers.set(channel, number);
    }
    return number;
  }
}

/**
 * Rows for every node under `next` that differs from `previous` (by reference: unchanged subtrees
 * are the same frozen object), and the paths of nodes that are gone. The root itself is not a row.
 */
function diffChildren(previous: NodeState | undefined, next: NodeState, upsert: V2NodeRow[], remove: string[]): void {
  const before = new Map<string, NodeState>();
  for (const child of previous?.children ?? []) before.set(child.path, child);
  for (const child of next.children ?? []) {
    const old = before.get(child.path);
    before.delete(child.path);
    if (old === child) continue;
    if (
      old === undefined ||
      old.modifiedIndex !== child.modifiedIndex ||
      old.createdIndex !== child.createdIndex ||
      old.expireTimeMs !== child.expireTimeMs ||
      old.value !== child.value ||
      (old.children === null) !== (child.children === null)
    ) {
      upsert.push(nodeRow(child));
    }
    if (old !== undefined && old.children !== null && child.children === null) removeSubtree(old, remove, false);
    if (child.children !== null) diffChildren(old?.children === null ? undefined : old, child, upsert, remove);
  }
  for (const gone of before.values()) removeSubtree(gone, remove, true);
}

function removeSubtree(node: NodeState, remove: string[], self: boolean): void {
  if (self) remove.push(node.path);
  for (const child of node.children ?? []) removeSubtree(child, remove, true);
}

function nodeRow(node: NodeState): V2NodeRow {
  return {
    path: node.path,
    dir: node.children !== null,
    value: node.value.length > VALUE_CHARS_SHOWN ? node.value.slice(0, VALUE_CHARS_SHOWN) + "…" : node.value,
    createdIndex: node.createdIndex,
    modifiedIndex: node.modifiedIndex,
    expireTimeMs: node.expireTimeMs,
    hidden: node.path.split("/").some((name) => name.startsWith("_")),
  };
}

function logRow(entry: BackendEntryView): V3LogRow {
  const value = displayText(entry.kv.value);
  return {
    main: entry.revision.main,
    sub: entry.revision.sub,
    key: displayText(entry.kv.key),
    value: value.length > VALUE_CHARS_SHOWN ? value.slice(0, VALUE_CHARS_SHOWN) + "…" : value,
    tombstone: entry.tombstone,
    lease: entry.kv.lease === 0n ? "" : entry.kv.lease.toString(16),
  };
}

/** Bytes as text: UTF-8 when they are, else each byte as \xNN. */
function displayText(bytes: Uint8Array): string {
  const text = fromUtf8(bytes);
  if (!text.includes("\uFFFD")) return text;
  return [...bytes].map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`)).join("");
}

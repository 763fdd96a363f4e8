/**
 * Mirrors etcd release-3.4 `mvcc/watcher.go`: the WatchStream, one channel that many watchers
 * share, and the responses the store puts on it.
 *
 * A gRPC Watch stream owns one WatchStream. Each create request adds a watcher to it, named by a
 * `WatchID` that is unique on the stream: auto-assigned from 0 upwards (skipping IDs in use), or
 * given by the client. All its watchers post into the same bounded channel (128 responses). When
 * that channel is full, the store cannot post, and the watcher becomes a *victim* (see
 * `watchableStore.ts`): so one slow reader stalls every watcher of its stream, not the others.
 *
 *   stream = store.newWatchStream()
 *   stream.watch(AUTO_WATCH_ID, "foo")             → 0
 *   stream.watch(AUTO_WATCH_ID, "a", "c")          → 1
 *   stream.watch(7, "bar")                         → 7
 *   stream.watch(7, "baz")                         → throws WatcherDuplicateIDError
 *   put foo=1 (rev 2)  →  channel: [{watchID 0, revision 2, events [PUT foo]}]
 *
 * The simulator has no goroutines: the channel is a queue someone drains with `take()`/`drain()`.
 * A reader that never drains fills it, which is how a lesson makes a slow consumer.
 */
import { compareBytes } from "../shared/bytes.js";
import type { Event } from "./rpc.js";
import { EventType, WatchFilterType } from "./rpc.js";
import { EmptyWatcherRangeError, WatcherDuplicateIDError, WatcherNotExistError } from "./errors.js";
import type { Watcher } from "./watchableStore.js";

/** A watcher's ID on its stream. */
export type WatchID = number;

/** Ask the stream to pick the ID (etcd: `AutoWatchID = 0`); so an explicit 0 also means "pick". */
export const AUTO_WATCH_ID: WatchID = 0;

/** Responses a stream's channel holds before the store must stop posting (etcd 3.4: `chanBufLen = 128`). */
export const CHAN_BUF_LEN = 128;

/** A filter drops the events it returns true for (etcd: `FilterFunc`). */
export type FilterFunc = (event: Event) => boolean;

/** NOPUT: drop PUT events. */
export const filterNoPut: FilterFunc = (event) => event.type === EventType.PUT;
/** NODELETE: drop DELETE events. */
export const filterNoDelete: FilterFunc = (event) => event.type === EventType.DELETE;

/** The filter functions for the wire's filter list. */
export function filtersFromRequest(filters: readonly WatchFilterType[]): FilterFunc[] {
  return filters.map((filter) => (filter === WatchFilterType.NOPUT ? filterNoPut : filterNoDelete));
}

/**
 * What the store posts for a watcher (etcd: mvcc `WatchResponse`).
 *   events, revision            a batch of events; `revision` is the store revision it reflects
 *   no events, revision         a progress notification
 *   compactRevision > 0         the watcher fell behind a compaction and was dropped
 */
export interface WatchResponse {
  watchID: WatchID;
  events: Event[];
  revision: number;
  compactRevision: number;
}

/**
 * A bounded FIFO of responses (a Go buffered channel). `trySend` refuses when full, as a
 * non-blocking `select { case ch <- wr: … default: }` does.
 */
export class WatchChannel {
  /** A ring buffer: `count` responses starting at `head`. Sending and taking allocate nothing. */
  private readonly buffer: (WatchResponse | undefined)[];
  private head = 0;
  private count = 0;
  /** Called after each accepted response; a reader that wants to be woken sets it. */
  onSend: (() => void) | undefined;

  constructor(readonly capacity: number = CHAN_BUF_LEN) {
    this.buffer = new Array<WatchResponse | undefined>(capacity).fill(undefined);
  }

  get length(): number {
    return this.count;
  }

  trySend(response: WatchResponse): boolean {
    if (this.count >= this.capacity) return false;
    let tail = this.head + this.count;
    if (tail >= this.capacity) tail -= this.capacity;
    this.buffer[tail] = response;
    this.count++;
    this.onSend?.();
    return true;
  }

  /** The oldest response, or undefined when empty. */
  take(): WatchResponse | undefined {
    if (this.count === 0) return undefined;
    const response = this.buffer[this.head];
    this.buffer[this.head] = undefined;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    return response;
  }

  /** Every queued response, oldest first. */
  drain(): WatchResponse[] {
    const out: WatchResponse[] = [];
    for (let response = this.take(); response !== undefined; response = this.take()) out.push(response);
    return out;
  }
}

/** What a WatchStream needs from the store (etcd: the `watchable` interface). */
export interface Watchable {
  watch(key: Uint8Array, end: Uint8Array | undefined, startRev: number, id: WatchID, ch: WatchChannel, filters: FilterFunc[]): { watcher: Watcher; cancel: () => void };
  progress(watcher: Watcher): void;
  rev(): number;
}

/** One stream of watchers sharing a channel (etcd: `watchStream`). */
export class WatchStream {
  readonly ch: WatchChannel;
  private nextID: WatchID = 0;
  private closed = false;
  private readonly cancels = new Map<WatchID, () => void>();
  readonly watchers = new Map<WatchID, Watcher>();

  constructor(
    private readonly watchable: Watchable,
    capacity: number = CHAN_BUF_LEN,
  ) {
    this.ch = new WatchChannel(capacity);
  }

  /**
   * Adds a watcher on `key` (end undefined), [key, end) (end non-empty), or every key ≥ key (end
   * empty), wanting events from `startRev` on (0: from the next revision). Returns its ID.
   * Throws `EmptyWatcherRangeError` when a non-empty end is ≤ key, `WatcherDuplicateIDError` for an
   * ID in use; neither consumes an auto ID.
   */
  watch(id: WatchID, key: Uint8Array, end: Uint8Array | undefined, startRev: number, filters: FilterFunc[] = []): WatchID {
    // An empty (not absent) end means "from key on", so only a non-empty end can make the range empty.
    if (end !== undefined && end.length > 0 && compareBytes(key, end) >= 0) throw new EmptyWatcherRangeError();
    if (this.closed) throw new EmptyWatcherRangeError(); // etcd answers a closed stream the same way
    if (id === AUTO_WATCH_ID) {
      while (this.watchers.has(this.nextID)) this.nextID++;
      id = this.nextID++;
    } else if (this.watchers.has(id)) {
      throw new WatcherDuplicateIDError();
    }
    const { watcher, cancel } = this.watchable.watch(key, end, startRev, id, this.ch, filters);
    this.cancels.set(id, cancel);
    this.watchers.set(id, watcher);
    return id;
  }

  /** Removes a watcher. Unknown ID: `WatcherNotExistError`. */
  cancel(id: WatchID): void {
    const cancel = this.cancels.get(id);
    if (cancel === undefined || this.closed) throw new WatcherNotExistError();
    cancel();
    this.cancels.delete(id);
    this.watchers.delete(id);
  }

  /** Asks for a progress response for a synced watcher; unknown or unsynced: nothing (etcd: `RequestProgress`). */
  requestProgress(id: WatchID): void {
    const watcher = this.watchers.get(id);
    if (watcher !== undefined) this.watchable.progress(watcher);
  }

  /** Cancels every watcher and refuses new ones. */
  close(): void {
    for (const cancel of this.cancels.values()) cancel();
    this.cancels.clear();
    this.watchers.clear();
    this.closed = true;
  }

  /** The store's current revision (etcd: `Rev`). */
  rev(): number {
    return this.watchable.rev();
  }

  /** Watchers on this stream (compacted ones stay until cancelled, as in etcd). */
  get watcherCount(): number {
    return this.watchers.size;
  }
}

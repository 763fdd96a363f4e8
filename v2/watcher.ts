/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/watcher.go`.
 *
 * A watcher is one pending v2 watch: the path it was registered at (kept by the hub), whether it is
 * `recursive`, whether it is a `stream` (many events) or one-shot (first event, then done), and
 * `sinceIndex`, the lowest event index it accepts. Events reach it through `eventChan`, a bounded
 * queue standing in for Go's `make(chan *Event, 100)`.
 *
 * Delivery is synchronous: the store's write calls `notify`, which pushes into `eventChan` before the
 * write returns. No timers are involved, so a test can do
 *
 *   const watcher = store.watch("/foo", false, false, 0);
 *   store.set("/foo", false, "bar", {}, nowMs);
 *   watcher.eventChan.take()   →  the set event          (one-shot: the hub already dropped it)
 *
 * and an HTTP handler can do `watcher.eventChan.onEvent(event => write(event))` or
 * `for await (const event of watcher.eventChan)`. A send never blocks: when 100 events are waiting
 * unread, the watcher is removed and its channel closed (etcd's answer to a slow reader).
 */
import type { Event } from "./event.js";

/** Events a watcher holds unread before it is dropped (`make(chan *Event, 100)` in watcher_hub.go). */
export const WATCHER_BUFFER_CAPACITY = 100;

/** Receives events as they are sent. */
export type EventListener = (event: Event) => void;

/**
 * A bounded, synchronous event queue with three ways to read it:
 * `take()` (poll), `onEvent(listener)` (push) and `next()` / `for await` (promise).
 *
 * Invariant: `length <= capacity`; after `close()` nothing more is accepted, and buffered events can
 * still be taken. A listener or a waiting `next()` receives an event at once, so it never buffers.
 *
 *   trySend(e1); trySend(e2)   →  buffer [e1, e2]
 *   onEvent(f)                 →  f(e1), f(e2) at once; later sends call f directly
 */
export class EventChan {
  readonly capacity: number;
  private readonly buffer: Event[] = [];
  private listener: EventListener | undefined;
  private readonly waiters: Array<(event: Event | undefined) => void> = [];
  private readonly closeListeners: Array<() => void> = [];
  private isClosed = false;

  constructor(capacity: number = WATCHER_BUFFER_CAPACITY) {
    this.capacity = capacity;
  }

  /** Events buffered and not yet read. */
  get length(): number {
    return this.buffer.length;
  }

  /** True once the channel is closed (the watcher was removed or dropped). */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * Go's `select { case ch <- e: default: }`: hands the event to a reader, or buffers it.
   * Returns false, changing nothing, when the channel is closed or its buffer is full.
   */
  trySend(event: Event): boolean {
    if (this.isClosed) return false;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter(event);
      return true;
    }
    if (this.listener !== undefined) {
      this.listener(event);
      return true;
    }
    if (this.buffer.length >= this.capacity) return false;
    this.buffer.push(event);
    return true;
  }

  /** The oldest buffered event, removed from the buffer; undefined when none is waiting. */
  take(): Event | undefined {
    return this.buffer.shift();
  }

  /** All buffered events, oldest first, emptying the buffer. */
  drain(): Event[] {
    return this.buffer.splice(0, this.buffer.length);
  }

  /**
   * Delivers every buffered event to `listener` now and every later one as it is sent.
   * One listener at a time; returns a function that detaches it.
   */
  onEvent(listener: EventListener): () => void {
    if (this.listener !== undefined) throw new Error("EventChan already has a listener");
    this.listener = listener;
    for (let event = this.buffer.shift(); event !== undefined; event = this.buffer.shift()) listener(event);
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }

  /** Calls `listener` once when the channel closes (at once if it already has). */
  onClose(listener: () => void): void {
    if (this.isClosed) listener();
    else this.closeListeners.push(listener);
  }

  /** The next event, or undefined once the channel is closed and empty. */
  next(): Promise<Event | undefined> {
    const event = this.buffer.shift();
    if (event !== undefined || this.isClosed) return Promise.resolve(event);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Event, void, undefined> {
    for (;;) {
      const event = await this.next();
      if (event === undefined) return;
      yield event;
    }
  }

  /** Closes the channel: pending `next()` calls resolve with undefined, close listeners run. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
    for (const listener of this.closeListeners.splice(0)) listener();
    this.listener = undefined;
  }
}

/**
 * One v2 watch.
 *
 * Invariant: a registered one-shot watcher accepts at most one event and is removed from the hub in
 * the same step; a stream watcher stays until `remove()` or a full buffer drops it.
 *
 *   watch("/foo", recursive=false, stream=false, sinceIndex=5)
 *     set /foo at index 4  →  ignored (4 < sinceIndex), still registered
 *     set /foo at index 5  →  delivered; the watcher leaves the hub
 */
export class Watcher {
  /** Where events arrive. */
  readonly eventChan: EventChan;
  /** True: also events on keys below the watched path (hidden ones excepted). */
  readonly recursive: boolean;
  /** True: keep delivering after the first event. */
  readonly stream: boolean;
  /** Events with a smaller index are ignored (the `waitIndex`, or current index + 1). */
  readonly sinceIndex: number;
  /** The store's etcd index when the watch began: the HTTP layer's `X-Etcd-Index`. */
  readonly startIndex: number;
  /** True once the hub no longer holds this watcher. */
  removed = false;
  /** Set by the hub when it registers the watcher; takes it out of the hub's list. */
  private detach: (() => void) | undefined;

  constructor(recursive: boolean, stream: boolean, sinceIndex: number, startIndex: number, capacity: number = WATCHER_BUFFER_CAPACITY) {
    this.eventChan = new EventChan(capacity);
    this.recursive = recursive;
    this.stream = stream;
    this.sinceIndex = sinceIndex;
    this.startIndex = startIndex;
  }

  /** Called by the hub once, when it registers the watcher. */
  attach(detach: () => void): void {
    this.detach = detach;
  }

  /**
   * Offers an event; returns true when this watcher takes it. It takes the event when it watches
   * recursively, or sits exactly on the event's key (`originalPath`), or the event removed the node it
   * sits on (`deleted`), and the event is not older than `sinceIndex`. The three cases, for a watcher
   * registered at "/foo":
   *
   *   recursive, event on "/foo/bar"         →  taken
   *   event on "/foo" itself                 →  taken
   *   "/" deleted recursively ("/foo" gone)  →  taken, via deleted = true
   *
   * When its buffer is full the watcher is removed instead (the event still counts as taken, as in etcd).
   */
  notify(event: Event, originalPath: boolean, deleted: boolean): boolean {
    if ((this.recursive || originalPath || deleted) && event.index >= this.sinceIndex) {
      if (!this.eventChan.trySend(event)) this.remove();
      return true;
    }
    return false;
  }

  /** Ends the watch: leaves the hub (if still there) and closes the channel. Safe to call twice. */
  remove(): void {
    this.markRemoved();
    this.eventChan.close();
  }

  /** Leaves the hub without closing the channel (a one-shot watcher that got its event). */
  markRemoved(): void {
    if (this.removed) return;
    this.removed = true;
    const detach = this.detach;
    this.detach = undefined;
    detach?.();
  }
}

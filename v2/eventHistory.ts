/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/event_history.go`.
 *
 * The event history keeps the last 1000 events (one per etcd index, refreshes included) so a watch
 * can start in the past. `startIndex` is the index of the oldest kept event, `lastIndex` the newest.
 * Because every index has exactly one event, the event for index i sits at offset i − startIndex.
 *
 *   after 1100 changes (indexes 1..1100):  startIndex 101, lastIndex 1100
 *     scan(sinceIndex 1)     →  401 "the requested history has been cleared [101/1]"
 *     scan(sinceIndex 101)   →  walks 101, 102, … and returns the first event that matches
 *     scan(sinceIndex 1101)  →  nothing yet: the watch waits for the future
 */
import { Delete, Expire, type Event } from "./event.js";
import { EventQueue } from "./eventQueue.js";
import { cleanPath } from "./path.js";
import { EcodeEventIndexCleared, V2Error } from "./v2error.js";

/**
 * How many events the history keeps. etcd sizes it as 20K writes/s × 2 × 50 ms RTT ≈ 2000 and then
 * calls `newWatchHub(1000)` (store.go); 1000 is what every etcd 3.4 keeps.
 */
export const EVENT_HISTORY_CAPACITY = 1000;

/** The last `capacity` events; invariant: they hold the indexes startIndex…lastIndex with no gap. */
export class EventHistory {
  readonly queue: EventQueue;
  /** Index of the oldest kept event (0 while empty). */
  startIndex = 0;
  /** Index of the newest kept event (0 while empty). */
  lastIndex = 0;

  constructor(capacity: number = EVENT_HISTORY_CAPACITY) {
    this.queue = new EventQueue(capacity);
  }

  /** Appends an event (the oldest falls out when full) and moves the bounds. O(1). */
  addEvent(event: Event): Event {
    this.queue.insert(event);
    this.lastIndex = event.index;
    this.startIndex = (this.queue.at(0) as Event).index;
    return event;
  }

  /**
   * The first kept event at or after `index` that concerns `key`; undefined when none does yet.
   * Refresh events and internal ones (`/0` membership, `/2` v2 auth) are skipped. An event matches
   * when (a) its key is `key`; (b) `recursive` and its key lies below `key`; or (c) it deleted or expired a directory and `key` starts with that
   * directory's key as a plain string. Hidden keys are not filtered here.
   *
   *   Quirk (c): no "/" boundary is checked, so a watch on "/dirx" is answered by the removal of "/dir".
   *   Quirk: a history answer can be an event on a hidden key, which a live watch would never get.
   *
   * Throws 401 when `index` is older than `startIndex`; the caller fills in the error's index.
   * O(events scanned).
   */
  scan(key: string, recursive: boolean, index: number): Event | undefined {
    if (index < this.startIndex) {
      throw new V2Error(EcodeEventIndexCleared, `the requested history has been cleared [${this.startIndex}/${index}]`, 0);
    }
    if (index > this.lastIndex) return undefined; // a future index

    // "/foo" → "/foo/", and "/" stays "/": every key counts when watching the root.
    let prefix = cleanPath(key);
    if (!prefix.endsWith("/")) prefix += "/";

    for (let offset = index - this.startIndex; offset < this.queue.size; offset++) {
      const event = this.queue.at(offset) as Event;
      if (event.refresh || event.internal) continue; // etcd: a `/0` key never matches a watch on `/1/…`
      const eventKey = event.node.key ?? "";
      let ok = eventKey === key;
      if (recursive) ok = ok || eventKey.startsWith(prefix);
      if ((event.action === Delete || event.action === Expire) && event.prevNode?.dir === true) {
        ok = ok || key.startsWith(event.prevNode.key ?? "");
      }
      if (ok) return event;
    }
    return undefined;
  }

  /** A copy sharing the (immutable) events. */
  clone(): EventHistory {
    const copy = new EventHistory(this.queue.capacity);
    for (const event of this.queue.toArray()) copy.addEvent(event);
    return copy;
  }
}

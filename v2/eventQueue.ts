/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/event_queue.go`.
 *
 * A fixed-capacity ring buffer of events. Inserting into a full ring overwrites the oldest event,
 * so the ring always holds the newest `capacity` events in order.
 *
 *   capacity 3:  insert e1 e2 e3  →  [e1 e2 e3]   front=0 back=0 size=3
 *                insert e4        →  [e4 e2 e3]   front=1 back=1 size=3   (e1 overwritten)
 *   reading from front: e2, e3, e4
 */
import type { Event } from "./event.js";

/** etcd's `eventQueue`; invariant: it holds the newest `min(inserted, capacity)` events, oldest at `front`. */
export class EventQueue {
  /** The slots; `undefined` until first written. */
  readonly events: Array<Event | undefined>;
  /** How many slots hold events. */
  size = 0;
  /** Slot of the oldest event. */
  front = 0;
  /** Slot the next insert writes to. */
  back = 0;
  readonly capacity: number;

  constructor(capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.events = new Array<Event | undefined>(capacity).fill(undefined);
  }

  /** Appends an event, dropping the oldest one when full. O(1). */
  insert(event: Event): void {
    this.events[this.back] = event;
    this.back = (this.back + 1) % this.capacity;
    if (this.size === this.capacity) this.front = (this.front + 1) % this.capacity;
    else this.size++;
  }

  /** The event `offset` places after the oldest one (0 = oldest). */
  at(offset: number): Event | undefined {
    if (offset < 0 || offset >= this.size) return undefined;
    return this.events[(this.front + offset) % this.capacity];
  }

  /** The kept events, oldest first. O(size). */
  toArray(): Event[] {
    const result: Event[] = [];
    for (let offset = 0; offset < this.size; offset++) result.push(this.at(offset) as Event);
    return result;
  }
}

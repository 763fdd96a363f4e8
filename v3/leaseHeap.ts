/**
 * Mirrors etcd release-3.4 `lease/lease_queue.go`: a min-heap of (lease ID, expiry time).
 *
 * The lessor pushes an entry on every grant and every renew, and never removes old ones: an
 * entry is only a hint "look at this lease at this time". When the expiry scan pops an entry it
 * re-reads the lease: a revoked lease (gone from the map) or a renewed one (its real expiry is
 * later than the entry's) is skipped. This keeps renew O(log n) with no heap search.
 *
 *   grant A ttl 5 at 0, grant B ttl 3 at 0, renew A at 4   →  heap: (B,3000) (A,5000) (A,9000)
 *   scan at 6000: pop (B,3000) expired; pop (A,5000) stale (A expires 9000); peek (A,9000) > now: stop
 */
import type { LeaseID } from "./rpc.js";

/** One heap entry: look at lease `id` at time `timeMs` (etcd: `LeaseWithTime`). */
export interface LeaseWithTime {
  id: LeaseID;
  timeMs: number;
}

/** A binary min-heap on `timeMs`. Push and pop are O(log n); peek is O(1). */
export class LeaseQueue {
  private readonly items: LeaseWithTime[] = [];

  get length(): number {
    return this.items.length;
  }

  peek(): LeaseWithTime | undefined {
    return this.items[0];
  }

  push(item: LeaseWithTime): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as LeaseWithTime;
      if (p.timeMs <= item.timeMs) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  pop(): LeaseWithTime | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      let child = left;
      if (right < items.length && (items[right] as LeaseWithTime).timeMs < (items[left] as LeaseWithTime).timeMs) child = right;
      const c = items[child] as LeaseWithTime;
      if (c.timeMs >= last.timeMs) break;
      items[i] = c;
      i = child;
    }
    items[i] = last;
    return top;
  }
}

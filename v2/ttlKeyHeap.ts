/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/ttl_key_heap.go`.
 *
 * A min-heap of every node that has a TTL, ordered by expiry time, so the sweep finds the next node
 * to expire at the top in O(1) and removes it in O(log n). A side map from node to heap slot lets a
 * node leave the heap (deleted, made permanent) or move in it (TTL changed) in O(log n) as well.
 *
 *   push a(expires 30 s), b(10 s), c(20 s)   →  top = b
 *   update a to 5 s                          →  top = a
 *   pop → a, pop → b, pop → c
 *
 * Ties: etcd compares nanosecond times, so two keys given "ttl=5" by two requests almost never tie,
 * and the one written first expires first. The simulator counts milliseconds from a simulated clock,
 * where ties are common, so it breaks them by the order in which nodes received their expiry (a
 * sequence number given on every push or update). That keeps "written first, expires first" and makes
 * the order independent of the heap's shape. The sift-up/sift-down steps follow Go's container/heap.
 */
import type { Node } from "./node.js";
import { InvariantViolation } from "./v2error.js";

interface Entry {
  readonly node: Node;
  /** Order in which the node got its current expiry; breaks ties between equal times. */
  readonly seq: number;
}

/** etcd's `ttlKeyHeap`; invariant: it holds exactly the nodes with a TTL, the soonest to expire on top. */
export class TTLKeyHeap {
  private readonly array: Entry[] = [];
  /** Node → its slot in `array` (etcd's `keyMap`). */
  private readonly keyMap = new Map<Node, number>();
  private nextSeq = 0;

  /** How many nodes have a TTL. */
  get length(): number {
    return this.array.length;
  }

  /** The node that expires first, or undefined. O(1). */
  top(): Node | undefined {
    return this.array[0]?.node;
  }

  /** Adds a node (it must not already be in the heap). O(log n). */
  push(node: Node): void {
    if (this.keyMap.has(node)) throw new InvariantViolation(`${node.path} is already in the TTL heap`);
    this.array.push({ node, seq: this.nextSeq++ });
    this.keyMap.set(node, this.array.length - 1);
    this.up(this.array.length - 1);
  }

  /** Removes and returns the node that expires first. O(log n). */
  pop(): Node | undefined {
    if (this.array.length === 0) return undefined;
    const last = this.array.length - 1;
    this.swap(0, last);
    this.down(0, last);
    return this.removeLast();
  }

  /** Re-places a node whose expiry changed (no-op when it is not in the heap). O(log n). */
  update(node: Node): void {
    if (!this.keyMap.has(node)) return;
    this.remove(node);
    this.push(node);
  }

  /** Takes a node out of the heap (no-op when it is not in it). O(log n). */
  remove(node: Node): void {
    const index = this.keyMap.get(node);
    if (index === undefined) return;
    const last = this.array.length - 1;
    if (index !== last) {
      this.swap(index, last);
      if (!this.down(index, last)) this.up(index);
    }
    this.removeLast();
  }

  /** True when the node is in the heap. */
  has(node: Node): boolean {
    return this.keyMap.has(node);
  }

  /** The nodes in expiry order (earliest first), without changing the heap. O(n log n). */
  ordered(): Node[] {
    return [...this.array].sort((x, y) => compare(x, y)).map((entry) => entry.node);
  }

  /** Checks the heap property and that the side map points at the right slots. O(n). */
  checkInvariants(): void {
    if (this.keyMap.size !== this.array.length) throw new Error("TTL heap: key map and array sizes differ");
    this.array.forEach((entry, index) => {
      if (this.keyMap.get(entry.node) !== index) throw new Error(`TTL heap: ${entry.node.path} is at ${index} but mapped elsewhere`);
      if (index > 0) {
        const parent = this.array[(index - 1) >> 1] as Entry;
        if (compare(entry, parent) < 0) throw new Error(`TTL heap: ${entry.node.path} sorts before its parent`);
      }
    });
  }

  private less(i: number, j: number): boolean {
    return compare(this.array[i] as Entry, this.array[j] as Entry) < 0;
  }

  private swap(i: number, j: number): void {
    const a = this.array[i] as Entry;
    const b = this.array[j] as Entry;
    this.array[i] = b;
    this.array[j] = a;
    this.keyMap.set(b.node, i);
    this.keyMap.set(a.node, j);
  }

  private removeLast(): Node {
    const entry = this.array.pop() as Entry;
    this.keyMap.delete(entry.node);
    return entry.node;
  }

  /** container/heap `up`: moves slot j toward the root while it sorts before its parent. */
  private up(j: number): void {
    while (j > 0) {
      const parent = (j - 1) >> 1;
      if (!this.less(j, parent)) break;
      this.swap(parent, j);
      j = parent;
    }
  }

  /** container/heap `down`: moves slot i0 toward the leaves; true when it moved. */
  private down(i0: number, n: number): boolean {
    let i = i0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      let child = left;
      const right = left + 1;
      if (right < n && this.less(right, left)) child = right;
      if (!this.less(child, i)) break;
      this.swap(i, child);
      i = child;
    }
    return i > i0;
  }
}

function compare(x: Entry, y: Entry): number {
  return x.node.expireTimeMs - y.node.expireTimeMs || x.seq - y.seq;
}

/**
 * The TTL min-heap, ported from etcd release-3.4 `etcdserver/api/v2store/heap_test.go`
 * (TestHeapPushPop, TestHeapUpdate) in our own words, plus random operations checked against a sort.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Random } from "../../shared/random.js";
import { Node, type NodeContext } from "../../v2/node.js";
import { TTLKeyHeap } from "../../v2/ttlKeyHeap.js";

function makeNodes(heap: TTLKeyHeap, expiries: number[]): Node[] {
  const context: NodeContext = { ttlKeyHeap: heap, currentIndex: 0 };
  return expiries.map((expireTimeMs, i) => Node.newKV(context, `/k${i}`, "", 1, undefined, expireTimeMs));
}

describe("TTLKeyHeap", () => {
  it("pops nodes earliest expiry first (ported from TestHeapPushPop)", () => {
    const heap = new TTLKeyHeap();
    const expiries = Array.from({ length: 10 }, (_, i) => (10 - i) * 1000);
    for (const node of makeNodes(heap, expiries)) heap.push(node);
    heap.checkInvariants();
    let last = 0;
    for (let i = 0; i < 10; i++) {
      const node = heap.pop() as Node;
      expect(node.expireTimeMs).toBeGreaterThanOrEqual(last);
      last = node.expireTimeMs;
      heap.checkInvariants();
    }
    expect(heap.pop()).toBeUndefined();
  });

  it("re-places a node whose expiry changed (ported from TestHeapUpdate)", () => {
    const heap = new TTLKeyHeap();
    const nodes = makeNodes(heap, [5000, 1000, 3000]);
    for (const node of nodes) heap.push(node);
    const first = nodes[0] as Node;
    first.expireTimeMs = 500;
    heap.update(first);
    expect(heap.top()).toBe(first);
    first.expireTimeMs = 9000;
    heap.update(first);
    expect(heap.ordered()).toEqual([nodes[1], nodes[2], first]);
    heap.checkInvariants();
  });

  it("breaks ties by the order nodes got their expiry", () => {
    const heap = new TTLKeyHeap();
    const nodes = makeNodes(heap, [1000, 1000, 1000, 1000]);
    for (const node of nodes) heap.push(node);
    heap.update(nodes[0] as Node);
    expect([heap.pop(), heap.pop(), heap.pop(), heap.pop()]).toEqual([nodes[1], nodes[2], nodes[3], nodes[0]]);
  });

  it("removes any node and ignores nodes it does not hold", () => {
    const heap = new TTLKeyHeap();
    const [a, b, c] = makeNodes(heap, [3000, 1000, 2000]) as [Node, Node, Node];
    heap.push(a);
    heap.push(b);
    heap.remove(c);
    heap.update(c);
    heap.remove(b);
    expect(heap.length).toBe(1);
    expect(heap.top()).toBe(a);
    expect(() => heap.push(a)).toThrow(/already in the TTL heap/);
  });

  it("agrees with a sort under random pushes, updates and removals", () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const random = new Random(seed);
        const heap = new TTLKeyHeap();
        const nodes = makeNodes(heap, Array.from({ length: 40 }, () => random.int(1, 20) * 1000));
        const inHeap = new Set<Node>();
        for (let step = 0; step < 120; step++) {
          const node = nodes[random.int(0, nodes.length - 1)] as Node;
          const choice = random.int(0, 2);
          if (choice === 0 && !inHeap.has(node)) {
            heap.push(node);
            inHeap.add(node);
          } else if (choice === 1 && inHeap.has(node)) {
            node.expireTimeMs = random.int(1, 20) * 1000;
            heap.update(node);
          } else if (choice === 2) {
            heap.remove(node);
            inHeap.delete(node);
          }
          heap.checkInvariants();
        }
        const popped: number[] = [];
        for (let node = heap.pop(); node !== undefined; node = heap.pop()) popped.push(node.expireTimeMs);
        expect(popped).toEqual([...inHeap].map((n) => n.expireTimeMs).sort((x, y) => x - y));
      }),
      { numRuns: 50 },
    );
  });
});

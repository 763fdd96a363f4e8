import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { goSort } from "../../v3/goSort.js";

interface Item {
  readonly value: number;
  readonly id: number;
}

describe("goSort (Go 1.19 sort.Sort)", () => {
  it("sorts any array of numbers into non-decreasing order, keeping every element", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 300 }), (values) => {
        const items = values.map((value, id): Item => ({ value, id }));
        goSort(items, (a, b) => a.value < b.value);
        for (let i = 1; i < items.length; i++) expect(items[i - 1]!.value).toBeLessThanOrEqual(items[i]!.value);
        expect(items.map((item) => item.id).sort((a, b) => a - b)).toEqual(values.map((_, i) => i));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps ties in their original order for 12 elements or fewer (insertion sort)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 12 }), (values) => {
        const items = values.map((value, id): Item => ({ value, id }));
        goSort(items, (a, b) => a.value < b.value);
        const stable = values.map((value, id): Item => ({ value, id })).sort((a, b) => a.value - b.value);
        expect(items).toEqual(stable);
      }),
    );
  });

  it("leaves an already sorted array of many ties untouched", () => {
    const items = Array.from({ length: 40 }, (_, id): Item => ({ value: 1, id }));
    goSort(items, (a, b) => a.value < b.value);
    expect(items.map((item) => item.id)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  // Captured from etcd 3.4.23 (built with Go 1.19.8): keys t00…t39 with these versions and values,
  // then `range t…u` sorted. Ties (same version, same value) come out in Go's order, not key order.
  const versions = [2, 3, 1, 3, 1, 2, 1, 3, 1, 3, 3, 1, 1, 2, 1, 2, 1, 3, 3, 3, 2, 3, 1, 3, 2, 2, 3, 2, 1, 2, 3, 3, 3, 2, 1, 3, 3, 2, 3, 1];
  const values = [3, 4, 2, 1, 0, 0, 0, 4, 1, 4, 1, 4, 2, 4, 4, 1, 4, 0, 0, 4, 3, 2, 1, 4, 3, 2, 4, 2, 3, 0, 2, 3, 0, 0, 2, 2, 0, 1, 0, 2];

  it("reorders ties exactly like etcd did for 40 keys sorted by version, ascending", () => {
    const items = versions.map((value, id): Item => ({ value, id }));
    goSort(items, (a, b) => a.value < b.value);
    expect(items.map((item) => item.id)).toEqual([
      12, 39, 2, 22, 4, 28, 6, 34, 8, 16, 14, 11, 0, 13, 24, 15, 33, 29, 5, 27, 20, 25, 37, 10, 23, 21, 26, 19, 18, 17, 30, 31, 32, 9, 7, 35, 36, 3, 38, 1,
    ]);
  });

  it("reorders ties exactly like etcd did for 40 keys sorted by value, descending", () => {
    const items = values.map((value, id): Item => ({ value, id }));
    goSort(items, (a, b) => b.value < a.value);
    expect(items.map((item) => item.id)).toEqual([
      11, 1, 14, 16, 13, 26, 19, 7, 23, 9, 0, 20, 24, 28, 31, 30, 25, 39, 35, 12, 34, 21, 2, 27, 22, 10, 37, 8, 15, 3, 29, 4, 32, 33, 6, 18, 36, 5, 38, 17,
    ]);
  });

  it("is deterministic: the same input always gives the same order", () => {
    const make = (): Item[] => Array.from({ length: 500 }, (_, id): Item => ({ value: (id * 7919) % 13, id }));
    const first = make();
    const second = make();
    goSort(first, (a, b) => a.value < b.value);
    goSort(second, (a, b) => a.value < b.value);
    expect(first).toEqual(second);
  });
});

/**
 * `store.tree()`: the tree as frozen plain data that shares unchanged subtrees between calls, so a
 * lesson can keep before/after copies cheaply and sketch variants with Immer's `produce`.
 */
import { produce } from "immer";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import type { NodeState } from "../../v2/node.js";
import { V2Store } from "../../v2/store.js";

const NOW = new SimulatedClock().now();

function child(state: NodeState, name: string): NodeState {
  const found = state.children?.find((c) => c.path.endsWith(`/${name}`));
  if (found === undefined) throw new Error(`no child ${name} under ${state.path}`);
  return found;
}

function deepFrozen(state: NodeState): boolean {
  return Object.isFrozen(state) && (state.children === null || (Object.isFrozen(state.children) && state.children.every(deepFrozen)));
}

describe("V2Store.tree", () => {
  it("hands out frozen plain data, hidden nodes and expiries included", () => {
    const store = new V2Store();
    store.set("/a/_h", false, "h", {}, NOW);
    store.set("/t", false, "x", { expireTimeMs: NOW + 5_000 }, NOW);
    const tree = store.tree();
    expect(deepFrozen(tree)).toBe(true);
    expect(child(child(tree, "a"), "_h")).toEqual({ path: "/a/_h", createdIndex: 1, modifiedIndex: 1, expireTimeMs: 0, value: "h", children: null });
    expect(child(tree, "t").expireTimeMs).toBe(NOW + 5_000);
  });

  it("returns the same object while nothing changes", () => {
    const store = new V2Store();
    store.set("/a", false, "1", {}, NOW);
    expect(store.tree()).toBe(store.tree());
    store.get("/a", true, true, NOW);
    store.watch("/a", false, false, 0);
    expect(store.tree()).toBe(store.tree());
  });

  it("shares every subtree a write did not touch", () => {
    const store = new V2Store();
    store.set("/left/x", false, "1", {}, NOW);
    store.set("/right/y", false, "2", {}, NOW);
    const before = store.tree();
    store.set("/left/x", false, "changed", {}, NOW);
    const after = store.tree();
    expect(after).not.toBe(before);
    expect(child(after, "right")).toBe(child(before, "right"));
    expect(child(child(before, "left"), "x").value).toBe("1"); // the old copy is unchanged
    expect(child(child(after, "left"), "x").value).toBe("changed");
  });

  it("sees TTL changes, removals and expiry", () => {
    const clock = new SimulatedClock();
    const store = new V2Store();
    store.set("/d", true, "", {}, clock.now());
    const t0 = store.tree();
    store.update("/d", "", { expireTimeMs: clock.now() + 1_000 }, clock.now());
    const t1 = store.tree();
    expect(child(t1, "d").expireTimeMs).toBe(clock.now() + 1_000);
    expect(child(t1, "d").modifiedIndex).toBe(child(t0, "d").modifiedIndex); // the stale-modifiedIndex quirk
    clock.advance(1_000);
    store.deleteExpiredKeys(clock.now());
    expect(store.tree().children).toEqual([]);
    expect(t1.children).toHaveLength(1);
  });

  it("works as an Immer base without touching the store", () => {
    const store = new V2Store();
    store.set("/a", false, "1", {}, NOW);
    store.set("/b", false, "2", {}, NOW);
    const tree = store.tree();
    const whatIf = produce(tree, (draft) => {
      const first = draft.children?.[0];
      if (first !== undefined) first.value = "what if";
    });
    expect(whatIf.children?.[0]?.value).toBe("what if");
    expect(whatIf.children?.[1]).toBe(tree.children?.[1]);
    expect(store.get("/a", false, false, NOW).node.value).toBe("1");
    expect(store.tree()).toBe(tree);
  });
});

/**
 * The event ring buffer and the history scan, ported from etcd release-3.4
 * `etcdserver/api/v2store/event_test.go` (TestEventQueue, TestScanHistory, TestEventIndexHistoryCleared,
 * TestFullEventQueue) in our own words.
 */
import { describe, expect, it } from "vitest";
import { Event, type Action } from "../../v2/event.js";
import { EventHistory } from "../../v2/eventHistory.js";
import { EventQueue } from "../../v2/eventQueue.js";
import { makeNodeExtern } from "../../v2/nodeExtern.js";
import { EcodeEventIndexCleared, V2Error } from "../../v2/v2error.js";

function event(action: Action, key: string, index: number, options: { prevDir?: boolean; refresh?: boolean } = {}): Event {
  const node = makeNodeExtern({ key, modifiedIndex: index, createdIndex: index });
  const prevNode = options.prevDir === true ? makeNodeExtern({ key, dir: true, modifiedIndex: 1, createdIndex: 1 }) : undefined;
  return new Event(action, node, prevNode, index, options.refresh ?? false);
}

describe("EventQueue", () => {
  it("keeps the newest events in order and overwrites the oldest when full (ported from TestEventQueue)", () => {
    const queue = new EventQueue(100);
    for (let i = 0; i < 200; i++) queue.insert(event("create", "/foo", i));
    expect(queue.size).toBe(100);
    expect(queue.toArray().map((e) => e.index)).toEqual(Array.from({ length: 100 }, (_, i) => i + 100));
    expect(queue.front).toBe(queue.back);
  });

  it("refuses a capacity that is not a positive integer", () => {
    expect(() => new EventQueue(0)).toThrow(RangeError);
  });
});

describe("EventHistory.scan", () => {
  const history = new EventHistory(100);
  history.addEvent(event("create", "/foo", 1));
  history.addEvent(event("create", "/foo/bar", 2));
  history.addEvent(event("create", "/foo/foo", 3));
  history.addEvent(event("create", "/foo/bar/bar", 4));
  history.addEvent(event("create", "/foo/foo/foo", 5));

  it.each([
    ["/foo", false, 1, 1],
    ["/foo/bar", false, 1, 2],
    ["/foo/bar", true, 3, 4],
    ["/foo/foo/foo", false, 3, 5],
    ["/", true, 3, 3],
  ])("finds the first event for %s (recursive %s) from %i at index %i (ported from TestScanHistory)", (key, recursive, since, expected) => {
    expect(history.scan(key, recursive, since)?.index).toBe(expected);
  });

  it("finds nothing when no later event matches, or the index is in the future", () => {
    expect(history.scan("/foo/bar", false, 3)).toBeUndefined();
    expect(history.scan("/foo", true, 6)).toBeUndefined();
  });

  it("does not treat a longer sibling name as a child when recursive", () => {
    const h = new EventHistory(10);
    h.addEvent(event("set", "/foobar", 1));
    expect(h.scan("/foo", true, 1)).toBeUndefined();
  });

  it("skips refresh events", () => {
    const h = new EventHistory(10);
    h.addEvent(event("update", "/r", 1, { refresh: true }));
    h.addEvent(event("set", "/r", 2));
    expect(h.scan("/r", false, 1)?.index).toBe(2);
  });

  it("matches the removal of a directory for any path it prefixes as a string", () => {
    const h = new EventHistory(10);
    h.addEvent(event("expire", "/dir", 1, { prevDir: true }));
    h.addEvent(event("delete", "/d2", 2));
    expect(h.scan("/dir/a/b", false, 1)?.index).toBe(1);
    expect(h.scan("/dirx", false, 1)?.index).toBe(1);
    expect(h.scan("/d2/x", false, 2)).toBeUndefined(); // a file's deletion has no directory prevNode
  });
});

describe("EventHistory bounds", () => {
  it("clears the oldest events and answers 401 with the start and asked indexes (ported from TestEventIndexHistoryCleared)", () => {
    const history = new EventHistory(5);
    for (let i = 1; i <= 6; i++) history.addEvent(event("create", "/foo", i));
    expect([history.startIndex, history.lastIndex]).toEqual([2, 6]);
    let error: unknown;
    try {
      history.scan("/foo", false, 1);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(V2Error);
    expect((error as V2Error).errorCode).toBe(EcodeEventIndexCleared);
    expect((error as V2Error).cause).toBe("the requested history has been cleared [2/1]");
  });

  it("wraps around many times and still finds every kept index (ported from TestFullEventQueue)", () => {
    const history = new EventHistory(10);
    for (let i = 1; i <= 1000; i++) {
      history.addEvent(event("create", "/foo", i));
      const oldest = Math.max(1, i - 9);
      expect(history.scan("/foo", false, oldest)?.index).toBe(oldest);
    }
  });

  it("copies into an independent history", () => {
    const history = new EventHistory(3);
    history.addEvent(event("set", "/a", 1));
    const copy = history.clone();
    history.addEvent(event("set", "/a", 2));
    expect([copy.startIndex, copy.lastIndex, copy.queue.size]).toEqual([1, 1, 1]);
  });
});

/**
 * The watcher and its event channel: etcd's `make(chan *Event, 100)` and `select`-with-default send,
 * rendered as a small synchronous queue (mirrors `etcdserver/api/v2store/watcher.go`).
 */
import { describe, expect, it } from "vitest";
import { Event } from "../../v2/event.js";
import { makeNodeExtern } from "../../v2/nodeExtern.js";
import { EventChan, Watcher } from "../../v2/watcher.js";

function event(index: number, key = "/k"): Event {
  return new Event("set", makeNodeExtern({ key, value: String(index), modifiedIndex: index, createdIndex: index }), undefined, index);
}

describe("EventChan", () => {
  it("buffers up to its capacity and refuses more without blocking", () => {
    const chan = new EventChan(2);
    expect([chan.trySend(event(1)), chan.trySend(event(2)), chan.trySend(event(3))]).toEqual([true, true, false]);
    expect(chan.drain().map((e) => e.index)).toEqual([1, 2]);
  });

  it("hands buffered events to a new listener at once, then each later one directly", () => {
    const chan = new EventChan(1);
    chan.trySend(event(1));
    const seen: number[] = [];
    const detach = chan.onEvent((e) => seen.push(e.index));
    chan.trySend(event(2));
    chan.trySend(event(3)); // a listener never fills the buffer
    detach();
    chan.trySend(event(4));
    expect(seen).toEqual([1, 2, 3]);
    expect(chan.take()?.index).toBe(4);
  });

  it("allows one listener at a time", () => {
    const chan = new EventChan();
    chan.onEvent(() => undefined);
    expect(() => chan.onEvent(() => undefined)).toThrow(/already has a listener/);
  });

  it("resolves a waiting next() with the next event, and with undefined when closed", async () => {
    const chan = new EventChan();
    const first = chan.next();
    chan.trySend(event(1));
    expect((await first)?.index).toBe(1);
    const second = chan.next();
    let closedCalls = 0;
    chan.onClose(() => closedCalls++);
    chan.close();
    expect(await second).toBeUndefined();
    expect(chan.trySend(event(2))).toBe(false);
    chan.close();
    chan.onClose(() => closedCalls++);
    expect(closedCalls).toBe(2);
  });

  it("still gives out buffered events after closing", async () => {
    const chan = new EventChan();
    chan.trySend(event(1));
    chan.close();
    expect((await chan.next())?.index).toBe(1);
    expect(await chan.next()).toBeUndefined();
  });
});

describe("Watcher.notify", () => {
  it("takes an event when recursive, on its own path, or on a removal, and not older than sinceIndex", () => {
    const flat = new Watcher(false, true, 5, 4);
    expect(flat.notify(event(5, "/a/b"), false, false)).toBe(false); // a child, not recursive
    expect(flat.notify(event(5), true, false)).toBe(true); // its own key
    expect(flat.notify(event(6, "/a/b"), false, true)).toBe(true); // its node was removed
    expect(flat.notify(event(4), true, false)).toBe(false); // older than sinceIndex
    const recursive = new Watcher(true, true, 1, 0);
    expect(recursive.notify(event(1, "/a/b"), false, false)).toBe(true);
  });

  it("removes itself when its buffer is full, still reporting the event as taken", () => {
    const watcher = new Watcher(true, true, 1, 0, 1);
    let detached = 0;
    watcher.attach(() => detached++);
    expect(watcher.notify(event(1), true, false)).toBe(true);
    expect(watcher.notify(event(2), true, false)).toBe(true);
    expect([watcher.removed, watcher.eventChan.closed, detached]).toEqual([true, true, 1]);
  });
});

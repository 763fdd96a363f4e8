/**
 * The watcher hub, ported from etcd release-3.4 `etcdserver/api/v2store/watcher_hub_test.go`
 * (TestIsHidden) in our own words, plus how the hub files watchers by path.
 */
import { describe, expect, it } from "vitest";
import { Event } from "../../v2/event.js";
import { makeNodeExtern } from "../../v2/nodeExtern.js";
import { isHidden, WatcherHub } from "../../v2/watcherHub.js";

function setEvent(key: string, index: number): Event {
  return new Event("set", makeNodeExtern({ key, value: "v", modifiedIndex: index, createdIndex: index }), undefined, index);
}

describe("isHidden", () => {
  it.each([
    ["/", "/_foo", true],
    ["/", "/foo/_bar", true],
    ["/foo", "/foo/_bar", true],
    ["/foo", "/foo/_baz/quux", true],
    ["/_foo", "/_foo/bar", false],
    ["/_foo", "/_foo/_bar", true],
    ["/foo", "/foo/bar", false],
    ["/foo/bar", "/foo", false],
    ["/_foo/bar", "/_foo/bar/baz", false],
  ])("watch %s, key %s → %s (ported from TestIsHidden)", (watchPath, keyPath, hidden) => {
    expect(isHidden(watchPath, keyPath)).toBe(hidden);
  });
});

describe("WatcherHub", () => {
  it("files watchers under their exact path and forgets a path when its last watcher leaves", () => {
    const hub = new WatcherHub();
    const a = hub.watch("/a", false, true, 1, 0);
    const b = hub.watch("/a", true, true, 1, 0);
    hub.watch("/b/c", false, false, 1, 0);
    expect([hub.count, hub.watchedPathCount]).toEqual([3, 2]);
    a.remove();
    expect([hub.count, hub.watchedPathCount]).toEqual([2, 2]);
    b.remove();
    b.remove(); // twice is harmless
    expect([hub.count, hub.watchedPathCount]).toEqual([1, 1]);
    hub.notify(setEvent("/b/c", 1));
    expect([hub.count, hub.watchedPathCount]).toEqual([0, 0]);
    hub.checkInvariants();
  });

  it("offers an event to the watchers on every prefix of its key, and only those", () => {
    const hub = new WatcherHub();
    const onRoot = hub.watch("/", true, true, 1, 0);
    const onFoo = hub.watch("/foo", true, true, 1, 0);
    const onFooFlat = hub.watch("/foo", false, true, 1, 0);
    const onKey = hub.watch("/foo/bar", false, true, 1, 0);
    const onSibling = hub.watch("/foobar", true, true, 1, 0);
    const onChild = hub.watch("/foo/bar/baz", true, true, 1, 0);
    hub.notify(setEvent("/foo/bar", 1));
    expect([onRoot, onFoo, onFooFlat, onKey, onSibling, onChild].map((w) => w.eventChan.length)).toEqual([1, 1, 0, 1, 0, 0]);
  });

  it("records refreshes in the history without offering them", () => {
    const hub = new WatcherHub();
    const watcher = hub.watch("/r", false, false, 1, 0);
    hub.add(new Event("update", makeNodeExtern({ key: "/r", value: "v", modifiedIndex: 1, createdIndex: 1 }), undefined, 1, true));
    expect(watcher.eventChan.length).toBe(0);
    expect(hub.eventHistory.lastIndex).toBe(1);
  });

  it("copies only the history when cloned", () => {
    const hub = new WatcherHub();
    hub.watch("/x", false, false, 5, 0);
    hub.notify(setEvent("/y", 1));
    const copy = hub.clone();
    expect([copy.count, copy.eventHistory.lastIndex]).toEqual([0, 1]);
  });
});

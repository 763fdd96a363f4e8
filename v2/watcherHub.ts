/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/watcher_hub.go`.
 *
 * The watcher hub sends each event to the watchers that care about it. Watchers are kept in a Map
 * from the exact path they watch to the watchers registered there, so notifying costs one lookup
 * per component of the event's key, however many watchers wait elsewhere:
 *
 *   a change to "/foo/bar" looks up "/", "/foo" and "/foo/bar" (3 Map lookups), and offers the event
 *   to the watchers found there. A recursive watcher on "/" or "/foo" takes it; a watcher on
 *   "/foo/bar" takes it; a non-recursive watcher on "/foo" does not.
 *
 * The hub also owns the event history, so a watch can first look into the past (`watch`), and
 * every change is recorded there (`notify`, or `add` for refreshes, which no watcher is told of).
 */
import type { Event } from "./event.js";
import { EVENT_HISTORY_CAPACITY, EventHistory } from "./eventHistory.js";
import { cleanPath } from "./path.js";
import { V2Error } from "./v2error.js";
import { WATCHER_BUFFER_CAPACITY, Watcher } from "./watcher.js";

/** etcd's `watcherHub`; invariant: `count` equals the watchers registered under all paths. */
export class WatcherHub {
  /** Path → watchers registered exactly there, in registration order. */
  private readonly watchers = new Map<string, Set<Watcher>>();
  /** Watchers currently registered (pending one-shot watches plus open streams). */
  count = 0;
  /** The last events (replaced wholesale by recovery). */
  eventHistory: EventHistory;
  private readonly watcherCapacity: number;

  constructor(historyCapacity: number = EVENT_HISTORY_CAPACITY, watcherCapacity: number = WATCHER_BUFFER_CAPACITY) {
    this.eventHistory = new EventHistory(historyCapacity);
    this.watcherCapacity = watcherCapacity;
  }

  /**
   * Starts a watch on `key`. If the history already holds a matching event at or after `sinceIndex`,
   * the watcher gets a copy of it (with `etcdIndex` = `storeIndex`) at once and is NOT registered:
   * even a stream watch answered this way receives that one event and nothing after it (quirk, as in
   * etcd: the stream then stays open and silent). Otherwise the watcher is registered at `key`.
   *
   * Throws 401 (with `index` = `storeIndex`) when `sinceIndex` is older than the history.
   */
  watch(key: string, recursive: boolean, stream: boolean, sinceIndex: number, storeIndex: number): Watcher {
    let event: Event | undefined;
    try {
      event = this.eventHistory.scan(key, recursive, sinceIndex);
    } catch (error) {
      if (error instanceof V2Error) error.index = storeIndex;
      throw error;
    }

    const watcher = new Watcher(recursive, stream, sinceIndex, storeIndex, this.watcherCapacity);
    if (event !== undefined) {
      watcher.eventChan.trySend(event.withEtcdIndex(storeIndex));
      return watcher;
    }

    let list = this.watchers.get(key);
    if (list === undefined) {
      list = new Set();
      this.watchers.set(key, list);
    }
    const registeredAt = list;
    registeredAt.add(watcher);
    this.count++;
    watcher.attach(() => {
      registeredAt.delete(watcher);
      this.count--;
      if (registeredAt.size === 0 && this.watchers.get(key) === registeredAt) this.watchers.delete(key);
    });
    return watcher;
  }

  /** Records a refresh event in the history without telling any watcher. */
  add(event: Event): void {
    this.eventHistory.addEvent(event);
  }

  /**
   * Records `event` in the history, then offers it to the watchers on every prefix of its key,
   * from the root down: "/a/b" → watchers at "/", "/a", "/a/b". O(depth + watchers offered).
   */
  notify(event: Event): void {
    this.eventHistory.addEvent(event);
    // etcdsim's shortcut: with no watcher registered anywhere, no prefix can have one, so the walk
    // over the key's prefixes is skipped (etcd walks them regardless; nobody is told either way).
    if (this.count === 0) return;
    const key = event.node.key ?? "/";
    this.notifyWatchers(event, "/", false);
    // Each "/" after the first character ends a proper prefix; the key itself comes last.
    for (let slash = key.indexOf("/", 1); slash !== -1; slash = key.indexOf("/", slash + 1)) {
      this.notifyWatchers(event, key.slice(0, slash), false);
    }
    if (key !== "/") this.notifyWatchers(event, key, false);
  }

  /**
   * Offers `event` to the watchers registered exactly at `nodePath`. A watcher below the event's
   * key is skipped when the rest of the key is hidden from it (see `isHidden`), unless it sits on
   * the key itself. A one-shot watcher that takes the event leaves the hub.
   *
   * Called by `notify` for each prefix, and by removals with `deleted` = true for every removed path,
   * children first: that is how a watch on "/dir/a" hears that "/dir" was deleted.
   */
  notifyWatchers(event: Event, nodePath: string, deleted: boolean): void {
    const list = this.watchers.get(nodePath);
    if (list === undefined) return;
    const eventKey = event.node.key ?? "/";
    const originalPath = eventKey === nodePath;
    if (!originalPath && isHidden(nodePath, eventKey)) return;
    // Iterating a Set while deleting the current entry is safe in JavaScript.
    for (const watcher of list) {
      if (watcher.notify(event, originalPath, deleted) && !watcher.stream) {
        // A one-shot watcher got its event: it leaves the hub, its channel stays readable.
        watcher.markRemoved();
      }
    }
  }

  /** How many paths have at least one watcher (for invariant checks and lessons). */
  get watchedPathCount(): number {
    return this.watchers.size;
  }

  /** Checks that `count` equals the watchers actually registered and no empty list is kept. */
  checkInvariants(): void {
    let total = 0;
    for (const [path, list] of this.watchers) {
      if (list.size === 0) throw new Error(`watcher hub keeps an empty list at ${path}`);
      for (const watcher of list) if (watcher.removed) throw new Error(`removed watcher still listed at ${path}`);
      total += list.size;
    }
    if (total !== this.count) throw new Error(`watcher count ${this.count} but ${total} registered`);
  }

  /** A hub with a copy of the history and no watchers (etcd's `clone`). */
  clone(): WatcherHub {
    const copy = new WatcherHub(this.eventHistory.queue.capacity, this.watcherCapacity);
    for (const event of this.eventHistory.queue.toArray()) copy.eventHistory.addEvent(event);
    return copy;
  }
}

/**
 * True when `keyPath` is hidden from a watcher at `watchPath`: some component of the part of the
 * key below the watch path starts with "_".
 *
 *   isHidden("/foo", "/foo/_bar")        →  true
 *   isHidden("/foo", "/foo/_baz/quux")   →  true
 *   isHidden("/_foo", "/_foo/bar")       →  false   (only the part below the watch counts)
 *   isHidden("/", "/_x")                 →  true
 *   isHidden("/foo/bar", "/foo")         →  false   (a watch deeper than the key: a directory removal)
 */
export function isHidden(watchPath: string, keyPath: string): boolean {
  if (watchPath.length > keyPath.length) return false;
  const afterPath = cleanPath("/" + keyPath.slice(watchPath.length));
  return afterPath.includes("/_");
}

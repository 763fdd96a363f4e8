/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/event.go`.
 *
 * An event is what every v2 operation answers with and what watchers receive: an `action`, the
 * `node` after the change and, when something was replaced or removed, the `prevNode` before it.
 * Each change event is stamped with exactly one etcd index, `node.modifiedIndex`, and the history
 * holds one event per index.
 *
 *   set /message=Hello      →  {"action":"set","node":{"key":"/message","value":"Hello","modifiedIndex":4,"createdIndex":4}}
 *   delete /message         →  {"action":"delete","node":{"key":"/message","modifiedIndex":5,"createdIndex":4},
 *                                "prevNode":{"key":"/message","value":"Hello","modifiedIndex":4,"createdIndex":4}}
 *
 * Three fields never reach the wire: `etcdIndex` (the store index the answer was made at; the HTTP
 * layer sends it as `X-Etcd-Index`), `refresh` (marks a TTL refresh, which watchers never see) and
 * `internal` (a write in etcd's internal namespaces, `/0` membership or `/2` v2 auth, which only the
 * history holds: no key under `/v2/keys` can ever match it).
 * `JSON.stringify(event)` therefore prints exactly etcd's body.
 */
import type { NodeExtern } from "./nodeExtern.js";

/** The `action` names etcd prints; every event carries exactly one of them. */
export const Get = "get";
export const Create = "create";
export const Set = "set";
export const Update = "update";
export const Delete = "delete";
export const CompareAndSwap = "compareAndSwap";
export const CompareAndDelete = "compareAndDelete";
export const Expire = "expire";

/** Every v2 action name, as it appears in `"action"`. */
export type Action =
  | typeof Get
  | typeof Create
  | typeof Set
  | typeof Update
  | typeof Delete
  | typeof CompareAndSwap
  | typeof CompareAndDelete
  | typeof Expire;

/** The wire body of an event, in etcd's field order. */
export interface EventJSON {
  readonly action: Action;
  readonly node: NodeExtern;
  readonly prevNode?: NodeExtern;
}

/**
 * One v2 event. Frozen once made: the store, the history and every watcher share the same object.
 *
 * Invariant: for every change event, `index` (= `node.modifiedIndex`) is the etcd index that change
 * used, and `etcdIndex` equals it; for a `get`, `etcdIndex` is the store index at the read. An event
 * handed out by a watch replay is a copy whose `etcdIndex` is the index when the watch started.
 *
 *   const event = store.set("/a", false, "1", {}, nowMs);
 *   event.index === event.etcdIndex;  JSON.stringify(event)  →  {"action":"set","node":{…}}
 */
export class Event {
  readonly action: Action;
  readonly node: NodeExtern;
  readonly prevNode: NodeExtern | undefined;
  /** The store index this answer belongs to (`X-Etcd-Index`); not part of the JSON body. */
  readonly etcdIndex: number;
  /** True for a TTL refresh: kept in the history, skipped by scans, never sent to watchers. */
  readonly refresh: boolean;

  constructor(action: Action, node: NodeExtern, prevNode: NodeExtern | undefined, etcdIndex: number, refresh = false) {
    this.action = action;
    this.node = node;
    this.prevNode = prevNode;
    this.etcdIndex = etcdIndex;
    this.refresh = refresh;
    Object.freeze(this);
  }

  /** The etcd index of the change: `node.modifiedIndex` (etcd's `Event.Index()`). */
  get index(): number {
    return this.node.modifiedIndex ?? 0;
  }

  /** True when the write created the node: `create`, or a `set` with nothing before it (HTTP 201). */
  isCreated(): boolean {
    return this.action === Create || (this.action === Set && this.prevNode === undefined);
  }

  /** A copy answering at another store index; used when a watch is served from the history. */
  /**
   * True for a write outside the keys space (`/0`, `/2`): it holds its index in the history, and no
   * scan or watcher sees it (an InternalEvent). A getter, so the common event carries no extra field.
   */
  get internal(): boolean {
    return false;
  }

  withEtcdIndex(etcdIndex: number): Event {
    return new Event(this.action, this.node, this.prevNode, etcdIndex, this.refresh);
  }

  /** The wire body; `etcdIndex`, `refresh` and `internal` are left out, as etcd's HTTP layer does. */
  toJSON(): EventJSON {
    return this.prevNode === undefined
      ? { action: this.action, node: this.node }
      : { action: this.action, node: this.node, prevNode: this.prevNode };
  }
}

/** A write in etcd's internal namespaces (`/0` membership, `/2` v2 auth): see `Event.internal`. */
export class InternalEvent extends Event {
  override get internal(): boolean {
    return true;
  }

  override withEtcdIndex(etcdIndex: number): Event {
    return new InternalEvent(this.action, this.node, this.prevNode, etcdIndex, this.refresh);
  }
}

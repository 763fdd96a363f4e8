/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/node.go`.
 *
 * A node is one entry in the v2 tree: a directory (it has a children map, possibly empty) or a
 * file, which the API calls a key (it has a value and no children map). Every node records the index
 * that created it and the index that last modified it, and may carry an absolute expiry time.
 *
 *   /                      dir   (the root: read-only, indexes 0)
 *   ├── dir/               dir   createdIndex 1, modifiedIndex 1
 *   │   ├── a = "1"        file  createdIndex 1, modifiedIndex 3
 *   │   └── _hidden = "h"  file  hidden: left out of listings of /dir
 *   └── t = "x"            file  expires 2026-01-01T00:00:05Z (in the TTL heap)
 *
 * Invariants: `children` exists if and only if the node is a directory; a child's path is its
 * parent's path plus "/" plus its name; a node is in the TTL heap if and only if it has an expiry.
 *
 * Each node also caches its frozen `NodeState` (see `state()`); any change clears the cache of the
 * node and of its ancestors, so `store.tree()` rebuilds only the changed path and shares the rest.
 */
import { freeze } from "immer";
import { formatExpiration, makeNodeExtern, sortNodeExterns, ttlSeconds, type NodeExtern } from "./nodeExtern.js";
import { joinPath, splitPath } from "./path.js";
import type { TTLKeyHeap } from "./ttlKeyHeap.js";
import { EcodeDirNotEmpty, EcodeNodeExist, EcodeNotDir, EcodeNotFile, InvariantViolation, V2Error } from "./v2error.js";

/** Expiry value meaning "never" (Go's zero `time.Time`). */
export const PERMANENT = 0;

/**
 * A node as plain, frozen data: what `store.tree()` hands out and what a snapshot stores.
 * Mirrors the JSON etcd writes for a node in its snapshot (Path, CreatedIndex, ModifiedIndex,
 * ExpireTime, Value, Children), with children kept as an ordered list so a recovered store lists
 * them in the same order.
 *
 *   file:       { path: "/a/b", createdIndex: 2, modifiedIndex: 5, expireTimeMs: 0, value: "x", children: null }
 *   directory:  { path: "/a", createdIndex: 2, modifiedIndex: 2, expireTimeMs: 0, value: "", children: [ …/a/b… ] }
 */
export interface NodeState {
  readonly path: string;
  readonly createdIndex: number;
  readonly modifiedIndex: number;
  /** Absolute expiry in ms since the Unix epoch; 0 means permanent (Go's zero time). */
  readonly expireTimeMs: number;
  /** The file's value; "" for directories. */
  readonly value: string;
  /** null for a file, a list (possibly empty) for a directory, in insertion order. */
  readonly children: readonly NodeState[] | null;
}

/** What a node needs from its store: the TTL heap and the current index (for error indexes). */
export interface NodeContext {
  readonly ttlKeyHeap: TTLKeyHeap;
  readonly currentIndex: number;
}

/** etcd's `Compare` outcomes: which of the two tests failed. */
export const CompareMatch = 0;
export const CompareIndexNotMatch = 1;
export const CompareValueNotMatch = 2;
export const CompareNotMatch = 3;
export type CompareResult = typeof CompareMatch | typeof CompareIndexNotMatch | typeof CompareValueNotMatch | typeof CompareNotMatch;

/** etcd's `node`; invariant: a node is a directory exactly when `children` is defined, and then its value is "". */
export class Node {
  /** Absolute, clean path ("/" for the root). */
  readonly path: string;
  createdIndex: number;
  modifiedIndex: number;
  /** Undefined for the root, and for a node that has been removed. */
  parent: Node | undefined;
  /** Absolute expiry in ms; PERMANENT (0) for none. */
  expireTimeMs: number;
  /** The value of a file; "" for a directory. */
  value: string;
  /** Name → child, in insertion order; undefined for a file. */
  readonly children: Map<string, Node> | undefined;
  private readonly context: NodeContext;
  /** The frozen state of this subtree, or undefined when something in it changed since. */
  private cachedState: NodeState | undefined;

  private constructor(context: NodeContext, path: string, createdIndex: number, parent: Node | undefined, expireTimeMs: number, value: string, children: Map<string, Node> | undefined) {
    this.context = context;
    this.path = path;
    this.createdIndex = createdIndex;
    this.modifiedIndex = createdIndex;
    this.parent = parent;
    this.expireTimeMs = expireTimeMs;
    this.value = value;
    this.children = children;
  }

  /** A new file (etcd's `newKV`). Not yet attached to `parent`. */
  static newKV(context: NodeContext, path: string, value: string, createdIndex: number, parent: Node | undefined, expireTimeMs: number): Node {
    return new Node(context, path, createdIndex, parent, expireTimeMs, value, undefined);
  }

  /** A new, empty directory (etcd's `newDir`). Not yet attached to `parent`. */
  static newDir(context: NodeContext, path: string, createdIndex: number, parent: Node | undefined, expireTimeMs: number): Node {
    return new Node(context, path, createdIndex, parent, expireTimeMs, "", new Map());
  }

  /**
   * Rebuilds a subtree from its frozen state (recovery and clone), linking parents and pushing every
   * node that has an expiry into the heap unless `pushTTL` is false (the caller then restores the
   * heap order itself). The state becomes the new nodes' cache, so the next `tree()` is free.
   */
  static fromState(context: NodeContext, state: NodeState, parent: Node | undefined, pushTTL: boolean): Node {
    const node =
      state.children === null
        ? Node.newKV(context, state.path, state.value, state.createdIndex, parent, state.expireTimeMs)
        : Node.newDir(context, state.path, state.createdIndex, parent, state.expireTimeMs);
    node.modifiedIndex = state.modifiedIndex;
    if (state.children !== null && node.children !== undefined) {
      for (const childState of state.children) {
        node.children.set(splitPath(childState.path)[1], Node.fromState(context, childState, node, pushTTL));
      }
    }
    if (pushTTL && !node.isPermanent()) context.ttlKeyHeap.push(node);
    node.cachedState = state;
    return node;
  }

  /** The last path component ("" for the root). */
  get name(): string {
    return splitPath(this.path)[1];
  }

  /**
   * True when the node's own name starts with "_". Listings skip hidden nodes: with /foo/_hidden and
   * /foo/notHidden, a get of /foo shows only /foo/notHidden. Reading /foo/_hidden directly still works.
   */
  isHidden(): boolean {
    return this.name.startsWith("_");
  }

  /** True when the node never expires. */
  isPermanent(): boolean {
    return this.expireTimeMs === PERMANENT;
  }

  /** True for a directory (it has a children map, even an empty one). */
  isDir(): boolean {
    return this.children !== undefined;
  }

  /** A file's value; a directory answers 102 Not a file. */
  read(): string {
    if (this.isDir()) throw new V2Error(EcodeNotFile, "", this.context.currentIndex);
    return this.value;
  }

  /**
   * Sets a file's value and modifiedIndex. On a directory nothing changes; the store relies on that:
   * updating a directory's TTL leaves its stored modifiedIndex behind (quirk, §1.6 of the spec).
   */
  write(value: string, index: number): void {
    if (this.isDir()) return;
    this.value = value;
    this.modifiedIndex = index;
    this.touch();
  }

  /**
   * The `expiration` and `ttl` fields for an answer made at `nowMs`; both undefined when permanent.
   *
   *   expires at 00:00:05, now 00:00:03.5  →  ["…T00:00:05Z", 2]
   */
  expirationAndTTL(nowMs: number): [expiration: string | undefined, ttl: number | undefined] {
    if (this.isPermanent()) return [undefined, undefined];
    return [formatExpiration(this.expireTimeMs), ttlSeconds(this.expireTimeMs, nowMs)];
  }

  /** The children of a directory, in insertion order; a file answers 104 Not a directory. */
  list(): Node[] {
    if (this.children === undefined) throw new V2Error(EcodeNotDir, this.path, this.context.currentIndex);
    return [...this.children.values()];
  }

  /** The child called `name`, or undefined; a file answers 104 Not a directory. */
  getChild(name: string): Node | undefined {
    if (this.children === undefined) throw new V2Error(EcodeNotDir, this.path, this.context.currentIndex);
    return this.children.get(name);
  }

  /**
   * Attaches `child` under its name: 104 when this is a file, 105 when the name is taken. A caller
   * that already holds the name passes it (etcdsim's shortcut; etcd always splits the path).
   */
  add(child: Node, name: string = child.name): void {
    if (this.children === undefined) throw new V2Error(EcodeNotDir, "", this.context.currentIndex);
    if (this.children.has(name)) throw new V2Error(EcodeNodeExist, "", this.context.currentIndex);
    this.children.set(name, child);
    child.parent = this;
    this.touch();
  }

  /**
   * Checks that `remove(dir, recursive)` would succeed, without changing anything: a directory needs
   * `dir` (else 102) and, when not empty, `recursive` (else 108).
   */
  checkRemove(dir: boolean, recursive: boolean): void {
    if (!this.isDir()) return;
    if (!dir) throw new V2Error(EcodeNotFile, this.path, this.context.currentIndex);
    if ((this.children?.size ?? 0) !== 0 && !recursive) throw new V2Error(EcodeDirNotEmpty, this.path, this.context.currentIndex);
  }

  /**
   * Detaches the node (and, for a directory, its whole subtree) from the tree and the TTL heap.
   * `onRemoved` is called with the path of every removed node, children before their directory:
   *
   *   remove /dir (recursive) with /dir/a and /dir/b/c  →  "/dir/a", "/dir/b/c", "/dir/b", "/dir"
   *
   * Throws 102 / 108 as `checkRemove` does, before changing anything.
   */
  remove(dir: boolean, recursive: boolean, onRemoved?: (path: string) => void): void {
    this.checkRemove(dir, recursive);
    if (this.children !== undefined) {
      for (const child of [...this.children.values()]) child.remove(true, true, onRemoved);
    }
    const parent = this.parent;
    if (parent?.children !== undefined && parent.children.get(this.name) === this) {
      parent.children.delete(this.name);
      parent.touch();
      this.parent = undefined;
      onRemoved?.(this.path);
      if (!this.isPermanent()) this.context.ttlKeyHeap.remove(this);
    }
  }

  /**
   * The outside view of this node at `nowMs` (etcd's `Repr`). A directory lists its visible
   * children only when `recursive`; `sorted` sorts every listed level by key.
   */
  repr(recursive: boolean, sorted: boolean, nowMs: number): NodeExtern {
    const [expiration, ttl] = this.expirationAndTTL(nowMs);
    if (this.children === undefined) {
      return makeNodeExtern({ key: this.path, value: this.value, expiration, ttl, modifiedIndex: this.modifiedIndex, createdIndex: this.createdIndex });
    }
    return makeNodeExtern({
      key: this.path,
      dir: true,
      expiration,
      ttl,
      nodes: recursive ? this.visibleChildren(recursive, sorted, nowMs) : undefined,
      modifiedIndex: this.modifiedIndex,
      createdIndex: this.createdIndex,
    });
  }

  /**
   * The node as a `get` shows it (etcd's `loadInternalNode`): a directory always lists its visible
   * children, one level deep unless `recursive`.
   *
   *   get /dir            →  {"key":"/dir","dir":true,"nodes":[{"key":"/dir/sub","dir":true,…}],…}
   *   get /dir recursive  →  the same, with /dir/sub's own "nodes" filled in
   */
  reprForGet(recursive: boolean, sorted: boolean, nowMs: number): NodeExtern {
    if (this.children === undefined) return this.repr(false, false, nowMs);
    const [expiration, ttl] = this.expirationAndTTL(nowMs);
    return makeNodeExtern({
      key: this.path,
      dir: true,
      expiration,
      ttl,
      nodes: this.visibleChildren(recursive, sorted, nowMs),
      modifiedIndex: this.modifiedIndex,
      createdIndex: this.createdIndex,
    });
  }

  /**
   * Changes the expiry and keeps the TTL heap in step (etcd's `UpdateTTL`):
   *
   *   permanent → permanent: nothing    permanent → t: push      t → t': move     t → permanent: leave
   */
  updateTTL(expireTimeMs: number): void {
    const heap = this.context.ttlKeyHeap;
    if (!this.isPermanent()) {
      this.expireTimeMs = expireTimeMs;
      if (expireTimeMs === PERMANENT) heap.remove(this);
      else heap.update(this);
    } else if (expireTimeMs !== PERMANENT) {
      this.expireTimeMs = expireTimeMs;
      heap.push(this);
    }
    this.touch();
  }

  /**
   * Tests `prevValue` ("" = any) against the value and `prevIndex` (0 = any) against modifiedIndex.
   *
   *   value "a", modifiedIndex 8:  compare("a", 0) → Match;  compare("b", 8) → ValueNotMatch;
   *                                compare("", 1) → IndexNotMatch;  compare("b", 1) → NotMatch
   */
  compare(prevValue: string, prevIndex: number): CompareResult {
    const indexMatch = prevIndex === 0 || this.modifiedIndex === prevIndex;
    const valueMatch = prevValue === "" || this.value === prevValue;
    if (valueMatch && indexMatch) return CompareMatch;
    if (indexMatch) return CompareValueNotMatch;
    if (valueMatch) return CompareIndexNotMatch;
    return CompareNotMatch;
  }

  /**
   * This subtree as frozen plain data. Unchanged subtrees return the very object they returned last
   * time, so two trees taken before and after a write share everything but the written path.
   * O(changed nodes).
   */
  state(): NodeState {
    if (this.cachedState !== undefined) return this.cachedState;
    // Children are frozen already, so Immer's shallow freeze finishes the job; the result is a
    // valid Immer base (produce() on it copies only the path a recipe touches).
    const children = this.children === undefined ? null : freeze([...this.children.values()].map((child) => child.state()));
    const state: NodeState = freeze({
      path: this.path,
      createdIndex: this.createdIndex,
      modifiedIndex: this.modifiedIndex,
      expireTimeMs: this.expireTimeMs,
      value: this.value,
      children,
    });
    this.cachedState = state;
    return state;
  }

  /** Checks parent links, paths and the directory/file shape of this subtree. */
  checkInvariants(visit: (node: Node) => void): void {
    visit(this);
    if (this.children === undefined) return;
    if (this.value !== "") throw new InvariantViolation(`directory ${this.path} has a value`);
    for (const [name, child] of this.children) {
      if (child.parent !== this) throw new InvariantViolation(`${child.path} does not point at its parent ${this.path}`);
      if (child.path !== joinPath(this.path, name)) throw new InvariantViolation(`${child.path} is filed under ${this.path} as "${name}"`);
      child.checkInvariants(visit);
    }
  }

  /** Clears the cached state here and up to the root; stops early where it is already clear. */
  private touch(): void {
    for (let node: Node | undefined = this; node !== undefined && node.cachedState !== undefined; node = node.parent) {
      node.cachedState = undefined;
    }
  }

  private visibleChildren(recursive: boolean, sorted: boolean, nowMs: number): NodeExtern[] {
    const nodes: NodeExtern[] = [];
    for (const child of this.children?.values() ?? []) {
      if (child.isHidden()) continue;
      nodes.push(child.repr(recursive, sorted, nowMs));
    }
    return sorted ? sortNodeExterns(nodes) : nodes;
  }
}

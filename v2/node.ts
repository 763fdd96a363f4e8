/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/node.go`.
 * (Contract only for now; the class follows.)
 */

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

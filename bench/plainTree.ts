/**
 * The v2 baseline: a plain nested-object tree, the least a key-per-path store can do.
 *
 * A set walks the path's directories, creating any that are missing, and stores the value under the
 * last name. No index, no history, no events, no TTL: what remains is the cost etcd's v2 store adds.
 *
 *   const root: PlainDir = {};
 *   plainSet(root, "/key/0001/0234", "v")   →  root = { key: { "0001": { "0234": "v" } } }
 */

/** A directory: names to subdirectories or values. */
export interface PlainDir {
  [name: string]: PlainDir | string;
}

/** Stores `value` at `path` ("/a/b/c"), creating directories on the way. O(depth). */
export function plainSet(root: PlainDir, path: string, value: string): void {
  let dir = root;
  let start = 1; // skip the leading "/"
  for (let slash = path.indexOf("/", start); slash !== -1; slash = path.indexOf("/", start)) {
    const name = path.slice(start, slash);
    let child = dir[name];
    if (child === undefined || typeof child === "string") {
      child = {};
      dir[name] = child;
    }
    dir = child;
    start = slash + 1;
  }
  dir[path.slice(start)] = value;
}

/**
 * Mirrors Go's standard `path` package as etcd release-3.4 `etcdserver/api/v2store/store.go` uses it
 * (`path.Clean(path.Join("/", nodePath))`, `path.Split`).
 *
 * v2 keys are slash-separated paths and etcd normalises every one before use: a leading "/" is
 * added, repeated slashes collapse, "." and ".." are resolved and a trailing "/" is dropped.
 *
 *   cleanKey("foo")          →  "/foo"
 *   cleanKey("/tr/")         →  "/tr"
 *   cleanKey("//a/./b/../c") →  "/a/c"
 *   cleanKey("/..")          →  "/"          (".." cannot climb above the root)
 *   cleanKey("")             →  "/"
 */

/**
 * Go's `path.Clean` for a path that starts with "/" (lexical only; the file system is never consulted).
 * O(length).
 */
export function cleanPath(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
      else if (!rooted) parts.push("..");
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join("/");
  if (rooted) return "/" + joined;
  return joined === "" ? "." : joined;
}

/**
 * An already clean absolute path: one or more "/name" parts, no name "." or "..", no trailing "/".
 * Most keys arrive clean, so `cleanKey` checks this first and skips the split-and-join.
 */
const ALREADY_CLEAN = /^(?:\/(?!\.\.?(?:\/|$))[^/]+)+$/;

/** etcd's `path.Clean(path.Join("/", nodePath))`: the canonical absolute form of a v2 key. */
export function cleanKey(nodePath: string): string {
  if (nodePath === "/" || ALREADY_CLEAN.test(nodePath)) return nodePath;
  return cleanPath("/" + nodePath);
}

/**
 * Go's `path.Split`: everything up to and including the last "/", and the rest.
 *
 *   splitPath("/a/b")  →  ["/a/", "b"]      splitPath("/a")  →  ["/", "a"]
 */
export function splitPath(path: string): [dir: string, name: string] {
  const slash = path.lastIndexOf("/");
  return [path.slice(0, slash + 1), path.slice(slash + 1)];
}

/**
 * Go's `path.Join(parent, name)` for an already clean parent and a single name. The plain join is
 * usually clean already ("/a" + "b" → "/a/b"), and cleaning a clean path returns it unchanged, so
 * the split-and-join runs only when the check fails.
 */
export function joinPath(parent: string, name: string): string {
  const joined = parent === "/" ? "/" + name : parent + "/" + name;
  if (ALREADY_CLEAN.test(joined)) return joined;
  return cleanPath(parent + "/" + name);
}

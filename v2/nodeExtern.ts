/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/node_extern.go`.
 *
 * A `NodeExtern` is the outside view of a node: the JSON object a client sees under `node`,
 * `prevNode` and `nodes`. It is a plain object whose properties are created in etcd's field order
 * (key, value, dir, expiration, ttl, nodes, modifiedIndex, createdIndex) and whose empty fields are
 * simply absent, so `JSON.stringify` of it is byte-for-byte what etcd sends.
 *
 *   file:       {"key":"/message","value":"Hello","modifiedIndex":4,"createdIndex":4}
 *   empty file: {"key":"/e","value":"","modifiedIndex":5,"createdIndex":5}      value "" is kept
 *   with TTL:   {"key":"/t","value":"x","expiration":"2026-01-01T00:00:05Z","ttl":5,"modifiedIndex":6,"createdIndex":6}
 *   directory:  {"key":"/dir","dir":true,"nodes":[…],"modifiedIndex":2,"createdIndex":2}
 *   the root:   {"dir":true,"nodes":[…]}                                          no key, no indexes
 *
 * Invariant: a NodeExtern handed out by the store is frozen and never changes afterwards, so an event
 * in the history keeps the `ttl` it had when it was made (a replay shows the frozen value).
 */

export interface NodeExtern {
  /** The cleaned absolute path. Absent only for the root (etcd's "/1" prefix trims to ""). */
  readonly key?: string;
  /** Present for every file, even when it is ""; absent for directories and removal events. */
  readonly value?: string;
  /** Present (and true) only for directories. */
  readonly dir?: true;
  /** Absolute expiry in RFC 3339 with trailing zeros dropped, e.g. "2026-01-01T00:00:05.5Z". */
  readonly expiration?: string;
  /** Whole seconds left, rounded up; absent when it works out to 0. May be negative when overdue. */
  readonly ttl?: number;
  /** Visible children (hidden `_` names left out); absent when there are none. */
  readonly nodes?: readonly NodeExtern[];
  /** Absent (0) only for the root. */
  readonly modifiedIndex?: number;
  /** Absent (0) only for the root. */
  readonly createdIndex?: number;
}

/**
 * Formats an absolute time the way Go's `time.Time` marshals to JSON (RFC 3339 with nanoseconds,
 * trailing zeros dropped). The store keeps milliseconds, so at most three fraction digits appear.
 *
 *   formatExpiration(Date.UTC(2026, 0, 1, 0, 0, 5))        →  "2026-01-01T00:00:05Z"
 *   formatExpiration(Date.UTC(2026, 0, 1, 0, 0, 5, 250))   →  "2026-01-01T00:00:05.25Z"
 */
export function formatExpiration(expireTimeMs: number): string {
  const iso = new Date(expireTimeMs).toISOString(); // formats the given instant; no clock is read
  // "2026-01-01T00:00:05.250Z" → drop trailing zeros of the fraction, and the dot if nothing is left.
  return iso.replace(/\.(\d*?)0+Z$/, (_match, digits: string) => (digits === "" ? "Z" : `.${digits}Z`));
}

/**
 * etcd's ttl arithmetic: ceil((expire − now) / 1 s) for a positive remainder, truncation otherwise
 * (Go's integer division rounds toward zero).
 *
 *   ttlSeconds(5_000, 0)      →  5
 *   ttlSeconds(5_000, 3_500)  →  2     (1.5 s left rounds up)
 *   ttlSeconds(5_000, 5_000)  →  0     (the field is then left out)
 *   ttlSeconds(5_000, 6_500)  →  -1    (overdue, not yet swept: −1.5 s truncates to −1)
 */
export function ttlSeconds(expireTimeMs: number, nowMs: number): number {
  const leftMs = expireTimeMs - nowMs;
  const whole = Math.trunc(leftMs / 1000);
  // "+ 0" turns JavaScript's -0 (from truncating -0.5) into the 0 Go would compute.
  return (leftMs % 1000 > 0 ? whole + 1 : whole) + 0;
}

/**
 * etcd sorts `nodes` by key comparing bytes (Go string `<`). JavaScript's `<` compares UTF-16 code
 * units, which disagrees with UTF-8 byte order only between surrogate pairs (U+10000 and up) and
 * U+E000–U+FFFF; comparing code points fixes that, since UTF-8 byte order equals code point order.
 *
 *   compareKeysBytewise("/a", "/b") < 0;   compareKeysBytewise("/\u{1F600}", "/\uFFFD") > 0
 */
export function compareKeysBytewise(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (0xD800–0xDFFF) stand for code points above 0xFFFF: they sort after everything.
    const xs = x >= 0xd800 && x <= 0xdfff ? x + 0x10000 : x;
    const ys = y >= 0xd800 && y <= 0xdfff ? y + 0x10000 : y;
    return xs - ys;
  }
  return a.length - b.length;
}

/** Sorts a NodeExtern list by key, bytewise (etcd's `sort.Sort(NodeExterns)`). Sorts in place. */
export function sortNodeExterns(nodes: NodeExtern[]): NodeExtern[] {
  return nodes.sort((x, y) => compareKeysBytewise(x.key ?? "", y.key ?? ""));
}

/** The fields of a NodeExtern before empties are dropped (what `makeNodeExtern` takes). */
export interface NodeExternFields {
  readonly key: string;
  readonly value?: string | undefined;
  readonly dir?: boolean | undefined;
  readonly expiration?: string | undefined;
  readonly ttl?: number | undefined;
  readonly nodes?: readonly NodeExtern[] | undefined;
  readonly modifiedIndex: number;
  readonly createdIndex: number;
}

/**
 * Builds a frozen NodeExtern with etcd's field order and Go's `omitempty` rules: the root's key
 * ("/", which etcd sees as "/1" and trims to ""), `dir` false, a `ttl` of 0, an empty `nodes` list
 * and zero indexes are left out. `value` is kept whenever it is given, even "".
 *
 *   makeNodeExtern({ key: "/", dir: true, nodes: [], modifiedIndex: 0, createdIndex: 0 })  →  {"dir":true}
 */
export function makeNodeExtern(fields: NodeExternFields): NodeExtern {
  const node: { -readonly [K in keyof NodeExtern]: NodeExtern[K] } = {};
  if (fields.key !== "/" && fields.key !== "") node.key = fields.key;
  if (fields.value !== undefined) node.value = fields.value;
  if (fields.dir === true) node.dir = true;
  if (fields.expiration !== undefined) node.expiration = fields.expiration;
  if (fields.ttl !== undefined && fields.ttl !== 0) node.ttl = fields.ttl;
  if (fields.nodes !== undefined && fields.nodes.length > 0) node.nodes = Object.freeze(fields.nodes);
  if (fields.modifiedIndex !== 0) node.modifiedIndex = fields.modifiedIndex;
  if (fields.createdIndex !== 0) node.createdIndex = fields.createdIndex;
  return Object.freeze(node);
}

/**
 * `makeNodeExtern` for the commonest answer: a permanent file just written at `index`, as set and
 * create return it. etcdsim's shortcut: one frozen literal instead of a property-by-property build
 * (a hot path); same fields in the same order, so the same JSON.
 *
 *   makeFileExtern("/a", "1", 7)  →  { key: "/a", value: "1", modifiedIndex: 7, createdIndex: 7 }
 *
 * `key` must not be "/" (the root is a directory) and `index` must not be 0.
 */
export function makeFileExtern(key: string, value: string, index: number): NodeExtern {
  return Object.freeze({ key, value, modifiedIndex: index, createdIndex: index });
}

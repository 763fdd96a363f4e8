/**
 * Conformance cases for v3 reads and writes (Range, Put, DeleteRange) through the gateway: v3.md §4-§5.2.
 * `#N` is revision N of a fresh store (`#2` is the first write).
 */
import { v3, type ConformanceCase, type Step } from "./cases.js";

const area = "v3 range";

/** Puts key=value for each pair, one revision each. */
function puts(...pairs: [string, string][]): Step[] {
  return pairs.map(([key, value]) => v3("kv/put", { key, value }));
}

const SEVEN = puts(["key1", "a"], ["key12", "b"], ["key2", "c"], ["key3", "d"], ["key", "e"], ["kez", "f"], ["other", "g"]);

export const V3_RANGE_CASES: readonly ConformanceCase[] = [
  { area, name: "put then get one key", steps: [v3("kv/put", { key: "foo", value: "bar" }), v3("kv/range", { key: "foo" })] },
  { area, name: "a missing key is an empty result", steps: [v3("kv/range", { key: "nope" })] },
  { area, name: "an empty key is refused", steps: [v3("kv/range", { key: "" }), v3("kv/put", { key: "", value: "x" })] },
  { area, name: "a half-open range [key, key3) in byte order", steps: [...SEVEN, v3("kv/range", { key: "key", range_end: "key3" })] },
  { area, name: "a prefix range and a from-key range", steps: [...SEVEN, v3("kv/range", { key: "key", range_end: "kez" }), v3("kv/range", { key: "kez", range_end: "\u0000" })] },
  { area, name: "all keys with key=range_end=\\0", steps: [...SEVEN, v3("kv/range", { key: "\u0000", range_end: "\u0000", keys_only: true })] },
  { area, name: "limit truncates and sets more", steps: [...SEVEN, v3("kv/range", { key: "\u0000", range_end: "\u0000", limit: 2 })] },
  { area, name: "count_only returns only the count", steps: [...SEVEN, v3("kv/range", { key: "key", range_end: "kez", count_only: true })] },
  {
    area,
    name: "sort by value descending, and by mod ascending",
    steps: [...SEVEN, v3("kv/range", { key: "\u0000", range_end: "\u0000", sort_order: "DESCEND", sort_target: "VALUE" }), v3("kv/range", { key: "\u0000", range_end: "\u0000", sort_target: "MOD" })],
  },
  {
    area,
    name: "min_mod_revision filters after counting",
    steps: [...puts(["m1", "1"], ["m2", "2"], ["m3", "3"]), v3("kv/range", { key: "m", range_end: "n", min_mod_revision: "#3" })],
  },
  {
    area,
    name: "read at an older revision, and at a future one",
    steps: [...puts(["v", "1"], ["v", "2"], ["v", "3"]), v3("kv/range", { key: "v", revision: "#2" }), v3("kv/range", { key: "v", revision: "#3" }), v3("kv/range", { key: "v", revision: "#9" })],
  },
  {
    area,
    name: "versions count writes within a generation and restart after a delete",
    steps: [...puts(["g", "1"], ["g", "2"]), v3("kv/deleterange", { key: "g" }), v3("kv/put", { key: "g", value: "3" }), v3("kv/range", { key: "g" }), v3("kv/range", { key: "g", revision: "#3" })],
  },
  {
    area,
    name: "put with prev_kv returns the previous value",
    steps: [v3("kv/put", { key: "p", value: "1", prev_kv: true }), v3("kv/put", { key: "p", value: "2", prev_kv: true })],
  },
  {
    area,
    name: "ignore_value keeps the value and refuses a missing key",
    steps: [v3("kv/put", { key: "iv", ignore_value: true }), v3("kv/put", { key: "iv", value: "1" }), v3("kv/put", { key: "iv", ignore_value: true }), v3("kv/put", { key: "iv", value: "x", ignore_value: true }), v3("kv/range", { key: "iv" })],
  },
  {
    area,
    name: "delete a range with prev_kvs; deleting nothing keeps the revision",
    steps: [...puts(["d1", "1"], ["d2", "2"], ["d3", "3"]), v3("kv/deleterange", { key: "d1", range_end: "d3", prev_kv: true }), v3("kv/deleterange", { key: "d1" }), v3("kv/range", { key: "d", range_end: "e" })],
  },
  {
    area,
    name: "putting the same value again is a new revision",
    steps: [v3("kv/put", { key: "same", value: "x" }), v3("kv/put", { key: "same", value: "x" }), v3("kv/range", { key: "same" })],
  },
  {
    area,
    name: "keys_only still sorts by value",
    steps: [...puts(["s1", "c"], ["s2", "a"], ["s3", "b"]), v3("kv/range", { key: "s", range_end: "t", keys_only: true, sort_target: "VALUE" })],
  },
  {
    area,
    name: "create-revision filters and a descending limit",
    steps: [
      ...puts(["f1", "1"], ["f2", "2"], ["f3", "3"], ["f1", "4"]),
      v3("kv/range", { key: "f", range_end: "g", min_create_revision: "#3", max_create_revision: "#3" }),
      v3("kv/range", { key: "f", range_end: "g", sort_order: "DESCEND", limit: 2 }),
    ],
  },
];

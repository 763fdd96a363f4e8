/**
 * Conformance cases for v3 transactions through the gateway: v3.md §5.3-§5.6.
 */
import { v3, type ConformanceCase } from "./cases.js";

const area = "txn";

const put = (key: string, value: string): object => ({ request_put: { key, value } });
const range = (key: string): object => ({ request_range: { key } });
const del = (key: string): object => ({ request_delete_range: { key } });

export const V3_TXN_CASES: readonly ConformanceCase[] = [
  {
    area,
    name: "a value compare picks the success branch",
    steps: [v3("kv/put", { key: "k", value: "v1" }), v3("kv/txn", { compare: [{ key: "k", target: "VALUE", result: "EQUAL", value: "v1" }], success: [put("k", "v2")], failure: [range("k")] })],
  },
  {
    area,
    name: "a failed compare runs the failure branch",
    steps: [v3("kv/put", { key: "k", value: "v1" }), v3("kv/txn", { compare: [{ key: "k", target: "VALUE", result: "EQUAL", value: "zz" }], success: [put("k", "v2")], failure: [range("k")] })],
  },
  {
    area,
    name: "create_revision = 0 means the key does not exist",
    steps: [
      v3("kv/txn", { compare: [{ key: "lock", target: "CREATE", result: "EQUAL", create_revision: "0" }], success: [put("lock", "me")] }),
      v3("kv/txn", { compare: [{ key: "lock", target: "CREATE", result: "EQUAL", create_revision: "0" }], success: [put("lock", "you")], failure: [range("lock")] }),
    ],
  },
  {
    area,
    name: "mod and version compares",
    steps: [
      v3("kv/put", { key: "x", value: "1" }),
      v3("kv/put", { key: "y", value: "1" }),
      v3("kv/txn", { compare: [{ key: "x", target: "MOD", result: "EQUAL", mod_revision: "#2" }, { key: "y", target: "VERSION", result: "GREATER", version: "0" }], success: [put("y", "2")] }),
      v3("kv/txn", { compare: [{ key: "x", target: "MOD", result: "LESS", mod_revision: "#2" }], success: [put("y", "3")] }),
    ],
  },
  {
    area,
    name: "a value compare on a missing key is always false",
    steps: [v3("kv/txn", { compare: [{ key: "missing", target: "VALUE", result: "NOT_EQUAL", value: "x" }], success: [put("a", "1")], failure: [range("missing")] })],
  },
  {
    area,
    name: "later ops see earlier ones; sub-response revisions",
    steps: [v3("kv/put", { key: "k", value: "0" }), v3("kv/txn", { success: [del("missing"), range("k"), put("k", "1"), range("k"), del("missing")] })],
  },
  {
    area,
    name: "a read-only txn does not move the revision",
    steps: [v3("kv/put", { key: "r", value: "1" }), v3("kv/txn", { success: [range("r"), del("none")] }), v3("kv/range", { key: "r" })],
  },
  {
    area,
    name: "two puts of one key in a branch are refused",
    steps: [v3("kv/txn", { success: [put("dup", "1"), put("dup", "2")] })],
  },
  {
    area,
    name: "a put under a deleted range is refused",
    steps: [v3("kv/txn", { success: [{ request_delete_range: { key: "a", range_end: "c" } }, put("b", "1")] })],
  },
  {
    area,
    name: "128 ops are accepted, 129 refused",
    steps: [
      v3("kv/txn", { success: Array.from({ length: 128 }, (_, i) => put(`op${i}`, "x")) }),
      v3("kv/txn", { success: Array.from({ length: 129 }, (_, i) => range(`op${i}`)) }),
    ],
  },
  {
    area,
    name: "an op with no request is 'key not found'",
    steps: [v3("kv/txn", { success: [{}] })],
  },
  {
    area,
    name: "a nested txn's compares see the state before the outer ops",
    steps: [v3("kv/txn", { success: [put("nx", "new"), { request_txn: { compare: [{ key: "nx", target: "VALUE", result: "EQUAL", value: "new" }], success: [put("t", "then")], failure: [range("nx")] } }] })],
  },
  {
    area,
    name: "a txn with an unknown lease is refused whole",
    steps: [v3("kv/txn", { success: [put("a", "1"), { request_put: { key: "b", value: "1", lease: "12345" } }] }), v3("kv/range", { key: "a" })],
  },
  {
    area,
    name: "a LEASE compare and a txn range at a future revision",
    steps: [
      v3("lease/grant", { TTL: 60, ID: 300 }),
      v3("kv/put", { key: "lk", value: "1", lease: 300 }),
      v3("kv/txn", { compare: [{ key: "lk", target: "LEASE", result: "EQUAL", lease: 300 }], success: [range("lk")] }),
      v3("kv/txn", { success: [{ request_range: { key: "lk", revision: "#9" } }] }),
    ],
  },
  {
    area,
    name: "a delete in a txn returns prev_kvs and tombstones at the txn revision",
    steps: [v3("kv/put", { key: "d/a", value: "1" }), v3("kv/put", { key: "d/b", value: "2" }), v3("kv/txn", { success: [{ request_delete_range: { key: "d/", range_end: "d0", prev_kv: true } }, put("z", "1")] })],
  },
];

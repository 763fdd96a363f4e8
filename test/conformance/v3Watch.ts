/**
 * Conformance cases for v3 watches through the gateway's `/v3/watch` stream: v3.md §7-§8. One watch
 * stream per case; each `read` takes the next stream messages in order.
 */
import { openV3Watch, read, v3, type ConformanceCase } from "./cases.js";

const area = "watch";

export const V3_WATCH_CASES: readonly ConformanceCase[] = [
  {
    area,
    name: "a watch on one key gets created, then each change",
    steps: [openV3Watch("w", { create_request: { key: "foo" } }), read("w"), v3("kv/put", { key: "foo", value: "1" }), v3("kv/deleterange", { key: "foo" }), read("w", 2)],
  },
  {
    area,
    name: "a watch from an old revision replays history in one batch",
    steps: [v3("kv/put", { key: "h", value: "1" }), v3("kv/put", { key: "h", value: "2" }), v3("kv/put", { key: "h", value: "3" }), openV3Watch("w", { create_request: { key: "h", start_revision: "#2" } }), read("w", 2)],
  },
  {
    area,
    name: "a prefix watch sees only keys in its range",
    steps: [openV3Watch("w", { create_request: { key: "p/", range_end: "p0" } }), read("w"), v3("kv/put", { key: "q", value: "no" }), v3("kv/put", { key: "p/a", value: "yes" }), read("w")],
  },
  {
    area,
    name: "prev_kv carries the previous value",
    steps: [v3("kv/put", { key: "pk", value: "old" }), openV3Watch("w", { create_request: { key: "pk", prev_kv: true } }), read("w"), v3("kv/put", { key: "pk", value: "new" }), read("w")],
  },
  {
    area,
    name: "a NOPUT filter drops puts, keeps deletes",
    steps: [openV3Watch("w", { create_request: { key: "f", filters: ["NOPUT"] } }), read("w"), v3("kv/put", { key: "f", value: "1" }), v3("kv/deleterange", { key: "f" }), read("w")],
  },
  {
    area,
    name: "all events of one txn arrive in one message",
    steps: [
      v3("kv/put", { key: "t/b", value: "1" }),
      openV3Watch("w", { create_request: { key: "t/", range_end: "t0" } }),
      read("w"),
      v3("kv/txn", { success: [{ request_put: { key: "t/z", value: "1" } }, { request_delete_range: { key: "t/b" } }, { request_put: { key: "t/a", value: "2" } }] }),
      read("w"),
    ],
  },
  {
    area,
    name: "a revoked lease's keys are deleted in one message",
    steps: [
      v3("lease/grant", { TTL: 60, ID: 200 }),
      v3("kv/put", { key: "l/0", value: "x", lease: 200 }),
      v3("kv/put", { key: "l/1", value: "x", lease: 200 }),
      openV3Watch("w", { create_request: { key: "l/", range_end: "l0" } }),
      read("w"),
      v3("lease/revoke", { ID: 200 }),
      read("w"),
    ],
  },
  {
    area,
    name: "an inverted range is refused with a cancel reason",
    steps: [openV3Watch("w", { create_request: { key: "foo", range_end: "a" } }), read("w")],
  },
  {
    area,
    name: "cancel, and progress, on one stream",
    steps: [openV3Watch("w", { create_request: { key: "a" } }, { progress_request: {} }, { cancel_request: { watch_id: 0 } }), read("w", 3)],
  },
  {
    area,
    name: "a NODELETE filter with prev_kv, and a delete's prev_kv",
    steps: [
      v3("kv/put", { key: "n", value: "1" }),
      openV3Watch("w", { create_request: { key: "n", filters: ["NODELETE"], prev_kv: true } }, { create_request: { key: "n", prev_kv: true, watch_id: 7 } }),
      read("w", 2),
      v3("kv/deleterange", { key: "n" }),
      read("w"),
    ],
  },
  {
    area,
    name: "a watch starting at a future revision waits for it",
    steps: [openV3Watch("w", { create_request: { key: "fut", start_revision: "#3" } }), read("w"), v3("kv/put", { key: "fut", value: "1" }), v3("kv/put", { key: "fut", value: "2" }), read("w")],
  },
];

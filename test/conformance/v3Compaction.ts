/**
 * Conformance cases for v3 compaction: v3.md §3 (compact) and §5.7.
 */
import { openV3Watch, read, v3, type ConformanceCase } from "./cases.js";

const area = "compaction";

const history = [v3("kv/put", { key: "c", value: "1" }), v3("kv/put", { key: "c", value: "2" }), v3("kv/put", { key: "c", value: "3" })];

export const V3_COMPACTION_CASES: readonly ConformanceCase[] = [
  {
    area,
    name: "reads below the compacted revision fail, at it succeed",
    steps: [...history, v3("kv/compaction", { revision: "#3" }), v3("kv/range", { key: "c", revision: "#2" }), v3("kv/range", { key: "c", revision: "#3" }), v3("kv/range", { key: "c" })],
  },
  {
    area,
    name: "compacting the same revision twice, or a future one, fails",
    steps: [...history, v3("kv/compaction", { revision: "#3" }), v3("kv/compaction", { revision: "#3" }), v3("kv/compaction", { revision: "#2" }), v3("kv/compaction", { revision: "#9" })],
  },
  {
    area,
    name: "compaction keeps the latest version of a live key and drops deleted keys",
    steps: [
      v3("kv/put", { key: "live", value: "1" }),
      v3("kv/put", { key: "dead", value: "1" }),
      v3("kv/deleterange", { key: "dead" }),
      v3("kv/put", { key: "live", value: "2" }),
      v3("kv/compaction", { revision: "#5", physical: true }),
      v3("kv/range", { key: "live", revision: "#5" }),
      v3("kv/range", { key: "dead", revision: "#5" }),
    ],
  },
  {
    area,
    name: "compaction does not move the revision",
    steps: [...history, v3("kv/compaction", { revision: "#4" }), v3("kv/range", { key: "c", count_only: true })],
  },
  {
    area,
    name: "a watch starting below the compaction is cancelled with compact_revision",
    steps: [...history, v3("kv/compaction", { revision: "#3" }), openV3Watch("w", { create_request: { key: "c", start_revision: "#2" } }), read("w", 2)],
  },
  {
    area,
    name: "a watch starting at the compacted revision replays from it",
    steps: [...history, v3("kv/compaction", { revision: "#3" }), openV3Watch("w", { create_request: { key: "c", start_revision: "#3" } }), read("w", 2)],
  },
];

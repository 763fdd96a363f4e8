/**
 * Every conformance case, by area (the order `npm run conformance` prints them in).
 */
import type { ConformanceCase } from "./cases.js";
import { V2_KEYS_CASES } from "./v2Keys.js";
import { V2_WATCH_CASES } from "./v2Watch.js";
import { V3_COMPACTION_CASES } from "./v3Compaction.js";
import { V3_LEASE_CASES } from "./v3Lease.js";
import { V3_RANGE_CASES } from "./v3Range.js";
import { V3_TXN_CASES } from "./v3Txn.js";
import { V3_WATCH_CASES } from "./v3Watch.js";

export const ALL_CASES: readonly ConformanceCase[] = [
  ...V2_KEYS_CASES,
  ...V2_WATCH_CASES,
  ...V3_RANGE_CASES,
  ...V3_TXN_CASES,
  ...V3_COMPACTION_CASES,
  ...V3_LEASE_CASES,
  ...V3_WATCH_CASES,
];

/**
 * Conformance cases for v3 leases through the gateway: v3.md §6. Cases grant leases with explicit small
 * IDs so requests can name them; server-generated IDs are compared as `<lease-id>`.
 */
import { v3, wait, type ConformanceCase } from "./cases.js";

const area = "lease";

export const V3_LEASE_CASES: readonly ConformanceCase[] = [
  { area, name: "grant with an explicit ID and TTL", steps: [v3("lease/grant", { TTL: 60, ID: 100 }), v3("lease/timetolive", { ID: 100 })] },
  { area, name: "a TTL below the minimum becomes 2 s", steps: [v3("lease/grant", { TTL: 1, ID: 101 }), v3("lease/grant", { TTL: 0, ID: 102 })] },
  { area, name: "a server-chosen ID", steps: [v3("lease/grant", { TTL: 60 })] },
  { area, name: "granting an ID in use fails", steps: [v3("lease/grant", { TTL: 60, ID: 103 }), v3("lease/grant", { TTL: 60, ID: 103 })] },
  { area, name: "a too large TTL fails", steps: [v3("lease/grant", { TTL: 9000000001, ID: 104 })] },
  {
    area,
    name: "keys attached to a lease are listed by timetolive",
    steps: [v3("lease/grant", { TTL: 60, ID: 105 }), v3("kv/put", { key: "lk", value: "1", lease: 105 }), v3("lease/timetolive", { ID: 105, keys: true }), v3("kv/range", { key: "lk" })],
  },
  {
    area,
    name: "revoke deletes all attached keys in one revision",
    steps: [
      v3("lease/grant", { TTL: 60, ID: 106 }),
      v3("kv/put", { key: "r0", value: "x", lease: 106 }),
      v3("kv/put", { key: "r1", value: "x", lease: 106 }),
      v3("kv/put", { key: "r2", value: "x", lease: 106 }),
      v3("lease/revoke", { ID: 106 }),
      v3("kv/range", { key: "r", range_end: "s" }),
      v3("lease/revoke", { ID: 106 }),
      v3("lease/timetolive", { ID: 106 }),
    ],
  },
  { area, name: "a put with an unknown lease fails", steps: [v3("kv/put", { key: "x", value: "1", lease: 999 }), v3("kv/range", { key: "x" })] },
  {
    area,
    name: "a put without a lease detaches the key",
    steps: [v3("lease/grant", { TTL: 60, ID: 107 }), v3("kv/put", { key: "dk", value: "1", lease: 107 }), v3("kv/put", { key: "dk", value: "2" }), v3("lease/timetolive", { ID: 107, keys: true })],
  },
  {
    area,
    name: "ignore_lease keeps the lease, and refuses a lease with it",
    steps: [
      v3("lease/grant", { TTL: 60, ID: 108 }),
      v3("kv/put", { key: "il", value: "1", lease: 108 }),
      v3("kv/put", { key: "il", value: "2", ignore_lease: true }),
      v3("kv/put", { key: "il", value: "3", lease: 108, ignore_lease: true }),
      v3("kv/range", { key: "il" }),
    ],
  },
  { area, name: "keep-alive answers the granted TTL, or TTL 0 for a missing lease", steps: [v3("lease/grant", { TTL: 60, ID: 109 }), v3("lease/keepalive", { ID: 109 }), v3("lease/keepalive", { ID: 4242 })] },
  { area, name: "leases lists granted leases", steps: [v3("lease/grant", { TTL: 60, ID: 110 }), v3("lease/leases", {})] },
  {
    area,
    name: "an expired lease deletes its keys",
    steps: [v3("lease/grant", { TTL: 2, ID: 111 }), v3("kv/put", { key: "ek", value: "1", lease: 111 }), wait(3600), v3("kv/range", { key: "ek" }), v3("lease/timetolive", { ID: 111 })],
  },
  {
    area,
    name: "keep-alive resets the remaining TTL",
    steps: [v3("lease/grant", { TTL: 10, ID: 112 }), wait(2200), v3("lease/timetolive", { ID: 112 }), v3("lease/keepalive", { ID: 112 }), v3("lease/timetolive", { ID: 112 })],
  },
];

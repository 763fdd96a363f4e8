/**
 * Mirrors etcd release-3.4 `pkg/idutil/id.go`: the generator etcd's server draws request IDs
 * from, and lease IDs when a grant asks for ID 0 (`etcdserver/v3_server.go` LeaseGrant).
 *
 * An ID is 64 bits: the low 16 bits of the member ID, then 40 bits of the start time in Unix
 * milliseconds, then an 8-bit counter. The 48-bit suffix (time ‖ counter) is incremented before
 * each ID, so IDs from one member only grow. The server clears the top bit so a lease ID is a
 * positive int64:
 *
 *   member 933a6163ed79adfc              →  prefix adfc, and with the top bit cleared 2dfc
 *   start 2026-01-01T00:00:00Z = 0x19b76daa800 ms  →  low 40 bits 9b76daa800
 *   first next()  →  2dfc 9b76daa800 01      second  →  2dfc 9b76daa800 02
 *
 * Real etcd also spends suffixes on every raft request, so its consecutive grants differ by 2 or
 * more; here only grants draw from it, so they differ by 1. The start time comes from the
 * injected clock, so a simulated run gets the same IDs every time.
 */

const TS_BITS = 40n;
const COUNTER_BITS = 8n;
const SUFFIX_BITS = TS_BITS + COUNTER_BITS;
const SUFFIX_MASK = (1n << SUFFIX_BITS) - 1n;
const INT64_MAX = (1n << 63n) - 1n;

/** etcd's `idutil.Generator`; invariant: every ID it hands out is positive and larger than the last. */
export class LeaseIdGenerator {
  private readonly prefix: bigint;
  private suffix: bigint;

  /** `memberId` is the full 64-bit member ID; `startMs` the server's start time. */
  constructor(memberId: bigint, startMs: number) {
    this.prefix = (memberId & 0xffffn) << SUFFIX_BITS;
    this.suffix = (BigInt(Math.floor(startMs)) & ((1n << TS_BITS) - 1n)) << COUNTER_BITS;
  }

  /** The next ID, as the server uses it for a lease: positive, and larger than the last. */
  next(): bigint {
    this.suffix = (this.suffix + 1n) & SUFFIX_MASK;
    return (this.prefix | this.suffix) & INT64_MAX;
  }
}

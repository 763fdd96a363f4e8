/**
 * The lessor's behaviours, ported from etcd's `lease/lessor_test.go` and checked against the
 * lease rules of spec §6. The KV store is stood in for by a recording RangeDeleter that detaches
 * keys the way the store's delete does, so these tests need only the lessor.
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { fromUtf8, toBinaryString, utf8 } from "../../shared/bytes.js";
import { Lessor, MAX_LEASE_TTL_SECONDS, type TxnDelete } from "../../v3/lessor.js";
import { LeaseQueue } from "../../v3/leaseHeap.js";
import { LeaseIdGenerator } from "../../v3/leaseIdGenerator.js";
import { ERR_LEASE_EXISTS, ERR_LEASE_NOT_FOUND, ERR_LEASE_TTL_TOO_LARGE, LeaseNotFoundError } from "../../v3/errors.js";
import { MEMBER_ID } from "../../v3/member.js";

/** A lessor plus a log of the write transactions its revokes opened. */
function setup() {
  const clock = new SimulatedClock();
  const lessor = new Lessor({ clock });
  const txns: string[][] = [];
  lessor.setRangeDeleter((): TxnDelete => {
    const deleted: string[] = [];
    return {
      deleteRange(key: Uint8Array) {
        deleted.push(fromUtf8(key));
        // The store detaches a deleted key from its lease, as etcd's storeTxnWrite.delete does.
        const id = lessor.getLease(toBinaryString(key));
        if (id !== 0n) lessor.detach(id, toBinaryString(key));
      },
      end() {
        txns.push(deleted);
      },
    };
  });
  return { clock, lessor, txns };
}

describe("lessor.grant", () => {
  it("raises a TTL below the minimum to 2 seconds and sets the expiry from the clock (ported from TestLessorGrant)", () => {
    const { clock, lessor } = setup();
    const lease = lessor.grant(1n, 1);
    expect(lease.ttlSeconds).toBe(2);
    expect(lease.expiryMs).toBe(clock.now() + 2000);
    expect(lessor.lookup(1n)).toBe(lease);
    expect(lessor.grant(2n, 0).ttlSeconds).toBe(2);
    expect(lessor.grant(3n, 300).ttlSeconds).toBe(300);
    lessor.checkInvariants();
  });

  it("refuses an ID that is already granted with 'lease already exists'", () => {
    const { lessor } = setup();
    lessor.grant(7n, 10);
    expect(() => lessor.grant(7n, 20)).toThrow(ERR_LEASE_EXISTS);
    expect(lessor.lookup(7n)?.ttlSeconds).toBe(10);
  });

  it("accepts negative IDs as given", () => {
    const { lessor } = setup();
    expect(lessor.grant(-5n, 10).ID).toBe(-5n);
    expect(lessor.lookup(-5n)).toBeDefined();
  });

  it("refuses a TTL above 9e9 seconds and accepts exactly 9e9 (ported from TestLessorMaxTTL)", () => {
    const { lessor } = setup();
    expect(() => lessor.grant(1n, MAX_LEASE_TTL_SECONDS + 1)).toThrow(ERR_LEASE_TTL_TOO_LARGE);
    expect(lessor.size).toBe(0);
    expect(lessor.grant(1n, MAX_LEASE_TTL_SECONDS).ttlSeconds).toBe(9e9);
  });

  it("refuses lease ID 0, which means no lease", () => {
    const { lessor } = setup();
    expect(() => lessor.grant(0n, 10)).toThrow(LeaseNotFoundError);
  });
});

describe("lessor.revoke", () => {
  it("deletes all attached keys in one transaction, sorted by key (ported from TestLessorRevoke)", () => {
    const { lessor, txns } = setup();
    lessor.grant(1n, 100);
    lessor.attach(1n, "lk2");
    lessor.attach(1n, "lk0");
    lessor.attach(1n, "lk1");
    expect(lessor.getLease("lk1")).toBe(1n);
    lessor.revoke(1n);
    expect(txns).toEqual([["lk0", "lk1", "lk2"]]);
    expect(lessor.lookup(1n)).toBeUndefined();
    expect(lessor.getLease("lk1")).toBe(0n);
    lessor.checkInvariants();
  });

  it("opens no transaction for a lease without keys, so no revision is spent", () => {
    const { lessor, txns } = setup();
    lessor.grant(1n, 100);
    lessor.revoke(1n);
    expect(txns).toEqual([]);
    expect(lessor.size).toBe(0);
  });

  it("answers 'lease not found' for an unknown or already revoked lease", () => {
    const { lessor } = setup();
    expect(() => lessor.revoke(9n)).toThrow(ERR_LEASE_NOT_FOUND);
    lessor.grant(9n, 10);
    lessor.revoke(9n);
    expect(() => lessor.revoke(9n)).toThrow(ERR_LEASE_NOT_FOUND);
  });

  it("leaves a key that moved to another lease alone (TestV3LeaseSwitch)", () => {
    const { lessor, txns } = setup();
    lessor.grant(1n, 100);
    lessor.grant(2n, 100);
    lessor.attach(1n, "k");
    lessor.detach(1n, "k");
    lessor.attach(2n, "k");
    lessor.revoke(1n);
    expect(txns).toEqual([]);
    expect(lessor.getLease("k")).toBe(2n);
    lessor.checkInvariants();
  });
});

describe("lessor.attach and detach", () => {
  it("attach to an unknown lease fails with 'lease not found' (ported from TestLessorAttach)", () => {
    const { lessor } = setup();
    expect(() => lessor.attach(3n, "a")).toThrow(ERR_LEASE_NOT_FOUND);
  });

  it("detach removes the key from the lease's key list (ported from TestLessorDetach)", () => {
    const { lessor } = setup();
    lessor.grant(1n, 10);
    lessor.attach(1n, "a");
    lessor.attach(1n, "b");
    lessor.detach(1n, "a");
    expect(lessor.lookup(1n)?.keys().map(fromUtf8)).toEqual(["b"]);
    expect(lessor.attachedKeyCount).toBe(1);
    lessor.checkInvariants();
  });
});

describe("lessor.renew", () => {
  it("resets the expiry to now + TTL and returns the TTL (ported from TestLessorRenew)", () => {
    const { clock, lessor } = setup();
    lessor.grant(1n, 10);
    clock.advance(4000);
    expect(lessor.renew(1n)).toBe(10);
    expect(lessor.lookup(1n)?.expiryMs).toBe(clock.now() + 10_000);
  });

  it("answers 'lease not found' for an unknown lease and for an expired one not yet revoked", () => {
    const { clock, lessor } = setup();
    expect(() => lessor.renew(1n)).toThrow(ERR_LEASE_NOT_FOUND);
    lessor.grant(1n, 5);
    clock.advance(5000);
    expect(() => lessor.renew(1n)).toThrow(ERR_LEASE_NOT_FOUND);
  });
});

describe("lessor.findExpiredLeases", () => {
  it("returns a lease once its TTL has passed, not before (ported from TestLessorExpire)", () => {
    const { clock, lessor } = setup();
    lessor.grant(1n, 1); // raised to 2 s
    clock.advance(1999);
    expect(lessor.findExpiredLeases(clock.now())).toEqual([]);
    clock.advance(1);
    expect(lessor.findExpiredLeases(clock.now()).map((l) => l.ID)).toEqual([1n]);
  });

  it("skips a lease renewed after its first expiry hint", () => {
    const { clock, lessor } = setup();
    lessor.grant(1n, 5);
    clock.advance(4000);
    lessor.renew(1n); // expires at 9 s now; the 5 s hint is stale
    clock.advance(2000);
    expect(lessor.findExpiredLeases(clock.now())).toEqual([]);
    clock.advance(3000);
    expect(lessor.findExpiredLeases(clock.now()).map((l) => l.ID)).toEqual([1n]);
  });

  it("hands out a lease once even when several of its expiry hints are due", () => {
    const { clock, lessor } = setup();
    lessor.grant(1n, 3);
    clock.advance(1000);
    lessor.renew(1n);
    clock.advance(1000);
    lessor.renew(1n); // hints at 3 s, 4 s and 5 s
    clock.advance(10_000);
    expect(lessor.findExpiredLeases(clock.now()).map((l) => l.ID)).toEqual([1n]);
  });

  it("hands out at most the limit per pass, soonest first, and the rest on the next pass", () => {
    const { clock, lessor } = setup();
    for (let i = 1; i <= 12; i++) lessor.grant(BigInt(i), 2 + (12 - i)); // lease 12 expires first
    clock.advance(60_000);
    expect(lessor.findExpiredLeases(clock.now(), 5).map((l) => l.ID)).toEqual([12n, 11n, 10n, 9n, 8n]);
    // The driver revokes what it was given before the next pass.
    for (const id of [12n, 11n, 10n, 9n, 8n]) lessor.revoke(id);
    expect(lessor.findExpiredLeases(clock.now(), 500).map((l) => l.ID)).toEqual([7n, 6n, 5n, 4n, 3n, 2n, 1n]);
  });

  it("revoking an expired lease deletes its keys in one transaction", () => {
    const { clock, lessor, txns } = setup();
    lessor.grant(1n, 2);
    lessor.attach(1n, "b");
    lessor.attach(1n, "a");
    clock.advance(2000);
    for (const lease of lessor.findExpiredLeases(clock.now())) lessor.revoke(lease.ID);
    expect(txns).toEqual([["a", "b"]]);
    expect(lessor.size).toBe(0);
  });
});

describe("lessor.leases", () => {
  it("lists leases by remaining time, soonest first", () => {
    const { clock, lessor } = setup();
    lessor.grant(1n, 100);
    lessor.grant(2n, 10);
    lessor.grant(3n, 50);
    clock.advance(1000);
    lessor.renew(2n); // 2 now expires at 11 s, still the soonest
    expect(lessor.leases().map((l) => l.ID)).toEqual([2n, 3n, 1n]);
  });
});

describe("LeaseQueue", () => {
  it("pops entries in expiry order whatever the push order (ported from TestLeaseQueue)", () => {
    const queue = new LeaseQueue();
    const times = [50, 10, 40, 20, 30, 10, 60, 0];
    times.forEach((timeMs, i) => queue.push({ id: BigInt(i), timeMs }));
    const popped: number[] = [];
    for (let item = queue.pop(); item !== undefined; item = queue.pop()) popped.push(item.timeMs);
    expect(popped).toEqual([...times].sort((a, b) => a - b));
    expect(queue.length).toBe(0);
  });
});

describe("LeaseIdGenerator", () => {
  it("makes positive, increasing IDs prefixed by the member ID's low 16 bits with the top bit cleared", () => {
    const generator = new LeaseIdGenerator(MEMBER_ID, Date.UTC(2026, 0, 1));
    const first = generator.next();
    const second = generator.next();
    expect(first.toString(16)).toBe("2dfc9b76daa80001");
    expect(second - first).toBe(1n);
    expect(first > 0n).toBe(true);
  });
});

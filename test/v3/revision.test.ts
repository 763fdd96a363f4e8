import { describe, expect, it } from "vitest";
import { bytesToRev, compareRevision, formatRevisionKey, isTombstone, revToBytes, revisionGreaterThan } from "../../v3/revision.js";
import { compareBytes } from "../../shared/bytes.js";

describe("revision", () => {
  it("orders by main, then by sub", () => {
    expect(compareRevision({ main: 2, sub: 9 }, { main: 3, sub: 0 })).toBeLessThan(0);
    expect(compareRevision({ main: 3, sub: 1 }, { main: 3, sub: 0 })).toBeGreaterThan(0);
    expect(compareRevision({ main: 3, sub: 1 }, { main: 3, sub: 1 })).toBe(0);
    expect(revisionGreaterThan({ main: 4, sub: 0 }, { main: 3, sub: 7 })).toBe(true);
    expect(revisionGreaterThan({ main: 3, sub: 7 }, { main: 3, sub: 7 })).toBe(false);
  });

  it("encodes 8 bytes of main, '_', 8 bytes of sub, big-endian", () => {
    const bytes = revToBytes({ main: 66, sub: 1 });
    expect(Array.from(bytes)).toEqual([0, 0, 0, 0, 0, 0, 0, 66, 0x5f, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(formatRevisionKey(bytes)).toBe("0000000000000042_0000000000000001");
  });

  it("marks a tombstone with an 18th byte 't'", () => {
    const bytes = revToBytes({ main: 66, sub: 1 }, true);
    expect(bytes.length).toBe(18);
    expect(bytes[17]).toBe(0x74);
    expect(isTombstone(bytes)).toBe(true);
    expect(isTombstone(revToBytes({ main: 66, sub: 1 }))).toBe(false);
    expect(formatRevisionKey(bytes)).toBe("0000000000000042_0000000000000001t");
  });

  it.each([
    { main: 0, sub: 0 },
    { main: 1, sub: 0 },
    { main: 2 ** 32 + 5, sub: 3 },
    { main: Number.MAX_SAFE_INTEGER, sub: 2 ** 40 },
  ])("decodes what it encodes: %o", (rev) => {
    expect(bytesToRev(revToBytes(rev))).toEqual(rev);
    expect(bytesToRev(revToBytes(rev, true))).toEqual(rev);
  });

  it("makes byte order equal revision order", () => {
    const revs = [{ main: 2, sub: 0 }, { main: 2, sub: 1 }, { main: 255, sub: 0 }, { main: 256, sub: 0 }, { main: 2 ** 33, sub: 0 }];
    for (let i = 1; i < revs.length; i++) {
      expect(compareBytes(revToBytes(revs[i - 1]!), revToBytes(revs[i]!))).toBeLessThan(0);
    }
  });

  it("refuses a key of the wrong length", () => {
    expect(() => bytesToRev(new Uint8Array(16))).toThrow(RangeError);
  });
});

/**
 * The Maintenance service of the in-process server (grpc.md §5, datadir.md §6): Status figures,
 * alarms and the space quota, defragment, snapshot, move-leader.
 */
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { SimulatedClock } from "../../shared/clock.js";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import { AlarmAction, AlarmType } from "../../v3/rpc.js";
import { rpcError } from "../support/rpcError.js";
import { EtcdServer, SNAPSHOT_CHUNK_BYTES } from "../../v3/etcdServer.js";
import { GrpcCode, RPC_BAD_LEADER_TRANSFEREE, RPC_CORRUPT, RPC_NO_SPACE, RpcError } from "../../v3/errors.js";
import { Backend } from "../../v3/backend.js";


const KiB = 1024;
const value = (bytes: number) => new Uint8Array(bytes).fill(0x61);

describe("EtcdServer.status", () => {
  it("reports a fresh member's file as 20,480 bytes with 16,384 in use, as a real etcd does", () => {
    const server = new EtcdServer({ clock: new SimulatedClock() });
    const status = server.status();
    expect(status.dbSize).toBe(20480);
    expect(status.dbSizeInUse).toBe(16384);
    expect(status.errors).toEqual([]);
    expect(status.leader).toBe(server.member.memberId);
  });

  it("keeps the file size after a compaction frees pages and shrinks it on defragment", () => {
    const server = new EtcdServer({ clock: new SimulatedClock() });
    for (let i = 0; i < 100; i++) server.put({ key: utf8("k"), value: value(KiB) });
    const grown = server.status();
    expect(grown.dbSize).toBeGreaterThan(100 * KiB);
    server.compact({ revision: server.kv.rev() });
    const compacted = server.status();
    expect(compacted.dbSize).toBe(grown.dbSize);
    expect(compacted.dbSizeInUse).toBeLessThan(grown.dbSizeInUse);
    expect(server.defragment()).toEqual({});
    const defragmented = server.status();
    expect(defragmented.dbSize).toBe(compacted.dbSizeInUse + 4096);
  });
});

describe("EtcdServer.alarm", () => {
  it("lists, raises and disarms alarms, answering without a header", () => {
    const server = new EtcdServer({ clock: new SimulatedClock() });
    const memberID = server.member.memberId;
    expect(server.alarm({ action: AlarmAction.GET })).toEqual({ alarms: [] });
    expect(server.alarm({ action: AlarmAction.ACTIVATE, memberID, alarm: AlarmType.NOSPACE })).toEqual({ alarms: [{ memberID, alarm: AlarmType.NOSPACE }] });
    expect(server.alarm({})).toEqual({ alarms: [{ memberID, alarm: AlarmType.NOSPACE }] });
    expect(server.status().errors).toEqual([`memberID:${memberID} alarm:NOSPACE `]);
    expect(server.alarm({ action: AlarmAction.DEACTIVATE, memberID, alarm: AlarmType.NOSPACE })).toEqual({ alarms: [{ memberID, alarm: AlarmType.NOSPACE }] });
    expect(server.alarm({ action: AlarmAction.DEACTIVATE, memberID, alarm: AlarmType.NOSPACE })).toEqual({ alarms: [] });
  });

  it("spends a raft index on every alarm request, a GET included", () => {
    const server = new EtcdServer({ clock: new SimulatedClock() });
    const before = server.status().raftIndex;
    server.alarm({ action: AlarmAction.GET });
    expect(server.status().raftIndex).toBe(before + 1);
  });

  it("keeps a raised alarm across a restart from the same backend", () => {
    const backend = new Backend();
    const first = new EtcdServer({ clock: new SimulatedClock(), backend });
    first.alarm({ action: AlarmAction.ACTIVATE, memberID: first.member.memberId, alarm: AlarmType.NOSPACE });
    const restarted = new EtcdServer({ clock: new SimulatedClock(), backend });
    expect(restarted.alarm({}).alarms).toHaveLength(1);
    expect(rpcError(() => restarted.put({ key: utf8("k"), value: utf8("v") })).message).toBe(RPC_NO_SPACE);
  });
});

describe("the space quota (grpc.md §5.4)", () => {
  /** A member with a 64 KiB quota, filled with 1 KiB puts until one is refused. */
  function fillUp() {
    const server = new EtcdServer({ clock: new SimulatedClock(), quotaBackendBytes: 64 * KiB });
    let refused: RpcError | undefined;
    let i = 0;
    for (; refused === undefined && i < 1000; i++) {
      try {
        server.put({ key: utf8(`k${i}`), value: value(KiB) });
      } catch (error) {
        if (!(error instanceof RpcError)) throw error;
        refused = error;
      }
    }
    return { server, refused, lastKey: `k${i - 1}` };
  }

  it("refuses the put that crosses the quota with NOSPACE, yet applies it, and raises the alarm", () => {
    const { server, refused, lastKey } = fillUp();
    expect(refused?.code).toBe(GrpcCode.ResourceExhausted);
    expect(refused?.message).toBe(RPC_NO_SPACE);
    expect(server.range({ key: utf8(lastKey) }).count).toBe(1);
    expect(server.alarm({}).alarms).toEqual([{ memberID: server.member.memberId, alarm: AlarmType.NOSPACE }]);
  });

  it("then refuses puts, txns with a put in either branch and lease grants, and allows reads, deletes and compaction", () => {
    const { server } = fillUp();
    const put = { request_put: { key: utf8("x"), value: utf8("y") } };
    const get = { request_range: { key: utf8("x") } };
    expect(rpcError(() => server.put({ key: utf8("small"), value: utf8("v") })).message).toBe(RPC_NO_SPACE);
    expect(rpcError(() => server.txn({ success: [get], failure: [put] })).message).toBe(RPC_NO_SPACE);
    expect(rpcError(() => server.leaseGrant({ TTL: 10 })).message).toBe(RPC_NO_SPACE);
    expect(server.txn({ success: [get] }).succeeded).toBe(true);
    expect(server.range({ key: utf8("k0") }).count).toBe(1);
    expect(server.deleteRange({ key: utf8("k0") }).deleted).toBe(1);
    expect(() => server.compact({ revision: server.kv.rev() })).not.toThrow();
  });

  it("stays refused after compaction and defragment until the alarm is disarmed", () => {
    const { server } = fillUp();
    server.deleteRange({ key: utf8("k"), range_end: utf8("l") });
    server.compact({ revision: server.kv.rev() });
    server.defragment();
    expect(rpcError(() => server.put({ key: utf8("small"), value: utf8("v") })).message).toBe(RPC_NO_SPACE);
    server.alarm({ action: AlarmAction.DEACTIVATE, memberID: server.member.memberId, alarm: AlarmType.NOSPACE });
    expect(server.put({ key: utf8("small"), value: utf8("v") }).header.revision).toBeGreaterThan(0);
  });

  it("raises the alarm at the front door for a put that cannot fit, without applying it", () => {
    const server = new EtcdServer({ clock: new SimulatedClock(), quotaBackendBytes: 64 * KiB });
    const before = server.kv.rev();
    expect(rpcError(() => server.put({ key: utf8("big"), value: value(64 * KiB) })).message).toBe(RPC_NO_SPACE);
    expect(server.kv.rev()).toBe(before);
    expect(server.alarm({}).alarms).toHaveLength(1);
  });

  it("never refuses with a negative quota", () => {
    const server = new EtcdServer({ clock: new SimulatedClock(), quotaBackendBytes: -1 });
    for (let i = 0; i < 100; i++) server.put({ key: utf8(`k${i}`), value: value(4 * KiB) });
    expect(server.alarm({}).alarms).toEqual([]);
  });
});

describe("the CORRUPT alarm", () => {
  it("refuses every write with 'corrupt cluster' (code 15) and still serves reads", () => {
    const server = new EtcdServer({ clock: new SimulatedClock() });
    server.put({ key: utf8("k"), value: utf8("v") });
    const { ID } = server.leaseGrant({ TTL: 10 });
    server.alarm({ action: AlarmAction.ACTIVATE, memberID: server.member.memberId, alarm: AlarmType.CORRUPT });
    for (const write of [
      () => server.put({ key: utf8("k"), value: utf8("w") }),
      () => server.deleteRange({ key: utf8("k") }),
      () => server.txn({ success: [{ request_delete_range: { key: utf8("k") } }] }),
      () => server.compact({ revision: 1 }),
      () => server.leaseGrant({ TTL: 10 }),
      () => server.leaseRevoke({ ID }),
    ]) {
      const error = rpcError(write);
      expect([error.code, error.message]).toEqual([GrpcCode.DataLoss, RPC_CORRUPT]);
    }
    expect(fromUtf8(server.range({ key: utf8("k") }).kvs[0]?.value ?? new Uint8Array())).toBe("v");
    expect(server.txn({ success: [{ request_range: { key: utf8("k") } }] }).succeeded).toBe(true);
  });
});

describe("EtcdServer.snapshot", () => {
  it("streams the image in 32 KiB chunks counting down, then its SHA-256, a length etcdctl accepts", () => {
    const server = new EtcdServer({ clock: new SimulatedClock() });
    for (let i = 0; i < 60; i++) server.put({ key: utf8(`k${i}`), value: value(KiB) });
    const chunks = server.snapshot();
    const data = chunks.slice(0, -1);
    const total = data.reduce((sum, chunk) => sum + chunk.blob.length, 0);
    // The bbolt image is the Status file size, or a few pages more where the page model (backend.ts)
    // packs large values tighter than bbolt's leaves do.
    expect(total).toBeGreaterThanOrEqual(server.status().dbSize);
    expect(total % 4096).toBe(0);
    expect(data.slice(0, -1).every((chunk) => chunk.blob.length === SNAPSHOT_CHUNK_BYTES)).toBe(true);
    expect(data.at(-1)?.remaining_bytes).toBe(0);
    expect(data[0]?.remaining_bytes).toBe(total - SNAPSHOT_CHUNK_BYTES);
    const digest = createHash("sha256");
    for (const chunk of data) digest.update(chunk.blob);
    expect(Buffer.from(chunks.at(-1)?.blob ?? []).equals(digest.digest())).toBe(true);
    expect(chunks.every((chunk) => chunk.header === undefined)).toBe(true);
  });
});

describe("EtcdServer.moveLeader", () => {
  it("moves leadership to itself at once and refuses a stranger as a bad transferee", () => {
    const server = new EtcdServer({ clock: new SimulatedClock() });
    expect(server.moveLeader({ targetID: server.member.memberId })).toEqual({});
    const error = rpcError(() => server.moveLeader({ targetID: 0x1234n }));
    expect([error.code, error.message]).toEqual([GrpcCode.FailedPrecondition, RPC_BAD_LEADER_TRANSFEREE]);
  });
});

describe("EtcdServer.hash", () => {
  it("changes with a write and stays put across reads", () => {
    const server = new EtcdServer({ clock: new SimulatedClock() });
    const fresh = server.hash().hash;
    server.range({ key: utf8("a") });
    expect(server.hash().hash).toBe(fresh);
    server.put({ key: utf8("a"), value: utf8("1") });
    expect(server.hash().hash).not.toBe(fresh);
  });
});

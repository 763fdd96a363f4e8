/** The Lock and Election services of the in-process server (grpc.md §7). */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { GrpcCode, RPC_LEASE_NOT_FOUND, RpcError } from "../../v3/errors.js";
import { ERR_ELECTION_NO_LEADER, ERR_ELECTION_NOT_LEADER } from "../../v3/concurrency/election.js";
import { ERR_MISSING_LEADER_KEY, type LeaderResponse } from "../../v3/v3election.js";

function setup() {
  const clock = new SimulatedClock();
  const server = new EtcdServer({ clock });
  return { clock, server };
}

/** Lets promise callbacks run, then one sync pass, a few times (etcd's 100 ms watch sync). */
async function settle(server: EtcdServer): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    server.tick();
  }
}

async function rejection(promise: Promise<unknown>): Promise<[number, string]> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RpcError) return [error.code, error.message];
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("EtcdServer.lock", () => {
  it("holds name/<hex lease> on a fresh 60 s lease that nobody keeps alive", async () => {
    const { clock, server } = setup();
    const response = await server.lock({ name: utf8("mylock") });
    const key = fromUtf8(response.key);
    expect(key).toMatch(/^mylock\/[0-9a-f]+$/);
    const lease = BigInt("0x" + key.split("/")[1]);
    expect(server.leaseTimeToLive({ ID: lease }).grantedTTL).toBe(60);
    expect(response.header.revision).toBe(server.kv.rev());
    clock.advance(61_000);
    server.tick();
    expect(server.range({ key: response.key }).count).toBe(0);
  });

  it("makes a second caller wait until the first unlocks, then answers it", async () => {
    const { server } = setup();
    const first = await server.lock({ name: utf8("l") });
    let second: string | undefined;
    const waiting = server.lock({ name: utf8("l") }).then((r) => (second = fromUtf8(r.key)));
    await settle(server);
    expect(second).toBeUndefined();
    await server.unlock({ key: first.key });
    await settle(server);
    await waiting;
    expect(second).toMatch(/^l\//);
  });

  it("deletes the key of a waiter that goes away", async () => {
    const { server } = setup();
    await server.lock({ name: utf8("l") });
    const abort = new AbortController();
    const waiting = server.lock({ name: utf8("l") }, abort.signal);
    await settle(server);
    expect(server.range({ key: utf8("l/"), range_end: utf8("l0") }).count).toBe(2);
    abort.abort();
    await expect(waiting).rejects.toBeInstanceOf(RpcError);
    await settle(server);
    expect(server.range({ key: utf8("l/"), range_end: utf8("l0") }).count).toBe(1);
  });

  it("answers an unknown lease as code 2 with etcd's text", async () => {
    const { server } = setup();
    expect(await rejection(server.lock({ name: utf8("l"), lease: 0x1234n }))).toEqual([GrpcCode.Unknown, RPC_LEASE_NOT_FOUND]);
  });

  it("unlocks an unknown key quietly", async () => {
    const { server } = setup();
    expect((await server.unlock({ key: utf8("nope") })).header.revision).toBe(1);
  });
});

describe("EtcdServer election service", () => {
  it("campaigns, proclaims, reports the leader and resigns", async () => {
    const { server } = setup();
    const { ID } = server.leaseGrant({ TTL: 30 });
    const { leader } = await server.campaign({ name: utf8("el"), lease: ID, value: utf8("v1") });
    expect(fromUtf8(leader.key)).toBe(`el/${ID.toString(16)}`);
    expect(leader.rev).toBe(server.kv.rev());
    await server.proclaim({ leader, value: utf8("v2") });
    const current = await server.leader({ name: utf8("el") });
    expect(fromUtf8(current.kv.value)).toBe("v2");
    expect(current.kv.lease).toBe(ID);
    await server.resign({ leader });
    await server.resign({ leader });
    expect(await rejection(server.leader({ name: utf8("el") }))).toEqual([GrpcCode.Unknown, ERR_ELECTION_NO_LEADER]);
    expect(await rejection(server.proclaim({ leader, value: utf8("v3") }))).toEqual([GrpcCode.Unknown, ERR_ELECTION_NOT_LEADER]);
  });

  it("refuses proclaim and resign without a leader field", async () => {
    const { server } = setup();
    expect(await rejection(server.proclaim({ value: utf8("x") }))).toEqual([GrpcCode.Unknown, ERR_MISSING_LEADER_KEY]);
    expect(await rejection(server.resign({}))).toEqual([GrpcCode.Unknown, ERR_MISSING_LEADER_KEY]);
  });

  it("observes the current leader, each proclamation, and the next leader after a resign", async () => {
    const { server } = setup();
    const a = server.leaseGrant({ TTL: 30 }).ID;
    const b = server.leaseGrant({ TTL: 30 }).ID;
    const { leader } = await server.campaign({ name: utf8("el"), lease: a, value: utf8("a1") });
    const seen: string[] = [];
    const abort = new AbortController();
    const observing = server.observe({ name: utf8("el") }, (r: LeaderResponse) => seen.push(fromUtf8(r.kv.value)), abort.signal);
    await settle(server);
    await server.proclaim({ leader, value: utf8("a2") });
    const second = server.campaign({ name: utf8("el"), lease: b, value: utf8("b1") });
    await settle(server);
    await server.resign({ leader });
    await settle(server);
    await second;
    await settle(server);
    abort.abort();
    await observing;
    expect(seen).toEqual(["a1", "a2", "b1"]);
  });
});

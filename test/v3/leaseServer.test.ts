/**
 * The lease service of the in-process server (EtcdServer facade), end to end through the KV store
 * and the watchers: spec §6, and etcd's `integration/v3_lease_test.go` behaviours.
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import { EventType, type WatchResponse } from "../../v3/rpc.js";
import { rpcError } from "../support/rpcError.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { RPC_LEASE_EXIST, RPC_LEASE_NOT_FOUND, RPC_LEASE_TTL_TOO_LARGE, RpcError } from "../../v3/errors.js";

function setup() {
  const clock = new SimulatedClock();
  const server = new EtcdServer({ clock });
  return { clock, server };
}
const put = (server: EtcdServer, key: string, lease = 0n) => server.put({ key: utf8(key), value: utf8("v"), lease });

describe("EtcdServer.leaseGrant", () => {
  it("picks positive, increasing IDs and changes no revision", () => {
    const { server } = setup();
    const first = server.leaseGrant({ TTL: 60 });
    const second = server.leaseGrant({ TTL: 60 });
    expect(first.ID > 0n).toBe(true);
    expect(second.ID > first.ID).toBe(true);
    expect(first.ID.toString(16).slice(0, 4)).toBe("2dfc");
    expect(first.header.revision).toBe(1);
    expect(server.kv.rev()).toBe(1);
  });

  it("raises a small TTL to 2 and refuses TTL > 9e9 with OutOfRange", () => {
    const { server } = setup();
    expect(server.leaseGrant({ TTL: 0 }).TTL).toBe(2);
    const error = rpcError(() => server.leaseGrant({ TTL: 9_000_000_001 }));
    expect([error.code, error.message]).toEqual([11, RPC_LEASE_TTL_TOO_LARGE]);
  });

  it("uses an explicit ID, negative included, and refuses it twice with FailedPrecondition", () => {
    const { server } = setup();
    expect(server.leaseGrant({ TTL: 10, ID: -3n }).ID).toBe(-3n);
    const error = rpcError(() => server.leaseGrant({ TTL: 10, ID: -3n }));
    expect([error.code, error.message]).toEqual([9, RPC_LEASE_EXIST]);
  });
});

describe("EtcdServer.leaseRevoke", () => {
  it("deletes all keys in one revision and sends watchers one response with the DELETEs in key order", () => {
    const { server } = setup();
    const { ID } = server.leaseGrant({ TTL: 60 });
    for (const key of ["lk2", "lk0", "lk1"]) put(server, key, ID); // revs 2, 3, 4
    const responses: WatchResponse[] = [];
    const stream = server.watch((response) => responses.push(response));
    stream.recv({ create_request: { key: utf8("lk"), range_end: utf8("ll"), prev_kv: true } });
    const revoke = server.leaseRevoke({ ID });
    expect(revoke.header.revision).toBe(5);
    const events = responses.at(-1)?.events ?? [];
    expect(events.map((e) => [e.type, fromUtf8(e.kv.key), e.kv.mod_revision])).toEqual([
      [EventType.DELETE, "lk0", 5],
      [EventType.DELETE, "lk1", 5],
      [EventType.DELETE, "lk2", 5],
    ]);
    expect(events.map((e) => e.prev_kv?.mod_revision)).toEqual([3, 4, 2]);
    expect(server.range({ key: utf8("lk"), range_end: utf8("ll") }).kvs).toEqual([]);
  });

  it("changes no revision for a lease without keys, and answers NotFound for an unknown lease", () => {
    const { server } = setup();
    const { ID } = server.leaseGrant({ TTL: 60 });
    expect(server.leaseRevoke({ ID }).header.revision).toBe(1);
    const error = rpcError(() => server.leaseRevoke({ ID }));
    expect([error.code, error.message]).toEqual([5, RPC_LEASE_NOT_FOUND]);
  });

  it("leaves a key that moved to another lease, and a key detached by a put without lease (TestV3LeaseSwitch)", () => {
    const { server } = setup();
    const a = server.leaseGrant({ TTL: 60 }).ID;
    const b = server.leaseGrant({ TTL: 60 }).ID;
    put(server, "moved", a);
    put(server, "moved", b);
    put(server, "freed", a);
    put(server, "freed");
    server.leaseRevoke({ ID: a });
    expect(server.range({ key: utf8("moved") }).kvs[0]?.lease).toBe(b);
    expect(server.range({ key: utf8("freed") }).kvs[0]?.lease).toBe(0n);
    expect(server.kv.rev()).toBe(5); // the revoke of `a` had no keys left: no revision
  });
});

describe("EtcdServer lease expiry through tick()", () => {
  it("revokes an expired lease on the first lessor check after its TTL, deleting its keys", () => {
    const { clock, server } = setup();
    const { ID } = server.leaseGrant({ TTL: 2 });
    put(server, "k", ID);
    clock.advance(1_500);
    expect(server.tick().revokedLeases).toEqual([]);
    clock.advance(500);
    expect(server.tick().revokedLeases).toEqual([ID]);
    expect(server.range({ key: utf8("k") }).kvs).toEqual([]);
    expect(server.leaseTimeToLive({ ID }).TTL).toBe(-1);
  });

  it("keeps a lease alive while keep-alives arrive", () => {
    const { clock, server } = setup();
    const { ID } = server.leaseGrant({ TTL: 3 });
    for (let i = 0; i < 10; i++) {
      clock.advance(1_000);
      expect(server.leaseKeepAlive({ ID }).TTL).toBe(3);
      server.tick();
    }
    expect(server.lessor.lookup(ID)).toBeDefined();
  });
});

describe("EtcdServer keep-alive, timeToLive and leases", () => {
  it("answers a keep-alive for an unknown lease with TTL 0 and no error", () => {
    const { server } = setup();
    const response = server.leaseKeepAlive({ ID: 0x1234n });
    expect([response.ID, response.TTL, response.header.revision]).toEqual([0x1234n, 0, 1]);
  });

  it("reports remaining seconds truncated, the granted TTL, and the keys", () => {
    const { clock, server } = setup();
    const { ID } = server.leaseGrant({ TTL: 300 });
    put(server, "lk0", ID);
    put(server, "lk1", ID);
    // Right after the grant, as etcd answers (spec §6: 299 right after granting 300).
    const response = server.leaseTimeToLive({ ID, keys: true });
    expect([response.TTL, response.grantedTTL]).toEqual([299, 300]);
    clock.advance(1_500);
    expect(server.leaseTimeToLive({ ID }).TTL).toBe(298);
    expect(response.keys.map(fromUtf8).sort()).toEqual(["lk0", "lk1"]);
    expect(server.leaseTimeToLive({ ID }).keys).toEqual([]);
    expect(server.leaseTimeToLive({ ID: 77n })).toMatchObject({ ID: 77n, TTL: -1, grantedTTL: 0 });
  });

  it("lists leases by remaining time with the current revision in the header", () => {
    const { clock, server } = setup();
    const long = server.leaseGrant({ TTL: 100 }).ID;
    const short = server.leaseGrant({ TTL: 10 }).ID;
    clock.advance(1_000);
    put(server, "x");
    const response = server.leaseLeases();
    expect(response.leases.map((l) => l.ID)).toEqual([short, long]);
    expect(response.header.revision).toBe(2);
  });

  it("refuses a put with an unknown lease and writes nothing", () => {
    const { server } = setup();
    const error = rpcError(() => put(server, "k", 42n));
    expect([error.code, error.message]).toEqual([5, RPC_LEASE_NOT_FOUND]);
    expect(server.kv.rev()).toBe(1);
  });

  it("persists grants to the backend's lease bucket and removes them on revoke", () => {
    const { server } = setup();
    const { ID } = server.leaseGrant({ TTL: 30 });
    expect(server.backend.leaseBucket.get(ID)).toEqual({ ID, TTL: 30, remainingTTL: 0 });
    server.leaseRevoke({ ID });
    expect(server.backend.leaseBucket.has(ID)).toBe(false);
  });

  it("recovers leases and their keys when restarted from the same backend, each with its full TTL again", () => {
    const { clock, server } = setup();
    const { ID } = server.leaseGrant({ TTL: 30 });
    put(server, "k", ID);
    clock.advance(20_000);
    const restarted = new EtcdServer({ clock, backend: server.backend });
    expect(restarted.leaseTimeToLive({ ID, keys: true })).toMatchObject({ TTL: 29, grantedTTL: 30 });
    expect(restarted.leaseTimeToLive({ ID, keys: true }).keys.map(fromUtf8)).toEqual(["k"]);
    restarted.leaseRevoke({ ID });
    expect(restarted.range({ key: utf8("k") }).kvs).toEqual([]);
  });
});

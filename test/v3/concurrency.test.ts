/**
 * Session, Mutex and Election on the in-process server, driven step by step: a waiter's promise
 * settles only when the driver runs a sync pass (`server.tick()`), as etcd's 100 ms catch-up loop
 * would deliver the DELETE it waits for. Ported by behaviour from etcd's
 * `clientv3/integration/mutex_test.go`, `election_test.go` and `concurrency/session.go`.
 */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { Session } from "../../v3/concurrency/session.js";
import { Mutex } from "../../v3/concurrency/mutex.js";
import { ERR_ELECTION_NOT_LEADER, ERR_ELECTION_NO_LEADER, Election } from "../../v3/concurrency/election.js";

function setup() {
  const clock = new SimulatedClock();
  const server = new EtcdServer({ clock });
  return { clock, server };
}
/** Lets promise continuations run (no time passes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 100; i++) await Promise.resolve();
}
/** One driver step: the server's background work, then the clients' reactions. */
async function step(server: EtcdServer): Promise<void> {
  server.tick();
  await settle();
}
/** Tracks whether a promise has settled. */
function track<T>(promise: Promise<T>): { done: () => boolean; promise: Promise<T> } {
  let done = false;
  const tracked = promise.then(
    (value) => ((done = true), value),
    (error: unknown) => {
      done = true;
      throw error;
    },
  );
  return { done: () => done, promise: tracked };
}

describe("Session", () => {
  it("grants a 60 s lease by default and revokes it on close, deleting its keys", async () => {
    const { server } = setup();
    const client = server.client();
    const session = await Session.create(client);
    expect(server.leaseTimeToLive({ ID: session.lease }).grantedTTL).toBe(60);
    server.put({ key: utf8("owned"), value: utf8("x"), lease: session.lease });
    await session.close();
    expect(server.range({ key: utf8("owned") }).kvs).toEqual([]);
    expect(server.leaseTimeToLive({ ID: session.lease }).TTL).toBe(-1);
  });

  it("keeps its lease alive every TTL/3 on the injected ticker, and lets it expire once orphaned", async () => {
    const { clock, server } = setup();
    const session = await Session.create(server.client(), { ttlSeconds: 6, ticker: clock });
    for (let i = 0; i < 30; i++) {
      clock.advance(1_000);
      await step(server);
    }
    expect(session.keepAlives).toBe(15); // every 2 s for 30 s
    expect(server.lessor.lookup(session.lease)).toBeDefined();
    session.orphan();
    clock.advance(6_000);
    await step(server);
    expect(server.lessor.lookup(session.lease)).toBeUndefined();
    expect(await session.keepAliveOnce()).toBe(false);
  });
});

describe("Mutex", () => {
  it("puts pfx/hex(lease) with an empty value on the session lease and holds the lock at once when free", async () => {
    const { server } = setup();
    const session = await Session.create(server.client());
    const mutex = new Mutex(session, "mylock");
    await mutex.lock();
    expect(mutex.key()).toBe(`mylock/${session.lease.toString(16)}`);
    const kv = server.range({ key: utf8(mutex.key()) }).kvs[0];
    expect([kv?.value.length, kv?.lease, kv?.create_revision]).toEqual([0, session.lease, mutex.myRev]);
  });

  it("grants the lock in create-revision order, each waiter woken by the delete of the key just before it", async () => {
    const { server } = setup();
    const sessions = await Promise.all([0, 1, 2].map(() => Session.create(server.client())));
    const mutexes = sessions.map((session) => new Mutex(session, "lock"));
    await mutexes[0]?.lock();
    const b = track(mutexes[1]!.lock());
    const c = track(mutexes[2]!.lock());
    await step(server);
    expect([b.done(), c.done()]).toEqual([false, false]);
    await mutexes[0]?.unlock();
    await step(server);
    await step(server);
    expect([b.done(), c.done()]).toEqual([true, false]); // only the next in line woke up
    await mutexes[1]?.unlock();
    await step(server);
    await step(server);
    expect(c.done()).toBe(true);
  });

  it("releases the lock when the holder's session expires (its key goes with the lease)", async () => {
    const { clock, server } = setup();
    const holder = await Session.create(server.client(), { ttlSeconds: 5 });
    const waiter = await Session.create(server.client(), { ttlSeconds: 60 });
    await new Mutex(holder, "lock").lock();
    const waiting = track(new Mutex(waiter, "lock").lock());
    await step(server);
    expect(waiting.done()).toBe(false);
    clock.advance(5_000); // nobody keeps `holder` alive
    await step(server);
    await step(server);
    expect(waiting.done()).toBe(true);
  });

  it("guards a write with isOwner(), which fails once the lock is released", async () => {
    const { server } = setup();
    const mutex = new Mutex(await Session.create(server.client()), "lock");
    await mutex.lock();
    const guarded = () => server.txn({ compare: [mutex.isOwner()], success: [{ request_put: { key: utf8("protected"), value: utf8("x") } }] });
    expect(guarded().succeeded).toBe(true);
    const ownerCompare = mutex.isOwner();
    await mutex.unlock();
    expect(server.txn({ compare: [ownerCompare], success: [] }).succeeded).toBe(false);
    expect(mutex.myRev).toBe(-1);
  });

  it("reuses the key when the same session locks again", async () => {
    const { server } = setup();
    const session = await Session.create(server.client());
    const first = new Mutex(session, "lock");
    await first.lock();
    const second = new Mutex(session, "lock");
    await second.lock(); // same key: the Else branch reads it, myRev = its create revision
    expect(second.myRev).toBe(first.myRev);
  });

  it("deletes its key again when the wait is aborted", async () => {
    const { server } = setup();
    const holder = new Mutex(await Session.create(server.client()), "lock");
    await holder.lock();
    const mutex = new Mutex(await Session.create(server.client()), "lock");
    const controller = new AbortController();
    const waiting = track(mutex.lock(controller.signal));
    await step(server);
    expect(server.range({ key: utf8(mutex.key()) }).kvs.length).toBe(1);
    controller.abort(new Error("context canceled"));
    await holder.unlock(); // the waiter wakes, sees it was aborted, and gives up its place
    await step(server);
    await expect(waiting.promise).rejects.toThrow("context canceled");
    expect(server.range({ key: utf8(mutex.key()) }).kvs).toEqual([]);
  });
});

describe("Election", () => {
  it("elects the first candidate, queues the next, and hands over on resign (ported from TestElectionWait)", async () => {
    const { server } = setup();
    const a = new Election(await Session.create(server.client()), "election");
    const b = new Election(await Session.create(server.client()), "election");
    await a.campaign("a");
    const bWins = track(b.campaign("b"));
    await step(server);
    expect(bWins.done()).toBe(false);
    expect(fromUtf8((await a.leader()).kvs[0]?.value ?? new Uint8Array())).toBe("a");
    await a.resign();
    await step(server);
    await step(server);
    expect(bWins.done()).toBe(true);
    expect(fromUtf8((await b.leader()).kvs[0]?.value ?? new Uint8Array())).toBe("b");
  });

  it("proclaims a new value as leader, and refuses a proclaim without leadership", async () => {
    const { server } = setup();
    const leader = new Election(await Session.create(server.client()), "e");
    await expect(leader.proclaim("x")).rejects.toThrow(ERR_ELECTION_NOT_LEADER);
    await leader.campaign("v1");
    await leader.proclaim("v2");
    const current = await leader.leader();
    expect(fromUtf8(current.kvs[0]?.value ?? new Uint8Array())).toBe("v2");
    expect(current.kvs[0]?.lease).toBe(leader.session.lease); // the put carried the session's lease
  });

  it("loses leadership when its key disappears: proclaim then says not leader", async () => {
    const { server } = setup();
    const leader = new Election(await Session.create(server.client()), "e");
    await leader.campaign("v1");
    server.deleteRange({ key: utf8(leader.leaderKey) });
    await expect(leader.proclaim("v2")).rejects.toThrow(ERR_ELECTION_NOT_LEADER);
  });

  it("answers 'election: no leader' when nobody campaigns", async () => {
    const { server } = setup();
    const election = new Election(await Session.create(server.client()), "nobody");
    await expect(election.leader()).rejects.toThrow(ERR_ELECTION_NO_LEADER);
  });

  it("observes each leader value in order: the first leader, its proclamations, then the next leader (ported from TestElectionObserve)", async () => {
    const { server } = setup();
    const observer = new Election(await Session.create(server.client()), "obs");
    const controller = new AbortController();
    const seen: string[] = [];
    const observing = (async () => {
      for await (const { kv } of observer.observe(controller.signal)) {
        seen.push(fromUtf8(kv.value));
        if (seen.length === 3) break;
      }
    })();
    await step(server);
    const a = new Election(await Session.create(server.client()), "obs");
    const b = new Election(await Session.create(server.client()), "obs");
    await a.campaign("a0");
    await step(server);
    await step(server);
    await a.proclaim("a1");
    const bWins = b.campaign("b0");
    await step(server);
    await a.resign();
    for (let i = 0; i < 4; i++) await step(server);
    await bWins;
    await observing;
    expect(seen).toEqual(["a0", "a1", "b0"]);
  });
});

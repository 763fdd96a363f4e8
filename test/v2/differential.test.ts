/**
 * Differential test of the v2 HTTP API: the same raw requests go to a real etcd 3.4 and to the
 * simulator (started as `npm run serve` would start it), and every answer must match: status, every
 * header, and the body, after the normalisations documented in `test/support/differential.ts`
 * (indexes relative to the first write, raft index, expiration times, the client URL).
 *
 * The simulator is started with the real etcd's peer URL, so both compute the same member and
 * cluster IDs and `X-Etcd-Cluster-Id` is compared as is.
 *
 * Requests run in order, one block per `it`, and share one key space; each block uses its own keys.
 * A block collects every mismatch and fails with the request and both raw answers printed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeDifference,
  formatExchange,
  instantiateRequest,
  normalize,
  open,
  send,
  startV2Pair,
  type Baseline,
  type OpenRequest,
  type RawAnswer,
  type RawRequest,
  type V2Pair,
} from "../support/differential.js";
import { etcdAvailable, type RealEtcd } from "../support/realEtcd.js";
import type { SimServer } from "../support/simServer.js";

const FORM = { "Content-Type": "application/x-www-form-urlencoded" };

describe.skipIf(!etcdAvailable())("the v2 HTTP API compared with a real etcd 3.4", () => {
  let pair: V2Pair;
  let real: RealEtcd;
  let sim: SimServer;
  let realBase: Baseline;
  let simBase: Baseline;
  let compared = 0;
  let equal = 0;
  let mismatches: string[] = [];

  beforeAll(async () => {
    pair = await startV2Pair();
    ({ real, sim, realBase, simBase } = pair);
  }, 90_000);

  afterAll(async () => {
    process.stdout.write(`v2 differential: ${equal} of ${compared} requests answered identically\n`);
    await pair?.stop();
  });

  /** Records one comparison of two answers to `raw` (`shapeOnly`: compare body digits-blind). */
  function record(raw: RawRequest, realAnswer: RawAnswer, simAnswer: RawAnswer, shapeOnly = false): void {
    const a = normalize(realAnswer, realBase);
    const b = normalize(simAnswer, simBase);
    if (shapeOnly) {
      a.body = a.shape;
      b.body = b.shape;
    }
    const difference = describeDifference(a, b);
    compared += 1;
    if (difference === "") equal += 1;
    else mismatches.push(`${formatExchange(raw, realAnswer, simAnswer)}\n  differences:\n${difference}`);
  }

  /** Sends `raw` to both (real first), compares, and returns the real answer's node.modifiedIndex, relative. */
  async function check(raw: RawRequest, shapeOnly = false): Promise<number> {
    const realAnswer = await send(real.clientUrl, instantiateRequest(raw, realBase));
    const simAnswer = await send(sim.clientUrl, instantiateRequest(raw, simBase));
    record(raw, realAnswer, simAnswer, shapeOnly);
    return relativeModifiedIndex(realAnswer, realBase);
  }

  function relativeModifiedIndex(answer: RawAnswer, baseline: Baseline): number {
    try {
      const firstLine = answer.body.split("\n")[0] ?? "";
      const parsed = JSON.parse(firstLine) as { node?: { modifiedIndex?: number } };
      return (parsed.node?.modifiedIndex ?? 0) - baseline.etcdIndexBase;
    } catch {
      return 0;
    }
  }

  const put = (path: string, form: string): RawRequest => ({ method: "PUT", path, form });
  const get = (path: string): RawRequest => ({ method: "GET", path });
  const del = (path: string): RawRequest => ({ method: "DELETE", path });
  const post = (path: string, form: string): RawRequest => ({ method: "POST", path, form });

  /** Opens the same long-lived request on both servers and compares the heads once they arrive. */
  async function openBoth(raw: RawRequest): Promise<{ real: OpenRequest; sim: OpenRequest; raw: RawRequest }> {
    const realOpen = open(real.clientUrl, instantiateRequest(raw, realBase));
    const simOpen = open(sim.clientUrl, instantiateRequest(raw, simBase));
    record({ ...raw, path: `${raw.path}  [head]` }, await realOpen.head, await simOpen.head);
    return { real: realOpen, sim: simOpen, raw };
  }

  function assertNoMismatch(): void {
    const found = mismatches;
    mismatches = [];
    expect(found, found.join("\n\n")).toEqual([]);
  }

  it("answers sets, gets, creates and updates like etcd", async () => {
    await check(put("/v2/keys/message", "value=Hello"));
    await check(put("/v2/keys/message", "value=World"));
    await check(get("/v2/keys/message"));
    await check({ method: "HEAD", path: "/v2/keys/message" });
    await check(get("/v2/keys/missing"));
    await check({ method: "HEAD", path: "/v2/keys/missing" });
    await check(put("/v2/keys/tr/", "value=trailing"));
    await check(put("/v2/keys/empty", ""));
    await check({ method: "PUT", path: "/v2/keys/json", body: '{"value":"ignored"}', headers: { "Content-Type": "application/json" } });
    await check({ method: "PUT", path: "/v2/keys/both?value=q", form: "value=b&value=c" });
    await check({ method: "PUT", path: "/v2/keys/query?value=fromquery" });
    await check(put("/v2/keys/dir/a", "value=1"));
    await check(put("/v2/keys/dir/b", "value=2"));
    await check(put("/v2/keys/dir/sub/c", "value=3"));
    await check(put("/v2/keys/dir/_hidden", "value=h"));
    await check(put("/v2/keys/dir/_hd/x", "value=inside"));
    await check(get("/v2/keys/dir?sorted=true"));
    await check(get("/v2/keys/dir?recursive=true&sorted=true"));
    await check(get("/v2/keys/dir/_hidden"));
    await check(get("/v2/keys/dir/_hd?recursive=true"));
    await check(get("/v2/keys/dir/a/x"));
    await check(put("/v2/keys/dir/a/x", "value=1"));
    await check(put("/v2/keys/dir", "value=v"));
    await check(put("/v2/keys/dir", "dir=true"));
    await check(put("/v2/keys/newdir", "dir=true"));
    await check(put("/v2/keys/newdir", "dir=true&prevExist=false"));
    await check(put("/v2/keys/message", "value=x&prevExist=false"));
    await check(put("/v2/keys/fresh", "value=f&prevExist=false"));
    await check(put("/v2/keys/nope", "value=x&prevExist=true"));
    await check(put("/v2/keys/fresh", "value=g&prevExist=true"));
    await check(put("/v2/keys/fresh", "prevExist=true"));
    await check(put("/v2/keys/newdir", "value=v&prevExist=true"));
    await check(put("/v2/keys/f2d", "value=file"));
    await check(put("/v2/keys/f2d", "dir=true"));
    await check(put("/v2/keys/sp%20ace", "value=spaced"));
    await check(get("/v2/keys/sp%20ace"));
    await check(get("/v2/keys/a%2Fb"));
    await check(get("/v2/keys/%3Cx%3E%26"));
    await check(put("/v2/keys/%C3%A9t%C3%A9/%F0%9F%98%80", "value=%E2%82%AC+%2B"));
    await check(get("/v2/keys/%C3%A9t%C3%A9?recursive=true"));
    await check(get("/v2/keys/%C3%A9t%C3%A9/..%2F%C3%A9t%C3%A9"));
    await check(put("/v2/keys/escape", "value=%3Cb%3E%26%E2%80%A8%08%0C%22%5C%0A%09%01%E2%82%AC"));
    // Bodies past Go's 2048-byte buffer are sent chunked, shorter ones with Content-Length.
    await check(put("/v2/keys/big", `value=${"x".repeat(1950)}`));
    await check(put("/v2/keys/big", `value=${"y".repeat(3000)}`));
    await check({ method: "HEAD", path: "/v2/keys/big" });
    await check(get("/v2/keys/?recursive=true&sorted=true"));
    await check(get("/v2/keys?sorted=true"));
    assertNoMismatch();
  });

  it("refuses writes to the root like etcd", async () => {
    await check(put("/v2/keys/", "value=x"));
    await check(put("/v2/keys", "dir=true"));
    await check(put("/v2/keys/", "value=x&prevExist=true"));
    await check(put("/v2/keys/", "value=x&prevValue=y"));
    await check(put("/v2/keys/", "value=x&prevExist=false"));
    await check(del("/v2/keys/?recursive=true"));
    await check(del("/v2/keys/?prevValue=x"));
    assertNoMismatch();
  });

  it("compares and swaps, compares and deletes, like etcd", async () => {
    const first = await check(put("/v2/keys/cas", "value=cas1"));
    await check(put("/v2/keys/cas", "value=cas2&prevValue=cas1"));
    await check(put("/v2/keys/cas", "value=x&prevValue=wrong"));
    await check(put("/v2/keys/cas", `value=x&prevIndex=@${first}`));
    await check(put("/v2/keys/cas", `value=x&prevValue=wrong&prevIndex=@${first}`));
    const current = await check(get("/v2/keys/cas"));
    await check(put("/v2/keys/cas", `value=cas3&prevIndex=@${current}`));
    await check(put("/v2/keys/cas", "value=x&prevValue="));
    await check(put("/v2/keys/cas", "value=x&prevIndex=abc"));
    await check(put("/v2/keys/cas", "value=x&prevIndex=-1"));
    await check(put("/v2/keys/cas", "value=x&prevIndex="));
    await check(put("/v2/keys/newdir", "value=x&prevValue=a"));
    await check(put("/v2/keys/missingcas", "value=x&prevValue=a"));
    await check(put("/v2/keys/cas", "value=cas4&prevValue=cas3&prevExist=true"));
    await check(put("/v2/keys/casnew", "value=n&prevValue=zzz&prevExist=false"));
    await check(del("/v2/keys/cas?prevValue=wrong"));
    await check(del(`/v2/keys/cas?prevIndex=@${first}`));
    await check(del("/v2/keys/newdir?prevValue=x"));
    await check(del("/v2/keys/missingcas?prevValue=x"));
    await check(del("/v2/keys/cas?prevValue=cas4"));
    await check({ method: "DELETE", path: "/v2/keys/casnew", form: "prevValue=zzz" });
    assertNoMismatch();
  });

  it("deletes keys and directories like etcd", async () => {
    await check(del("/v2/keys/message"));
    await check(del("/v2/keys/message"));
    await check(del("/v2/keys/dir"));
    await check(del("/v2/keys/dir?dir=true"));
    await check(del("/v2/keys/newdir?dir=true"));
    await check(del("/v2/keys/fresh?dir=true&recursive=false"));
    await check(del("/v2/keys/dir?recursive=true"));
    await check(get("/v2/keys/dir/a"));
    assertNoMismatch();
  });

  it("creates in-order keys with POST like etcd", async () => {
    await check(post("/v2/keys/queue", "value=job1"));
    await check(post("/v2/keys/queue", "value=job2"));
    await check(post("/v2/keys/queue", "dir=true"));
    await check(post("/v2/keys/queue", "value=x&prevExist=true&prevValue=nothing"));
    await check(get("/v2/keys/queue?recursive=true&sorted=true"));
    await check(post("/v2/keys/", "value=rootchild"));
    await check(put("/v2/keys/qfile", "value=file"));
    await check(post("/v2/keys/qfile", "value=child"));
    await check(post("/v2/keys/queue?wait=true", "value=x"));
    assertNoMismatch();
  });

  it("rejects bad parameters with etcd's codes, in etcd's order", async () => {
    await check(get("/v2/keys/p?recursive=maybe"));
    await check(get("/v2/keys/p?sorted=2"));
    await check(get("/v2/keys/p?wait=yes"));
    await check(get("/v2/keys/p?dir=x"));
    await check(get("/v2/keys/p?quorum=x"));
    await check(get("/v2/keys/p?stream=x"));
    await check(get("/v2/keys/p?waitIndex=x"));
    await check(get("/v2/keys/p?prevIndex=x&recursive=x"));
    await check(get("/v2/keys/p?recursive=T&sorted=FALSE&quorum=0"));
    await check(put("/v2/keys/p", "value=1&ttl=abc"));
    await check(put("/v2/keys/p", "value=1&ttl=-1"));
    await check(put("/v2/keys/p", "value=1&ttl=1.5"));
    await check(put("/v2/keys/p", "value=1&ttl=5&refresh=true"));
    await check(put("/v2/keys/p", "refresh=true"));
    await check(put("/v2/keys/p", "refresh=maybe&ttl=5"));
    await check(put("/v2/keys/p", "value=1&noValueOnSuccess=x"));
    await check(put("/v2/keys/p", "value=1&noValueOnSuccess=true"));
    await check(put("/v2/keys/p", "value=2&noValueOnSuccess=true"));
    await check(put("/v2/keys/p", "value=1&dir=true"));
    await check(get("/v2/keys/p?a=%zz"));
    await check(get("/v2/keys/p?x=1;y=2"));
    await check(put("/v2/keys/p", "value=%zz"));
    await check({ method: "PUT", path: "/v2/keys/p?value=%zz", form: "value=ok" });
    await check({ method: "PATCH", path: "/v2/keys/p" });
    await check({ method: "OPTIONS", path: "/v2/keys/p" });
    await check({ method: "HEAD", path: "/v2/keys/p?wait=true" });
    await check(get("/v2/keys/p?quorum=true"));
    await check(get("/v2/keys/p?wait=true&quorum=true"));
    await check({ method: "PUT", path: "/v2/keys/p", body: "value=3", headers: { "Content-Type": "text/plain" } });
    await check({ method: "PUT", path: "/v2/keys/p", body: "value=4", headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" } });
    await check(del("/v2/keys/p?recursive=true&dir=true"));
    assertNoMismatch();
  });

  it("redirects unclean paths and serves the other endpoints like etcd", async () => {
    await check(get("/v2/keys//a"));
    await check(get("/v2/keys/a/../b?x=1&y=%20"));
    await check({ method: "PUT", path: "/v2/keys/./a", form: "value=1" });
    await check({ method: "HEAD", path: "/v2/keys/a/../b" });
    await check(get("/v2/keys/a%2F..%2Fb"));
    await check(get("/v2//keys/a"));
    await check(get("/v2/keys/a/%2e%2e/b%20c%3F%21"));
    await check(get("http://example.com/v2/keys/a/../dir"));
    await check({ method: "OPTIONS", path: "*" });
    await check(get("*"));
    await check(get("/v3?x=1"));
    await check(get("/nothing"));
    await check({ method: "HEAD", path: "/nothing" });
    await check(get("/v2/keysx"));
    await check(get("/version"));
    await check(get("/health"));
    await check({ method: "POST", path: "/health" });
    await check({ method: "POST", path: "/version" });
    await check(get("/v2/machines"));
    await check({ method: "POST", path: "/v2/machines" });
    await check(get("/v2/members"));
    await check(get("/v2/members/leader"));
    await check(get("/v2/members/foo"));
    await check(get("/v2/stats/leader"));
    await check({ method: "POST", path: "/v2/stats/store" });
    // Real etcd counts its own internal reads and start-up writes, and uptimes differ: compare the shape.
    await check(get("/v2/stats/store"), true);
    await check(get("/v2/stats/self"), true);
    assertNoMismatch();
  });

  it("sets, refreshes and expires TTLs like etcd", async () => {
    await check(put("/v2/keys/ttlkey", "value=t&ttl=100"));
    await check(get("/v2/keys/ttlkey"));
    await check(put("/v2/keys/ttlkey", "ttl=200&refresh=true&prevExist=true"));
    await check(put("/v2/keys/ttlkey", "ttl=300&refresh=true"));
    await check(put("/v2/keys/ttlkey", "value=t2&ttl=&prevExist=true"));
    await check(get("/v2/keys/ttlkey"));
    await check(put("/v2/keys/ttlrefreshmissing", "ttl=30&refresh=true"));
    await check(put("/v2/keys/ttlcreate", "ttl=80&refresh=true&prevExist=false"));
    await check(put("/v2/keys/ttldir", "dir=true&ttl=100"));
    await check(put("/v2/keys/ttldir", "dir=true&ttl=200&prevExist=true"));
    await check(get("/v2/keys/ttldir"));
    await check(put("/v2/keys/huge", "value=h&ttl=9223372036"));
    await check(post("/v2/keys/ttlqueue", "value=q&ttl=100"));
    // Short TTLs: the expiry sweep runs every 500 ms on both, and each expiry uses an index, so
    // nothing else is written until the watches below have seen both servers expire the keys.
    const watches = await openBoth(get("/v2/keys/short?wait=true"));
    await check(put("/v2/keys/short", "value=s&ttl=1"));
    const created = await Promise.all([watches.real.ended, watches.sim.ended]);
    record(watches.raw, created[0], created[1]);
    // A directory with a TTL expires as a unit: a watcher on a child gets the directory's expire event.
    await check(put("/v2/keys/tdir", "dir=true&ttl=1"));
    await check(put("/v2/keys/tdir/a", "value=1"));
    const child = await openBoth(get("/v2/keys/tdir/a?wait=true"));
    const expiry = await openBoth(get("/v2/keys/short?wait=true"));
    await check(put("/v2/keys/zero", "value=z&ttl=0"));
    const expired = await Promise.all([expiry.real.ended, expiry.sim.ended]);
    record(expiry.raw, expired[0], expired[1]);
    const childExpired = await Promise.all([child.real.ended, child.sim.ended]);
    record(child.raw, childExpired[0], childExpired[1]);
    // Both expire events have arrived, and /zero (ttl 0) expired before /short: nothing is pending.
    await check(get("/v2/keys/short"));
    await check(get("/v2/keys/zero"));
    await check(get("/v2/keys/tdir/a"));
    assertNoMismatch();
  });

  it("answers long-poll watches like etcd", async () => {
    // One-shot watch answered by a later write.
    const oneShot = await openBoth(get("/v2/keys/w1?wait=true"));
    const written = await check(put("/v2/keys/w1", "value=1"));
    const oneShotBodies = await Promise.all([oneShot.real.ended, oneShot.sim.ended]);
    record(oneShot.raw, oneShotBodies[0], oneShotBodies[1]);
    // Replay from the history.
    await check(put("/v2/keys/w1", "value=2"));
    await check(get(`/v2/keys/w1?wait=true&waitIndex=@${written}`));
    await check(get(`/v2/keys/w1?wait=true&waitIndex=@${written + 1}`));
    // Recursive watch on a directory: a hidden child is not delivered, a visible one is.
    const recursive = await openBoth(get("/v2/keys/wdir?wait=true&recursive=true"));
    await check(put("/v2/keys/wdir/_hidden", "value=h"));
    await check(put("/v2/keys/wdir/child", "value=c"));
    const recursiveBodies = await Promise.all([recursive.real.ended, recursive.sim.ended]);
    record(recursive.raw, recursiveBodies[0], recursiveBodies[1]);
    // A watch below a directory learns of the directory's removal.
    const below = await openBoth(get("/v2/keys/wdir/child?wait=true"));
    await check(del("/v2/keys/wdir?recursive=true"));
    const belowBodies = await Promise.all([below.real.ended, below.sim.ended]);
    record(below.raw, belowBodies[0], belowBodies[1]);
    // A watch with a future waitIndex ignores earlier events.
    const future = await openBoth(get(`/v2/keys/w2?wait=true&waitIndex=@${written + 6}`));
    await check(put("/v2/keys/w2", "value=early"));
    await check(put("/v2/keys/w2", "value=late"));
    const futureBodies = await Promise.all([future.real.ended, future.sim.ended]);
    record(future.raw, futureBodies[0], futureBodies[1]);
    // A scan from the oldest kept event finds the first write to /w1.
    await check(get("/v2/keys/w1?wait=true&waitIndex=@1"));
    // A watch answered from the history on a removed directory's child (string-prefix quirk).
    await check(get(`/v2/keys/wdirx?wait=true&waitIndex=@${written + 4}`));
    assertNoMismatch();
  });

  it("streams watch events like etcd", async () => {
    const stream = await openBoth(get("/v2/keys/s?wait=true&stream=true"));
    const first = await check(put("/v2/keys/s", "value=1"));
    record({ ...stream.raw, path: `${stream.raw.path}  [event 1]` }, { status: 200, headers: {}, body: await stream.real.line() }, { status: 200, headers: {}, body: await stream.sim.line() });
    await check(put("/v2/keys/s", "value=2"));
    record({ ...stream.raw, path: `${stream.raw.path}  [event 2]` }, { status: 200, headers: {}, body: await stream.real.line() }, { status: 200, headers: {}, body: await stream.sim.line() });
    // Quirk: a stream watcher sitting exactly on a deleted key gets the delete twice.
    await check(del("/v2/keys/s"));
    for (const n of [3, 4]) {
      record({ ...stream.raw, path: `${stream.raw.path}  [event ${n}]` }, { status: 200, headers: {}, body: await stream.real.line() }, { status: 200, headers: {}, body: await stream.sim.line() });
    }
    stream.real.close();
    stream.sim.close();
    // Quirk: a stream watch answered from the history sends that one event and then stays silent.
    const replay = await openBoth(get(`/v2/keys/s?wait=true&stream=true&waitIndex=@${first}`));
    record({ ...replay.raw, path: `${replay.raw.path}  [event 1]` }, { status: 200, headers: {}, body: await replay.real.line() }, { status: 200, headers: {}, body: await replay.sim.line() });
    replay.real.close();
    replay.sim.close();
    // Hidden keys: a recursive watch on /_hid sees /_hid/x but not /_hid/_y; the history scan does not care.
    const hidden = await openBoth(get("/v2/keys/_hid?wait=true&recursive=true"));
    const hiddenIndex = await check(put("/v2/keys/_hid/_y", "value=secret"));
    await check(put("/v2/keys/_hid/x", "value=visible"));
    const hiddenBodies = await Promise.all([hidden.real.ended, hidden.sim.ended]);
    record(hidden.raw, hiddenBodies[0], hiddenBodies[1]);
    await check(get(`/v2/keys/_hid?wait=true&recursive=true&waitIndex=@${hiddenIndex}`));
    await check(get("/v2/keys/?recursive=true&sorted=true"));
    assertNoMismatch();
  });

  it("keeps only the last 1000 events, answering 401 for older ones like etcd", async () => {
    const before = await check(put("/v2/keys/window/start", "value=0"));
    // 20 writes at a time; they all set the same key to the same value, so every event is the same
    // whatever order the server applies them in (only the indexes, assigned in order, differ).
    for (let i = 0; i < 1100; i += 20) {
      const batch = Array.from({ length: 20 }, () => "/v2/keys/window/k");
      await Promise.all(batch.map((path) => send(real.clientUrl, { method: "PUT", path, form: "value=v", headers: FORM })));
      await Promise.all(batch.map((path) => send(sim.clientUrl, { method: "PUT", path, form: "value=v", headers: FORM })));
    }
    await check(get("/v2/keys/window/other?wait=true&waitIndex=@1"));
    await check(get(`/v2/keys/window/start?wait=true&waitIndex=@${before}`));
    await check(get(`/v2/keys/window?wait=true&recursive=true&waitIndex=@${before + 100}`));
    await check(get(`/v2/keys/window?wait=true&recursive=true&waitIndex=@${before + 101}`));
    await check(get(`/v2/keys/window/k?wait=true&waitIndex=@${before + 1100}`));
    await check(get("/v2/keys/window/k"));
    assertNoMismatch();
  }, 120_000);

  it("compared at least 60 requests", () => {
    expect(compared).toBeGreaterThanOrEqual(60);
  });
});

/**
 * In-process tests of the v3 gateway (v3/gateway.ts, v3/gatewayStream.ts) over a real HTTP server
 * and a real EtcdServer on a simulated clock: what bad input leaves behind, how streams end, and
 * the Go-server quirk of holding a stream's answer until the request body is complete.
 * The byte-exact answers themselves are checked against real etcd in the differential suites.
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { utf8 } from "../../shared/bytes.js";
import { SimulatedClock, sleep } from "../../shared/clock.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { createV3Gateway } from "../../v3/gateway.js";

let server: Server;
let etcd: EtcdServer;
let baseUrl: string;

beforeEach(async () => {
  etcd = new EtcdServer({ clock: new SimulatedClock() });
  const gateway = createV3Gateway(etcd);
  server = createServer((req, res) => {
    if (!gateway(req, res)) {
      res.writeHead(404);
      res.end("not mine");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const b64 = (text: string): string => Buffer.from(text).toString("base64");

async function post(path: string, body: string): Promise<{ status: number; text: string }> {
  const response = await fetch(baseUrl + path, { method: "POST", body });
  return { status: response.status, text: await response.text() };
}

/** A POST whose body is written in pieces; `received` collects the answer as it arrives. */
function openStream(path: string, headers: Record<string, string> = {}): { write(text: string): void; end(): void; destroy(): void; received(): string; status(): number | undefined } {
  const url = new URL(baseUrl);
  let text = "";
  let status: number | undefined;
  const outgoing = httpRequest({ host: url.hostname, port: Number(url.port), method: "POST", path, headers, agent: false });
  outgoing.on("error", () => undefined);
  outgoing.on("response", (message) => {
    status = message.statusCode;
    message.on("data", (chunk: Buffer) => (text += chunk.toString()));
    message.on("error", () => undefined);
  });
  outgoing.flushHeaders();
  return {
    write: (chunk) => outgoing.write(chunk),
    end: () => outgoing.end(),
    destroy: () => outgoing.destroy(),
    received: () => text,
    status: () => status,
  };
}

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited >= timeoutMs) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe("createV3Gateway", () => {
  it("changes nothing when a request does not decode, and keeps serving", async () => {
    const bad = await post("/v3/kv/put", '{"key":"Zm9v","value":"!!"}');
    expect(bad.status).toBe(400);
    expect(etcd.kv.rev()).toBe(1);
    const good = await post("/v3/kv/put", JSON.stringify({ key: b64("foo"), value: b64("bar") }));
    expect(good.status).toBe(200);
    expect(etcd.kv.rev()).toBe(2);
  });

  it("leaves paths outside /v3 to the next handler but answers /v3alpha's neighbours itself", async () => {
    expect((await post("/v2/keys/foo", "")).text).toBe("not mine");
    expect((await post("/v3alpha/kv/range", "{}")).text).toBe("not mine");
    expect((await post("/v3/kv/nope", "{}")).text).toBe("Not Found\n");
  });

  it("processes the requests of one watch body in order on one stream", async () => {
    const body = [{ create_request: { key: b64("a") } }, { create_request: { key: b64("b") } }, { progress_request: {} }]
      .map((r) => JSON.stringify(r))
      .join("");
    const watch = openStream("/v3/watch");
    watch.write(body);
    watch.end();
    await until(() => watch.received().split("\n").length > 3);
    const lines = watch.received().trim().split("\n").map((line) => JSON.parse(line) as { result: Record<string, unknown> });
    expect(lines.map((line) => line.result["watch_id"] ?? "0")).toEqual(["0", "1", "-1"]);
    watch.destroy();
  });

  it("holds a keep-alive client's stream answer until its request body is complete, as Go's HTTP/1 server does", async () => {
    const watch = openStream("/v3/watch", { Connection: "keep-alive" });
    watch.write(JSON.stringify({ create_request: { key: b64("k") } }));
    await until(() => etcd.watchersPerStream().length === 1);
    await sleep(50);
    expect(watch.status()).toBeUndefined();
    expect(watch.received()).toBe("");
    watch.end();
    await until(() => watch.received().includes('"created":true'));
    expect(watch.status()).toBe(200);
    watch.destroy();
  });

  it("answers at once, and keeps reading the open body, when the connection will close", async () => {
    const watch = openStream("/v3/watch", { Connection: "close" });
    watch.write(JSON.stringify({ create_request: { key: b64("k") } }));
    await until(() => watch.received().includes('"created":true'));
    watch.write(JSON.stringify({ create_request: { key: b64("j") } }));
    await until(() => watch.received().includes('"watch_id":"1","created":true'));
    watch.destroy();
  });

  it("sends live events after the body ended, and cancels the stream's watchers when the client goes away", async () => {
    const watch = openStream("/v3/watch");
    watch.write(JSON.stringify({ create_request: { key: b64("k") } }));
    watch.end();
    await until(() => watch.received().includes('"created":true'));
    await post("/v3/kv/put", JSON.stringify({ key: b64("k"), value: b64("v") }));
    await until(() => watch.received().includes('"events"'));
    expect(etcd.watchStreamCount).toBe(1);
    watch.destroy();
    await until(() => etcd.watchStreamCount === 0);
    expect(etcd.watcherGroups()).toEqual({ synced: 0, unsynced: 0, victims: 0 });
  });

  it("takes back a waiting Lock's key when its HTTP client goes away", async () => {
    const holder = etcd.leaseGrant({ TTL: 60 });
    const waiter = etcd.leaseGrant({ TTL: 60 });
    const held = await post("/v3/lock/lock", JSON.stringify({ name: b64("l"), lease: String(holder.ID) }));
    expect(held.status).toBe(200);
    const lockKeys = (): number => etcd.range({ key: utf8("l/"), range_end: utf8("l0") }).kvs.length;
    const waiting = openStream("/v3/lock/lock");
    waiting.write(JSON.stringify({ name: b64("l"), lease: String(waiter.ID) }));
    waiting.end();
    await until(() => lockKeys() === 2);
    waiting.destroy();
    await until(() => lockKeys() === 1);
    expect(waiting.received()).toBe("");
  });

  it("stops reading a stream at its first undecodable request, without closing it", async () => {
    const watch = openStream("/v3/watch");
    watch.write(`${JSON.stringify({ create_request: { key: b64("k") } })}{bad${JSON.stringify({ create_request: { key: b64("j") } })}`);
    watch.end();
    await until(() => watch.received().includes('"created":true'));
    await sleep(50);
    expect(etcd.watchersPerStream()).toEqual([1]);
    await post("/v3/kv/put", JSON.stringify({ key: b64("k"), value: b64("v") }));
    await until(() => watch.received().includes('"events"'));
    watch.destroy();
  });

  it("ends a keep-alive stream when its body ends, with one answer per request", async () => {
    const { ID } = etcd.leaseGrant({ TTL: 60 });
    const answer = await post("/v3/lease/keepalive", `{"ID":"${ID}"}{"ID":"${ID}"}`);
    expect(answer.status).toBe(200);
    expect(answer.text.trim().split("\n")).toHaveLength(2);
  });

  it("backs a client that stops reading up into the 128-slot channel, makes victims, and catches up when it reads again", async () => {
    const url = new URL(baseUrl);
    let pending = "";
    let created = false;
    const revisions: number[] = [];
    let paused: { resume(): void } | undefined;
    const outgoing = httpRequest({ host: url.hostname, port: Number(url.port), method: "POST", path: "/v3/watch", agent: false });
    outgoing.on("error", () => undefined);
    outgoing.on("response", (message) => {
      message.on("data", (chunk: Buffer) => {
        pending += chunk.toString();
        for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
          const { result } = JSON.parse(pending.slice(0, newline)) as { result: { created?: boolean; events?: Array<{ kv: { mod_revision: string } }> } };
          pending = pending.slice(newline + 1);
          if (result.created === true) created = true;
          for (const event of result.events ?? []) revisions.push(Number(event.kv.mod_revision));
        }
        if (created && paused === undefined) {
          message.pause();
          paused = message;
        }
      });
    });
    outgoing.end(JSON.stringify({ create_request: { key: b64("slow") } }));
    await until(() => paused !== undefined);
    // Enough data (24 MB) to fill any loopback socket buffers, then the 128 slots of the channel.
    const value = new Uint8Array(8 * 1024).fill(0x78);
    const puts = 3000;
    for (let i = 0; i < puts; i++) etcd.put({ key: utf8("slow"), value });
    expect(etcd.watcherGroups().victims).toBe(1);
    paused?.resume();
    await until(() => {
      etcd.syncVictims();
      etcd.syncWatchers();
      return revisions.length === puts;
    }, 10_000);
    // Every revision arrives once, in order: the victim batch, then the catch-up from history.
    expect(revisions).toEqual(Array.from({ length: puts }, (_, i) => i + 2));
    expect(etcd.watcherGroups()).toEqual({ synced: 1, unsynced: 0, victims: 0 });
    outgoing.destroy();
  });

  it("answers a stream whose first request does not decode with 500 and code 2", async () => {
    const answer = await post("/v3/watch", "{bad");
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.text)).toMatchObject({ code: 2 });
    expect(etcd.watchStreamCount).toBe(0);
  });
});

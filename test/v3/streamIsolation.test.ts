/**
 * One bad stream disturbs no other: the "Bad input" promise of the v3 lease and watch endpoints,
 * checked over real HTTP against an in-process EtcdServer (v3/watchServer.ts behind v3/gateway.ts).
 *
 * In etcd every gRPC stream has its own `serverWatchStream` (or keep-alive loop) and goroutines; a
 * client that sends garbage or hangs up halfway through a request ends only its own stream. Here:
 *
 *   stream A  create watch on "a"                    →  created, then keeps getting events
 *   stream B  "{bad"                                 →  500, code 2; A unaffected
 *   stream C  half a create request, then hangs up   →  nothing registered; A unaffected
 *   stream D  half a keep-alive request, then hangs up → the lease is untouched; A unaffected
 *   stream E  a new watch afterwards                 →  works like A
 */
import { connect } from "node:net";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SimulatedClock, sleep } from "../../shared/clock.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { createV3Gateway } from "../../v3/gateway.js";
import { open, send, type OpenRequest } from "../support/differential.js";

let server: Server;
let etcd: EtcdServer;
let clock: SimulatedClock;
let baseUrl: string;
let port: number;

beforeEach(async () => {
  clock = new SimulatedClock();
  etcd = new EtcdServer({ clock });
  const gateway = createV3Gateway(etcd);
  server = createServer((req, res) => {
    if (!gateway(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const b64 = (text: string): string => Buffer.from(text).toString("base64");

async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited >= timeoutMs) throw new Error("condition not met in time");
    await sleep(10);
  }
}

/** Sends a POST that announces `announcedBytes` of body, writes only `partial`, and hangs up. */
async function hangUpMidRequest(path: string, partial: string, announcedBytes: number): Promise<void> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${announcedBytes}\r\n\r\n${partial}`);
  await sleep(30); // let the server read what was sent
  socket.destroy();
}

/** Opens a watch stream on `key` and waits for its created answer. */
async function watchOn(key: string): Promise<OpenRequest> {
  const stream = open(baseUrl, { method: "POST", path: "/v3/watch", body: JSON.stringify({ create_request: { key: b64(key) } }) });
  expect((await stream.head).status).toBe(200);
  expect(JSON.parse(await stream.line())).toMatchObject({ result: { created: true } });
  return stream;
}

async function put(key: string, value: string): Promise<void> {
  const answer = await send(baseUrl, { method: "POST", path: "/v3/kv/put", body: JSON.stringify({ key: b64(key), value: b64(value) }) });
  expect(answer.status).toBe(200);
}

describe("v3 streams over HTTP", () => {
  it("keeps serving other streams when one sends garbage or hangs up mid-request", async () => {
    const streamA = await watchOn("a");
    const { ID } = etcd.leaseGrant({ TTL: 60 });
    clock.advance(10_000); // 49 s left; a keep-alive that got through would put it back to 59

    const streamB = await send(baseUrl, { method: "POST", path: "/v3/watch", body: "{bad" });
    expect(streamB.status).toBe(500);
    expect(JSON.parse(streamB.body)).toMatchObject({ code: 2 });

    await hangUpMidRequest("/v3/watch", `{"create_request":{"key":"${b64("c")}"`, 200);
    await hangUpMidRequest("/v3/lease/keepalive", `{"ID":"${ID}`, 100);
    await hangUpMidRequest("/v3/kv/put", `{"key":"${b64("half")}","val`, 100);

    // Only stream A is left; nothing the broken requests began was registered or written.
    await until(() => etcd.watchStreamCount === 1);
    expect(etcd.watchersPerStream()).toEqual([1]);
    expect(etcd.range({ key: new TextEncoder().encode("half") }).count).toBe(0);
    expect(etcd.leaseTimeToLive({ ID }).TTL).toBe(49);

    await put("a", "1");
    expect(JSON.parse(await streamA.line())).toMatchObject({ result: { events: [{ kv: { key: b64("a"), value: b64("1") } }] } });

    const streamE = await watchOn("e");
    await put("e", "2");
    expect(JSON.parse(await streamE.line())).toMatchObject({ result: { events: [{ kv: { key: b64("e"), value: b64("2") } }] } });
    await put("a", "3");
    expect(JSON.parse(await streamA.line())).toMatchObject({ result: { events: [{ kv: { key: b64("a"), value: b64("3") } }] } });
    expect(etcd.watchersPerStream()).toEqual([1, 1]);
    streamA.close();
    streamE.close();
    await until(() => etcd.watchStreamCount === 0);
  });
});

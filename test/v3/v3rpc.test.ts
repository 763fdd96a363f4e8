/**
 * The gRPC side of the client port (server/cmux.ts, v3/v3rpc/): one port for gRPC and HTTP/1.x,
 * etcd's status codes and texts, the transport's limits, bad input, and streams that misbehave.
 * The client is grpc-js with the same .proto definitions, so requests and answers are rpc.ts objects.
 */
import { connect, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { request as httpsRequest } from "node:https";
import { credentials, makeGenericClientConstructor, Metadata, type Client, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../shared/clock.js";
import { utf8 } from "../../shared/bytes.js";
import { startEtcd, type EtcdOptions, type RunningEtcd } from "../../server/etcd.js";
import { HTTP2_PREFACE, sniff } from "../../server/cmux.js";
import { v3Mount } from "../../server/v3Mount.js";
import { grpcCall as call, grpcClientClass as clientClass } from "../support/grpcClient.js";
import type { PutResponse, RangeResponse, WatchRequest, WatchResponse } from "../../v3/rpc.js";

const CERTS = join(import.meta.dirname, "..", "..", "..", "shared", "etcd3-suite", "src", "test", "certs");

async function failure(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (error) {
    const { code, details } = error as ServiceError;
    return { code, details };
  }
  throw new Error("the call succeeded");
}

async function startMember(options: EtcdOptions = {}): Promise<{ etcd: RunningEtcd; address: string; logs: string[] }> {
  const logs: string[] = [];
  const etcd = await startEtcd({ listenClientUrl: "http://127.0.0.1:0", log: (line) => logs.push(line), ...options, extraHandlers: [v3Mount(options)] });
  return { etcd, address: etcd.clientUrl.replace(/^https?:\/\//, ""), logs };
}

/** Sends raw bytes on a fresh TCP connection; resolves with what came back before the close. */
function rawExchange(address: string, bytes: Buffer): Promise<Buffer> {
  const [host, port] = address.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), host, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks)));
  });
}

describe("cmux.sniff", () => {
  it.each([
    [HTTP2_PREFACE.toString("latin1"), "grpc"],
    ["PRI * HT", "more"],
    ["GET /version HTTP/1.1\r\n", "http1"],
    ["GET /version HTTP/1.0\r\n", "http1"],
    ["POST /v3/kv/range HTTP/1.1\n", "http1"],
    ["GET /version\r\n", "neither"],
    ["HELLO WORLD\r\n\r\n", "neither"],
    ["GET /version HTTP/2.0\r\n", "neither"],
    ["\x16\x03\x01\x02\x00", "more"],
  ])("reads %j as %s", (bytes, verdict) => {
    expect(sniff(Buffer.from(bytes, "latin1"))).toBe(verdict);
  });

  it("gives up on a first line longer than 4096 bytes", () => {
    expect(sniff(Buffer.alloc(4096, 0x41))).toBe("neither");
  });
});

describe("gRPC and HTTP/1.x on one plaintext port", () => {
  let member: Awaited<ReturnType<typeof startMember>>;
  let kv: Client;
  const KV = clientClass("etcdserverpb.KV");

  beforeAll(async () => {
    member = await startMember();
    kv = new KV(member.address, credentials.createInsecure());
  });
  afterAll(async () => {
    kv.close();
    await member.etcd.close();
  });

  it("answers a gRPC put and the same key through the JSON gateway and /version", async () => {
    const put = await call<PutResponse>(kv, "Put", { key: utf8("foo"), value: utf8("bar") });
    expect(put.header.revision).toBe(2);
    const gateway = await fetch(`${member.etcd.clientUrl}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: "Zm9v" }) });
    expect(((await gateway.json()) as { kvs: Array<{ value: string }> }).kvs[0]?.value).toBe("YmFy");
    const version = await fetch(`${member.etcd.clientUrl}/version`);
    expect(await version.text()).toBe('{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}');
  });

  it("closes a connection that speaks neither HTTP/1.x nor HTTP/2, without a reply, and logs it", async () => {
    const reply = await rawExchange(member.address, Buffer.from("HELLO WORLD\r\n\r\n"));
    expect(reply.length).toBe(0);
    expect(member.logs.some((line) => line.includes("speaks neither HTTP/1.x nor HTTP/2") && line.includes("HELLO WORLD"))).toBe(true);
    // and keeps serving
    const range = await call<RangeResponse>(kv, "Range", { key: utf8("foo") });
    expect(range.count).toBe(1);
  });

  it("answers etcd's codes and texts for refused requests", async () => {
    expect(await failure(call(kv, "Range", { key: utf8("foo"), revision: 100 }))).toEqual({
      code: 11,
      details: "etcdserver: mvcc: required revision is a future revision",
    });
    expect(await failure(call(kv, "Put", { key: new Uint8Array(0), value: utf8("v") }))).toEqual({ code: 3, details: "etcdserver: key is not provided" });
    expect(await failure(call(kv, "Put", { key: utf8("k"), value: utf8("v"), lease: 1234n }))).toEqual({
      code: 5,
      details: "etcdserver: requested lease not found",
    });
  });

  it("answers a method etcd 3.4 lacks the way grpc-go does", async () => {
    const Maintenance = clientClass("etcdserverpb.Maintenance");
    const maintenance = new Maintenance(member.address, credentials.createInsecure());
    expect(await failure(call(maintenance, "Downgrade", {}))).toEqual({ code: 12, details: "unknown method Downgrade for service etcdserverpb.Maintenance" });
    maintenance.close();
  });

  it("refuses undecodable bytes with code 13 and grpc-go's text, applying nothing", async () => {
    const before = await call<RangeResponse>(kv, "Range", { key: utf8("foo") });
    const Raw = makeGenericClientConstructor(
      {
        Put: {
          path: "/etcdserverpb.KV/Put",
          requestStream: false,
          responseStream: false,
          requestSerialize: (bytes: Buffer) => bytes,
          requestDeserialize: (bytes: Buffer) => bytes,
          responseSerialize: (bytes: Buffer) => bytes,
          responseDeserialize: (bytes: Buffer) => bytes,
        },
      },
      "RawKV",
    );
    const raw = new Raw(member.address, credentials.createInsecure());
    // field 1 (key), length 10, but only 3 bytes follow
    expect(await failure(call(raw, "Put", Buffer.from([0x0a, 0x0a, 0x61, 0x62, 0x63])))).toEqual({
      code: 13,
      details: "grpc: error unmarshalling request: unexpected EOF",
    });
    raw.close();
    const after = await call<RangeResponse>(kv, "Range", { key: utf8("foo") });
    expect(after.header.revision).toBe(before.header.revision);
  });

  it("refuses a message over the receive limit with code 8, and a write over --max-request-bytes with code 3", async () => {
    const big = new KV(member.address, credentials.createInsecure(), { "grpc.max_send_message_length": -1 });
    const before = await call<RangeResponse>(big, "Range", { key: utf8("big") });
    expect(await failure(call(big, "Put", { key: utf8("big"), value: new Uint8Array(2_200_000) }))).toEqual({
      code: 8,
      details: "grpc: received message larger than max (2200010 vs. 2097152)",
    });
    expect(await failure(call(big, "Put", { key: utf8("big"), value: new Uint8Array(1_600_000) }))).toEqual({
      code: 3,
      details: "etcdserver: request is too large",
    });
    const ok = await call<PutResponse>(big, "Put", { key: utf8("big"), value: new Uint8Array(1_572_800) });
    expect(ok.header.revision).toBe(before.header.revision + 1);
    big.close();
  });

  it("answers the health check as grpc-go's health server does", async () => {
    const Health = clientClass("grpc.health.v1.Health");
    const health = new Health(member.address, credentials.createInsecure());
    expect(await call(health, "Check", { service: "" })).toEqual({ status: 1 });
    expect(await failure(call(health, "Check", { service: "etcdserverpb.KV" }))).toEqual({ code: 5, details: "unknown service" });
    health.close();
  });
});

describe("gRPC streams", () => {
  let member: Awaited<ReturnType<typeof startMember>>;
  const KV = clientClass("etcdserverpb.KV");
  const Watch = clientClass("etcdserverpb.Watch");
  const Lease = clientClass("etcdserverpb.Lease");
  const clients: Client[] = [];
  const open = <T extends Client>(client: T): T => {
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    member = await startMember();
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(async () => {
    await member.etcd.close();
  });

  function watchStream(client: Client): { stream: ClientDuplexStream<WatchRequest, WatchResponse>; responses: WatchResponse[] } {
    const stream = (client as unknown as { Watch(): ClientDuplexStream<WatchRequest, WatchResponse> }).Watch();
    const responses: WatchResponse[] = [];
    stream.on("data", (response: WatchResponse) => responses.push(response));
    stream.on("error", () => {});
    return { stream, responses };
  }

  async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
    for (let waited = 0; !condition(); waited += 10) {
      if (waited > timeoutMs) throw new Error("timed out waiting");
      await sleep(10);
    }
  }

  it("multiplexes many watchers on one stream and many streams on one connection", async () => {
    const watch = open(new Watch(member.address, credentials.createInsecure()));
    const kv = open(new KV(member.address, credentials.createInsecure()));
    const streams = [watchStream(watch), watchStream(watch), watchStream(watch)];
    for (const { stream } of streams) {
      stream.write({ create_request: { key: utf8("m/a") } });
      stream.write({ create_request: { key: utf8("m/"), range_end: utf8("m0") } });
    }
    await until(() => streams.every(({ responses }) => responses.filter((r) => r.created).length === 2));
    expect(streams.map(({ responses }) => responses.map((r) => r.watch_id))).toEqual([[0, 1], [0, 1], [0, 1]]);
    const put = await call<PutResponse>(kv, "Put", { key: utf8("m/a"), value: utf8("1") });
    await until(() => streams.every(({ responses }) => responses.filter((r) => r.events.length > 0).length === 2));
    for (const { responses } of streams) {
      const events = responses.filter((r) => r.events.length > 0);
      expect(events.map((r) => [r.watch_id, r.header.revision, r.events[0]?.kv.mod_revision])).toEqual([
        [0, put.header.revision, put.header.revision],
        [1, put.header.revision, put.header.revision],
      ]);
    }
    for (const { stream } of streams) stream.end();
  });

  it("answers a write before sending the watch events it caused, the order a real etcd mostly shows", async () => {
    // One connection (the default subchannel pool shares it), so arrival order is the order the
    // server wrote. Per put: H = the answer's headers, A = its status (the call is complete),
    // E = the watch event. A real etcd 3.4.23 gave HAE for 122 of 150 puts (its apply and its
    // watch send loop are separate goroutines; EHA or HEA otherwise); etcdsim's send loop runs on
    // the next turn, so always HAE. Events written inside the apply came first every time (HEA).
    const watch = open(new Watch(member.address, credentials.createInsecure()));
    const kv = open(new KV(member.address, credentials.createInsecure()));
    const { stream, responses } = watchStream(watch);
    stream.write({ create_request: { key: utf8("order/k") } });
    await until(() => responses.length === 1);
    type PutCall = (request: object, callback: (error: ServiceError | null) => void) => { on(event: "metadata", listener: () => void): void };
    const put = (kv as unknown as { Put: PutCall }).Put.bind(kv);
    const rounds: string[] = [];
    for (let i = 0; i < 20; i++) {
      let round = "";
      const events = responses.length;
      stream.once("data", () => (round += "E"));
      await new Promise<void>((resolve, reject) => {
        const answer = put({ key: utf8("order/k"), value: utf8(String(i)) }, (error) => {
          round += "A";
          if (error === null) resolve();
          else reject(error);
        });
        answer.on("metadata", () => (round += "H"));
      });
      await until(() => responses.length === events + 1);
      rounds.push(round);
    }
    expect(rounds).toEqual(Array.from({ length: 20 }, () => "HAE"));
    stream.end();
  });

  it("keeps serving other streams while one watch client never reads, and delivers everything once it reads", async () => {
    const slow = open(new Watch(member.address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }));
    const fast = open(new Watch(member.address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 }));
    const kv = open(new KV(member.address, credentials.createInsecure()));
    const stalled = watchStream(slow);
    const live = watchStream(fast);
    stalled.stream.write({ create_request: { key: utf8("s/"), range_end: utf8("s0") } });
    live.stream.write({ create_request: { key: utf8("s/"), range_end: utf8("s0") } });
    await until(() => stalled.responses.length === 1 && live.responses.length === 1);
    stalled.stream.pause(); // stop reading: HTTP/2 flow control backs up into the server
    const value = new Uint8Array(16 * 1024).fill(0x61);
    const puts = 300; // ~4.8 MB of events: far past the HTTP/2 windows and grpc-js's buffers
    for (let i = 0; i < puts; i++) await call(kv, "Put", { key: utf8(`s/${i % 10}`), value });
    await until(() => live.responses.reduce((n, r) => n + r.events.length, 0) === puts, 20_000);
    expect(member.etcd.cluster).toBeDefined(); // the server answered every put meanwhile
    stalled.stream.resume();
    await until(() => stalled.responses.reduce((n, r) => n + r.events.length, 0) === puts, 20_000);
    const revisions = stalled.responses.flatMap((r) => r.events.map((e) => e.kv.mod_revision));
    expect(new Set(revisions).size).toBe(puts); // each event once, none twice
    expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
    stalled.stream.end();
    live.stream.end();
  }, 60_000);

  it("opens a thousand watch streams on one connection and still answers", async () => {
    const watch = open(new Watch(member.address, credentials.createInsecure()));
    const kv = open(new KV(member.address, credentials.createInsecure()));
    const streams = Array.from({ length: 1000 }, () => watchStream(watch));
    for (const { stream } of streams) stream.write({ create_request: { key: utf8("thousand") } });
    await until(() => streams.every(({ responses }) => responses.length === 1), 20_000);
    await call(kv, "Put", { key: utf8("thousand"), value: utf8("x") });
    await until(() => streams.every(({ responses }) => responses.length === 2), 20_000);
    for (const { stream } of streams) stream.cancel();
    const range = await call<RangeResponse>(kv, "Range", { key: utf8("thousand") });
    expect(range.count).toBe(1);
  }, 60_000);

  it("answers each keep-alive on the stream in order, TTL 0 for an unknown lease, and ends when the client does", async () => {
    const lease = open(new Lease(member.address, credentials.createInsecure()));
    const granted = await call<{ ID: bigint; TTL: number }>(lease, "LeaseGrant", { TTL: 60 });
    const stream = (lease as unknown as { LeaseKeepAlive(): ClientDuplexStream<object, { ID: bigint; TTL: number }> }).LeaseKeepAlive();
    const answers: Array<{ ID: bigint; TTL: number }> = [];
    stream.on("data", (answer: { ID: bigint; TTL: number }) => answers.push(answer));
    const ended = new Promise<void>((resolve) => stream.on("status", () => resolve()));
    stream.write({ ID: granted.ID });
    stream.write({ ID: 42n });
    stream.write({ ID: granted.ID });
    stream.end();
    await ended;
    expect(answers.map((a) => [a.ID, a.TTL])).toEqual([
      [granted.ID, 60],
      [42n, 0],
      [granted.ID, 60],
    ]);
  });
});

describe("limits from flags", () => {
  it("refuses a txn over --max-txn-ops and a put over a smaller --max-request-bytes", async () => {
    const member = await startMember({ maxTxnOps: 2, grpcLimits: { maxRequestBytes: 1000 } });
    const KV = clientClass("etcdserverpb.KV");
    const kv = new KV(member.address, credentials.createInsecure());
    const put = (key: string) => ({ request_put: { key: utf8(key), value: utf8("v") } });
    expect(await failure(call(kv, "Txn", { success: [put("a"), put("b"), put("c")] }))).toEqual({
      code: 3,
      details: "etcdserver: too many operations in txn request",
    });
    expect(await failure(call(kv, "Put", { key: utf8("k"), value: new Uint8Array(2000) }))).toEqual({ code: 3, details: "etcdserver: request is too large" });
    expect(await failure(call(kv, "Put", { key: utf8("k"), value: new Uint8Array(600_000) }))).toEqual({
      code: 8,
      details: "grpc: received message larger than max (600007 vs. 525288)",
    });
    const range = await call<RangeResponse>(kv, "Range", { key: utf8("a"), range_end: utf8("z") });
    expect(range.header.revision).toBe(1); // nothing applied
    kv.close();
    await member.etcd.close();
  });
});

describe("--max-concurrent-streams", () => {
  it("holds a connection's extra stream until one of its open streams ends", async () => {
    const member = await startMember({ grpcLimits: { maxConcurrentStreams: 2 } });
    const Watch = clientClass("etcdserverpb.Watch");
    const KV = clientClass("etcdserverpb.KV");
    // One channel for both clients, so the calls share one HTTP/2 connection.
    const options = { "grpc.use_local_subchannel_pool": 0 };
    const watch = new Watch(member.address, credentials.createInsecure(), options);
    const kv = new KV(member.address, credentials.createInsecure(), options);
    await call(kv, "Range", { key: utf8("warm") }); // the connection is up and its SETTINGS known
    const streams = [0, 1].map(() => (watch as unknown as { Watch(): ClientDuplexStream<WatchRequest, WatchResponse> }).Watch());
    for (const stream of streams) {
      stream.on("error", () => {});
      stream.write({ create_request: { key: utf8("held") } });
    }
    await sleep(300);
    let answered = false;
    const range = call(kv, "Range", { key: utf8("held") }).then(() => (answered = true));
    await sleep(500);
    expect(answered).toBe(false); // the third stream waits for a free slot
    streams[0]?.cancel();
    await range;
    expect(answered).toBe(true);
    streams[1]?.cancel();
    watch.close();
    kv.close();
    await member.etcd.close();
  });
});

describe("TLS on the client port", () => {
  const tls = { certFile: join(CERTS, "certs", "etcd0.localhost.crt"), keyFile: join(CERTS, "private", "etcd0.localhost.key") };
  const ca = readFileSync(join(CERTS, "certs", "ca.crt"));

  it("serves gRPC over ALPN h2 and HTTP/1.1 on the same https port", async () => {
    const member = await startMember({ listenClientUrl: "https://127.0.0.1:0", tls });
    expect(member.etcd.clientUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const KV = clientClass("etcdserverpb.KV");
    const kv = new KV(member.address, credentials.createSsl(ca));
    const put = await call<PutResponse>(kv, "Put", { key: utf8("tls"), value: utf8("yes") });
    expect(put.header.revision).toBe(2);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`${member.etcd.clientUrl}/version`, { ca, ALPNProtocols: ["http/1.1"] } as Parameters<typeof httpsRequest>[1], (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve(text));
      });
      req.on("error", reject);
      req.end();
    });
    expect(body).toBe('{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}');
    kv.close();
    await member.etcd.close();
  });

  it("requires a client certificate when --trusted-ca-file is given", async () => {
    const member = await startMember({ listenClientUrl: "https://127.0.0.1:0", tls: { ...tls, trustedCaFile: join(CERTS, "certs", "ca.crt") } });
    const KV = clientClass("etcdserverpb.KV");
    const kv = new KV(member.address, credentials.createSsl(ca));
    const error = await failure(call(kv, "Range", { key: utf8("x") }));
    expect(error.code).toBe(14); // Unavailable: the handshake is refused
    kv.close();
    await member.etcd.close();
  });
});

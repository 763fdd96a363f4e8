/**
 * A broken invariant is a bug, never an answer (issue 15): where etcd panics, Go's net/http closes
 * the connection without a response, and so do the v2 keys handler and the v3 gateway. Each test
 * makes the store break an invariant on one request and checks that no status line comes back.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SimulatedClock } from "../shared/clock.js";
import { createV2Handler } from "../v2/http.js";
import { V2Store } from "../v2/store.js";
import { InvariantViolation as V2InvariantViolation } from "../v2/v2error.js";
import { InvariantViolation as V3InvariantViolation } from "../v3/errors.js";
import { EtcdServer } from "../v3/etcdServer.js";
import { createV3Gateway } from "../v3/gateway.js";

let server: Server | undefined;

afterEach(async () => {
  vi.restoreAllMocks();
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => (server as Server).close(() => resolve()));
  server = undefined;
});

/** Serves `handler` on a free loopback port and returns its base URL. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<string> {
  server = createServer((req, res) => {
    if (!handler(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => (server as Server).listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${((server as Server).address() as AddressInfo).port}`;
}

/** The status of the answer, or "no answer" when the connection closed without one. */
async function statusOf(url: string, init: RequestInit): Promise<number | "no answer"> {
  try {
    return (await fetch(url, init)).status;
  } catch {
    return "no answer";
  }
}

describe("a broken invariant is never turned into an answer", () => {
  it("v2 keys: the connection closes instead of a 300 Raft Internal Error", async () => {
    const clock = new SimulatedClock();
    const store = new V2Store();
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const url = await serve(
      createV2Handler({ store, clock, cluster: { clusterId: "1", memberId: "2", name: "default", peerUrls: [], clientUrls: [] } }),
    );
    expect(await statusOf(`${url}/v2/keys/a`, { method: "GET" })).toBe(404); // a normal error is still answered
    vi.spyOn(store, "get").mockImplementation(() => {
      throw new V2InvariantViolation("test: a node created after its parent");
    });
    expect(await statusOf(`${url}/v2/keys/a`, { method: "GET" })).toBe("no answer");
  });

  it("v3 gateway: the connection closes instead of a gRPC Unknown answer", async () => {
    const etcd = new EtcdServer({ clock: new SimulatedClock() });
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const url = await serve(createV3Gateway(etcd));
    const body = JSON.stringify({ key: Buffer.from("a").toString("base64") });
    expect(await statusOf(`${url}/v3/kv/range`, { method: "POST", body })).toBe(200);
    vi.spyOn(etcd, "range").mockImplementation(() => {
      throw new V3InvariantViolation("test: index points at a missing revision");
    });
    expect(await statusOf(`${url}/v3/kv/range`, { method: "POST", body })).toBe("no answer");
  });
});

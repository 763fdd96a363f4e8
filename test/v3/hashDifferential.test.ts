/**
 * HashKV and Hash of the simulator against a real etcd 3.4.23 after the same scripted history of
 * puts, deletes, txns, leases (with explicit IDs) and physical compactions (grpc.md §5.2).
 *
 * Both servers get the same requests through the JSON gateway. The simulator runs in-process
 * (an EtcdServer behind `createV3Gateway`) as the same member: the real etcd's member ID, name,
 * peer URL and client URL. The real etcd's HashKV is read with `etcdctl endpoint hashkv` (the
 * gateway serves Hash on /v3/maintenance/hash, HashKV only exists over gRPC); its Hash through the
 * gateway. Nothing is normalised: the hashes must be equal numbers.
 *
 * HashKV depends only on the key bucket, so it matches for any history whose lease IDs match.
 * Hash covers every bucket, so it matches only because the simulator writes the members, cluster,
 * auth, lease, meta and alarm rows a real member writes, as that member; a member started with
 * other URLs, or a lease granted without an explicit ID, gives another Hash.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { RealClock } from "../../shared/clock.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { createV3Gateway } from "../../v3/gateway.js";
import { memberIdentityFor } from "../../server/v3Mount.js";
import { ETCDCTL_BINARY, etcdAvailable, etcdctlAvailable, startEtcd, type RealEtcd } from "../support/realEtcd.js";
import { b64, sendV3 } from "../support/differentialV3.js";

describe.skipIf(!etcdAvailable() || !etcdctlAvailable())("HashKV and Hash equal a real etcd's after the same history", () => {
  let etcd: RealEtcd;
  let sim: EtcdServer;
  let http: Server;
  let simUrl: string;
  const mismatches: string[] = [];
  let compared = 0;

  beforeAll(async () => {
    etcd = await startEtcd();
    sim = new EtcdServer({
      clock: new RealClock(),
      member: memberIdentityFor({ initialAdvertisePeerUrls: [etcd.peerUrl] }),
      memberAttributes: { name: etcd.name, peerURLs: [etcd.peerUrl], clientURLs: [etcd.clientUrl] },
    });
    const gateway = createV3Gateway(sim);
    http = createServer((req, res) => {
      if (!gateway(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    simUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    process.stdout.write(`hash differential: ${compared - mismatches.length} of ${compared} hashes equal\n`);
    await new Promise<void>((resolve) => (http === undefined ? resolve() : http.close(() => resolve())));
    await etcd?.stop();
  });

  /** Sends one request to both; the two answers must have the same status. */
  async function both(path: string, body: object): Promise<void> {
    const text = JSON.stringify(body);
    const [real, simulated] = [await sendV3(etcd.clientUrl, "POST", path, text), await sendV3(simUrl, "POST", path, text)];
    expect(`${path} ${text} → ${simulated.status}`).toBe(`${path} ${text} → ${real.status}`);
  }
  const put = (key: string, value: string, extra: object = {}) => both("/v3/kv/put", { key: b64(key), value: b64(value), ...extra });
  const del = (key: string, extra: object = {}) => both("/v3/kv/deleterange", { key: b64(key), ...extra });

  function realHashKV(revision: number): { hash: number; compact_revision: number; revision: number } | string {
    const result = spawnSync(ETCDCTL_BINARY, [`--endpoints=${etcd.clientUrl}`, "endpoint", "hashkv", `--rev=${revision}`, "-w", "json"], {
      encoding: "utf8",
      env: { ...process.env, ETCDCTL_API: "3" },
    });
    // A refusal: the last stderr line is `Error: <message>`.
    if (result.status !== 0) return (result.stderr.trim().split("\n").at(-1) ?? "").replace(/^Error: /, "");
    const [entry] = JSON.parse(result.stdout) as Array<{ HashKV: { header: { revision: number }; hash: number; compact_revision: number } }>;
    if (entry === undefined) throw new Error(`no hashkv answer: ${result.stdout}`);
    return { hash: entry.HashKV.hash, compact_revision: entry.HashKV.compact_revision, revision: entry.HashKV.header.revision };
  }

  function simHashKV(revision: number): { hash: number; compact_revision: number; revision: number } | string {
    try {
      const response = sim.hashKV({ revision });
      return { hash: response.hash, compact_revision: response.compact_revision, revision: response.header.revision };
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** HashKV at `revisions` (0 = now) on both sides. */
  function compareHashKV(step: string, revisions: number[]): void {
    for (const revision of revisions) {
      compared++;
      const real = JSON.stringify(realHashKV(revision));
      const simulated = JSON.stringify(simHashKV(revision));
      if (real !== simulated) mismatches.push(`${step}: HashKV(${revision}) real ${real}, sim ${simulated}`);
    }
  }

  /** Hash through the gateway on both sides (a 200 with the same hash, and the same revision). */
  async function compareHash(step: string): Promise<void> {
    compared++;
    const pick = (body: string) => JSON.stringify([/"revision":"(\d+)"/.exec(body)?.[1], /"hash":(\d+)/.exec(body)?.[1]]);
    const real = await sendV3(etcd.clientUrl, "POST", "/v3/maintenance/hash", "{}");
    const simulated = await sendV3(simUrl, "POST", "/v3/maintenance/hash", "{}");
    if (pick(real.body) !== pick(simulated.body) || real.status !== 200) mismatches.push(`${step}: Hash real ${real.body}, sim ${simulated.body}`);
  }

  it("matches on the history of grpc.md §5.2 at every revision", async () => {
    await compareHash("fresh");
    compareHashKV("fresh", [0]);
    await put("foo", "bar");
    await put("foo", "bar2");
    await del("foo");
    await put("a", "1");
    await put("b b", "");
    compareHashKV("spec history", [0, 1, 2, 3, 4, 5, 6]);
    await compareHash("spec history");
    expect(mismatches.join("\n")).toBe("");
  });

  it("matches after leases with explicit IDs, txns, range deletes and revokes", async () => {
    await both("/v3/lease/grant", { ID: 1000, TTL: 600 });
    await both("/v3/lease/grant", { ID: "3000", TTL: 900 });
    await put("lk", "leased", { lease: 1000 });
    await put("lk2", "leased too", { lease: 3000 });
    await put("lk3", "", { lease: 3000 });
    await both("/v3/kv/txn", {
      compare: [{ key: b64("a"), target: "VALUE", result: "EQUAL", value: b64("1") }],
      success: [
        { request_put: { key: b64("a"), value: b64("2") } },
        { request_put: { key: b64("c"), value: b64("3") } },
        { request_delete_range: { key: b64("b b") } },
        { request_range: { key: b64("a") } },
      ],
      failure: [{ request_put: { key: b64("never"), value: b64("x") } }],
    });
    await both("/v3/kv/txn", {
      compare: [{ key: b64("a"), target: "VERSION", result: "GREATER", version: 10 }],
      success: [{ request_put: { key: b64("never"), value: b64("x") } }],
      failure: [
        { request_put: { key: b64("d"), value: b64("4"), lease: 1000 } },
        { request_txn: { success: [{ request_put: { key: b64("e"), value: b64("5") } }] } },
      ],
    });
    for (let i = 0; i < 6; i++) await put(`r${i}`, `v${i}`);
    await del("r1", { range_end: b64("r4") });
    await both("/v3/lease/revoke", { ID: 3000 });
    await put("a", "3");
    compareHashKV("leases and txns", [0, 7, 8, 10, 11, 12, 15, 18, 19, 20]);
    await compareHash("leases and txns");
    expect(mismatches.join("\n")).toBe("");
  });

  it("matches after physical compactions, below, at and above the compacted revision", async () => {
    await both("/v3/kv/compaction", { revision: 9, physical: true });
    compareHashKV("compacted at 9", [0, 8, 9, 10, 12, 16, 20]);
    await compareHash("compacted at 9");
    await put("a", "4");
    await del("c");
    await put("c", "again");
    await both("/v3/kv/compaction", { revision: 21, physical: true });
    compareHashKV("compacted at 21", [0, 21, 22, 23, 24]);
    await compareHash("compacted at 21");
    expect(compared).toBeGreaterThan(30);
    expect(mismatches.join("\n")).toBe("");
  });
});

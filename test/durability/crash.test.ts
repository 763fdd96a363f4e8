/**
 * kill -9 in the middle of concurrent v2 and v3 writes, then a restart on the same data dir: the
 * durability promise of datadir.md §2.4 and §9.5, checked the same way on etcdsim and on a real etcd 3.4.
 *
 * Each round: 8 clients write as fast as they can (v3 puts over the JSON gateway and over gRPC, v3 deletes
 * of their own earlier keys, 3-key txns, lease grants with a key attached, v2 sets); after a random 150–500 ms the server gets
 * SIGKILL. Every other round, 4 KiB of garbage is then appended to the newest WAL segment. The server
 * restarts on the same dir and every acknowledgement so far is checked:
 *   - an acknowledged put is there with the mod_revision it was answered with (v2: the modifiedIndex);
 *   - an acknowledged delete is gone; a txn's three keys are all there at one revision or all absent;
 *   - an acknowledged lease exists, with its key;
 *   - the revision and the v2 index never go back, and the next put gets exactly revision + 1.
 * Unacknowledged writes may or may not be there (they can reach the log just before the kill).
 */
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sleep } from "../../shared/clock.js";
import type { Client } from "@grpc/grpc-js";
import { Random } from "../../shared/random.js";
import { utf8 } from "../../shared/bytes.js";
import type { PutResponse } from "../../v3/rpc.js";
import { grpcCall, grpcClient } from "../support/grpcClient.js";
import { etcdAvailable, freePort, startEtcd } from "../support/realEtcd.js";
import { startSim } from "../support/simServer.js";

const ROUNDS = 6;
const CLIENTS = 8;

interface Running {
  readonly clientUrl: string;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

interface Target {
  readonly name: string;
  readonly available: boolean;
  start(dataDir: string, port: number): Promise<Running>;
}

const TARGETS: readonly Target[] = [
  {
    name: "etcdsim",
    available: true,
    async start(dataDir, port) {
      const sim = await startSim({ port, extraArgs: ["--data-dir", dataDir] });
      return {
        clientUrl: sim.clientUrl,
        kill: async () => {
          process.kill(sim.pid, "SIGKILL");
          await sim.exited;
        },
        stop: () => sim.stop(),
      };
    },
  },
  {
    name: "real etcd 3.4",
    available: etcdAvailable(),
    async start(dataDir, port) {
      return startEtcd({ dataDir, clientPort: port });
    },
  },
];

const b64 = (text: string): string => Buffer.from(text).toString("base64");
const unb64 = (text: string | undefined): string => Buffer.from(text ?? "", "base64").toString();

async function v3(url: string, path: string, body: unknown): Promise<Record<string, any>> {
  const response = await fetch(`${url}/v3/${path}`, { method: "POST", body: JSON.stringify(body) });
  const json = (await response.json()) as Record<string, any>;
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function v2Put(url: string, key: string, value: string): Promise<number> {
  const response = await fetch(`${url}/v2/keys/${key}`, { method: "PUT", body: new URLSearchParams({ value }) });
  const json = (await response.json()) as { node?: { modifiedIndex?: number } };
  if (response.status >= 300 || json.node?.modifiedIndex === undefined) throw new Error(`v2 put ${key}: ${response.status}`);
  return json.node.modifiedIndex;
}

/** What the clients were told. */
interface Acks {
  puts: Map<string, { value: string; revision: number }>;
  deleted: Map<string, number>;
  txns: Map<string, number>;
  leases: Map<string, string>;
  v2: Map<string, { value: string; index: number }>;
  maxRevision: number;
  maxV2Index: number;
  /** Acknowledgements so far (any kind). */
  count: number;
}

/** One client's loop until `stop()` says so; failures (the kill) end it. */
async function client(url: string, id: string, random: Random, acks: Acks, running: () => boolean): Promise<void> {
  const kv = grpcClient("etcdserverpb.KV", new URL(url).host);
  try {
    await writes(url, kv, id, random, acks, running);
  } finally {
    kv.close();
  }
}

async function writes(url: string, kv: Client, id: string, random: Random, acks: Acks, running: () => boolean): Promise<void> {
  const mine: string[] = [];
  for (let i = 0; running(); i++) {
    const choice = random.int(0, 9);
    try {
      if (choice <= 3) {
        const key = `crash/put/${id}-${i}`;
        const value = `v${i}`;
        const answer = await v3(url, "kv/put", { key: b64(key), value: b64(value) });
        const revision = Number(answer["header"].revision);
        acks.puts.set(key, { value, revision });
        acks.maxRevision = Math.max(acks.maxRevision, revision);
        mine.push(key);
      } else if (choice === 4 && mine.length > 0) {
        const key = mine.shift() as string;
        acks.puts.delete(key); // from now on its fate is unknown until the delete is acknowledged
        const answer = await v3(url, "kv/deleterange", { key: b64(key) });
        acks.deleted.set(key, Number(answer["header"].revision));
      } else if (choice <= 6) {
        const base = `crash/txn/${id}-${i}`;
        const answer = await v3(url, "kv/txn", {
          compare: [{ key: b64(`${base}/a`), target: "VERSION", result: "EQUAL", version: "0" }],
          success: ["a", "b", "c"].map((part) => ({ request_put: { key: b64(`${base}/${part}`), value: b64(part) } })),
        });
        const revision = Number(answer["header"].revision);
        acks.txns.set(base, revision);
        acks.maxRevision = Math.max(acks.maxRevision, revision);
      } else if (choice === 7) {
        const grant = await v3(url, "lease/grant", { TTL: 600 });
        const key = `crash/lease/${id}-${i}`;
        const answer = await v3(url, "kv/put", { key: b64(key), value: b64("l"), lease: grant["ID"] });
        acks.leases.set(String(grant["ID"]), key);
        acks.puts.set(key, { value: "l", revision: Number(answer["header"].revision) });
      } else if (choice === 8) {
        const key = `crash/grpc/${id}-${i}`;
        const answer = await grpcCall<PutResponse>(kv, "Put", { key: utf8(key), value: utf8(`g${i}`) });
        const revision = Number(answer.header?.revision);
        acks.puts.set(key, { value: `g${i}`, revision });
        acks.maxRevision = Math.max(acks.maxRevision, revision);
      } else {
        const key = `crash-${id}-${i}`;
        const index = await v2Put(url, key, `x${i}`);
        acks.v2.set(key, { value: `x${i}`, index });
        acks.maxV2Index = Math.max(acks.maxV2Index, index);
      }
    } catch {
      return; // the server died under this request: it is not acknowledged
    }
    acks.count++;
  }
}

/** Checks every acknowledgement against the restarted server; returns the revision and v2 index seen. */
async function verify(url: string, acks: Acks): Promise<{ revision: number; v2Index: number }> {
  const range = await v3(url, "kv/range", { key: b64("crash/"), range_end: b64("crash0") });
  const revision = Number(range["header"].revision);
  const found = new Map<string, { value: string; mod: number }>();
  for (const kv of (range["kvs"] ?? []) as Array<Record<string, string>>) found.set(unb64(kv["key"]), { value: unb64(kv["value"]), mod: Number(kv["mod_revision"]) });
  for (const [key, ack] of acks.puts) expect(found.get(key), `acknowledged put ${key}`).toEqual({ value: ack.value, mod: ack.revision });
  for (const key of acks.deleted.keys()) expect(found.has(key), `acknowledged delete ${key}`).toBe(false);
  const txnBases = new Set([...found.keys()].filter((key) => key.startsWith("crash/txn/")).map((key) => key.slice(0, key.lastIndexOf("/"))));
  for (const base of new Set([...txnBases, ...acks.txns.keys()])) {
    const parts = ["a", "b", "c"].map((part) => found.get(`${base}/${part}`));
    const acked = acks.txns.get(base);
    if (acked !== undefined) expect(parts.map((p) => p?.mod), `acknowledged txn ${base}`).toEqual([acked, acked, acked]);
    else expect(new Set(parts.map((p) => p?.mod)).size, `txn ${base} half applied`).toBe(1);
  }
  const leases = await v3(url, "lease/leases", {});
  const ids = new Set(((leases["leases"] ?? []) as Array<{ ID: string }>).map((lease) => lease.ID));
  for (const id of acks.leases.keys()) expect(ids.has(id), `acknowledged lease ${id}`).toBe(true);
  const v2 = await fetch(`${url}/v2/keys/`);
  const v2Index = Number(v2.headers.get("x-etcd-index"));
  const nodes = (((await v2.json()) as { node: { nodes?: Array<{ key: string; value: string; modifiedIndex: number }> } }).node.nodes ?? []).filter((n) => n.key.startsWith("/crash-"));
  const v2Found = new Map(nodes.map((n) => [n.key.slice(1), { value: n.value, index: n.modifiedIndex }]));
  for (const [key, ack] of acks.v2) expect(v2Found.get(key), `acknowledged v2 set ${key}`).toEqual(ack);
  expect(revision).toBeGreaterThanOrEqual(acks.maxRevision);
  expect(v2Index).toBeGreaterThanOrEqual(acks.maxV2Index);
  return { revision, v2Index };
}

function newestWalSegment(dataDir: string): string {
  const dir = join(dataDir, "member", "wal");
  const names = readdirSync(dir).filter((name) => name.endsWith(".wal")).sort();
  return join(dir, names[names.length - 1] as string);
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.each(TARGETS)("$name", (target) => {
  it.skipIf(!target.available)(
    `loses no acknowledged write over ${ROUNDS} rounds of kill -9 under concurrent v2 and v3 writes, with garbage after the WAL every other round`,
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "etcdsim-crash-"));
      dirs.push(dataDir);
      const random = new Random(11);
      const acks: Acks = { puts: new Map(), deleted: new Map(), txns: new Map(), leases: new Map(), v2: new Map(), maxRevision: 0, maxV2Index: 0, count: 0 };
      let seen = { revision: 0, v2Index: 0 };
      const port = await freePort();
      let server = await target.start(dataDir, port);
      try {
        for (let round = 0; round < ROUNDS; round++) {
          let running = true;
          const clients = Array.from({ length: CLIENTS }, (_, c) => client(server.clientUrl, `${round}-${c}`, new Random(random.int(0, 1e9)), acks, () => running));
          // Kill at a random moment, but only once this round has some acknowledged writes (a loaded
          // machine answers slowly), and at most 15 s in.
          const countAtStart = acks.count;
          await sleep(random.int(150, 500));
          for (let waited = 0; acks.count - countAtStart < 20 && waited < 15_000; waited += 50) await sleep(50);
          await server.kill();
          running = false;
          await Promise.all(clients);
          if (round % 2 === 1) appendFileSync(newestWalSegment(dataDir), Buffer.from(Array.from({ length: 4096 }, () => random.int(0, 255))));
          server = await target.start(dataDir, port);
          const now = await verify(server.clientUrl, acks);
          expect(now.revision, "revision went back").toBeGreaterThanOrEqual(seen.revision);
          expect(now.v2Index, "v2 index went back").toBeGreaterThanOrEqual(seen.v2Index);
          seen = now;
          const next = await v3(server.clientUrl, "kv/put", { key: b64(`crash/next/${round}`), value: b64("n") });
          expect(Number(next["header"].revision), "the next write's revision").toBe(now.revision + 1);
          acks.puts.set(`crash/next/${round}`, { value: "n", revision: now.revision + 1 });
          acks.maxRevision = now.revision + 1;
          seen = { ...seen, revision: now.revision + 1 };
        }
        expect(acks.puts.size + acks.v2.size, "writes acknowledged").toBeGreaterThan(ROUNDS * 10);
      } finally {
        await server.stop();
      }
    },
    420_000,
  );
});

/**
 * The data dir's costs: durable puts per second against a real etcd 3.4 on the same disk, fsyncs per
 * acknowledged write (group commit), and the time a restart takes to recover 1M revisions.
 *
 * Puts: etcdsim (`server/main.ts` with a fresh --data-dir, as `startSim` starts it) and etcd each run as
 * their own process, driven by the same client (`httpLoad.ts`), taking turns trial by trial, v2 and v3,
 * with 1 and 64 requests in flight. Both answer only after their WAL fdatasync.
 *
 * fsyncs per write: the WAL fsync counter of `GET /metrics` (`etcd_disk_wal_fsync_duration_seconds_count`,
 * served under etcd's name by both) before and after the 64-client v3 trials, over the puts acknowledged.
 * Below 1 means one fsync covered several requests.
 *
 * Recovery: 1M revisions (100k keys × 10 versions) written in process to a disk backend (LMDB), then the
 * time to open it again and rebuild the key index from it (etcd's restore), against a raw scan of the same
 * LMDB rows that decodes nothing.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open } from "lmdb";
import { DiskBackend } from "../server/backend/backend.js";
import { KVStore } from "../v3/kvstore.js";
import { etcdAvailable, startEtcd, type RealEtcd } from "../test/support/realEtcd.js";
import { startSim } from "../test/support/simServer.js";
import { median, nowMs } from "./harness.js";
import { loadTest, type LoadRequest } from "./httpLoad.js";
import type { BenchContext } from "./main.js";
import { duration, si, skippedRow, type Row } from "./table.js";

const TRIALS = 2;
const VALUE = "value-0123456789";
const RECOVERY_REVISIONS = 1_000_000;
const RECOVERY_KEYS = 100_000;

interface Api {
  readonly name: string;
  request(i: number, round: number): LoadRequest;
}

const APIS: readonly Api[] = [
  {
    name: "v2",
    request: (i, round) => ({ method: "PUT", path: `/v2/keys/durable/r${round}/k${i}`, headers: { "content-type": "application/x-www-form-urlencoded" }, body: `value=${VALUE}` }),
  },
  {
    name: "v3",
    request: (i, round) => ({
      method: "POST",
      path: "/v3/kv/put",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ key: Buffer.from(`durable/r${round}/k${i}`).toString("base64"), value: Buffer.from(VALUE).toString("base64") }),
    }),
  },
];

async function walFsyncs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^etcd_disk_wal_fsync_duration_seconds_count (\d+)/m.exec(text);
  if (match === null) throw new Error(`no WAL fsync counter at ${url}/metrics`);
  return Number(match[1]);
}

/** One trial: puts/s, and fsyncs per acknowledged put. */
async function trial(url: string, api: Api, round: number, concurrency: number): Promise<{ rate: number; fsyncsPerPut: number }> {
  const before = await walFsyncs(url);
  const result = await loadTest({ url, requests: concurrency === 1 ? 800 : 4000, concurrency, maxMs: 4000, request: (i) => api.request(i, round) });
  if (result.completed === 0 || result.failed > 0) throw new Error(`puts failed: ${result.firstFailure ?? "no answer"}`);
  const after = await walFsyncs(url);
  return { rate: result.completed / (result.elapsedMs / 1000), fsyncsPerPut: (after - before) / result.completed };
}

/** Writes the revisions in a scope of their own, so the writer's memory is free before the timing. */
function writeRevisions(path: string): void {
  const backend = new DiskBackend(path);
  const store = new KVStore({ backend });
  const value = new TextEncoder().encode(VALUE);
  for (let i = 0; i < RECOVERY_REVISIONS; i++) store.put(new TextEncoder().encode(`key/${(i % RECOVERY_KEYS).toString().padStart(6, "0")}`), value, 0n);
  backend.commit();
  void backend.close();
}

/** Writes 1M revisions to a disk backend, then times reopening it vs a raw scan of its rows. */
function recovery(context: BenchContext): Row {
  const dir = mkdtempSync(join(tmpdir(), "etcdsim-bench-recovery-"));
  try {
    const path = join(dir, "db");
    writeRevisions(path);
    const restoreMs: number[] = [];
    const scanMs: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      let start = nowMs();
      const env = open({ path, noSubdir: true, maxDbs: 16, compression: false, readOnly: true });
      const keyDb = env.openDB<Buffer, Buffer>("key", { keyEncoding: "binary", encoding: "binary", compression: false });
      let rows = 0;
      for (const entry of keyDb.getRange({})) if (entry.value.length > 0) rows++;
      scanMs.push(nowMs() - start);
      void env.close();
      if (rows !== RECOVERY_REVISIONS) throw new Error(`scanned ${rows} rows`);
      start = nowMs();
      const reopened = new DiskBackend(path);
      const restored = new KVStore({ backend: reopened });
      restoreMs.push(nowMs() - start);
      if (restored.rev() !== RECOVERY_REVISIONS + 1) throw new Error(`restored revision ${restored.rev()}`);
      void reopened.close();
      (globalThis as { gc?: () => void }).gc?.();
    }
    const subject = median(restoreMs);
    const baseline = median(scanMs);
    context.log(`recovery of ${RECOVERY_REVISIONS} revisions: ${restoreMs.map((ms) => ms.toFixed(0)).join(", ")} ms; raw scan ${scanMs.map((ms) => ms.toFixed(0)).join(", ")} ms`);
    return {
      bench: "durable",
      measure: "restart: open the backend and rebuild the index, 1M revisions",
      subject: duration(subject),
      baseline: `${duration(baseline)} raw LMDB scan of the rows`,
      ratio: `${(subject / baseline).toFixed(1)}×`,
      target: "≤ 10×",
      verdict: subject / baseline <= 10 ? "pass" : "MISS",
      note: "100k keys × 10 versions; decoding every KeyValue and building the tree index is the cost over the scan",
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(context: BenchContext): Promise<Row[]> {
  const rows: Row[] = [];
  if (!etcdAvailable()) {
    rows.push(skippedRow("durable", "durable puts/s vs a real etcd 3.4", "≥ 1×", "real etcd not installed"));
  } else {
    const sim = await startSim();
    let etcd: RealEtcd | undefined;
    try {
      etcd = await startEtcd();
      let round = 0;
      for (const api of APIS) {
        for (const concurrency of [1, 64]) {
          await trial(sim.clientUrl, api, round++, concurrency);
          await trial(etcd.clientUrl, api, round++, concurrency);
          const simTrials: Array<{ rate: number; fsyncsPerPut: number }> = [];
          const etcdTrials: Array<{ rate: number; fsyncsPerPut: number }> = [];
          for (let t = 0; t < TRIALS; t++) {
            const order = t % 2 === 0 ? [sim.clientUrl, etcd.clientUrl] : [etcd.clientUrl, sim.clientUrl];
            for (const url of order) (url === sim.clientUrl ? simTrials : etcdTrials).push(await trial(url, api, round++, concurrency));
          }
          const simRate = median(simTrials.map((r) => r.rate));
          const etcdRate = median(etcdTrials.map((r) => r.rate));
          const ratio = median(simTrials.map((r, i) => r.rate / (etcdTrials[i] as { rate: number }).rate));
          context.log(`${api.name} ×${concurrency}: etcdsim ${simTrials.map((r) => r.rate.toFixed(0)).join(", ")}; etcd ${etcdTrials.map((r) => r.rate.toFixed(0)).join(", ")} puts/s`);
          rows.push({
            bench: "durable",
            measure: `durable puts/s, ${api.name}, ${concurrency} client${concurrency === 1 ? "" : "s"}`,
            subject: `${si(simRate)}puts/s`,
            baseline: `${si(etcdRate)}puts/s real etcd 3.4`,
            ratio: `${ratio.toFixed(2)}×`,
            target: "≥ 1×",
            verdict: ratio >= 1 ? "pass" : "MISS",
            ...(rows.length === 0 ? { note: `same client and disk for both, each answering after its WAL fdatasync; median of ${TRIALS}` } : {}),
          });
          if (concurrency === 64 && api.name === "v3") {
            const simFsyncs = median(simTrials.map((r) => r.fsyncsPerPut));
            const etcdFsyncs = median(etcdTrials.map((r) => r.fsyncsPerPut));
            rows.push({
              bench: "durable",
              measure: "WAL fsyncs per acknowledged v3 put, 64 clients",
              subject: `${simFsyncs.toFixed(3)} fsync/put`,
              baseline: `${etcdFsyncs.toFixed(3)} fsync/put real etcd 3.4`,
              ratio: `${(simFsyncs / etcdFsyncs).toFixed(2)}×`,
              target: "≤ 1×",
              verdict: simFsyncs <= etcdFsyncs ? "pass" : "MISS",
              note: "from etcd_disk_wal_fsync_duration_seconds_count in GET /metrics on both; below 1 fsync/put = group commit",
            });
          }
        }
      }
    } finally {
      await etcd?.stop();
      await sim.stop();
    }
  }
  rows.push(recovery(context));
  return rows;
}

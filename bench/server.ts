/**
 * Server puts per second through v2 HTTP (`PUT /v2/keys/…`) and the v3 JSON gateway
 * (`POST /v3/kv/put`), against a real etcd 3.4 on loopback driven by the same client.
 *
 * Both servers run as their own process (etcdsim's `server/main.ts` through `startSim`, etcd from its binary), on
 * free loopback ports, so the client in this process competes with neither. Each trial sends a
 * bounded number of requests with a fixed number in flight (`httpLoad.ts`), and the two servers
 * take turns trial by trial, as the in-process benches do. Both log every put to their WAL and
 * fdatasync it before answering (`startSim` gives etcdsim a fresh data dir); `npm run bench -- durable`
 * adds 1 and 64 clients and the fsyncs per put.
 *
 * Without an etcd binary the row is skipped with "real etcd not installed".
 */
import { etcdAvailable, startEtcd, type RealEtcd } from "../test/support/realEtcd.js";
import { startSim } from "../test/support/simServer.js";
import { median } from "./harness.js";
import { loadTest, type LoadRequest } from "./httpLoad.js";
import type { BenchContext } from "./main.js";
import { si, skippedRow, type Row } from "./table.js";

/** Requests per trial, and the wall-time cap of one trial. */
const REQUESTS_PER_TRIAL = 4000;
const MAX_TRIAL_MS = 4000;
const WARMUP_REQUESTS = 500;
const TRIALS = 3;
/** Requests in flight: enough to keep a server busy without queueing in the client. */
const CONCURRENCY = 16;

const VALUE = "value-0123456789";

interface Api {
  readonly name: string;
  readonly measure: string;
  request(i: number, round: number): LoadRequest;
}

const APIS: readonly Api[] = [
  {
    name: "v2",
    measure: "server puts/s, v2 HTTP (PUT /v2/keys)",
    request: (i, round) => ({
      method: "PUT",
      path: `/v2/keys/bench/r${round}/k${i}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `value=${VALUE}`,
    }),
  },
  {
    name: "v3",
    measure: "server puts/s, v3 gateway (POST /v3/kv/put)",
    request: (i, round) => ({
      method: "POST",
      path: "/v3/kv/put",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        key: Buffer.from(`bench/r${round}/k${i}`).toString("base64"),
        value: Buffer.from(VALUE).toString("base64"),
      }),
    }),
  },
];

interface RunningServer {
  readonly clientUrl: string;
}

/** One trial: puts per second on `server`. */
async function trial(server: RunningServer, api: Api, round: number, requests: number): Promise<number> {
  const result = await loadTest({
    url: server.clientUrl,
    requests,
    concurrency: CONCURRENCY,
    maxMs: MAX_TRIAL_MS,
    request: (i) => api.request(i, round),
  });
  if (result.completed === 0) throw new Error(`no put succeeded: ${result.firstFailure ?? "no answer"}`);
  if (result.failed > 0) throw new Error(`${result.failed} puts failed, first: ${result.firstFailure ?? ""}`);
  return result.completed / (result.elapsedMs / 1000);
}

export async function run(context: BenchContext): Promise<Row[]> {
  if (!etcdAvailable()) {
    return APIS.map((api) => skippedRow("server", api.measure, "≥ 1×", "real etcd not installed (apt-get install etcd-server)"));
  }
  const sim = await startSim();
  let etcd: RealEtcd | undefined;
  try {
    etcd = await startEtcd();
    const rows: Row[] = [];
    let round = 0;
    for (const api of APIS) {
      await trial(sim, api, round++, WARMUP_REQUESTS);
      await trial(etcd, api, round++, WARMUP_REQUESTS);
      const simRates: number[] = [];
      const etcdRates: number[] = [];
      for (let t = 0; t < TRIALS; t++) {
        // Alternate who goes first, as pairedTrials does.
        if (t % 2 === 0) {
          simRates.push(await trial(sim, api, round++, REQUESTS_PER_TRIAL));
          etcdRates.push(await trial(etcd, api, round++, REQUESTS_PER_TRIAL));
        } else {
          etcdRates.push(await trial(etcd, api, round++, REQUESTS_PER_TRIAL));
          simRates.push(await trial(sim, api, round++, REQUESTS_PER_TRIAL));
        }
      }
      const simRate = median(simRates);
      const etcdRate = median(etcdRates);
      const ratio = median(simRates.map((s, i) => s / (etcdRates[i] as number)));
      context.log(`${api.name}: etcdsim ${simRates.map((r) => r.toFixed(0)).join(", ")}; etcd ${etcdRates.map((r) => r.toFixed(0)).join(", ")} puts/s`);
      rows.push({
        bench: "server",
        measure: api.measure,
        subject: `${si(simRate)}puts/s`,
        baseline: `${si(etcdRate)}puts/s real etcd 3.4`,
        ratio: `${ratio.toFixed(2)}×`,
        target: "≥ 1×",
        verdict: ratio >= 1 ? "pass" : "MISS",
        ...(rows.length === 0
          ? { note: `same client for both: ${CONCURRENCY} requests in flight, keep-alive, ${REQUESTS_PER_TRIAL} puts per trial, median of ${TRIALS}` }
          : {}),
      });
    }
    return rows;
  } finally {
    await etcd?.stop();
    await sim.stop();
  }
}

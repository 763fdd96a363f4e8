/**
 * The v3 API over gRPC on loopback, etcdsim (`server/main.ts`, its own process) against a real etcd
 * 3.4 (its own process), driven by the same grpc-js client with the same concurrency:
 *
 *   grpc puts/s      KV.Put of a fresh key, 16 calls in flight
 *   grpc ranges/s    KV.Range of one key out of 1,000, 16 calls in flight
 *   watch events/s   one Watch stream with 1,000 watchers on one key; 100 puts; events counted
 *                    from the first put until the last of the 100,000 events has arrived
 *
 * The servers take turns trial by trial (the first one alternates), and each row is the median of
 * the per-trial ratios. A real etcd fsyncs its WAL on every put; etcdsim keeps its store in memory.
 * Without an etcd binary the rows are skipped with "real etcd not installed".
 */
import { credentials, makeGenericClientConstructor, type Client, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";
import { etcdAvailable, startEtcd, type RealEtcd } from "../test/support/realEtcd.js";
import { startSim, type SimServer } from "../test/support/simServer.js";
import { protoRegistry } from "../v3/v3rpc/grpc.js";
import type { WatchRequest, WatchResponse } from "../v3/rpc.js";
import { median } from "./harness.js";
import type { BenchContext } from "./main.js";
import { si, skippedRow, type Row } from "./table.js";

const CONCURRENCY = 16;
const CALLS_PER_TRIAL = 4000;
const WARMUP_CALLS = 500;
const TRIALS = 3;
const RANGE_KEYS = 1000;
const WATCHERS = 1000;
const WATCH_PUTS = 100;
const TARGET = "≥ 1×";

const encoder = new TextEncoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);

type Unary = (request: object, callback: (error: ServiceError | null, response?: unknown) => void) => void;

function client(service: string, address: string): Client {
  const Constructor = makeGenericClientConstructor(protoRegistry().serviceDefinition(service, 2 ** 31 - 1), service);
  // A channel of its own per client, so the two servers never share a connection pool entry.
  return new Constructor(address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
}

function unary(target: Client, method: string, request: object): Promise<unknown> {
  return new Promise((resolve, reject) =>
    ((target as unknown as Record<string, Unary>)[method] as Unary).call(target, request, (error, response) => (error === null ? resolve(response) : reject(error))),
  );
}

/** `calls` unary calls with CONCURRENCY in flight; calls/s. */
async function load(target: Client, method: string, calls: number, request: (i: number) => object): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < calls) await unary(target, method, request(next++));
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return calls / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** One Watch stream, WATCHERS watchers on `key`; WATCH_PUTS puts; events/s delivered. */
async function watchTrial(address: string, key: string): Promise<number> {
  const watch = client("etcdserverpb.Watch", address);
  const kv = client("etcdserverpb.KV", address);
  try {
    const stream = (watch as unknown as { Watch(): ClientDuplexStream<WatchRequest, WatchResponse> }).Watch();
    let created = 0;
    let events = 0;
    const expected = WATCHERS * WATCH_PUTS;
    let onProgress: () => void = () => {};
    stream.on("data", (response: WatchResponse) => {
      if (response.created) created++;
      events += response.events.length;
      onProgress();
    });
    stream.on("error", () => {});
    const until = (done: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        onProgress = () => {
          if (done()) resolve();
        };
        onProgress();
      });
    for (let i = 0; i < WATCHERS; i++) stream.write({ create_request: { key: bytes(key) } });
    await until(() => created === WATCHERS);
    const started = process.hrtime.bigint();
    const delivered = until(() => events >= expected);
    for (let i = 0; i < WATCH_PUTS; i++) await unary(kv, "Put", { key: bytes(key), value: bytes(`v${i}`) });
    await delivered;
    const rate = expected / (Number(process.hrtime.bigint() - started) / 1e9);
    stream.cancel();
    return rate;
  } finally {
    watch.close();
    kv.close();
  }
}

interface Subject {
  readonly address: string;
  readonly kv: Client;
}

/** Runs `trial` on both, alternating who goes first; returns the medians and the median ratio. */
async function paired(sim: Subject, etcd: Subject, trial: (subject: Subject, round: number) => Promise<number>): Promise<{ sim: number; etcd: number; ratio: number; all: string }> {
  const simRates: number[] = [];
  const etcdRates: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    if (t % 2 === 0) {
      simRates.push(await trial(sim, t));
      etcdRates.push(await trial(etcd, t));
    } else {
      etcdRates.push(await trial(etcd, t));
      simRates.push(await trial(sim, t));
    }
  }
  const ratio = median(simRates.map((s, i) => s / (etcdRates[i] as number)));
  const all = `etcdsim ${simRates.map((r) => r.toFixed(0)).join(", ")}; etcd ${etcdRates.map((r) => r.toFixed(0)).join(", ")}`;
  return { sim: median(simRates), etcd: median(etcdRates), ratio, all };
}

function row(measure: string, unit: string, result: { sim: number; etcd: number; ratio: number }, note?: string): Row {
  return {
    bench: "grpc",
    measure,
    subject: `${si(result.sim)}${unit}`,
    baseline: `${si(result.etcd)}${unit} real etcd 3.4`,
    ratio: `${result.ratio.toFixed(2)}×`,
    target: TARGET,
    verdict: result.ratio >= 1 ? "pass" : "MISS",
    ...(note === undefined ? {} : { note }),
  };
}

export async function run(context: BenchContext): Promise<Row[]> {
  const measures = ["grpc puts/s (KV.Put)", "grpc ranges/s (KV.Range, 1 key of 1,000)", `watch events/s, ${WATCHERS} watchers on one stream`];
  if (!etcdAvailable()) return measures.map((m) => skippedRow("grpc", m, TARGET, "real etcd not installed (apt-get install etcd-server)"));
  let simServer: SimServer | undefined;
  let etcdServer: RealEtcd | undefined;
  const clients: Client[] = [];
  try {
    simServer = await startSim();
    etcdServer = await startEtcd();
    const subject = (url: string): Subject => {
      const address = url.replace(/^http:\/\//, "");
      const kv = client("etcdserverpb.KV", address);
      clients.push(kv);
      return { address, kv };
    };
    const sim = subject(simServer.clientUrl);
    const etcd = subject(etcdServer.clientUrl);
    for (const s of [sim, etcd]) {
      await load(s.kv, "Put", WARMUP_CALLS, (i) => ({ key: bytes(`warm/${i}`), value: bytes("v") }));
      await load(s.kv, "Put", RANGE_KEYS, (i) => ({ key: bytes(`range/${String(i).padStart(4, "0")}`), value: bytes("value-0123456789") }));
    }
    const puts = await paired(sim, etcd, (s, t) => load(s.kv, "Put", CALLS_PER_TRIAL, (i) => ({ key: bytes(`put/${t}/${i}`), value: bytes("value-0123456789") })));
    context.log(`puts/s: ${puts.all}`);
    const ranges = await paired(sim, etcd, (s) => load(s.kv, "Range", CALLS_PER_TRIAL, (i) => ({ key: bytes(`range/${String(i % RANGE_KEYS).padStart(4, "0")}`) })));
    context.log(`ranges/s: ${ranges.all}`);
    const watch = await paired(sim, etcd, (s, t) => watchTrial(s.address, `watch/${t}`));
    context.log(`watch events/s: ${watch.all}`);
    return [
      row(measures[0] as string, "puts/s", puts, `same grpc-js client for both: ${CONCURRENCY} calls in flight, ${CALLS_PER_TRIAL} calls per trial, median of ${TRIALS}`),
      row(measures[1] as string, "ranges/s", ranges),
      row(measures[2] as string, "events/s", watch, `${WATCH_PUTS} puts to the watched key, ${WATCHERS * WATCH_PUTS} events per trial`),
    ];
  } finally {
    for (const c of clients) c.close();
    await etcdServer?.stop();
    await simServer?.stop();
  }
}

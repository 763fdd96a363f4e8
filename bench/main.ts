/**
 * `npm run bench`: measures etcdsim's cost model against baselines run in the same process, and
 * prints one table (issue 7). Never part of `npm test`.
 *
 *   npm run bench                       every bench, about 5 minutes on 2 cores
 *   npm run bench -- v3-put v2-set      only the named benches
 *   npm run bench -- --seed 7 v3-range  another workload seed
 *   npm run bench -- --list             the bench names
 *
 * Each bench lives in its own file and is imported only when asked for, so one bench that cannot
 * load (a store still being written) skips its rows instead of stopping the run.
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import type { Row } from "./table.js";
import { formatTable, skippedRow } from "./table.js";
import { DEFAULT_SEED } from "./workload.js";

/** What a bench receives. */
export interface BenchContext {
  readonly seed: number;
  /** Progress lines, printed to stderr so stdout stays one clean table. */
  log(message: string): void;
}

interface BenchEntry {
  readonly name: string;
  readonly file: string;
  readonly measures: string;
  readonly target: string;
}

/** Every bench, in table order. */
const BENCHES: readonly BenchEntry[] = [
  { name: "v3-put", file: "./v3Put.js", measures: "v3 put throughput at 100k and 1M keys vs raw sorted-btree insert", target: "≥ 1/3" },
  { name: "v3-range", file: "./v3Range.js", measures: "v3 prefix range of 1,000 keys out of 1M vs the raw B-tree", target: "≥ 1/2" },
  { name: "v3-get-old", file: "./v3GetOld.js", measures: "v3 get at an old revision (10 versions per key) vs latest", target: "≤ 2×" },
  { name: "v3-put-watchers", file: "./v3PutWatchers.js", measures: "v3 put with 10k unrelated key / range watchers vs none", target: "≤ 1.2×" },
  { name: "v2-set-watchers", file: "./v2SetWatchers.js", measures: "v2 set with 10k unrelated watchers vs none", target: "≤ 1.2×" },
  { name: "v2-set", file: "./v2Set.js", measures: "v2 set throughput vs a plain nested-object tree", target: "≥ 1/3" },
  { name: "v2-snapshot", file: "./v2Snapshot.js", measures: "v2 save / recovery of 100k nodes vs JSON.stringify / JSON.parse", target: "≤ 5×" },
  { name: "v3-memory", file: "./v3Memory.js", measures: "v3 index heap per key and per extra version vs etcd's 120 B + 30 B", target: "≤ 150 B + 40 B" },
  { name: "v3-compact", file: "./v3Compact.js", measures: "compaction of 1M revisions vs putting them", target: "≤ 0.5×" },
  { name: "watch-delivery", file: "./watchDelivery.js", measures: "event deliveries/s, 1k watchers on one key, vs 1k plain arrays", target: "≥ 1/3" },
  { name: "classroom", file: "./classroom.js", measures: "server puts/s with the classroom page connected vs none; the page's time per update", target: "≤ 1.2×, ≤ 50 ms" },
  { name: "grpc", file: "./grpc.js", measures: "gRPC puts/s, ranges/s and watch events/s to 1,000 watchers on one stream vs a real etcd 3.4", target: "≥ 1×" },
  { name: "durable", file: "./durable.js", measures: "durable puts/s (v2, v3; 1 and 64 clients) vs a real etcd 3.4, fsyncs per put, recovery of 1M revisions", target: "≥ 1×" },
  { name: "server", file: "./server.js", measures: "server puts/s (v2 HTTP, v3 gateway) vs a real etcd 3.4 on loopback", target: "≥ 1×" },
];

interface Args {
  readonly seed: number;
  readonly names: readonly string[];
  readonly list: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  let seed = DEFAULT_SEED;
  let list = false;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--list") list = true;
    else if (arg === "--seed") seed = Number(argv[++i]);
    else if (arg.startsWith("--seed=")) seed = Number(arg.slice("--seed=".length));
    else names.push(arg);
  }
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed needs an integer, got ${String(seed)}`);
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    throw new Error(`unknown bench ${unknown.join(", ")}; known: ${BENCHES.map((b) => b.name).join(", ")}`);
  }
  return { seed, names, list };
}

function commitId(): string {
  const result = spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : "unknown";
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const b of BENCHES) console.log(`${b.name.padEnd(16)} ${b.measures} (target ${b.target})`);
    return;
  }
  const selected = args.names.length === 0 ? BENCHES : BENCHES.filter((b) => args.names.includes(b.name));
  const context: BenchContext = { seed: args.seed, log: (message) => process.stderr.write(`  ${message}\n`) };
  const rows: Row[] = [];
  const started = process.hrtime.bigint();
  for (const bench of selected) {
    process.stderr.write(`${bench.name}: ${bench.measures}\n`);
    try {
      const module = (await import(bench.file)) as { run(context: BenchContext): Promise<Row[]> };
      rows.push(...(await module.run(context)));
    } catch (error) {
      const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
      process.stderr.write(`  failed: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
      rows.push(skippedRow(bench.name, bench.measures, bench.target, `could not run: ${message}`));
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const seedFlag = args.seed === DEFAULT_SEED ? "" : ` --seed ${args.seed}`;
  const lines = [
    `etcdsim benchmarks: commit ${commitId()}, seed ${args.seed}, node ${process.version}, ` +
      `${os.cpus().length} × ${cpu}, load average ${os.loadavg()[0]?.toFixed(1) ?? "?"}, ${seconds.toFixed(0)} s`,
    "(in-process rows compare CPU time of this process, measured in the same run as their baseline)",
    "",
    formatTable(rows),
    "",
    "Reproduce:",
    ...(selected.length === BENCHES.length ? [`  npm run bench${args.seed === DEFAULT_SEED ? "" : ` --${seedFlag}`}`] : []),
    ...selected.map((b) => `  npm run bench -- ${b.name}${seedFlag}`),
    "  node --expose-gc --cpu-prof --cpu-prof-dir=<outside the repo> --import tsx bench/main.ts <bench>   (profile one bench)",
  ];
  // Exit once the table is written: the launchers' stop() leave idle timers (a 5 s give-up race)
  // that would otherwise hold the process open for half a minute after the work is done.
  process.stdout.write(`${lines.join("\n")}\n`, () => process.exit(0));
}

await main();

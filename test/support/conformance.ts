/**
 * `npm run conformance`: how closely etcdsim answers like a real etcd 3.4, feature area by feature area.
 *
 *   npm run conformance                               starts a real etcd and `npm run serve` itself
 *   npm run conformance -- --target URL --sim URL     uses running servers instead (emptied first!)
 *   npm run conformance -- --area txn --area lease    only some areas ("v2 keys", "v2 watch", "v3 range",
 *                                                     "txn", "compaction", "lease", "watch", "lessons")
 *   npm run conformance -- --skip lessons            all areas but some
 *   npm run conformance -- --json                     the results as JSON
 *   npm run conformance -- --verbose                  every request and both answers, on stderr
 *
 * Every case of `test/conformance/` runs against both servers (see `test/conformance/engine.ts`); the
 * "lessons" area runs every lesson in process and against the real etcd and compares their headline
 * claims (`scenarios/target.ts`). The output is one table, then every difference with the request and
 * both answers:
 *
 *   area       cases  equal  differ
 *   v2 keys       20     20       0
 *   txn           13     12       1
 *   …
 *
 * Exit code 0 only when every case is equal (1 on any difference, 2 on a usage error).
 */
import { pathToFileURL } from "node:url";
import type { TargetRunReport } from "../../scenarios/target.js";
import { ALL_CASES } from "../conformance/all.js";
import { AREAS, type Area } from "../conformance/cases.js";
import { runCase, v2NamesOf, type CaseResult, type CompareOptions, type Side } from "../conformance/engine.js";
import { etcdAvailable, startEtcd, type RealEtcd } from "./realEtcd.js";
import { startSim, type SimServer } from "./simServer.js";

export interface AreaSummary {
  area: Area;
  cases: number;
  equal: number;
}

export interface ConformanceReport {
  areas: AreaSummary[];
  results: CaseResult[];
  lessons?: TargetRunReport;
  ok: boolean;
}

interface Arguments {
  target?: string;
  sim?: string;
  areas: Area[];
  skip: Area[];
  json: boolean;
  wipe: boolean;
  verbose: boolean;
}

const USAGE = "usage: npm run conformance -- [--target URL] [--sim URL] [--area NAME]… [--skip NAME]… [--json] [--wipe] [--verbose]";

function parse(argv: readonly string[]): Arguments {
  const args: Arguments = { areas: [], skip: [], json: false, wipe: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === "--target") args.target = value().replace(/\/$/, "");
    else if (arg === "--sim") args.sim = value().replace(/\/$/, "");
    else if (arg === "--area") {
      const area = value() as Area;
      if (!AREAS.includes(area)) throw new Error(`unknown area "${area}" (have: ${AREAS.join(", ")})\n${USAGE}`);
      args.areas.push(area);
    } else if (arg === "--skip") {
      const area = value() as Area;
      if (!AREAS.includes(area)) throw new Error(`unknown area "${area}" (have: ${AREAS.join(", ")})\n${USAGE}`);
      args.skip.push(area);
    } else if (arg === "--json") args.json = true;
    else if (arg === "--wipe") args.wipe = true;
    else if (arg === "--verbose") args.verbose = true;
    else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  if (args.areas.length === 0) args.areas = [...AREAS];
  args.areas = args.areas.filter((area) => !args.skip.includes(area));
  return args;
}

/** Refuses to empty a server that holds data, unless `--wipe` (conformance deletes every key). */
async function refuseIfNotEmpty(url: string, what: string): Promise<void> {
  const root = (await (await fetch(`${url}/v2/keys/`)).json()) as { node?: { nodes?: unknown[] } };
  const range = await fetch(`${url}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: "AA==", range_end: "AA==", count_only: true }) });
  const count = Number(((await range.json()) as { count?: string }).count ?? 0);
  const nodes = root.node?.nodes?.length ?? 0;
  if (nodes + count > 0) throw new Error(`${what} at ${url} holds ${nodes} v2 nodes and ${count} v3 keys; conformance deletes every key. Use a server of its own, or pass --wipe.`);
}

/** Runs the chosen areas against the two servers. */
export async function runConformance(
  realUrl: string,
  simUrl: string,
  areas: readonly Area[],
  log: (line: string) => void = () => {},
  options: CompareOptions = {},
): Promise<ConformanceReport> {
  const cases = ALL_CASES.filter((testCase) => areas.includes(testCase.area));
  const v2Names = v2NamesOf(cases);
  const real: Side = { name: "real", clientUrl: realUrl, v2: { etcdIndexBase: 0, clientUrl: realUrl }, v3Base: 1 };
  const sim: Side = { name: "sim", clientUrl: simUrl, v2: { etcdIndexBase: 0, clientUrl: simUrl }, v3Base: 1 };
  const results: CaseResult[] = [];
  for (const testCase of cases) {
    log(`${testCase.area}: ${testCase.name}`);
    results.push(await runCase(testCase, real, sim, v2Names, options));
  }
  const summaries: AreaSummary[] = areas
    .filter((area) => area !== "lessons")
    .map((area) => {
      const inArea = results.filter((result) => result.area === area);
      return { area, cases: inArea.length, equal: inArea.filter((result) => result.equal).length };
    });
  let lessons: TargetRunReport | undefined;
  if (areas.includes("lessons")) {
    log("lessons: running every lesson in process and against the real etcd");
    // Loaded only for this area, so the request cases run even while a lesson does not compile.
    const { LESSONS } = await import("../../scenarios/lessons.js");
    const { inProcessProvider } = await import("../../scenarios/adapters/inProcess.js");
    const { compareLessons } = await import("../../scenarios/target.js");
    const simFactory = await inProcessProvider.open("in-process");
    try {
      lessons = await compareLessons({ lessons: LESSONS, seed: 1, endpoints: [realUrl], sim: simFactory, wipe: true, onLesson: (lesson) => log(`lessons: ${lesson.id} ${lesson.title}`) });
    } finally {
      await simFactory.close?.();
    }
    const failed = lessons.lessons.filter((lesson) => lesson.status === "failed").length;
    summaries.push({ area: "lessons", cases: lessons.claimsCompared + failed, equal: lessons.claimsAgreeing });
  }
  const ok = summaries.every((summary) => summary.equal === summary.cases) && (lessons?.ok ?? true);
  return { areas: summaries, results, ...(lessons === undefined ? {} : { lessons }), ok };
}

/** The table, then every difference. */
export function renderConformance(report: ConformanceReport): string {
  const lines: string[] = [];
  const row = (area: string, cases: string, equal: string, differ: string): string => `${area.padEnd(12)}${cases.padStart(6)}${equal.padStart(7)}${differ.padStart(8)}`;
  lines.push(row("area", "cases", "equal", "differ"));
  for (const summary of report.areas) lines.push(row(summary.area, String(summary.cases), String(summary.equal), String(summary.cases - summary.equal)));
  const total = report.areas.reduce((sum, summary) => ({ cases: sum.cases + summary.cases, equal: sum.equal + summary.equal }), { cases: 0, equal: 0 });
  lines.push(row("total", String(total.cases), String(total.equal), String(total.cases - total.equal)));
  for (const result of report.results.filter((r) => !r.equal)) {
    lines.push("", `✗ ${result.area}: ${result.name}`);
    for (const difference of result.differences) {
      lines.push(`  request: ${difference.step}`, `    real: ${difference.real}`, `    sim:  ${difference.sim}`);
      lines.push(...difference.detail.split("\n").map((line) => `    ${line}`));
    }
  }
  for (const lesson of report.lessons?.lessons ?? []) {
    if (lesson.status === "failed") lines.push("", `✗ lessons: lesson ${lesson.id} ${lesson.title} failed on real etcd: ${lesson.reason ?? ""}`);
    if (lesson.status === "cannot-run") lines.push("", `· lessons: lesson ${lesson.id} ${lesson.title} cannot run on real etcd: ${lesson.reason ?? ""}`);
    for (const claim of lesson.claims.filter((c) => c.verdict === "disagree" || c.verdict === "real-only")) {
      lines.push("", `✗ lessons: lesson ${lesson.id} claim ${claim.id}: ${claim.claim}`);
      lines.push(`    real: v2 ${String(claim.real?.v2Value)} · v3 ${String(claim.real?.v3Value)} · holds ${String(claim.real?.holds)}`);
      lines.push(`    sim:  v2 ${String(claim.sim?.v2Value)} · v3 ${String(claim.sim?.v3Value)} · holds ${String(claim.sim?.holds)}`);
    }
  }
  lines.push("", report.ok ? "conformance: every case equal to real etcd" : "conformance: DIFFERENCES FOUND");
  return lines.join("\n") + "\n";
}

/** Reads the first member's peer URL, so a launched simulator can take the same member and cluster IDs. */
async function peerUrlOf(clientUrl: string): Promise<string | undefined> {
  try {
    const members = (await (await fetch(`${clientUrl}/v2/members`)).json()) as { members?: { peerURLs?: string[] }[] };
    return members.members?.[0]?.peerURLs?.[0];
  } catch {
    return undefined;
  }
}

async function cli(argv: readonly string[]): Promise<number> {
  let args: Arguments;
  try {
    args = parse(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  let etcd: RealEtcd | undefined;
  let sim: SimServer | undefined;
  try {
    if (args.target === undefined && !etcdAvailable()) throw new Error("no etcd 3.4 binary found (install Debian's etcd-server) and no --target given");
    if (args.target === undefined) etcd = await startEtcd();
    const realUrl = args.target ?? (etcd as RealEtcd).clientUrl;
    const peerUrl = etcd?.peerUrl ?? (await peerUrlOf(realUrl));
    if (args.sim === undefined) sim = await startSim(peerUrl === undefined ? {} : { extraArgs: ["--initial-advertise-peer-urls", peerUrl] });
    const simUrl = args.sim ?? (sim as SimServer).clientUrl;
    if (!args.wipe) {
      if (args.target !== undefined) await refuseIfNotEmpty(realUrl, "the real etcd");
      if (args.sim !== undefined) await refuseIfNotEmpty(simUrl, "the simulator");
    }
    const log = process.stderr.isTTY ? (line: string) => process.stderr.write(`\r\x1b[K${line.slice(0, 100)}`) : () => {};
    const verbose = args.verbose
      ? { onExchange: (step: string, real: string, sim: string) => process.stderr.write(`${step}\n  real: ${real}\n  sim:  ${sim}\n`) }
      : {};
    const report = await runConformance(realUrl, simUrl, args.areas, log, verbose);
    if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
    process.stdout.write(args.json ? JSON.stringify(report, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n" : renderConformance(report));
    return report.ok ? 0 : 1;
  } catch (error) {
    process.stderr.write(`conformance: ${(error as Error).message}\n`);
    return 2;
  } finally {
    await sim?.stop();
    await etcd?.stop();
  }
}

if (process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === import.meta.url) {
  process.exitCode = await cli(process.argv.slice(2));
}

/**
 * `npm start -- --target http://HOST:PORT[,http://HOST:PORT…]`: the lessons, run against a real etcd
 * (or cluster) and against etcdsim, with each headline claim shown side by side.
 *
 * Every chosen lesson runs twice with the same seed: once in process (what `npm start` shows) and
 * once against the real etcd through `adapters/realEtcd.ts`. Claims are matched by id and agree when
 * both runs report the same v2 value, the same v3 value and the same verdict:
 *
 *   Lesson 16 · Index vs revision                         real etcd: ran in 8.4 s · 5/5 claims agree
 *     ✓ v2-ten-v3-one   ten keys cost v2 ten indexes and v3 one revision
 *         v2     etcdsim 10        real 10
 *         v3     etcdsim 1         real 1
 *         holds  etcdsim yes       real yes
 *
 * On a real etcd, time is real: `advance(ms)` waits, and etcd's own timers expire TTL keys and leases
 * (the lessons use TTLs of a few seconds for this reason). What only an in-process store can show (the
 * event ring, the B-tree walk, watcher groups, backend bytes) is missing there: the lesson records a
 * limitation, and a claim it could not make is listed as "not shown on real etcd", not as a
 * disagreement. A lesson that cannot run at all (it needs two fresh etcds at once, say) says why.
 *
 * The exit code is 0 only when every claim shown on both sides agrees and no lesson failed, so CI can
 * run this on every submission.
 */
import type { Lesson } from "./lesson.js";
import type { Cell, Claim, LessonReport } from "./report.js";
import { DEFAULT_SEED, jsonReplacer, parseArguments, runLesson, selectLessons } from "./runner.js";
import { UsageError, type RunTargetFactory, type TargetProvider } from "./targets.js";
import type { TargetFactory } from "./workload.js";
import { type FreshCounters, RealEtcdTargetFactory, TargetBusyError, TargetNotEmptyError } from "./adapters/realEtcd.js";
import { RealClock } from "../shared/clock.js";

/** `--target` specs this mode handles: one or more comma-separated http(s) client URLs. */
export function parseEndpoints(spec: string): string[] {
  const endpoints = spec.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (endpoints.length === 0 || !endpoints.every((url) => /^https?:\/\/[^/]+\/?$/.test(url))) {
    throw new UsageError(`--target wants client URLs like http://127.0.0.1:2379[,http://…], got "${spec}"`);
  }
  return endpoints.map((url) => url.replace(/\/$/, ""));
}

/** The provider for the runner's registry: `--target http://…` opens a real etcd. */
export const realEtcdProvider: TargetProvider = {
  name: "real etcd",
  handles: (spec) => /^https?:\/\//.test(spec),
  open: async (spec): Promise<RunTargetFactory> => new RealEtcdTargetFactory({ endpoints: parseEndpoints(spec) }),
};

/** How one claim fared on both sides. */
export interface ClaimComparison {
  id: string;
  claim: string;
  sim?: Claim;
  real?: Claim;
  /** "agree", "disagree", "sim-only" (the real run recorded why it could not show it), "real-only". */
  verdict: "agree" | "disagree" | "sim-only" | "real-only";
}

export interface LessonComparison {
  id: number;
  slug: string;
  title: string;
  /** ran: both sides produced a report; cannot-run: the real side cannot host it; failed: an error. */
  status: "ran" | "cannot-run" | "failed";
  reason?: string;
  realSeconds: number;
  claims: ClaimComparison[];
  /** What the lesson said it could not show on the real etcd. */
  limitations: string[];
  /** Measured figures that differ (informational: timing-dependent figures may differ legitimately). */
  measuresDiffering: { name: string; sim: number | undefined; real: number | undefined }[];
  measuresCompared: number;
}

export interface TargetRunReport {
  tool: "etcdsim lessons --target";
  target: string;
  etcdVersion: string;
  seed: number;
  lessons: LessonComparison[];
  claimsCompared: number;
  claimsAgreeing: number;
  ok: boolean;
}

function sameCell(a: Cell | null | undefined, b: Cell | null | undefined): boolean {
  return a === b;
}

/** Matches claims by id; see the file comment for the verdicts. */
export function compareClaims(sim: LessonReport, real: LessonReport | undefined): ClaimComparison[] {
  const out: ClaimComparison[] = [];
  const realById = new Map((real?.claims ?? []).map((claim) => [claim.id, claim]));
  for (const claim of sim.claims) {
    const other = realById.get(claim.id);
    realById.delete(claim.id);
    if (other === undefined) {
      const excused = real !== undefined && real.limitations.length > 0;
      out.push({ id: claim.id, claim: claim.claim, sim: claim, verdict: excused ? "sim-only" : "disagree" });
      continue;
    }
    const agree = sameCell(claim.v2Value, other.v2Value) && sameCell(claim.v3Value, other.v3Value) && claim.holds === other.holds;
    out.push({ id: claim.id, claim: claim.claim, sim: claim, real: other, verdict: agree ? "agree" : "disagree" });
  }
  for (const claim of realById.values()) out.push({ id: claim.id, claim: claim.claim, real: claim, verdict: "real-only" });
  return out;
}

function compareMeasures(sim: LessonReport, real: LessonReport): Pick<LessonComparison, "measuresDiffering" | "measuresCompared"> {
  const names = [...new Set([...Object.keys(sim.measures), ...Object.keys(real.measures)])].sort();
  const measuresDiffering = names
    .filter((name) => sim.measures[name] !== real.measures[name])
    .map((name) => ({ name, sim: sim.measures[name], real: real.measures[name] }));
  return { measuresDiffering, measuresCompared: names.length };
}

/** What a fresh in-process store shows: the numbers real answers are rebased to. */
export async function freshCounters(factory: TargetFactory, seed: number): Promise<FreshCounters> {
  const target = await factory.open(seed);
  try {
    const root = await target.v2.get("/");
    const range = await target.v3.range({ key: new Uint8Array([0]), range_end: new Uint8Array([0]), count_only: true });
    return {
      v2Index: root.ok ? root.value.etcdIndex : root.error.index,
      v3Revision: range.ok ? range.value.header.revision : 1,
    };
  } finally {
    await target.close();
  }
}

export interface TargetModeOptions {
  lessons: readonly Lesson[];
  seed: number;
  endpoints: readonly string[];
  /** The in-process factory: etcdsim's side of every comparison. */
  sim: TargetFactory;
  wipe?: boolean;
  /** Called before each lesson (for a progress line). */
  onLesson?: (lesson: Lesson, index: number, total: number) => void;
}

/** Runs each lesson on both sides and compares; the real etcd is left empty afterwards. */
export async function compareLessons(options: TargetModeOptions): Promise<TargetRunReport> {
  const fresh = await freshCounters(options.sim, options.seed);
  const real = new RealEtcdTargetFactory({ endpoints: options.endpoints, fresh, ...(options.wipe === true ? { wipe: true } : {}) });
  const clock = new RealClock();
  const lessons: LessonComparison[] = [];
  let etcdVersion = "unknown";
  try {
    etcdVersion = await real.version();
    for (const [index, lesson] of options.lessons.entries()) {
      options.onLesson?.(lesson, index, options.lessons.length);
      const simReport = await runLesson(lesson, { seed: options.seed, factory: options.sim });
      const started = clock.now();
      let realReport: LessonReport | undefined;
      let status: LessonComparison["status"] = "ran";
      let reason: string | undefined;
      try {
        realReport = await runLesson(lesson, { seed: options.seed, factory: real });
      } catch (error) {
        if (error instanceof TargetNotEmptyError) throw error;
        status = error instanceof TargetBusyError ? "cannot-run" : "failed";
        reason = (error as Error).message;
      }
      const claims = status === "ran" ? compareClaims(simReport, realReport) : [];
      lessons.push({
        id: lesson.id,
        slug: lesson.slug,
        title: lesson.title,
        status,
        ...(reason === undefined ? {} : { reason }),
        realSeconds: (clock.now() - started) / 1000,
        claims,
        limitations: realReport?.limitations ?? [],
        ...(realReport === undefined ? { measuresDiffering: [], measuresCompared: 0 } : compareMeasures(simReport, realReport)),
      });
    }
  } finally {
    await real.close();
  }
  const compared = lessons.flatMap((lesson) => lesson.claims.filter((claim) => claim.verdict === "agree" || claim.verdict === "disagree"));
  const claimsAgreeing = compared.filter((claim) => claim.verdict === "agree").length;
  const ok = claimsAgreeing === compared.length && lessons.every((lesson) => lesson.status !== "failed" && lesson.claims.every((c) => c.verdict !== "real-only"));
  return {
    tool: "etcdsim lessons --target",
    target: options.endpoints.join(","),
    etcdVersion,
    seed: options.seed,
    lessons,
    claimsCompared: compared.length,
    claimsAgreeing,
    ok,
  };
}

// ---- text rendering -------------------------------------------------------------------------------

function show(cell: Cell | null | undefined): string {
  if (cell === undefined) return "(no claim)";
  if (cell === null) return "—";
  if (typeof cell === "boolean") return cell ? "yes" : "no";
  return String(cell);
}

const MARK: Record<ClaimComparison["verdict"], string> = { agree: "✓", disagree: "✗ DISAGREE", "sim-only": "·", "real-only": "✗ REAL ONLY" };

/** The side-by-side report as text. */
export function renderTargetText(report: TargetRunReport): string {
  const lines: string[] = [];
  lines.push(`etcdsim vs etcd ${report.etcdVersion} at ${report.target} (seed ${report.seed})`, "");
  for (const lesson of report.lessons) {
    const shown = lesson.claims.filter((c) => c.verdict === "agree" || c.verdict === "disagree");
    const agreeing = shown.filter((c) => c.verdict === "agree").length;
    const simOnly = lesson.claims.filter((c) => c.verdict === "sim-only").length;
    const notShown = simOnly === 0 ? "" : ` · ${simOnly} in-process only`;
    const status =
      lesson.status === "ran"
        ? `ran in ${lesson.realSeconds.toFixed(1)} s · ${agreeing}/${shown.length} claims agree${notShown}`
        : lesson.status === "cannot-run"
          ? `cannot run: ${lesson.reason ?? ""}`
          : `FAILED: ${lesson.reason ?? ""}`;
    lines.push(`Lesson ${lesson.id} · ${lesson.title} — real etcd: ${status}`);
    for (const claim of lesson.claims) {
      lines.push(`  ${MARK[claim.verdict]} ${claim.id}: ${claim.claim}`);
      if (claim.verdict === "sim-only") {
        lines.push("      not shown on real etcd (see the limitations below)");
        continue;
      }
      const width = Math.min(40, Math.max(12, show(claim.sim?.v2Value).length, show(claim.sim?.v3Value).length) + 2);
      lines.push(`      v2     etcdsim ${show(claim.sim?.v2Value).padEnd(width)} real ${show(claim.real?.v2Value)}`);
      lines.push(`      v3     etcdsim ${show(claim.sim?.v3Value).padEnd(width)} real ${show(claim.real?.v3Value)}`);
      lines.push(`      holds  etcdsim ${show(claim.sim?.holds).padEnd(width)} real ${show(claim.real?.holds)}`);
    }
    for (const limitation of lesson.limitations) lines.push(`  limitation on real etcd: ${limitation}`);
    if (lesson.measuresDiffering.length > 0) {
      const list = lesson.measuresDiffering.map((m) => `${m.name} (etcdsim ${m.sim ?? "—"}, real ${m.real ?? "—"})`).join("; ");
      lines.push(`  measures differing: ${lesson.measuresDiffering.length}/${lesson.measuresCompared}: ${list}`);
    } else if (lesson.measuresCompared > 0) {
      lines.push(`  measures: all ${lesson.measuresCompared} equal`);
    }
    lines.push("");
  }
  const ran = report.lessons.filter((l) => l.status === "ran").length;
  const simOnly = report.lessons.reduce((sum, l) => sum + l.claims.filter((c) => c.verdict === "sim-only").length, 0);
  lines.push(
    `${ran}/${report.lessons.length} lessons ran on real etcd · ${report.claimsAgreeing}/${report.claimsCompared} claims agree` +
      ` · ${simOnly} claims in-process only · ${report.ok ? "OK" : "DISAGREEMENT"}`,
  );
  return lines.join("\n") + "\n";
}

// ---- the command line -----------------------------------------------------------------------------

/**
 * Handles `npm start -- … --target http://…` (plus `--wipe`), or returns undefined so the normal
 * runner takes over. `providers[0]` is the in-process provider: etcdsim's side.
 *
 *   process.exitCode = (await runTargetMode(argv, LESSONS, providers)) ?? (await main(argv, LESSONS, providers));
 */
export async function runTargetMode(
  argv: readonly string[],
  lessons: readonly Lesson[],
  providers: readonly TargetProvider[],
  stdout: (text: string) => void = (text) => process.stdout.write(text),
): Promise<number | undefined> {
  const wipe = argv.includes("--wipe");
  const rest = argv.filter((arg) => arg !== "--wipe");
  let sim: RunTargetFactory | undefined;
  try {
    const args = parseArguments(rest);
    if (args.target === undefined || !realEtcdProvider.handles(args.target) || args.list) return undefined;
    const endpoints = parseEndpoints(args.target);
    const chosen = selectLessons(lessons, args.selectors);
    const simProvider = providers[0];
    if (simProvider === undefined) throw new UsageError("no in-process provider to compare with");
    sim = await simProvider.open("in-process");
    const progress = process.stderr.isTTY
      ? (lesson: Lesson, index: number, total: number) => process.stderr.write(`\r\x1b[K[${index + 1}/${total}] lesson ${lesson.id} · ${lesson.title}`)
      : undefined;
    const report = await compareLessons({
      lessons: chosen,
      seed: args.seed ?? DEFAULT_SEED,
      endpoints,
      sim,
      wipe,
      ...(progress === undefined ? {} : { onLesson: progress }),
    });
    if (progress !== undefined) process.stderr.write("\r\x1b[K");
    stdout(args.json ? JSON.stringify(report, jsonReplacer, 2) + "\n" : renderTargetText(report));
    return report.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError || error instanceof TargetNotEmptyError) {
      process.stderr.write(error.message + "\n");
      return 2;
    }
    throw error;
  } finally {
    await sim?.close?.();
  }
}

/**
 * `npm start -- --target http://HOST:PORT[,http://HOST:PORT…]`: the lessons, run against a real etcd
 * (or cluster) and against etcdsim, compared figure by figure. The runner (`runner.ts`) parses the
 * command line and renders; this file runs both sides and compares.
 *
 * Every chosen lesson runs twice with the same seed: once in process (what `npm start` shows) and
 * once against the real etcd through `adapters/realEtcd.ts`. Claims are matched by id and agree when
 * both runs report the same v2 value, the same v3 value and the same verdict:
 *
 *   ✓ v2-ten-v3-one   ten keys cost v2 ten indexes and v3 one revision
 *       v2     etcdsim 10        real 10
 *       v3     etcdsim 1         real 1
 *       holds  etcdsim yes       real yes
 *
 * On a real etcd, time is real: `advance(ms)` waits, and etcd's own timers expire TTL keys and leases
 * (the lessons use TTLs of a few seconds for this reason). What only an in-process store can show (the
 * event ring, the B-tree walk, watcher groups, backend bytes) is missing there: the lesson records a
 * limitation, and a claim it could not make is listed as "not shown on real etcd", not as a
 * disagreement. A lesson that cannot run at all (it needs two fresh etcds at once, say) says why.
 *
 * The verdict is OK only when every claim shown on both sides agrees and no lesson failed, so CI can
 * run this on every submission.
 */
import type { Lesson } from "./lesson.js";
import type { Cell, ClaimComparison, LessonComparison, LessonReport, TableRow } from "./report.js";
import { runLesson } from "./runner.js";
import type { RunTargetFactory, TargetProvider } from "./targets.js";
import type { TargetFactory } from "./workload.js";
import { type FreshCounters, RealEtcdTargetFactory, TargetBusyError, TargetNotEmptyError } from "./adapters/realEtcd.js";
import { RealClock } from "../shared/clock.js";
import { parseEndpoints } from "./targetUrl.js";
import { show } from "./textReport.js";

export { parseEndpoints };
export type { ClaimComparison, LessonComparison };

/** The provider for the runner's registry: `--target http://…` opens a real etcd. */
export const realEtcdProvider: TargetProvider = {
  name: "real etcd",
  handles: (spec) => /^https?:\/\//.test(spec),
  open: async (spec): Promise<RunTargetFactory> => new RealEtcdTargetFactory({ endpoints: parseEndpoints(spec) }),
};

export interface TargetRunReport {
  tool: "etcdsim lessons --target";
  target: string;
  etcdVersion: string;
  seed: number;
  lessons: LessonComparison[];
  claimsCompared: number;
  claimsAgreeing: number;
  ok: boolean;
  /** etcdsim's narrated reports, each with its `comparison` and the target's figures merged in. */
  reports: LessonReport[];
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
    const agree =
      sameCell(claim.v2Value, other.v2Value) &&
      sameCell(claim.v3Value, other.v3Value) &&
      claim.holds === other.holds &&
      (claim.notApplicable === true) === (other.notApplicable === true);
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
  /** `--set NAME=VALUE` lesson parameters, the same on both sides. */
  settings?: Record<string, number>;
  /** Called before each lesson (for a progress line). */
  onLesson?: (lesson: Lesson, index: number, total: number) => void;
}

/** Runs each lesson on both sides and compares; the real etcd is left empty afterwards. */
export async function compareLessons(options: TargetModeOptions): Promise<TargetRunReport> {
  const fresh = await freshCounters(options.sim, options.seed);
  const real = new RealEtcdTargetFactory({ endpoints: options.endpoints, fresh, ...(options.wipe === true ? { wipe: true } : {}) });
  const clock = new RealClock();
  const lessons: LessonComparison[] = [];
  const reports: LessonReport[] = [];
  const settings = options.settings === undefined ? {} : { settings: options.settings };
  let etcdVersion = "unknown";
  try {
    if (options.wipe !== true) await real.checkEmpty();
    etcdVersion = await real.version();
    for (const [index, lesson] of options.lessons.entries()) {
      options.onLesson?.(lesson, index, options.lessons.length);
      const simReport = await runLesson(lesson, { seed: options.seed, factory: options.sim, ...settings });
      const started = clock.now();
      let realReport: LessonReport | undefined;
      let status: LessonComparison["status"] = "ran";
      let reason: string | undefined;
      try {
        realReport = await runLesson(lesson, { seed: options.seed, factory: real, ...settings });
      } catch (error) {
        if (error instanceof TargetNotEmptyError) throw error;
        status = error instanceof TargetBusyError ? "cannot-run" : "failed";
        reason = (error as Error).message;
      }
      const claims = status === "ran" ? compareClaims(simReport, realReport) : [];
      const comparison: LessonComparison = {
        id: lesson.id,
        slug: lesson.slug,
        title: lesson.title,
        status,
        ...(reason === undefined ? {} : { reason }),
        realSeconds: (clock.now() - started) / 1000,
        claims,
        limitations: realReport?.limitations ?? [],
        ...(realReport === undefined ? { measuresDiffering: [], measuresCompared: 0 } : compareMeasures(simReport, realReport)),
      };
      lessons.push(comparison);
      reports.push({ ...mergeFigures(simReport, realReport), comparison });
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
    reports,
  };
}

/** A cell showing both figures when they differ: `1000 · etcd 998`. */
function bothFigures(sim: Cell, real: Cell | undefined): Cell {
  return real === undefined || real === sim ? sim : `${String(sim)} · etcd ${String(real)}`;
}

/**
 * etcdsim's report with the target's figures beside its own: each table cell that differs shows
 * both (`1000 · etcd 998`), and each chart gains the target's series. Blocks are matched by position
 * (both runs narrate the same steps); a block the target's run lacks is left as etcdsim's.
 */
export function mergeFigures(sim: LessonReport, real: LessonReport | undefined): LessonReport {
  if (real === undefined) return sim;
  const blocks = sim.blocks.map((block, index) => {
    const other = real.blocks[index];
    if (block.kind === "table" && other?.kind === "table" && other.table.rows.length === block.table.rows.length) {
      const rows: TableRow[] = block.table.rows.map((row, i) => {
        const twin = other.table.rows[i];
        return { label: row.label, v2: bothFigures(row.v2, twin?.v2), v3: bothFigures(row.v3, twin?.v3) };
      });
      return { ...block, table: { ...block.table, rows } };
    }
    if (block.kind === "chart" && other?.kind === "chart" && other.chart.x.join() === block.chart.x.join()) {
      const series = [...block.chart.series, ...other.chart.series.map((s) => ({ ...s, name: `${s.name} · etcd` }))];
      return { ...block, chart: { ...block.chart, series } };
    }
    if (block.kind === "code" && other?.kind === "code" && other.lines.join("\n") !== block.lines.join("\n")) {
      return { ...block, lines: [...block.lines, "", "on the target etcd:", ...other.lines] };
    }
    return block;
  });
  return { ...sim, blocks };
}

// ---- text rendering -------------------------------------------------------------------------------

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

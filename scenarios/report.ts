/**
 * The report model: what a lesson produces, as data. Contracts only.
 *
 * A lesson never prints. It appends blocks (narrated steps, two-column v2 | v3 tables, charts) and
 * states its headline claims as structured facts. Three renderers read the same model:
 * `textReport.ts` (what `npm start` prints), `JSON.stringify` (`--json`) and `htmlReport.ts`
 * (`--html FILE`). Tests read it too: a claim is a fact the test can assert, not a sentence to grep.
 *
 *   { claim: "a watcher resuming from index 1 is refused by v2 and served by v3",
 *     v2Value: "401", v3Value: 1500, holds: true }
 */
import type { Api } from "./workload.js";

/** A printable cell: numbers are measured, strings are etcd's own text. */
export type Cell = string | number | boolean;

/** One row of a v2 | v3 table: what was done, and what each store answered. */
export interface TableRow {
  label: string;
  v2: Cell;
  v3: Cell;
}

export interface Table {
  title?: string;
  /** Header of the first column, "operation" by default. */
  labelHeader: string;
  rows: TableRow[];
}

/** A chart series: one value per x label. */
export interface ChartSeries {
  name: string;
  api?: Api;
  values: number[];
}

/**
 * A chart with labelled x positions. `bars` groups one bar per series at each x label, `lines`
 * joins each series' points.
 */
export interface Chart {
  id: string;
  title: string;
  kind: "bars" | "lines";
  xLabel: string;
  yLabel: string;
  x: string[];
  series: ChartSeries[];
  /** False when a table in the text output already shows the same numbers (the HTML still draws it). */
  inText?: boolean;
}

export type Block =
  | { kind: "step"; number: number; title: string; text: string[] }
  | { kind: "text"; text: string[] }
  | { kind: "table"; table: Table }
  | { kind: "chart"; chart: Chart }
  | { kind: "code"; lines: string[] };

/** A headline claim of a lesson, with the values that decide it. */
export interface Claim {
  /** Stable id for tests, e.g. "v2-refuses-old-index". */
  id: string;
  claim: string;
  v2Value: Cell | null;
  v3Value: Cell | null;
  holds: boolean;
  /** When the claim applies, said plainly ("WRITES > 1000"); shown beside it. */
  when?: string;
  /**
   * True when this run's settings are outside `when`: the claim is reported as "not applicable with
   * these settings", and `holds` is not counted either way.
   */
  notApplicable?: boolean;
}

export interface Myth {
  myth: string;
  fact: string;
}

/** The opening of every lesson (STYLE: Lesson / You will see / Try changing). */
export interface LessonHeader {
  lesson: string;
  youWillSee: string[];
  tryChanging: string[];
}

export interface LessonReport {
  id: number;
  /** Shown instead of "Lesson <id>" (a scenario script: "Script cheat-sheet"). */
  label?: string;
  slug: string;
  title: string;
  header: LessonHeader;
  blocks: Block[];
  claims: Claim[];
  whatJustHappened: string[];
  myths: Myth[];
  /** Every figure the lesson measured, by name: what tests and `--json` read. */
  measures: Record<string, number>;
  /** Things the lesson could not show on this target, said plainly. */
  limitations: string[];
  /** `--target`: how the same lesson went on the target etcd, figure by figure. */
  comparison?: LessonComparison;
}

/** How one claim fared on etcdsim and on the target etcd. */
export interface ClaimComparison {
  id: string;
  claim: string;
  sim?: Claim;
  real?: Claim;
  /** "agree", "disagree", "sim-only" (the real run recorded why it could not show it), "real-only". */
  verdict: "agree" | "disagree" | "sim-only" | "real-only";
}

/** One lesson run on etcdsim and on the target etcd (`npm start -- --target URL`). */
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

export interface RunReport {
  tool: "etcdsim lessons";
  seed: number;
  target: string;
  lessons: LessonReport[];
  /** `--target`: the etcd compared with, and the verdict over every lesson. */
  compared?: { target: string; etcdVersion: string; claimsCompared: number; claimsAgreeing: number; ok: boolean };
  /** `--set NAME=VALUE` lesson parameters this run used. */
  settings?: Record<string, number>;
}

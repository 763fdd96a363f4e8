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
}

export interface RunReport {
  tool: "etcdsim lessons";
  seed: number;
  target: string;
  lessons: LessonReport[];
}

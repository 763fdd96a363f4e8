/**
 * One row of the benchmark table, the helpers that turn measured figures into rows, and the printer.
 *
 * A row compares etcdsim against a baseline measured in the same run and states the target from
 * issue 7. Two kinds of target exist:
 *
 *   throughput  "≥ 1/3 of baseline":  ratio = subject rate / baseline rate, passes when ratio ≥ 1/3
 *   slowdown    "≤ 1.2× slower":      ratio = subject time / baseline time, passes when ratio ≤ 1.2
 *
 *   | measure                   | etcdsim        | baseline (same run)      | ratio | target | result |
 *   | v3 put, 100k keys         | 1.20 M ops/s   | 2.40 M ops/s sorted-btree | 0.50  | ≥ 0.33 | pass   |
 */

export type Verdict = "pass" | "MISS" | "skipped";

export interface Row {
  /** The bench that produced the row (`npm run bench -- <bench>`). */
  readonly bench: string;
  readonly measure: string;
  /** etcdsim's figure, formatted with its unit. */
  readonly subject: string;
  /** The baseline's figure and what it is. */
  readonly baseline: string;
  /** The compared ratio, formatted (e.g. "0.52×"). */
  readonly ratio: string;
  /** The target, formatted (e.g. "≥ 0.33×"). */
  readonly target: string;
  readonly verdict: Verdict;
  /** A footnote: why a row was skipped, or what bounds it. */
  readonly note?: string;
}

/** Formats a rate with an SI prefix: 1234567 → "1.23 M". */
export function si(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
  return `${value.toFixed(1)} `;
}

/** Formats milliseconds readably: 0.0042 → "4.2 µs", 12.3 → "12.3 ms", 2500 → "2.50 s". */
export function duration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.01 ? 2 : 1)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A throughput row: `count` operations in `subjectMs` against the same count in `baselineMs`. */
export function throughputRow(input: {
  bench: string;
  measure: string;
  count: number;
  subjectMs: number;
  baselineMs: number;
  baselineLabel: string;
  /** Median of per-trial subject/baseline times when available (more robust than the ratio of medians). */
  slowdown?: number;
  /** The minimum rate ratio, e.g. 1/3. */
  atLeast: number;
  atLeastText: string;
  unit?: string;
  note?: string;
  /** What bounds the figure: printed only when the target is missed. */
  missNote?: string;
}): Row {
  const unit = input.unit ?? "ops/s";
  const subjectRate = input.count / (input.subjectMs / 1000);
  const baselineRate = input.count / (input.baselineMs / 1000);
  const ratio = input.slowdown !== undefined ? 1 / input.slowdown : subjectRate / baselineRate;
  const pass = ratio >= input.atLeast;
  const note = pass ? input.note : input.missNote ?? input.note;
  return {
    bench: input.bench,
    measure: input.measure,
    subject: `${si(subjectRate)}${unit}`,
    baseline: `${si(baselineRate)}${unit} ${input.baselineLabel}`,
    ratio: `${ratio.toFixed(2)}×`,
    target: `≥ ${input.atLeastText}`,
    verdict: pass ? "pass" : "MISS",
    ...(note !== undefined ? { note } : {}),
  };
}

/** A slowdown row: the subject's time per operation against the baseline's. */
export function slowdownRow(input: {
  bench: string;
  measure: string;
  subjectMsPerOp: number;
  baselineMsPerOp: number;
  baselineLabel: string;
  slowdown?: number;
  atMost: number;
  /** Appended to both times (default "/op"; "" for a one-off operation like a snapshot). */
  per?: string;
  note?: string;
  /** What bounds the figure: printed only when the target is missed. */
  missNote?: string;
}): Row {
  const per = input.per ?? "/op";
  const slowdown = input.slowdown ?? input.subjectMsPerOp / input.baselineMsPerOp;
  const pass = slowdown <= input.atMost;
  const note = pass ? input.note : input.missNote ?? input.note;
  return {
    bench: input.bench,
    measure: input.measure,
    subject: `${duration(input.subjectMsPerOp)}${per}`,
    baseline: `${duration(input.baselineMsPerOp)}${per} ${input.baselineLabel}`,
    ratio: `${slowdown.toFixed(2)}×`,
    target: `≤ ${input.atMost}×`,
    verdict: pass ? "pass" : "MISS",
    ...(note !== undefined ? { note } : {}),
  };
}

/** A row that could not run (a missing binary, a store not built yet). */
export function skippedRow(bench: string, measure: string, target: string, note: string): Row {
  return { bench, measure, subject: "—", baseline: "—", ratio: "—", target, verdict: "skipped", note };
}

/** Prints rows as a Markdown table (pastes into the README as is), footnotes after it. */
export function formatTable(rows: readonly Row[]): string {
  const header = ["measure", "etcdsim", "baseline (same run)", "ratio", "target", "result"];
  const cells = rows.map((r) => [r.measure, r.subject, r.baseline, r.ratio, r.target, r.verdict]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (values: readonly string[]): string =>
    `| ${values.map((v, i) => v.padEnd(widths[i] as number)).join(" | ")} |`;
  const out = [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)];
  const notes = rows.filter((r) => r.note !== undefined);
  if (notes.length > 0) {
    out.push("");
    for (const r of notes) out.push(`- ${r.measure}: ${r.note}`);
  }
  return out.join("\n");
}

/**
 * Renders a `RunReport` as the text `npm start` prints: deterministic, 100 columns wide, no colour,
 * so a test can pin it byte for byte and the README can quote it.
 *
 *   ━━ Lesson 4 · The history window ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
 *   Lesson        v2 remembers the last 1000 events; v3 remembers every revision until compacted.
 *   …
 *   1. Write 1500 times
 *      operation             │ v2                            │ v3
 *      ──────────────────────┼───────────────────────────────┼─────────────────────────
 *      watch from the start  │ Error: 401: The event in …     │ 1500 events replayed
 */
import type { Block, Cell, Chart, Claim, ClaimComparison, LessonReport, RunReport, Table } from "./report.js";

export const TEXT_WIDTH = 100;
const INDENT = "   ";

/**
 * How `npm start` draws on a terminal: colour (✓ green, ✗ red, step titles bold; off with NO_COLOR
 * or when piped) and the terminal's width (60 … 160 columns). Piped output keeps 100 columns and no
 * colour, so it stays byte-identical.
 */
export interface TextOptions {
  colour?: boolean;
  width?: number | undefined;
}

function widthOf(options: TextOptions): number {
  return options.width === undefined ? TEXT_WIDTH : Math.max(60, Math.min(160, options.width));
}

const paint = (on: boolean | undefined, code: string, text: string): string => (on === true ? `\x1b[${code}m${text}\x1b[0m` : text);

/** Words of `text` wrapped to `width` columns (a word longer than the width gets a line of its own). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      if (line === "") line = word;
      else if (line.length + 1 + word.length <= width) line += " " + word;
      else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines;
}

/**
 * `text` wrapped so that every line, prefix included, fits `TEXT_WIDTH`: the first line starts with
 * `first`, the others with `rest` (a hanging indent).
 *
 *   hang("✓ a long claim …", "   ", "     ") → ["   ✓ a long claim that …", "     … goes on here"]
 */
export function hang(text: string, first: string, rest: string, width = TEXT_WIDTH): string[] {
  const lines: string[] = [];
  const prefix = (): string => (lines.length === 0 ? first : rest);
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      if (line === "") line = word;
      else if (prefix().length + line.length + 1 + word.length <= width) line += " " + word;
      else {
        lines.push(prefix() + line);
        line = word;
      }
    }
    lines.push(prefix() + line);
  }
  return lines;
}

/** Hard-wraps a cell that has no spaces to break at (long error text, JSON). */
function wrapCell(text: string, width: number): string[] {
  const out: string[] = [];
  for (const line of wrap(text, width)) {
    for (let i = 0; i < line.length; i += width) out.push(line.slice(i, i + width));
    if (line.length === 0) out.push("");
  }
  return out;
}

export function cellText(cell: Cell): string {
  if (typeof cell === "number") return formatNumber(cell);
  return String(cell);
}

/** Integers as etcd prints them (1500, no separators); other numbers with up to 2 decimals. */
export function formatNumber(value: number): string {
  const fixed = Number.isInteger(value) ? String(Math.abs(value)) : String(Math.round(Math.abs(value) * 100) / 100);
  const [whole = "", fraction] = fixed.split(".");
  return (value < 0 ? "-" : "") + whole + (fraction === undefined ? "" : "." + fraction);
}

function renderTable(table: Table, width = TEXT_WIDTH): string[] {
  const out: string[] = [];
  if (table.title !== undefined) out.push(INDENT + table.title);
  const header = { label: table.labelHeader, v2: "v2", v3: "v3" };
  const rows = table.rows.map((row) => ({ label: row.label, v2: cellText(row.v2), v3: cellText(row.v3) }));
  const budget = width - INDENT.length - 6;
  const longest = (pick: (r: { label: string; v2: string; v3: string }) => string): number =>
    Math.max(...[header, ...rows].map((r) => Math.max(...pick(r).split("\n").map((l) => l.length))));
  let labelWidth = Math.min(longest((r) => r.label), 36);
  let v2Width = longest((r) => r.v2);
  let v3Width = longest((r) => r.v3);
  // Share what is left between the two value columns, never more than each needs.
  const valueBudget = budget - labelWidth;
  if (v2Width + v3Width > valueBudget) {
    const half = Math.floor(valueBudget / 2);
    if (v2Width <= half) v3Width = valueBudget - v2Width;
    else if (v3Width <= half) v2Width = valueBudget - v3Width;
    else {
      v2Width = half;
      v3Width = valueBudget - half;
    }
  }
  labelWidth = Math.max(labelWidth, 1);
  const line = (a: string, b: string, c: string): string => `${INDENT}${a.padEnd(labelWidth)} │ ${b.padEnd(v2Width)} │ ${c}`.trimEnd();
  const emit = (r: { label: string; v2: string; v3: string }): void => {
    const a = wrapCell(r.label, labelWidth);
    const b = wrapCell(r.v2, v2Width);
    const c = wrapCell(r.v3, v3Width);
    const n = Math.max(a.length, b.length, c.length);
    for (let i = 0; i < n; i++) out.push(line(a[i] ?? "", b[i] ?? "", c[i] ?? ""));
  };
  emit(header);
  out.push(`${INDENT}${"─".repeat(labelWidth)}─┼─${"─".repeat(v2Width)}─┼─${"─".repeat(v3Width)}`);
  for (const row of rows) emit(row);
  return out;
}

/**
 * A chart as text. Bars: one line per (x, series), scaled to the largest value. Lines: a grid with
 * one row per series and one column per x, which keeps long series short.
 */
export function renderChartText(chart: Chart, width = TEXT_WIDTH): string[] {
  const out: string[] = [`${INDENT}Chart: ${chart.title} (${chart.yLabel} by ${chart.xLabel})`];
  if (chart.kind === "lines") {
    const nameWidth = Math.max(chart.xLabel.length, ...chart.series.map((s) => s.name.length));
    const widths = chart.x.map((x, i) => Math.max(x.length, ...chart.series.map((s) => formatNumber(s.values[i] ?? 0).length)));
    out.push(`${INDENT}${chart.xLabel.padEnd(nameWidth)}  ${chart.x.map((x, i) => x.padStart(widths[i] ?? 0)).join(" ")}`);
    for (const series of chart.series) {
      out.push(`${INDENT}${series.name.padEnd(nameWidth)}  ${series.values.map((v, i) => formatNumber(v).padStart(widths[i] ?? 0)).join(" ")}`);
    }
    return out;
  }
  const max = Math.max(1, ...chart.series.flatMap((s) => s.values));
  const xWidth = Math.max(...chart.x.map((x) => x.length));
  const nameWidth = Math.max(...chart.series.map((s) => s.name.length));
  const barMax = width - INDENT.length - xWidth - nameWidth - 16;
  chart.x.forEach((x, i) => {
    chart.series.forEach((series, j) => {
      const value = series.values[i] ?? 0;
      const length = value === 0 ? 0 : Math.max(1, Math.round((value / max) * barMax));
      const xText = j === 0 ? x.padStart(xWidth) : " ".repeat(xWidth);
      out.push(`${INDENT}${xText}  ${series.name.padEnd(nameWidth)} ${"█".repeat(length)} ${formatNumber(value)}`.trimEnd());
    });
  });
  return out;
}

function renderBlock(block: Block, options: TextOptions = {}): string[] {
  const width = widthOf(options);
  switch (block.kind) {
    case "step":
      return [
        "",
        ...wrap(`${block.number}. ${block.title}`, width).map((l) => paint(options.colour, "1", l)),
        ...block.text.flatMap((t) => wrap(t, width - INDENT.length).map((l) => (INDENT + l).trimEnd())),
      ];
    case "text":
      return ["", ...block.text.flatMap((t) => wrap(t, width - INDENT.length).map((l) => (INDENT + l).trimEnd()))];
    case "code":
      return ["", ...block.lines.map((l) => `${INDENT}  ${l}`.trimEnd())];
    case "table":
      return ["", ...renderTable(block.table, width)];
    case "chart":
      return block.chart.inText === false ? [] : ["", ...renderChartText(block.chart, width)];
  }
}

function labelled(label: string, items: string[], width = TEXT_WIDTH): string[] {
  const out: string[] = [];
  const pad = 14;
  items.forEach((item, i) => {
    const bullet = items.length > 1 ? "• " : "";
    const lines = wrap(bullet + item, width - pad);
    lines.forEach((l, j) => {
      const head = i === 0 && j === 0 ? label.padEnd(pad) : " ".repeat(pad);
      const body = j === 0 ? l : (bullet === "" ? "" : "  ") + l;
      out.push(head + body);
    });
  });
  return out;
}

/** A claim's line: ✓, ✗, or "not applicable" outside the settings it is stated for. */
function claimLine(claim: Claim, options: TextOptions): string {
  const values = `[v2: ${claim.v2Value === null ? "—" : cellText(claim.v2Value)} · v3: ${claim.v3Value === null ? "—" : cellText(claim.v3Value)}]`;
  const when = claim.when === undefined ? "" : ` (holds when ${claim.when})`;
  if (claim.notApplicable === true) return `${paint(options.colour, "2", "– not applicable with these settings:")} ${claim.claim}${when}`;
  const mark = claim.holds ? paint(options.colour, "32", "✓") : paint(options.colour, "31", "✗ DOES NOT HOLD:");
  return `${mark} ${claim.claim}${when} ${values}`;
}

/** A claim's value in a comparison: "(no claim)" when a side made none, "—" for no value, yes/no. */
export function show(cell: Cell | null | undefined): string {
  if (cell === undefined) return "(no claim)";
  if (cell === null) return "—";
  if (typeof cell === "boolean") return cell ? "yes" : "no";
  return cellText(cell);
}

const VERDICT: Record<ClaimComparison["verdict"], string> = { agree: "✓ agree", disagree: "✗ DISAGREE", "sim-only": "· in-process only", "real-only": "✗ REAL ONLY" };

/** `--target`: each claim's figures on etcdsim and on the target etcd, and what differed. */
function comparisonText(lesson: LessonReport, options: TextOptions): string[] {
  const comparison = lesson.comparison;
  if (comparison === undefined) return [];
  const width = widthOf(options);
  const out = ["", "On the target etcd"];
  if (comparison.status !== "ran") {
    out.push(...hang(`${comparison.status === "cannot-run" ? "cannot run there" : "FAILED"}: ${comparison.reason ?? ""}`, INDENT, INDENT + "  ", width));
    return out;
  }
  const shown = comparison.claims.filter((c) => c.verdict === "agree" || c.verdict === "disagree");
  out.push(`${INDENT}ran in ${comparison.realSeconds.toFixed(1)} s · ${shown.filter((c) => c.verdict === "agree").length}/${shown.length} claims agree`);
  for (const claim of comparison.claims) {
    const verdict = claim.verdict === "agree" ? paint(options.colour, "32", VERDICT.agree) : claim.verdict === "sim-only" ? VERDICT["sim-only"] : paint(options.colour, "31", VERDICT[claim.verdict]);
    out.push(...hang(`${verdict} ${claim.id}: ${claim.claim}`, INDENT, INDENT + "  ", width));
    if (claim.verdict === "sim-only") continue;
    const cellWidth = Math.min(40, Math.max(12, show(claim.sim?.v2Value).length, show(claim.sim?.v3Value).length) + 2);
    out.push(`${INDENT}    v2     etcdsim ${show(claim.sim?.v2Value).padEnd(cellWidth)} etcd ${show(claim.real?.v2Value)}`);
    out.push(`${INDENT}    v3     etcdsim ${show(claim.sim?.v3Value).padEnd(cellWidth)} etcd ${show(claim.real?.v3Value)}`);
    out.push(`${INDENT}    holds  etcdsim ${show(claim.sim?.holds).padEnd(cellWidth)} etcd ${show(claim.real?.holds)}`);
  }
  for (const limitation of comparison.limitations) out.push(...hang(`limitation there: ${limitation}`, INDENT, INDENT + "  ", width));
  if (comparison.measuresDiffering.length > 0) {
    const list = comparison.measuresDiffering.map((m) => `${m.name} (etcdsim ${m.sim ?? "—"}, etcd ${m.real ?? "—"})`).join("; ");
    out.push(...hang(`measures differing: ${comparison.measuresDiffering.length}/${comparison.measuresCompared}: ${list}`, INDENT, INDENT + "  ", width));
  } else if (comparison.measuresCompared > 0) out.push(`${INDENT}measures: all ${comparison.measuresCompared} equal`);
  return out;
}

/**
 * One lesson as chunks: the header, then each step with what follows it, then the closing
 * sections. `--step` shows one chunk per Enter; joined, they are the lesson's text.
 */
export function renderLessonChunks(lesson: LessonReport, options: TextOptions = {}): string[][] {
  const width = widthOf(options);
  const title = `━━ ${lesson.label ?? `Lesson ${lesson.id}`} · ${lesson.title} `;
  const head: string[] = [title + "━".repeat(Math.max(3, width - title.length))];
  head.push(...labelled("Lesson", [lesson.header.lesson], width));
  if (lesson.header.youWillSee.length > 0) head.push(...labelled("You will see", lesson.header.youWillSee, width));
  if (lesson.header.tryChanging.length > 0) head.push(...labelled("Try changing", lesson.header.tryChanging, width));
  const chunks: string[][] = [head];
  for (const block of lesson.blocks) {
    if (block.kind === "step") chunks.push([]);
    (chunks[chunks.length - 1] as string[]).push(...renderBlock(block, options));
  }
  const out: string[] = [];
  if (lesson.claims.length > 0) {
    out.push("", "Headline claims");
    for (const claim of lesson.claims) out.push(...hang(claimLine(claim, options), INDENT, INDENT + "  ", width));
  }
  if (lesson.limitations.length > 0) {
    out.push("", "Limits of this run");
    for (const text of lesson.limitations) out.push(...hang(`- ${text}`, INDENT, INDENT + "  ", width));
  }
  out.push(...comparisonText(lesson, options));
  if (lesson.whatJustHappened.length > 0) {
    out.push("", "What just happened");
    for (const text of lesson.whatJustHappened) out.push(...wrap(text, width - INDENT.length).map((l) => (INDENT + l).trimEnd()));
  }
  if (lesson.myths.length > 0) {
    out.push("", "Myth vs fact");
    for (const myth of lesson.myths) {
      out.push(...hang(`Myth: ${myth.myth}`, INDENT, INDENT + "      ", width));
      out.push(...hang(`Fact: ${myth.fact}`, INDENT, INDENT + "      ", width));
    }
  }
  if (out.length > 0) chunks.push(out);
  return chunks;
}

export function renderLessonText(lesson: LessonReport, options: TextOptions = {}): string[] {
  return renderLessonChunks(lesson, options).flat();
}

/**
 * The command that prints this run again: with the lesson's number when one lesson ran (as
 * `npx tsx scenarios/04-history-window.ts` does), since the plain command would run all of them.
 *
 *   one lesson, seed 1 → "npm start -- 4 --seed 1"
 */
export function reproduceCommand(run: RunReport): string {
  const first = run.lessons[0];
  const only = run.lessons.length === 1 && first !== undefined ? `${first.label === undefined ? first.id : first.slug} ` : "";
  const settings = Object.entries(run.settings ?? {}).map(([name, value]) => ` --set ${name}=${value}`).join("");
  return `npm start -- ${only}--seed ${run.seed}${settings}`;
}

/** The run's last line: lessons, claims, how many hold (and agree, with `--target`). */
export function runSummary(run: RunReport): string {
  const claims = run.lessons.flatMap((l) => l.claims);
  const applicable = claims.filter((c) => c.notApplicable !== true);
  const failed = applicable.filter((c) => !c.holds).length;
  const notApplicable = claims.length - applicable.length;
  const lessons = `${run.lessons.length} ${run.lessons.length === 1 ? "lesson" : "lessons"}`;
  const na = notApplicable === 0 ? "" : `, ${notApplicable} not applicable with these settings`;
  const compared = run.compared === undefined ? "" : ` On etcd ${run.compared.etcdVersion}: ${run.compared.claimsAgreeing}/${run.compared.claimsCompared} claims agree, ${run.compared.ok ? "OK" : "DISAGREEMENT"}.`;
  return `${lessons}, ${claims.length} headline claims, ${applicable.length - failed} hold, ${failed} do not${na}.${compared}`;
}

/** The whole run as chunks for `--step`: the banner with the first lesson's header, then step by step. */
export function renderRunChunks(run: RunReport, options: TextOptions = {}): string[] {
  const settings = run.settings === undefined ? "" : ` · ${Object.entries(run.settings).map(([k, v]) => `${k}=${v}`).join(" ")}`;
  const chunks: string[][] = [[`etcdsim lessons · seed ${run.seed} · target ${run.target}${settings}`, `Reproduce with: ${reproduceCommand(run)}`]];
  for (const lesson of run.lessons) {
    const [head = [], ...rest] = renderLessonChunks(lesson, options);
    chunks.push(["", ...head], ...rest);
  }
  (chunks[chunks.length - 1] as string[]).push("", runSummary(run));
  return chunks.map((lines) => lines.join("\n") + "\n");
}

/** The whole run as text, ending with a newline. */
export function renderRunText(run: RunReport, options: TextOptions = {}): string {
  return renderRunChunks(run, options).join("");
}

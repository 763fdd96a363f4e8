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
import type { Block, Cell, Chart, LessonReport, RunReport, Table } from "./report.js";

export const TEXT_WIDTH = 100;
const INDENT = "   ";

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
export function hang(text: string, first: string, rest: string): string[] {
  const lines: string[] = [];
  const prefix = (): string => (lines.length === 0 ? first : rest);
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      if (line === "") line = word;
      else if (prefix().length + line.length + 1 + word.length <= TEXT_WIDTH) line += " " + word;
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

function renderTable(table: Table): string[] {
  const out: string[] = [];
  if (table.title !== undefined) out.push(INDENT + table.title);
  const header = { label: table.labelHeader, v2: "v2", v3: "v3" };
  const rows = table.rows.map((row) => ({ label: row.label, v2: cellText(row.v2), v3: cellText(row.v3) }));
  const budget = TEXT_WIDTH - INDENT.length - 6;
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
export function renderChartText(chart: Chart): string[] {
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
  const barMax = TEXT_WIDTH - INDENT.length - xWidth - nameWidth - 16;
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

function renderBlock(block: Block): string[] {
  switch (block.kind) {
    case "step":
      return [
        "",
        ...wrap(`${block.number}. ${block.title}`, TEXT_WIDTH),
        ...block.text.flatMap((t) => wrap(t, TEXT_WIDTH - INDENT.length).map((l) => (INDENT + l).trimEnd())),
      ];
    case "text":
      return ["", ...block.text.flatMap((t) => wrap(t, TEXT_WIDTH - INDENT.length).map((l) => (INDENT + l).trimEnd()))];
    case "code":
      return ["", ...block.lines.map((l) => `${INDENT}  ${l}`.trimEnd())];
    case "table":
      return ["", ...renderTable(block.table)];
    case "chart":
      return block.chart.inText === false ? [] : ["", ...renderChartText(block.chart)];
  }
}

function labelled(label: string, items: string[]): string[] {
  const out: string[] = [];
  const pad = 14;
  items.forEach((item, i) => {
    const bullet = items.length > 1 ? "• " : "";
    const lines = wrap(bullet + item, TEXT_WIDTH - pad);
    lines.forEach((l, j) => {
      const head = i === 0 && j === 0 ? label.padEnd(pad) : " ".repeat(pad);
      const body = j === 0 ? l : (bullet === "" ? "" : "  ") + l;
      out.push(head + body);
    });
  });
  return out;
}

export function renderLessonText(lesson: LessonReport): string[] {
  const title = `━━ Lesson ${lesson.id} · ${lesson.title} `;
  const out: string[] = [title + "━".repeat(Math.max(3, TEXT_WIDTH - title.length))];
  out.push(...labelled("Lesson", [lesson.header.lesson]));
  out.push(...labelled("You will see", lesson.header.youWillSee));
  out.push(...labelled("Try changing", lesson.header.tryChanging));
  for (const block of lesson.blocks) out.push(...renderBlock(block));
  if (lesson.claims.length > 0) {
    out.push("", "Headline claims");
    for (const claim of lesson.claims) {
      const mark = claim.holds ? "✓" : "✗ DOES NOT HOLD:";
      const values = `[v2: ${claim.v2Value === null ? "—" : cellText(claim.v2Value)} · v3: ${claim.v3Value === null ? "—" : cellText(claim.v3Value)}]`;
      out.push(...hang(`${mark} ${claim.claim} ${values}`, INDENT, INDENT + "  "));
    }
  }
  if (lesson.limitations.length > 0) {
    out.push("", "Limits of this run");
    for (const text of lesson.limitations) out.push(...hang(`- ${text}`, INDENT, INDENT + "  "));
  }
  if (lesson.whatJustHappened.length > 0) {
    out.push("", "What just happened");
    for (const text of lesson.whatJustHappened) out.push(...wrap(text, TEXT_WIDTH - INDENT.length).map((l) => (INDENT + l).trimEnd()));
  }
  if (lesson.myths.length > 0) {
    out.push("", "Myth vs fact");
    for (const myth of lesson.myths) {
      out.push(...hang(`Myth: ${myth.myth}`, INDENT, INDENT + "      "));
      out.push(...hang(`Fact: ${myth.fact}`, INDENT, INDENT + "      "));
    }
  }
  return out;
}

/**
 * The command that prints this run again: with the lesson's number when one lesson ran (as
 * `npx tsx scenarios/04-history-window.ts` does), since the plain command would run all of them.
 *
 *   one lesson, seed 1 → "npm start -- 4 --seed 1"
 */
export function reproduceCommand(run: RunReport): string {
  const only = run.lessons.length === 1 && run.lessons[0] !== undefined ? `${run.lessons[0].id} ` : "";
  return `npm start -- ${only}--seed ${run.seed}`;
}

/** The whole run as text, ending with a newline. */
export function renderRunText(run: RunReport): string {
  const out: string[] = [
    `etcdsim lessons · seed ${run.seed} · target ${run.target}`,
    `Reproduce with: ${reproduceCommand(run)}`,
  ];
  for (const lesson of run.lessons) out.push("", ...renderLessonText(lesson));
  const claims = run.lessons.flatMap((l) => l.claims);
  const failed = claims.filter((c) => !c.holds).length;
  out.push("", `${run.lessons.length} ${run.lessons.length === 1 ? "lesson" : "lessons"}, ${claims.length} headline claims, ${claims.length - failed} hold, ${failed} do not.`);
  return out.join("\n") + "\n";
}

/**
 * Draws a report `Chart` as inline SVG text: grouped bars or lines, axis ticks, a legend. No
 * library and no randomness, so the same chart gives the same bytes.
 *
 *   x labels:   "1 key"  "100 keys"  "1000 keys"
 *   series:     v2 writes ▇ ▇ ▇   v3 writes ▇ ▇ ▇      → one group of bars per x label
 *
 * Made to be read off a projector or a printout: every bar carries its value (a 0 shows as "0",
 * not as a missing bar), every line ends in its last value, v2 lines are dashed and drawn over v3's
 * solid ones (so a v2 line that coincides with a v3 line still shows), and numeric x labels that
 * are not evenly spaced (250, 500, 1000, 2000) sit at their true distances.
 */
import type { Chart } from "./report.js";

const WIDTH = 640;
const HEIGHT = 300;
const MARGIN = { bottom: 56, left: 64 };
/** Room right of the plot: lines need it for their end labels. */
const MARGIN_RIGHT = { bars: 16, lines: 60 };
/** The shortest bar drawn for a value above zero, in pixels. */
const MIN_BAR_PX = 3;
/** v2 in shades of orange, v3 in shades of blue, series of neither API in other colours. */
const PALETTE = {
  v2: ["#d9822b", "#f2b679", "#9c5716"],
  v3: ["#2b6cb0", "#86b7e8", "#173f6b"],
  other: ["#4a9d5b", "#8a4fbf", "#b8433f", "#6b7280"],
};
const LEGEND_ROW_PX = 14;
const CHAR_PX = 6.5;
/** v2 lines are dashed so that one lying on a v3 line still shows through. */
const V2_DASH = "6 4";

/** The colour of each series, by its API and its rank among that API's series. */
function coloursOf(chart: Chart): string[] {
  const seen = { v2: 0, v3: 0, other: 0 };
  return chart.series.map((series) => {
    const group = series.api ?? "other";
    const colours = PALETTE[group];
    return colours[seen[group]++ % colours.length] as string;
  });
}

/** Legend entries laid out left to right, wrapping into rows that fit the width. */
function legendLayout(chart: Chart, left: number): Array<{ x: number; row: number }> {
  const out: Array<{ x: number; row: number }> = [];
  let x = left;
  let row = 0;
  for (const series of chart.series) {
    const width = 34 + series.name.length * CHAR_PX;
    if (x + width > WIDTH - 8 && x > left) {
      row += 1;
      x = left;
    }
    out.push({ x, row });
    x += width;
  }
  return out;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Round-number axis maximum: the smallest 1, 2 or 5 × 10^k at or above `max`. */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/**
 * The y axis: a round tick step (1, 2 or 5 × 10^k, whole numbers when every value is whole) and
 * the first multiple of it at or above the largest value, so the tallest bar fills most of the plot.
 *
 *   max 6000   → step 2000, top 6000 (ticks 0 2000 4000 6000)
 *   max 111494 → step 50000, top 150000
 *   max 2021   → step 1000, top 3000
 */
export function yAxis(values: number[]): { step: number; top: number } {
  const max = Math.max(0, ...values);
  if (max === 0) return { step: 1, top: 1 };
  let step = niceMax(max / 4);
  if (values.every((v) => Number.isInteger(v))) step = Math.max(1, step);
  return { step, top: step * Math.ceil(max / step - 1e-9) };
}

/**
 * Where each x label sits, as a fraction of the plot width. Category labels are evenly spaced.
 * Numeric labels are placed at their values, unless they double (or grow by any fixed ratio) at
 * each step, in which case even spacing is a log scale and is kept, and said so.
 *
 *   ["250", "500", "1000", "1500", "2000"] → linear: 0.1, 0.2, 0.42, 0.66, 0.9
 *   ["1", "2", "4", "8", "16"]             → evenly spaced, "(log scale)"
 */
export function xPositions(chart: Chart): { at: number[]; note: string } {
  const n = Math.max(1, chart.x.length);
  const even = chart.x.map((_, i) => (i + 0.5) / n);
  const numbers = chart.x.map((label) => (/^\d+(\.\d+)?$/.test(label) ? Number(label) : Number.NaN));
  if (chart.kind !== "lines" || numbers.length < 3 || numbers.some((v) => Number.isNaN(v))) return { at: even, note: "" };
  const first = numbers[0] as number;
  const last = numbers[numbers.length - 1] as number;
  if (!(last > first)) return { at: even, note: "" };
  const ratios = numbers.slice(1).map((v, i) => v / (numbers[i] as number));
  const geometric = first > 0 && ratios.every((r) => Math.abs(r - (ratios[0] as number)) < 1e-9) && (ratios[0] as number) > 1;
  const steps = numbers.slice(1).map((v, i) => v - (numbers[i] as number));
  const evenSteps = steps.every((s) => Math.abs(s - (steps[0] as number)) < 1e-9);
  if (geometric && !evenSteps) return { at: even, note: " (log scale)" };
  const pad = 0.5 / n;
  return { at: numbers.map((v) => pad + ((v - first) / (last - first)) * (1 - 2 * pad)), note: "" };
}

/**
 * Pairs of series that have the same value at every x: drawn on top of each other, so the chart
 * says so in words.
 *
 *   v2 random [1, 2, 1] and v3 random [1, 2, 1] → ["v2 random", "v3 random"]
 */
export function coincidingSeries(chart: Chart): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  chart.series.forEach((a, i) => {
    chart.series.slice(i + 1).forEach((b) => {
      if (a.values.length === b.values.length && a.values.every((v, k) => v === b.values[k])) out.push([a.name, b.name]);
    });
  });
  return out;
}

function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
}

/** A marker for one point: squares for v2, circles otherwise. */
function marker(api: Chart["series"][number]["api"], cx: number, cy: number, colour: string, title: string): string {
  const t = `<title>${escapeXml(title)}</title>`;
  if (api === "v2") return `<rect x="${(cx - 3).toFixed(1)}" y="${(cy - 3).toFixed(1)}" width="6" height="6" fill="${colour}">${t}</rect>`;
  return `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="3.5" fill="${colour}">${t}</circle>`;
}

export function renderChartSvg(chart: Chart): string {
  const { step, top } = yAxis(chart.series.flatMap((s) => s.values));
  // Wide enough for the longest tick label and, left of it, the rotated y label.
  const longestTick = Math.max(...[0, step, top].map((v) => fmt(v).length));
  const left = Math.max(MARGIN.left, Math.ceil(30 + longestTick * CHAR_PX));
  const legend = legendLayout(chart, left);
  const colours = coloursOf(chart);
  const legendRows = Math.max(1, ...legend.map((l) => l.row + 1));
  const marginTop = 36 + legendRows * LEGEND_ROW_PX;
  const marginRight = MARGIN_RIGHT[chart.kind];
  const plotW = WIDTH - left - marginRight;
  const plotH = HEIGHT - marginTop - MARGIN.bottom;
  const y = (v: number): number => marginTop + plotH - (v / top) * plotH;
  const { at, note } = xPositions(chart);
  const px = (i: number): number => left + plotW * (at[i] ?? 0);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeXml(chart.title)}" font-family="system-ui, sans-serif">`,
  );
  parts.push(`<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`);
  // Y axis: gridlines at every multiple of the step.
  for (let v = 0; v <= top + 1e-9; v += step) {
    const py = y(v).toFixed(1);
    parts.push(`<line x1="${left}" x2="${WIDTH - marginRight}" y1="${py}" y2="${py}" stroke="${v === 0 ? "#9ca3af" : "#e5e7eb"}"/>`);
    parts.push(`<text x="${left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle" font-size="11">${fmt(v)}</text>`);
  }
  parts.push(
    `<text x="14" y="${marginTop + plotH / 2}" transform="rotate(-90 14 ${marginTop + plotH / 2})" text-anchor="middle" font-size="11">${escapeXml(chart.yLabel)}</text>`,
  );
  parts.push(`<text x="${left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle" font-size="11">${escapeXml(chart.xLabel + note)}</text>`);
  chart.x.forEach((label, i) => {
    parts.push(`<text x="${px(i).toFixed(1)}" y="${marginTop + plotH + 16}" text-anchor="middle" font-size="11">${escapeXml(label)}</text>`);
  });
  if (chart.kind === "bars") {
    const groupW = plotW / Math.max(1, chart.x.length);
    const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
    chart.series.forEach((series, j) => {
      series.values.forEach((value, i) => {
        const x = left + groupW * i + groupW * 0.1 + barW * j;
        // A small non-zero value still gets a visible bar: lesson 9's one revision beside v2's
        // thousand indexes would otherwise be a fraction of a pixel, indistinguishable from zero.
        const py = value > 0 ? Math.min(y(value), marginTop + plotH - MIN_BAR_PX) : y(value);
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${py.toFixed(1)}" width="${barW.toFixed(1)}" height="${(marginTop + plotH - py).toFixed(1)}" fill="${colours[j]}"><title>${escapeXml(`${series.name} at ${chart.x[i] ?? ""}: ${value}`)}</title></rect>`,
        );
        // The value above its bar, shrunk to fit narrow bars.
        const size = Math.min(11, Math.max(7, barW / Math.max(1, fmt(value).length) / 0.6));
        parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(py - 3).toFixed(1)}" text-anchor="middle" font-size="${size.toFixed(1)}" fill="#374151">${fmt(value)}</text>`);
      });
    });
  } else {
    // v3 (and other) lines first, solid; v2 lines last, dashed, so coinciding lines both show.
    const order = chart.series.map((_, j) => j).sort((a, b) => Number(chart.series[a]?.api === "v2") - Number(chart.series[b]?.api === "v2"));
    for (const j of order) {
      const series = chart.series[j];
      if (series === undefined) continue;
      const colour = colours[j] ?? "#000";
      const points = series.values.map((value, i) => `${px(i).toFixed(1)},${y(value).toFixed(1)}`);
      const dash = series.api === "v2" ? ` stroke-dasharray="${V2_DASH}"` : "";
      parts.push(`<polyline points="${points.join(" ")}" fill="none" stroke="${colour}" stroke-width="${series.api === "v2" ? 2 : 2.5}"${dash}/>`);
      series.values.forEach((value, i) => parts.push(marker(series.api, px(i), y(value), colour, `${series.name} at ${chart.x[i] ?? ""}: ${value}`)));
    }
    // End labels: each line's last value right of its last point; equal values share one label,
    // and labels closer than a line of text are pushed apart.
    const ends = new Map<number, number[]>();
    chart.series.forEach((series, j) => {
      const last = series.values[series.values.length - 1];
      if (last !== undefined) ends.set(last, [...(ends.get(last) ?? []), j]);
    });
    const labels = [...ends.entries()].map(([value, owners]) => ({ value, owners, y: y(value) })).sort((a, b) => b.y - a.y);
    for (let i = 1; i < labels.length; i++) {
      const below = labels[i - 1];
      const label = labels[i];
      if (below !== undefined && label !== undefined && below.y - label.y < 12) label.y = below.y - 12;
    }
    const lastX = px(chart.x.length - 1) + 8;
    for (const label of labels) {
      const colour = label.owners.length === 1 ? (colours[label.owners[0] ?? 0] ?? "#000") : "#374151";
      parts.push(`<text x="${lastX.toFixed(1)}" y="${label.y.toFixed(1)}" dominant-baseline="middle" font-size="11" font-weight="bold" fill="${colour}">${fmt(label.value)}</text>`);
    }
  }
  // Legend under the title, wrapped into rows: a square for bars, the line's own stroke for lines.
  chart.series.forEach((series, j) => {
    const place = legend[j] ?? { x: left, row: 0 };
    const ly = 30 + place.row * LEGEND_ROW_PX;
    const colour = colours[j] ?? "#000";
    if (chart.kind === "bars") parts.push(`<rect x="${place.x}" y="${ly}" width="10" height="10" fill="${colour}"/>`);
    else {
      const dash = series.api === "v2" ? ` stroke-dasharray="${V2_DASH}"` : "";
      parts.push(`<line x1="${place.x}" x2="${place.x + 20}" y1="${ly + 5}" y2="${ly + 5}" stroke="${colour}" stroke-width="2.5"${dash}/>`);
      parts.push(marker(series.api, place.x + 10, ly + 5, colour, series.name));
    }
    const textX = place.x + (chart.kind === "bars" ? 14 : 24);
    parts.push(`<text x="${textX}" y="${ly + 9}" font-size="11">${escapeXml(series.name)}</text>`);
  });
  parts.push(`</svg>`);
  return parts.join("\n");
}

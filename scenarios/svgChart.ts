/**
 * Draws a report `Chart` as inline SVG text: grouped bars or lines, axis ticks, a legend. No
 * library and no randomness, so the same chart gives the same bytes.
 *
 *   x labels:   "1 key"  "100 keys"  "1000 keys"
 *   series:     v2 writes ▇ ▇ ▇   v3 writes ▇ ▇ ▇      → one group of bars per x label
 */
import type { Chart } from "./report.js";

const WIDTH = 640;
const HEIGHT = 300;
const MARGIN = { right: 16, bottom: 56, left: 64 };
/** v2 in shades of orange, v3 in shades of blue, series of neither API in other colours. */
const PALETTE = {
  v2: ["#d9822b", "#f2b679", "#9c5716"],
  v3: ["#2b6cb0", "#86b7e8", "#173f6b"],
  other: ["#4a9d5b", "#8a4fbf", "#b8433f", "#6b7280"],
};
const LEGEND_ROW_PX = 14;
const CHAR_PX = 6.5;

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
function legendLayout(chart: Chart): Array<{ x: number; row: number }> {
  const out: Array<{ x: number; row: number }> = [];
  let x = MARGIN.left;
  let row = 0;
  for (const series of chart.series) {
    const width = 24 + series.name.length * CHAR_PX;
    if (x + width > WIDTH - MARGIN.right && x > MARGIN.left) {
      row += 1;
      x = MARGIN.left;
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

function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

export function renderChartSvg(chart: Chart): string {
  const legend = legendLayout(chart);
  const colours = coloursOf(chart);
  const legendRows = Math.max(1, ...legend.map((l) => l.row + 1));
  const marginTop = 30 + legendRows * LEGEND_ROW_PX;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - marginTop - MARGIN.bottom;
  const top = niceMax(Math.max(0, ...chart.series.flatMap((s) => s.values)));
  const y = (v: number): number => marginTop + plotH - (v / top) * plotH;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeXml(chart.title)}">`,
  );
  parts.push(`<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`);
  // Y axis with five ticks.
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    const py = y(v).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${py}" y2="${py}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle" font-size="11">${fmt(v)}</text>`);
  }
  parts.push(
    `<text x="14" y="${marginTop + plotH / 2}" transform="rotate(-90 14 ${marginTop + plotH / 2})" text-anchor="middle" font-size="11">${escapeXml(chart.yLabel)}</text>`,
  );
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle" font-size="11">${escapeXml(chart.xLabel)}</text>`);
  const groupW = plotW / Math.max(1, chart.x.length);
  chart.x.forEach((label, i) => {
    const cx = MARGIN.left + groupW * (i + 0.5);
    parts.push(`<text x="${cx.toFixed(1)}" y="${marginTop + plotH + 16}" text-anchor="middle" font-size="11">${escapeXml(label)}</text>`);
  });
  if (chart.kind === "bars") {
    const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
    chart.series.forEach((series, j) => {
      series.values.forEach((value, i) => {
        const x = MARGIN.left + groupW * i + groupW * 0.1 + barW * j;
        const py = y(value);
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${py.toFixed(1)}" width="${barW.toFixed(1)}" height="${(marginTop + plotH - py).toFixed(1)}" fill="${colours[j]}"><title>${escapeXml(`${series.name} at ${chart.x[i] ?? ""}: ${value}`)}</title></rect>`,
        );
      });
    });
  } else {
    chart.series.forEach((series, j) => {
      const points = series.values.map((value, i) => `${(MARGIN.left + groupW * (i + 0.5)).toFixed(1)},${y(value).toFixed(1)}`);
      parts.push(`<polyline points="${points.join(" ")}" fill="none" stroke="${colours[j]}" stroke-width="2"/>`);
      series.values.forEach((value, i) => {
        parts.push(
          `<circle cx="${(MARGIN.left + groupW * (i + 0.5)).toFixed(1)}" cy="${y(value).toFixed(1)}" r="3" fill="${colours[j]}"><title>${escapeXml(`${series.name} at ${chart.x[i] ?? ""}: ${value}`)}</title></circle>`,
        );
      });
    });
  }
  // Legend under the title, wrapped into rows.
  chart.series.forEach((series, j) => {
    const place = legend[j] ?? { x: MARGIN.left, row: 0 };
    const y = 28 + place.row * LEGEND_ROW_PX;
    parts.push(`<rect x="${place.x}" y="${y}" width="10" height="10" fill="${colours[j]}"/>`);
    parts.push(`<text x="${place.x + 14}" y="${y + 9}" font-size="11">${escapeXml(series.name)}</text>`);
  });
  parts.push(`</svg>`);
  return parts.join("\n");
}

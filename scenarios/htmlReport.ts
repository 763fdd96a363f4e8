/**
 * Renders a `RunReport` as one self-contained HTML page (`npm start -- --html report.html`): the
 * lessons as chapters, v2 | v3 tables, inline SVG charts, claims with ✓ or ✗. No scripts, no
 * external files, so it opens from disk in any browser and can be mailed to a class.
 */
import type { Block, Cell, Chart, LessonReport, RunReport } from "./report.js";
import { coincidingSeries, escapeXml, renderChartSvg } from "./svgChart.js";
import { cellText, reproduceCommand, runSummary } from "./textReport.js";

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #1f2937; }
h1 { font-size: 1.6em; } h2 { border-bottom: 2px solid #d1d5db; padding-bottom: .2em; margin-top: 2.5em; }
dl.header { display: grid; grid-template-columns: 9em 1fr; gap: .2em 1em; background: #f9fafb; padding: .8em; border-radius: 6px; }
dl.header dt { font-weight: bold; } dl.header dd { margin: 0; } dl.header ul { margin: 0; padding-left: 1.2em; }
table { border-collapse: collapse; margin: .8em 0; width: 100%; font-size: 14px; table-layout: fixed; }
col.label { width: 24%; } col.v2, col.v3 { width: 38%; }
caption { text-align: left; font-weight: bold; padding-bottom: .2em; }
td { overflow-wrap: anywhere; } td code.script { white-space: pre-wrap; }
th, td { border: 1px solid #d1d5db; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.v2 { background: #fffaf3; } td.v3 { background: #f5f9ff; }
td code, pre { font-family: ui-monospace, monospace; font-size: 13px; }
pre { background: #f3f4f6; padding: .6em; white-space: pre-wrap; overflow-wrap: anywhere; }
code { font-family: ui-monospace, monospace; font-size: .9em; }
figcaption { font-size: 13px; color: #4b5563; max-width: 640px; }
svg { max-width: 100%; height: auto; }
.claims li.holds::marker { content: "✓ "; color: #15803d; } .claims li.fails::marker { content: "✗ "; color: #b91c1c; }
p.holds { color: #15803d; font-weight: bold; } p.fails { color: #b91c1c; font-weight: bold; }
.claims li.na::marker { content: "– "; color: #6b7280; } li.na, tr.na { color: #6b7280; } tr.fails td { color: #b91c1c; }
.myth { background: #fef9c3; padding: .5em .8em; border-radius: 6px; margin: .5em 0; }
figure { margin: 1em 0; } nav ol { columns: 2; }
`;

function h(text: string): string {
  return escapeXml(text);
}

/** Narration text: escaped, with `backquoted` spans (commands, flags) set as code. */
function prose(text: string): string {
  return h(text).replace(/`([^`]+)`/g, "<code>$1</code>");
}

/**
 * A table cell. Errors are set as code; a cell whose line breaks a lesson marked with ↵ (a `txn -i`
 * script, etcdctl's output) keeps the ↵ and also breaks the line, so the script reads as typed.
 *
 *   "SUCCESS ↵  ↵ OK" → SUCCESS↵ / ↵ / OK, one per line
 */
function cell(value: Cell): string {
  const text = cellText(value);
  if (text.includes("↵")) return `<code class="script">${text.split(/ ?↵ ?/).map(h).join("↵\n")}</code>`;
  return text.startsWith("Error: ") ? `<code>${h(text)}</code>` : h(text);
}

function renderBlock(block: Block): string {
  switch (block.kind) {
    case "step":
      return `<h3>${block.number}. ${prose(block.title)}</h3>\n${block.text.map((t) => `<p>${prose(t)}</p>`).join("\n")}`;
    case "text":
      return block.text.map((t) => `<p>${prose(t)}</p>`).join("\n");
    case "code":
      return `<pre>${h(block.lines.join("\n"))}</pre>`;
    case "table": {
      const t = block.table;
      const caption = t.title === undefined ? "" : `<caption>${h(t.title)}</caption>`;
      const rows = t.rows.map((r) => `<tr><th scope="row">${h(r.label)}</th><td class="v2">${cell(r.v2)}</td><td class="v3">${cell(r.v3)}</td></tr>`);
      return `<table>${caption}<colgroup><col class="label"/><col class="v2"/><col class="v3"/></colgroup><thead><tr><th>${h(t.labelHeader)}</th><th>v2</th><th>v3</th></tr></thead><tbody>\n${rows.join("\n")}\n</tbody></table>`;
    }
    case "chart":
      return `<figure>${renderChartSvg(block.chart)}${chartCaption(block.chart)}</figure>`;
  }
}

/** Says in words which series lie on top of each other, since the eye cannot tell them apart. */
function chartCaption(chart: Chart): string {
  const same = coincidingSeries(chart);
  if (same.length === 0) return "";
  const pairs = same.map(([a, b]) => `${a} and ${b}`).join("; ");
  const how = chart.kind === "lines" ? " (v2 is drawn dashed over v3)" : "";
  return `<figcaption>Same values at every point, so drawn on top of each other${how}: ${h(pairs)}.</figcaption>`;
}

function renderLesson(lesson: LessonReport): string {
  const list = (items: string[]): string => `<ul>${items.map((i) => `<li>${prose(i)}</li>`).join("")}</ul>`;
  const parts = [
    `<section id="lesson-${lesson.id}">`,
    `<h2>${h(lesson.label ?? `Lesson ${lesson.id}`)} · ${prose(lesson.title)}</h2>`,
    `<dl class="header"><dt>Lesson</dt><dd>${prose(lesson.header.lesson)}</dd><dt>You will see</dt><dd>${list(lesson.header.youWillSee)}</dd><dt>Try changing</dt><dd>${list(lesson.header.tryChanging)}</dd></dl>`,
    ...lesson.blocks.map(renderBlock),
  ];
  if (lesson.claims.length > 0) {
    parts.push(`<h3>Headline claims</h3><ul class="claims">`);
    for (const c of lesson.claims) {
      const v2 = c.v2Value === null ? "—" : cellText(c.v2Value);
      const v3 = c.v3Value === null ? "—" : cellText(c.v3Value);
      const when = c.when === undefined ? "" : ` <small>(holds when ${h(c.when)})</small>`;
      if (c.notApplicable === true) parts.push(`<li class="na">not applicable with these settings: ${prose(c.claim)}${when}</li>`);
      else parts.push(`<li class="${c.holds ? "holds" : "fails"}">${prose(c.claim)}${when} <small>(v2: ${h(v2)} · v3: ${h(v3)})</small></li>`);
    }
    parts.push(`</ul>`);
  }
  const comparison = lesson.comparison;
  if (comparison !== undefined) {
    parts.push(`<h3>On the target etcd</h3>`);
    if (comparison.status !== "ran") parts.push(`<p class="fails">${h(comparison.status)}: ${h(comparison.reason ?? "")}</p>`);
    else {
      parts.push(`<table><tr><th>claim</th><th>verdict</th><th>v2 etcdsim</th><th>v2 etcd</th><th>v3 etcdsim</th><th>v3 etcd</th></tr>`);
      for (const c of comparison.claims) {
        const show = (v: Cell | null | undefined): string => (v === undefined ? "" : v === null ? "—" : h(cellText(v)));
        const cls = c.verdict === "agree" ? "holds" : c.verdict === "sim-only" ? "na" : "fails";
        parts.push(`<tr class="${cls}"><td>${prose(c.claim)}</td><td>${h(c.verdict)}</td><td>${show(c.sim?.v2Value)}</td><td>${show(c.real?.v2Value)}</td><td>${show(c.sim?.v3Value)}</td><td>${show(c.real?.v3Value)}</td></tr>`);
      }
      parts.push(`</table>`);
      if (comparison.limitations.length > 0) parts.push(`<p>Limits there:</p>${list(comparison.limitations)}`);
    }
  }
  if (lesson.limitations.length > 0) parts.push(`<h3>Limits of this run</h3>${list(lesson.limitations)}`);
  if (lesson.whatJustHappened.length > 0) parts.push(`<h3>What just happened</h3>${lesson.whatJustHappened.map((t) => `<p>${prose(t)}</p>`).join("")}`);
  for (const m of lesson.myths) parts.push(`<div class="myth"><p><b>Myth:</b> ${prose(m.myth)}</p><p><b>Fact:</b> ${prose(m.fact)}</p></div>`);
  parts.push(`</section>`);
  return parts.join("\n");
}

/** The run's verdict, as the text report's last line gives it: lessons, claims, how many hold. */
function summary(run: RunReport): string {
  const failed = run.lessons.flatMap((l) => l.claims).filter((c) => !c.holds && c.notApplicable !== true).length;
  const ok = failed === 0 && (run.compared === undefined || run.compared.ok);
  return `<p class="${ok ? "holds" : "fails"}">${h(runSummary(run))}</p>`;
}

export function renderRunHtml(run: RunReport): string {
  const nav = run.lessons.map((l) => `<li><a href="#lesson-${l.id}">${prose(l.title)}</a></li>`).join("");
  return [
    `<!DOCTYPE html>`,
    `<html lang="en"><head><meta charset="utf-8"><title>etcdsim lessons · seed ${run.seed}</title><style>${STYLE}</style></head><body>`,
    `<h1>etcd v2 vs v3, side by side</h1>`,
    `<p>Seed ${run.seed} · target ${h(run.target)} · reproduce with <code>${h(reproduceCommand(run))} --html report.html</code></p>`,
    summary(run),
    `<nav><ol>${nav}</ol></nav>`,
    ...run.lessons.map(renderLesson),
    `</body></html>`,
    ``,
  ].join("\n");
}

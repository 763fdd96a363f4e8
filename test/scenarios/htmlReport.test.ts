/**
 * The HTML report: one self-contained page, well formed, with an inline <svg> for every chart.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { renderRunHtml } from "../../scenarios/htmlReport.js";
import type { RunReport } from "../../scenarios/report.js";
import { niceMax, renderChartSvg } from "../../scenarios/svgChart.js";
import { runAllLessons } from "./runAll.js";

let run: RunReport;
let html: string;
beforeAll(async () => {
  run = await runAllLessons();
  html = renderRunHtml(run);
}, 60_000);

/** Checks that every element opened is closed in order (void elements excepted). */
function unbalancedTags(text: string): string[] {
  const voids = new Set(["meta", "br", "hr", "img", "input", "link"]);
  const stack: string[] = [];
  const problems: string[] = [];
  const withoutDoctype = text.replace(/<!DOCTYPE[^>]*>/i, "");
  for (const match of withoutDoctype.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(\/?)>/g)) {
    const [, closing, name = "", selfClosing] = match;
    const tag = name.toLowerCase();
    if (selfClosing === "/" || voids.has(tag)) continue;
    if (closing === "/") {
      const open = stack.pop();
      if (open !== tag) problems.push(`</${tag}> closes <${open ?? "nothing"}>`);
    } else stack.push(tag);
  }
  return [...problems, ...stack.map((t) => `<${t}> never closed`)];
}

describe("the HTML report", () => {
  it("is one well-formed, self-contained page", () => {
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(unbalancedTags(html)).toEqual([]);
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it("has a section per lesson and an inline <svg> per chart", () => {
    const charts = run.lessons.flatMap((l) => l.blocks.filter((b) => b.kind === "chart"));
    expect(charts.length).toBeGreaterThanOrEqual(5);
    expect(html.match(/<svg /g)?.length).toBe(charts.length);
    for (const lesson of run.lessons) expect(html).toContain(`<section id="lesson-${lesson.id}">`);
  });

  it("escapes etcd's raw text (quotes and angle brackets) in tables", () => {
    expect(html).toContain("malformed comparison: value(user1) = &quot;bob&quot;");
    expect(html).not.toContain('value(user1) = "bob"');
  });
});

describe("renderChartSvg", () => {
  it("draws one bar per series and x label, scaled to a round axis maximum", () => {
    const svg = renderChartSvg({ id: "t", title: "T", kind: "bars", xLabel: "x", yLabel: "y", x: ["a", "b"], series: [{ name: "s1", values: [1, 7] }, { name: "s2", values: [3, 0] }] });
    expect(svg.match(/<rect [^>]*><title>/g)?.length).toBe(4);
    expect(unbalancedTags(svg)).toEqual([]);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(1001)).toBe(2000);
  });
});

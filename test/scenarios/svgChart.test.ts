/**
 * The chart drawing choices that keep a lesson's chart honest to read: the y axis, where numeric x
 * labels sit, values printed on bars and at line ends, and coinciding series named.
 */
import { describe, expect, it } from "vitest";
import type { Chart } from "../../scenarios/report.js";
import { coincidingSeries, renderChartSvg, xPositions, yAxis } from "../../scenarios/svgChart.js";

const lines = (x: string[], series: Chart["series"]): Chart => ({ id: "t", title: "T", kind: "lines", xLabel: "x", yLabel: "y", x, series });

describe("yAxis", () => {
  it("ends at the first round step at or above the largest value, so the tallest bar fills the plot", () => {
    expect(yAxis([1000, 6000, 0])).toEqual({ step: 2000, top: 6000 });
    expect(yAxis([2021, 240])).toEqual({ step: 1000, top: 3000 });
    expect(yAxis([111494, 29070])).toEqual({ step: 50000, top: 150000 });
  });

  it("keeps whole-number steps when every value is whole, and a unit axis when all are zero", () => {
    expect(yAxis([1, 2, 1])).toEqual({ step: 1, top: 2 });
    expect(yAxis([0, 0])).toEqual({ step: 1, top: 1 });
  });
});

describe("xPositions", () => {
  it("places unevenly spaced numeric labels at their true distances", () => {
    const { at, note } = xPositions(lines(["250", "500", "1000", "1500", "2000"], []));
    expect(note).toBe("");
    const gaps = at.slice(1).map((p, i) => p - (at[i] ?? 0));
    // 250 → 500 is half the distance of 500 → 1000.
    expect((gaps[1] ?? 0) / (gaps[0] ?? 1)).toBeCloseTo(2);
  });

  it("spaces doubling labels evenly and says the scale is logarithmic", () => {
    const { at, note } = xPositions(lines(["1", "2", "4", "8", "16"], []));
    expect(note).toBe(" (log scale)");
    expect(at).toEqual([0.1, 0.3, 0.5, 0.7, 0.9]);
  });

  it("spaces category labels evenly", () => {
    expect(xPositions(lines(["1h", "2h"], [])).at).toEqual([0.25, 0.75]);
  });
});

describe("renderChartSvg", () => {
  it("prints every bar's value, a zero included", () => {
    const svg = renderChartSvg({ ...lines(["a", "b"], [{ name: "s", api: "v3", values: [6000, 0] }]), kind: "bars" });
    // The label right after each bar (the y axis has its own "0", so look next to the bars).
    const labels = [...svg.matchAll(/<\/rect>\n<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(["6000", "0"]);
  });

  it("draws v2 lines dashed and after v3's, so a v2 line on top of a v3 line still shows", () => {
    const svg = renderChartSvg(lines(["a", "b"], [{ name: "v2 s", api: "v2", values: [1, 2] }, { name: "v3 s", api: "v3", values: [1, 2] }]));
    const polylines = [...svg.matchAll(/<polyline [^>]*>/g)].map((m) => m[0]);
    expect(polylines).toHaveLength(2);
    expect(polylines[0]).not.toContain("stroke-dasharray");
    expect(polylines[1]).toContain("stroke-dasharray");
  });
});

describe("coincidingSeries", () => {
  it("names the pairs of series equal at every point", () => {
    const chart = lines(["a", "b"], [
      { name: "v2 random", api: "v2", values: [1, 2] },
      { name: "v3 random", api: "v3", values: [1, 2] },
      { name: "v3 other", api: "v3", values: [1, 1] },
    ]);
    expect(coincidingSeries(chart)).toEqual([["v2 random", "v3 random"]]);
  });
});

/**
 * "Try changing" is a promise: every value a lesson suggests can be given with `--set`, and the
 * report stays true to itself. For each suggested value, every claim either holds or says it is not
 * applicable with these settings (and then states when it applies); none is ✗ while the prose
 * around it tells another story.
 */
import { describe, expect, it } from "vitest";
import { inProcessFactory } from "../../scenarios/adapters/inProcess.js";
import { LESSONS } from "../../scenarios/lessons.js";
import { checkSettings, runLesson } from "../../scenarios/runner.js";
import { renderLessonText } from "../../scenarios/textReport.js";

const CASES = LESSONS.flatMap((lesson) =>
  Object.entries(lesson.params ?? {}).flatMap(([name, param]) => param.suggested.map((value) => ({ lesson, name, value }))),
);

describe("every value a lesson's Try changing suggests", () => {
  it("covers lessons 4 and 12, whose suggestions used to break their reports", () => {
    expect(new Set(CASES.map((c) => c.lesson.id))).toEqual(new Set([4, 12]));
  });

  it.each(CASES.map((c) => [c.lesson.id, c.name, c.value, c] as const))("lesson %i with %s=%i: no claim contradicts its narration", async (_id, name, value, c) => {
    const settings = checkSettings([c.lesson], { [name]: String(value) });
    const report = await runLesson(c.lesson, { seed: 1, factory: inProcessFactory, settings });
    const text = renderLessonText(report).join("\n");
    for (const claim of report.claims) {
      if (claim.notApplicable === true) expect(claim.when, claim.id).toBeDefined();
      else expect(claim.holds, `${claim.id}: ${text}`).toBe(true);
    }
    expect(text).not.toContain("DOES NOT HOLD");
    // The setting is what ran: the narration carries the number given.
    expect(text).toContain(String(value));
  }, 60_000);
});

describe("lesson 4's narration follows what it measured", () => {
  it("says v2 still had the first index after 999 writes, and marks the 401 claim not applicable", async () => {
    const lesson = LESSONS.find((l) => l.id === 4);
    if (lesson === undefined) throw new Error("no lesson 4");
    const report = await runLesson(lesson, { seed: 1, factory: inProcessFactory, settings: { WRITES: 999 } });
    const text = renderLessonText(report).join("\n");
    expect(text).toContain("v2 still had index 1: only 999 events have been written");
    expect(text).not.toContain("index 1 was gone");
    expect(report.claims.find((c) => c.id === "v2-401-v3-replays")?.notApplicable).toBe(true);
  }, 60_000);

  it("runs 2500 writes to the end, with the resume step and its claim", async () => {
    const lesson = LESSONS.find((l) => l.id === 4);
    if (lesson === undefined) throw new Error("no lesson 4");
    const report = await runLesson(lesson, { seed: 1, factory: inProcessFactory, settings: { WRITES: 2500 } });
    expect(report.claims.find((c) => c.id === "v2-401-v3-replays")).toMatchObject({ v2Value: 401, v3Value: 2500, holds: true });
    expect(report.measures["v3ReplayedEvents"]).toBe(2500);
  }, 60_000);
});

describe("lesson 6's crash model", () => {
  it("crashes the same transfers on both sides", async () => {
    const lesson = LESSONS.find((l) => l.id === 6);
    if (lesson === undefined) throw new Error("no lesson 6");
    for (const seed of [1, 2, 3]) {
      const report = await runLesson(lesson, { seed, factory: inProcessFactory });
      expect(report.measures["v2Crashes"], `seed ${seed}`).toBe(report.measures["v3Crashes"]);
    }
  }, 60_000);
});

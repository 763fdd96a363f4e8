/**
 * Runs every lesson once in process (seed 1) and shares the report between test files' cases.
 * Not a test file itself: the test files import it.
 */
import { inProcessFactory } from "../../scenarios/adapters/inProcess.js";
import { LESSONS } from "../../scenarios/lessons.js";
import type { LessonReport, RunReport } from "../../scenarios/report.js";
import { runLessons } from "../../scenarios/runner.js";

export const SEED = 1;

export async function runAllLessons(seed = SEED): Promise<RunReport> {
  return runLessons(LESSONS, { seed, factory: inProcessFactory });
}

/** The lesson report with that id; throws when missing so a test cannot pass on nothing. */
export function lessonOf(run: RunReport, id: number): LessonReport {
  const lesson = run.lessons.find((l) => l.id === id);
  if (lesson === undefined) throw new Error(`lesson ${id} did not run`);
  return lesson;
}

/** A claim by id, which must exist. */
export function claimOf(lesson: LessonReport, id: string): { holds: boolean; v2Value: unknown; v3Value: unknown } {
  const claim = lesson.claims.find((c) => c.id === id);
  if (claim === undefined) throw new Error(`lesson ${lesson.id} has no claim "${id}"`);
  return claim;
}

/** A measure by name, which must exist. */
export function measureOf(lesson: LessonReport, name: string): number {
  const value = lesson.measures[name];
  if (value === undefined) throw new Error(`lesson ${lesson.id} has no measure "${name}"`);
  return value;
}

/**
 * The lessons whose real-time waits stay within a few seconds, for the `--target` tests that run
 * inside `npm test` (against a real etcd, and against etcdsim's own server). The slow ones (TTLs of
 * tens of seconds) are left to `.ci/real-etcd-checks.sh`, which runs every lesson.
 */
import type { Lesson } from "../../scenarios/lesson.js";
import { LESSONS } from "../../scenarios/lessons.js";
import type { TargetRunReport } from "../../scenarios/target.js";

export const QUICK_LESSONS: ReadonlySet<string> = new Set([
  "data-model",
  "versions",
  "how-a-get-works",
  "history-window",
  "cas-vs-txn",
  "txn-in-practice",
  "optimistic-vs-pessimistic",
  "prefix-watches",
  "watcher-machinery",
  "persistence",
  "index-vs-revision",
]);

export function quickLessons(): Lesson[] {
  return LESSONS.filter((lesson) => QUICK_LESSONS.has(lesson.slug));
}

/** Every failed lesson and every claim that did not agree, one line each. */
export function disagreements(report: TargetRunReport): string[] {
  return report.lessons.flatMap((lesson) => [
    ...(lesson.status === "failed" ? [`lesson ${lesson.id} failed: ${lesson.reason ?? ""}`] : []),
    ...lesson.claims
      .filter((claim) => claim.verdict === "disagree" || claim.verdict === "real-only")
      .map((claim) => `lesson ${lesson.id} ${claim.id}: sim ${JSON.stringify(claim.sim)} real ${JSON.stringify(claim.real)}`),
  ]);
}

/**
 * Lets each lesson file run on its own, as STYLE asks: `npx tsx scenarios/04-history-window.ts`
 * runs that lesson in process with the default seed (extra arguments, e.g. `--seed 7`, pass through).
 *
 *   // at the end of a lesson file:
 *   await runIfMain(import.meta.url, lesson);
 *
 * The runner and the adapters are loaded only when the file really is the entry point, so importing
 * a lesson (as the full runner and the tests do) costs nothing.
 */
import { pathToFileURL } from "node:url";
import type { Lesson } from "./lesson.js";

export async function runIfMain(moduleUrl: string, lesson: Lesson): Promise<void> {
  const entry = process.argv[1];
  if (entry === undefined || pathToFileURL(entry).href !== moduleUrl) return;
  const { inProcessProvider } = await import("./adapters/inProcess.js");
  const { main } = await import("./runner.js");
  process.exitCode = await main(process.argv.slice(2), [lesson], [inProcessProvider]);
}

/**
 * A scenario script run as a lesson: the same report (text, `--json`, `--html`), the same claim
 * checks, and the same comparison against a real etcd (`--target`) as the TypeScript lessons get,
 * from a plain text file of etcdctl lines that a teacher writes without TypeScript.
 *
 *   # CAS vs txn                                  ← the first comment: the title
 *   # v2 compares one key; v3 compares many.      ← the rest of the first comment block: the summary
 *
 *   ## Compare and swap on one key               ← a numbered step
 *   # v2 checks the value it is told to expect.  ← narration
 *   v2 set /x 1                                  ← commands, each shown with what etcdctl printed
 *   v2 set /x 2 --swap-with-value 0
 *   expect v2 exit = 4                           ← a headline claim
 *
 * Every line goes through the console engine (`consoleEngine.ts`), so `npm start -- FILE` and
 * `npm run console < FILE` read the same language and print the same command output.
 */
import { TEXT_WIDTH } from "../textReport.js";
import type { Lesson } from "../lesson.js";
import { ConsoleEngine, type ConsoleLine } from "./consoleEngine.js";

/** The script's title and summary: its first block of `#` lines. */
export function scriptHeader(text: string): { title: string; summary: string } {
  const lines = text.split("\n");
  const block: string[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed.startsWith("#") && !trimmed.startsWith("##")) block.push(trimmed.replace(/^#\s?/, ""));
    else if (block.length > 0 || trimmed !== "") break;
  }
  return { title: block[0] ?? "Untitled script", summary: block.slice(1).join(" ") };
}

/** How a command line is shown in the report: as the etcdctl command a terminal would run. */
function shownCommand(line: string): string {
  const text = line.trim();
  if (text.startsWith("v2 ")) return `$ ETCDCTL_API=2 etcdctl ${text.slice(3)}`;
  if (text.startsWith("v3 ")) return `$ etcdctl ${text.slice(3)}`;
  if (text.startsWith("both ") || text.startsWith("sleep ") || text.startsWith("etcdctl ") || text.startsWith("ETCDCTL_API=")) return `$ ${text}`;
  return `$ etcdctl ${text}`;
}

/** `id` numbers scripts after the lessons (101, 102 …) so reports can anchor them. */
export function scriptLesson(path: string, text: string, id: number): Lesson {
  const header = scriptHeader(text);
  return {
    id,
    slug: path,
    title: header.title,
    lesson: header.summary,
    youWillSee: [],
    tryChanging: [],
    async run(ctx) {
      const engine = await ConsoleEngine.open({ open: () => ctx.openTarget(), replayable: false, width: TEXT_WIDTH - 5 });
      let code: string[] = [];
      let narration: string[] = [];
      let inHeader = true;
      const flushCode = (): void => {
        if (code.length > 0) ctx.code(...code);
        code = [];
      };
      const flushNarration = (): void => {
        if (narration.length > 0) ctx.say(narration.join(" "));
        narration = [];
      };
      const show = (out: readonly ConsoleLine[]): void => {
        for (const line of out) if (line.stream !== "note" || !/^[✓✗] expect /.test(line.text)) code.push(line.job === undefined ? line.text : `[${line.job}] ${line.text}`);
      };
      for (const line of text.split("\n")) {
        const trimmed = line.trim();
        if (engine.prompt() === "") {
          // Inside a txn block: etcdctl reads these lines as its input; show them as typed.
          code.push(`  ${line}`);
          show(await engine.input(line));
          continue;
        }
        if (trimmed.startsWith("#")) {
          if (inHeader && !trimmed.startsWith("##")) continue;
          flushCode();
          if (trimmed.startsWith("##")) {
            flushNarration();
            ctx.step(trimmed.replace(/^##\s?/, ""));
          } else narration.push(trimmed.replace(/^#\s?/, ""));
          continue;
        }
        inHeader = false;
        if (trimmed === "") {
          flushNarration();
          flushCode();
          continue;
        }
        flushNarration();
        if (!trimmed.startsWith("expect ")) code.push(shownCommand(trimmed));
        show(await engine.input(line));
      }
      show(await engine.endOfInput());
      flushNarration();
      flushCode();
      for (const claim of engine.claims()) ctx.claim(claim);
      await engine.stopWatches();
    },
  };
}

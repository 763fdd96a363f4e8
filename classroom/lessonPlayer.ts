/**
 * The classroom's lesson player: a scenario script (the console language of
 * scenarios/script/consoleEngine.ts) cut into steps at its `## ` headings, played on in-process
 * stores with a simulated clock. etcd has no counterpart; the anchors are RaftScope's seek and
 * Learn Git Branching's levels.
 *
 * Stepping back is exact because nothing is random and no real time passes: going to step n opens
 * fresh stores and replays steps 1…n, so "back" is "replay one step fewer", never an undo that
 * could drift. The frame for a step is the view model of those stores, drawn like the live view.
 *
 *   const player = LessonPlayer.fromScript(text);
 *   await player.goto(2)   →  { step 2 of 4, title, narration, output lines, frame (a reset frame) }
 *   await player.goto(1)   →  the state after step 1, identical to the first time it was shown
 *
 *   # The history window                 ← title (first comment block), then the summary
 *   ## Ten writes                         ← step 1
 *   # v2 keeps the last 1000 events.      ← narration
 *   v2 set /a 1                           ← commands, run through the console engine
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openInProcessTarget, type InProcessStores } from "../scenarios/adapters/inProcess.js";
import { ConsoleEngine } from "../scenarios/script/consoleEngine.js";
import { scriptHeader } from "../scenarios/script/scriptLesson.js";
import { FrameBuilder } from "./observer.js";
import { snapshotFrame, type Frame } from "./viewModel.js";

/** One `## ` section of a script. */
export interface LessonStep {
  readonly title: string;
  readonly narration: readonly string[];
  readonly lines: readonly string[];
}

/** What the page shows at one step. */
export interface LessonView {
  readonly lesson: string;
  readonly summary: string;
  /** 1-based; 0 is the empty stores before step 1. */
  readonly step: number;
  readonly steps: number;
  readonly title: string;
  readonly narration: readonly string[];
  /** The step's commands with what etcdctl printed, as a terminal shows them. */
  readonly transcript: readonly string[];
  readonly frame: Frame;
}

/** The lessons shipped with the classroom (classroom/lessons/*.etcdctl). */
export const LESSON_DIR = join(dirname(fileURLToPath(import.meta.url)), "lessons");

/** The scenario scripts `npm start -- FILE` runs (scenarios/scripts/*.etcdctl), offered as `scripts/<name>`. */
export const SCRIPT_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "scenarios", "scripts");

/** The shipped lessons by name (file name without .etcdctl): the classroom's, then the scenario scripts. */
export function shippedLessons(): Map<string, string> {
  const lessons = new Map<string, string>();
  const add = (dir: string, prefix: string): void => {
    for (const file of readdirSync(dir).filter((name) => name.endsWith(".etcdctl")).sort()) {
      lessons.set(prefix + file.slice(0, -".etcdctl".length), readFileSync(join(dir, file), "utf8"));
    }
  };
  add(LESSON_DIR, "");
  add(SCRIPT_DIR, "scripts/");
  return lessons;
}

/** A script's steps: each `## ` heading starts one; `#` lines are its narration; the rest are commands. */
export function parseSteps(text: string): LessonStep[] {
  const steps: Array<{ title: string; narration: string[]; lines: string[] }> = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("## ")) {
      steps.push({ title: line.slice(3).trim(), narration: [], lines: [] });
      continue;
    }
    const step = steps[steps.length - 1];
    if (step === undefined || line === "") continue;
    if (line.startsWith("#")) step.narration.push(line.replace(/^#\s?/, ""));
    else step.lines.push(line);
  }
  return steps;
}

/** Plays one script step by step; see the file header. */
export class LessonPlayer {
  private constructor(
    readonly title: string,
    readonly summary: string,
    readonly steps: readonly LessonStep[],
  ) {}

  static fromScript(text: string): LessonPlayer {
    const { title, summary } = scriptHeader(text);
    return new LessonPlayer(title, summary, parseSteps(text));
  }

  /** The stores after steps 1…`step` (clamped to the script), replayed from empty. */
  async goto(step: number): Promise<LessonView> {
    const at = Math.max(0, Math.min(this.steps.length, Math.floor(step)));
    let stores: InProcessStores | undefined;
    const engine = await ConsoleEngine.open({ open: async () => openInProcessTarget((opened) => (stores = opened)), replayable: true });
    let transcript: string[] = [];
    for (let i = 0; i < at; i++) {
      transcript = [];
      for (const line of (this.steps[i] as LessonStep).lines) {
        transcript.push(`$ ${line}`);
        for (const printed of await engine.input(line)) transcript.push(printed.text);
      }
    }
    if (stores === undefined) throw new Error("the in-process target did not open");
    const builder = new FrameBuilder({ v2: stores.store, v3: stores.server, clock: stores.clock });
    builder.build();
    await engine.close();
    const current = this.steps[at - 1];
    return {
      lesson: this.title,
      summary: this.summary,
      step: at,
      steps: this.steps.length,
      title: current?.title ?? "Before the first step: both stores empty",
      narration: current?.narration ?? [this.summary],
      transcript,
      frame: snapshotFrame(builder.model),
    };
  }
}

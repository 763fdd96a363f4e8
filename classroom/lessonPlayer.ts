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
 * Within a step the simulated clock can run: the page asks for the step again with the time it has
 * been shown unfrozen (`elapsedMs`), and the player moves the step's clock that far, so TTL keys
 * count down, reach their deadline and wait for the next 500 ms SYNC sweep, and leases expire on
 * the lessor's tick, as on a real server. The state is a function of (step, elapsedMs) alone:
 * (2, 0) is always the state right after step 2, (2, 3000) three simulated seconds later. A page
 * that freezes the clock simply stops asking; the step's stores are kept open between requests,
 * so a running clock costs one `advance`, not a replay.
 *
 *   const player = LessonPlayer.fromScript(text);
 *   await player.goto(2)   →  { step 2 of 4, title, narration, output lines, frame (a reset frame) }
 *   await player.goto(1)   →  the state after step 1, identical to the first time it was shown
 *   await player.goto(1, 2500)  →  the same stores 2.5 simulated seconds later (TTLs counted down)
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
import { storesFrame } from "./observer.js";
import type { Frame } from "./viewModel.js";

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
  /** Simulated time run within the step, after its commands (0 right after them). */
  readonly elapsedMs: number;
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

/** The most a step's clock is run past its commands (ten minutes): enough for any TTL a lesson sets. */
export const MAX_ELAPSED_MS = 10 * 60_000;

/** The open stores of the step last shown. */
interface OpenStep {
  readonly step: number;
  elapsedMs: number;
  readonly engine: ConsoleEngine;
  readonly stores: InProcessStores;
  readonly transcript: readonly string[];
}

/** Plays one script step by step; see the file header. */
export class LessonPlayer {
  private open: OpenStep | undefined;
  /** Requests run one at a time (a running clock's requests and a step click may overlap). */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly title: string,
    readonly summary: string,
    readonly steps: readonly LessonStep[],
  ) {}

  static fromScript(text: string): LessonPlayer {
    const { title, summary } = scriptHeader(text);
    return new LessonPlayer(title, summary, parseSteps(text));
  }

  /**
   * The stores after steps 1…`step` (clamped to the script), replayed from empty, then with the
   * simulated clock run `elapsedMs` further (clamped to 0…MAX_ELAPSED_MS).
   */
  goto(step: number, elapsedMs = 0): Promise<LessonView> {
    const next = this.queue.then(() => this.show(step, elapsedMs));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Closes the open step's stores. */
  async close(): Promise<void> {
    await this.queue;
    await this.open?.engine.close();
    this.open = undefined;
  }

  private async show(step: number, elapsedMs: number): Promise<LessonView> {
    const at = Math.max(0, Math.min(this.steps.length, Math.floor(step)));
    const elapsed = Number.isFinite(elapsedMs) ? Math.max(0, Math.min(MAX_ELAPSED_MS, Math.floor(elapsedMs))) : 0;
    let open = this.open;
    if (open === undefined || open.step !== at || open.elapsedMs > elapsed) {
      // Time within a step only moves forward; anything else is a replay from empty.
      await open?.engine.close();
      this.open = undefined;
      open = await this.replay(at);
      this.open = open;
    }
    if (elapsed > open.elapsedMs) {
      open.stores.clock.advance(elapsed - open.elapsedMs);
      open.elapsedMs = elapsed;
    }
    const current = this.steps[at - 1];
    return {
      lesson: this.title,
      summary: this.summary,
      step: at,
      elapsedMs: elapsed,
      steps: this.steps.length,
      title: current?.title ?? "Before the first step: both stores empty",
      narration: current?.narration ?? [this.summary],
      transcript: open.transcript,
      frame: storesFrame({ v2: open.stores.store, v3: open.stores.server, clock: open.stores.clock }),
    };
  }

  private async replay(at: number): Promise<OpenStep> {
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
    return { step: at, elapsedMs: 0, engine, stores, transcript };
  }
}

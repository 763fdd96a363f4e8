/**
 * The lesson contract, and the context a lesson writes its report through.
 *
 * A lesson is a numbered script (`scenarios/04-history-window.ts`). Its header says what it
 * teaches (*Lesson*, *You will see*, *Try changing*); its `run(ctx)` opens fresh targets, does the
 * same thing to the v2 and the v3 store, and records what happened:
 *
 *   ctx.step("Write 1500 times", "Each write is one event in v2 and one revision in v3.");
 *   ctx.table([{ label: "index / revision", v2: v2Index, v3: v3Revision }]);
 *   ctx.claim({ id: "v2-forgets", claim: "v2 keeps only 1000 events", v2Value: kept, v3Value: kept3, holds: kept === 1000 });
 *   ctx.whatJustHappened("…");
 *
 * Every number handed to the context is measured from the stores; the lesson never types one in.
 * Nothing here prints: the runner renders the collected `LessonReport` as text, JSON or HTML.
 */
import { Random } from "../shared/random.js";
import type { Block, Cell, Chart, Claim, LessonHeader, LessonReport, TableRow } from "./report.js";
import type { Target, TargetFactory } from "./workload.js";

/**
 * A number a teacher may change from the command line (`npm start -- 4 --set WRITES=999`), named as
 * "Try changing" names it, with the range the lesson's code can run.
 */
export interface LessonParam {
  default: number;
  min: number;
  max: number;
  /** What it changes, for --help and the report. */
  description: string;
  /** The values "Try changing" suggests; a test runs each and checks no claim contradicts its narration. */
  suggested: number[];
}

export interface Lesson extends LessonHeader {
  /** 1 … 17: the chapter number. */
  id: number;
  /** File-name slug, "history-window", also accepted by `npm start -- history-window`. */
  slug: string;
  title: string;
  /** Parameters `--set` may change; the lesson reads them with `ctx.param(name)`. */
  params?: Record<string, LessonParam>;
  run(ctx: LessonContext): Promise<void>;
}

export interface LessonContext {
  readonly seed: number;
  /** Seeded from the run's seed and the lesson id, so one lesson alone reproduces its run in order. */
  readonly random: Random;
  /** A lesson parameter: its `--set` value, or its default. */
  param(name: string): number;
  /** A fresh, empty etcd (both APIs). Closes the lesson's previous target; the runner closes the last. */
  openTarget(): Promise<Target>;
  /** A numbered, narrated step. */
  step(title: string, ...text: string[]): void;
  say(...text: string[]): void;
  code(...lines: string[]): void;
  /** A two-column v2 | v3 table. */
  table(rows: TableRow[], options?: { title?: string; labelHeader?: string }): void;
  chart(chart: Chart): void;
  claim(claim: Claim): void;
  /** Records a figure under a name (for tests and `--json`) and returns it. */
  measure<T extends number>(name: string, value: T): T;
  whatJustHappened(...text: string[]): void;
  myth(myth: string, fact: string): void;
  /** Something this target could not show. */
  limitation(text: string): void;
  /** For long loops: done out of total. Shown on a terminal's stderr only. */
  progress(done: number, total: number): void;
}

/** Builds the context for one lesson run, and the report it fills. */
export function newLessonContext(
  lesson: Lesson,
  seed: number,
  factory: TargetFactory,
  onProgress: (done: number, total: number) => void,
  options: { settings?: Record<string, number> } = {},
): { context: LessonContext; report: LessonReport; targets: Target[] } {
  const report: LessonReport = {
    id: lesson.id,
    slug: lesson.slug,
    title: lesson.title,
    header: { lesson: lesson.lesson, youWillSee: lesson.youWillSee, tryChanging: lesson.tryChanging },
    blocks: [],
    claims: [],
    whatJustHappened: [],
    myths: [],
    measures: {},
    limitations: [],
  };
  const targets: Target[] = [];
  let steps = 0;
  const push = (block: Block): void => {
    report.blocks.push(block);
  };
  const settings = options.settings ?? {};
  const context: LessonContext = {
    seed,
    random: new Random(seed * 1000 + lesson.id),
    param(name) {
      const param = lesson.params?.[name];
      if (param === undefined) throw new Error(`lesson ${lesson.id} has no parameter ${name}`);
      return settings[name] ?? param.default;
    },
    async openTarget() {
      // One target at a time: a lesson's earlier target is closed first (a real etcd can only look
      // fresh to one of them).
      for (const open of targets.splice(0)) await open.close();
      const target = await factory.open(seed * 1000 + lesson.id);
      targets.push(target);
      return target;
    },
    step(title, ...text) {
      steps += 1;
      push({ kind: "step", number: steps, title, text });
    },
    say(...text) {
      push({ kind: "text", text });
    },
    code(...lines) {
      push({ kind: "code", lines });
    },
    table(rows, options = {}) {
      push({
        kind: "table",
        table: { ...(options.title === undefined ? {} : { title: options.title }), labelHeader: options.labelHeader ?? "", rows },
      });
    },
    chart(chart) {
      push({ kind: "chart", chart });
    },
    claim(claim) {
      report.claims.push(claim);
    },
    measure(name, value) {
      if (name in report.measures) throw new Error(`lesson ${lesson.id}: measure "${name}" recorded twice`);
      report.measures[name] = value;
      return value;
    },
    whatJustHappened(...text) {
      report.whatJustHappened.push(...text);
    },
    myth(myth, fact) {
      report.myths.push({ myth, fact });
    },
    limitation(text) {
      report.limitations.push(text);
    },
    progress: onProgress,
  };
  return { context, report, targets };
}

/** A cell for an outcome: the value, or etcd's error text. */
export function cellOf<T>(outcome: { ok: true; value: T } | { ok: false; error: { text: string } }, show: (value: T) => Cell): Cell {
  return outcome.ok ? show(outcome.value) : `Error: ${outcome.error.text}`;
}

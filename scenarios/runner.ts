/**
 * The lesson runner: picks lessons, runs them in order against a target, and renders the report.
 *
 *   npm start                          every lesson, in order, seed 1, text on stdout
 *   npm start -- 4                     lesson 4 only (also: `history-window`, or any part of a title)
 *   npm start -- --seed 7              another seed: same seed, byte-identical output
 *   npm start -- --json                the report as JSON on stdout
 *   npm start -- --html report.html    also write a self-contained HTML page with SVG charts
 *   npm start -- --target URL          run against a real etcd (see scenarios/targets.ts)
 *   npm start -- --list                the lesson list
 *
 * A progress line goes to stderr, and only when stderr is a terminal: piped output never sees it.
 */
import { writeFileSync } from "node:fs";
import { renderRunHtml } from "./htmlReport.js";
import { newLessonContext, type Lesson } from "./lesson.js";
import type { LessonReport, RunReport } from "./report.js";
import { openTargetFactory, UsageError, type TargetProvider } from "./targets.js";
import { renderRunText } from "./textReport.js";
import type { TargetFactory } from "./workload.js";

export const DEFAULT_SEED = 1;

export interface RunOptions {
  seed: number;
  factory: TargetFactory;
  /** Called as lessons advance; the CLI draws a progress line with it. */
  onProgress?: (lesson: Lesson, done: number, total: number) => void;
}

/** Runs `lessons` in order and returns the collected report. Targets are closed even on failure. */
export async function runLessons(lessons: readonly Lesson[], options: RunOptions): Promise<RunReport> {
  const reports: LessonReport[] = [];
  for (const lesson of lessons) reports.push(await runLesson(lesson, options));
  return { tool: "etcdsim lessons", seed: options.seed, target: options.factory.description, lessons: reports };
}

export async function runLesson(lesson: Lesson, options: RunOptions): Promise<LessonReport> {
  const onProgress = options.onProgress;
  const { context, report, targets } = newLessonContext(lesson, options.seed, options.factory, (done, total) =>
    onProgress?.(lesson, done, total),
  );
  onProgress?.(lesson, 0, 0);
  try {
    await lesson.run(context);
  } finally {
    for (const target of targets) await target.close();
  }
  return report;
}

/** Finds lessons by number ("4"), slug ("history-window") or a part of the title ("history"). */
export function selectLessons(all: readonly Lesson[], selectors: readonly string[]): Lesson[] {
  if (selectors.length === 0) return [...all];
  const chosen: Lesson[] = [];
  for (const selector of selectors) {
    const wanted = selector.toLowerCase();
    const found = all.filter((l) =>
      /^\d+$/.test(wanted)
        ? l.id === Number(wanted)
        : l.slug === wanted || `${String(l.id).padStart(2, "0")}-${l.slug}` === wanted || l.slug.includes(wanted) || l.title.toLowerCase().includes(wanted),
    );
    if (found.length === 0) throw new UsageError(`no lesson matches "${selector}" (try --list)`);
    for (const l of found) if (!chosen.includes(l)) chosen.push(l);
  }
  return chosen;
}

export interface CliArguments {
  selectors: string[];
  seed: number;
  json: boolean;
  html?: string;
  target?: string;
  list: boolean;
}

export function parseArguments(argv: readonly string[]): CliArguments {
  const args: CliArguments = { selectors: [], seed: DEFAULT_SEED, json: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === "--seed") {
      const seed = Number(value());
      if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed wants a non-negative integer`);
      args.seed = seed;
    } else if (arg.startsWith("--seed=")) args.seed = Number(arg.slice(7));
    else if (arg === "--json") args.json = true;
    else if (arg === "--html") args.html = value();
    else if (arg.startsWith("--html=")) args.html = arg.slice(7);
    else if (arg === "--target") args.target = value();
    else if (arg.startsWith("--target=")) args.target = arg.slice(9);
    else if (arg === "--list") args.list = true;
    else if (arg === "--help" || arg === "-h") throw new UsageError(USAGE);
    else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}\n${USAGE}`);
    else args.selectors.push(arg);
  }
  return args;
}

export const USAGE = `usage: npm start -- [lesson number or name …] [--seed N] [--json] [--html FILE] [--target URL] [--list]`;

/** A progress line on stderr, redrawn in place; silent unless stderr is a terminal. */
function progressPrinter(total: number): { onProgress: RunOptions["onProgress"]; done(): void } {
  const stream = process.stderr;
  if (!stream.isTTY) return { onProgress: undefined, done() {} };
  let index = 0;
  let last: Lesson | undefined;
  return {
    onProgress(lesson, done, of) {
      if (lesson !== last) {
        index += 1;
        last = lesson;
      }
      const part = of > 0 ? ` ${Math.floor((done / of) * 100)}%` : "";
      stream.write(`\r\x1b[K[${index}/${total}] lesson ${lesson.id} · ${lesson.title}${part}`);
    },
    done() {
      stream.write("\r\x1b[K");
    },
  };
}

/** The whole CLI: parse, run, print. Returns the process exit code. */
export async function main(
  argv: readonly string[],
  lessons: readonly Lesson[],
  providers: readonly TargetProvider[],
  stdout: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  let args: CliArguments;
  try {
    args = parseArguments(argv);
    if (args.list) {
      const slugWidth = Math.max(...lessons.map((l) => l.slug.length)) + 1;
      stdout(lessons.map((l) => `${String(l.id).padStart(2)}  ${l.slug.padEnd(slugWidth)} ${l.title}`).join("\n") + "\n");
      return 0;
    }
    const chosen = selectLessons(lessons, args.selectors);
    const factory = await openTargetFactory(providers, args.target);
    const progress = progressPrinter(chosen.length);
    let report: RunReport;
    try {
      report = await runLessons(chosen, {
        seed: args.seed,
        factory,
        ...(progress.onProgress === undefined ? {} : { onProgress: progress.onProgress }),
      });
    } finally {
      progress.done();
      await factory.close?.();
    }
    stdout(args.json ? JSON.stringify(report, jsonReplacer, 2) + "\n" : renderRunText(report));
    if (args.html !== undefined) {
      writeFileSync(args.html, renderRunHtml(report));
      process.stderr.write(`wrote ${args.html}\n`);
    }
    return report.lessons.every((l) => l.claims.every((c) => c.holds)) ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(error.message + "\n");
      return 2;
    }
    throw error;
  }
}

/** bigint (lease IDs) as decimal strings, the way the v3 JSON gateway writes int64. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/**
 * The lesson runner: one command line, one options object, one run. It picks lessons (and scenario
 * scripts), runs them in order against etcdsim (and, with `--target`, against a real etcd too), and
 * renders the report as text, JSON or HTML.
 *
 *   npm start                                every lesson, in order, seed 1, text on stdout
 *   npm start -- 4                           lesson 4 only (also: `history-window`, or any part of a title)
 *   npm start -- 4 --set WRITES=999          a lesson parameter ("Try changing"), checked against its range
 *   npm start -- scenarios/scripts/cas-vs-txn.etcdctl    a scenario script, run as a lesson
 *   npm start -- --seed 7                    another seed: same seed, byte-identical output
 *   npm start -- --json | --html report.html the report as JSON on stdout / also a self-contained HTML page
 *   npm start -- --target URL                also run on the etcd at URL: figures side by side, claims compared
 *   npm start -- --step                      presenter mode: pause after each step until Enter
 *   npm start -- --list | --help
 *
 * Every flag, value, path and endpoint is checked before anything runs; a mistake is one line on
 * stderr and exit code 2. A progress line goes to stderr, and only when stderr is a terminal.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { TargetNotEmptyError } from "./adapters/realEtcd.js";
import { renderRunHtml } from "./htmlReport.js";
import { newLessonContext, type Lesson } from "./lesson.js";
import type { LessonReport, RunReport } from "./report.js";
import { scriptLesson } from "./script/scriptLesson.js";
import { compareLessons } from "./target.js";
import { parseEndpoints, probeEndpoints } from "./targetUrl.js";
import { openTargetFactory, UsageError, type TargetProvider } from "./targets.js";
import { renderRunChunks, renderRunText, type TextOptions } from "./textReport.js";
import type { TargetFactory } from "./workload.js";

export const DEFAULT_SEED = 1;
/** Seeds are 32-bit: the PRNG (pure-rand's xoroshiro128+) takes a 32-bit seed, so 2^32 would alias 0. */
export const MAX_SEED = 2 ** 32 - 1;

export interface RunOptions {
  seed: number;
  factory: TargetFactory;
  /** `--set NAME=VALUE` lesson parameters (already checked against each lesson's ranges). */
  settings?: Record<string, number>;
  /** Called as lessons advance; the CLI draws a progress line with it. */
  onProgress?: (lesson: Lesson, done: number, total: number) => void;
}

/** Runs `lessons` in order and returns the collected report. Targets are closed even on failure. */
export async function runLessons(lessons: readonly Lesson[], options: RunOptions): Promise<RunReport> {
  const reports: LessonReport[] = [];
  for (const lesson of lessons) reports.push(await runLesson(lesson, options));
  return {
    tool: "etcdsim lessons",
    seed: options.seed,
    target: options.factory.description,
    lessons: reports,
    ...(options.settings === undefined || Object.keys(options.settings).length === 0 ? {} : { settings: options.settings }),
  };
}

export async function runLesson(lesson: Lesson, options: RunOptions): Promise<LessonReport> {
  const onProgress = options.onProgress;
  const { context, report, targets } = newLessonContext(lesson, options.seed, options.factory, (done, total) => onProgress?.(lesson, done, total), {
    settings: options.settings ?? {},
  });
  onProgress?.(lesson, 0, 0);
  try {
    await lesson.run(context);
  } finally {
    for (const target of targets) await target.close();
  }
  return report;
}

/** True when a selector names a scenario script file rather than a lesson. */
function isScriptPath(selector: string): boolean {
  return selector.endsWith(".etcdctl") || selector.includes("/");
}

/** Finds lessons by number ("4"), slug ("history-window") or a part of the title ("history"). */
export function selectLessons(all: readonly Lesson[], selectors: readonly string[]): Lesson[] {
  if (selectors.length === 0) return [...all];
  const chosen: Lesson[] = [];
  let scripts = 0;
  for (const selector of selectors) {
    if (isScriptPath(selector)) {
      const path = resolve(selector);
      if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`no such script: ${selector}`);
      scripts += 1;
      chosen.push(scriptLesson(selector, readFileSync(path, "utf8"), 100 + scripts));
      continue;
    }
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

/** The one options object the command line becomes. */
export interface CliArguments {
  selectors: string[];
  seed: number;
  json: boolean;
  html?: string;
  target?: string;
  list: boolean;
  help: boolean;
  /** `--set NAME=VALUE`, as typed (checked against the chosen lessons' parameters later). */
  sets: Record<string, string>;
  /** Presenter mode. */
  step: boolean;
}

/** `--seed` values: a whole number from 0 to 2^32 - 1, written in decimal. */
export function parseSeed(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > MAX_SEED) throw new UsageError(`--seed wants a whole number from 0 to ${MAX_SEED}, got "${text}"`);
  return Number(text);
}

/**
 * Reads the command line. `--name value` and `--name=value` mean the same for every flag (so
 * `--seed=-5` and `--seed -5` are refused alike); a flag's value is never taken as another flag.
 */
export function parseArguments(argv: readonly string[]): CliArguments {
  const args: CliArguments = { selectors: [], seed: DEFAULT_SEED, json: false, list: false, help: false, sets: {}, step: false };
  const valued = new Set(["--seed", "--html", "--target", "--set"]);
  const booleans = new Set(["--json", "--list", "--help", "-h", "--step"]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("-") || arg === "-") {
      args.selectors.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (booleans.has(name)) {
      if (name !== arg) throw new UsageError(`${name} takes no value`);
      if (name === "--json") args.json = true;
      else if (name === "--list") args.list = true;
      else if (name === "--step") args.step = true;
      else args.help = true;
      continue;
    }
    if (!valued.has(name)) throw new UsageError(`unknown option ${name} (try --help)`);
    let value: string;
    if (name !== arg) value = arg.slice(eq + 1);
    else {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${name} needs a value`);
      value = next;
    }
    if (value === "") throw new UsageError(`${name} needs a value`);
    switch (name) {
      case "--seed":
        args.seed = parseSeed(value);
        break;
      case "--html":
        args.html = value;
        break;
      case "--target":
        args.target = value;
        break;
      case "--set": {
        const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(value);
        if (match === null) throw new UsageError(`--set wants NAME=VALUE, got "${value}"`);
        args.sets[match[1] as string] = match[2] as string;
        break;
      }
    }
  }
  return args;
}

export const USAGE = `usage: npm start -- [lesson or script …] [options]

Runs the lessons (all of them by default) against etcdsim's v2 and v3 stores and prints a narrated
report. A lesson is chosen by number (4), name (history-window) or part of its title (history); a
scenario script by its path (scenarios/scripts/cas-vs-txn.etcdctl).

  --seed N            seed for the lessons' randomness, 0 … ${MAX_SEED} (default ${DEFAULT_SEED}); same seed, same bytes
  --set NAME=VALUE    change a lesson parameter named under "Try changing" (e.g. --set WRITES=999)
  --json              print the report as JSON instead of text
  --html FILE         also write the report as a self-contained HTML page
  --target URL[,URL]  also run everything on the etcd at URL (3.4, --enable-v2=true, empty: the lessons
                      empty it again afterwards); the report shows both sets of figures, and the exit
                      code is 1 if a claim disagrees
  --step              presenter mode: pause after each step until Enter (needs a terminal)
  --list              list the lessons
  --help              this text

Exit codes: 0 every claim holds (and agrees), 1 a claim does not, 2 a mistake on the command line.
Try also: npm run console (the same etcdctl language, interactive).`;

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

/** Checks that `--html FILE` can be written, before the run: the directory exists and FILE is not a directory. */
function checkHtmlPath(path: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--html ${path}: the directory ${dirname(path)} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--html ${path}: is a directory`);
}

/** Checks `--set` names and values against the chosen lessons' parameters; returns the numbers. */
export function checkSettings(lessons: readonly Lesson[], sets: Record<string, string>): Record<string, number> {
  const settings: Record<string, number> = {};
  for (const [name, text] of Object.entries(sets)) {
    const owners = lessons.filter((l) => l.params?.[name] !== undefined);
    if (owners.length === 0) {
      const known = lessons.flatMap((l) => Object.keys(l.params ?? {}));
      throw new UsageError(`--set ${name}: no chosen lesson has a parameter ${name}${known.length === 0 ? "" : ` (have: ${[...new Set(known)].join(", ")})`}`);
    }
    if (!/^\d+$/.test(text)) throw new UsageError(`--set ${name}=${text}: wants a whole number`);
    const value = Number(text);
    for (const lesson of owners) {
      const param = lesson.params?.[name];
      if (param !== undefined && (value < param.min || value > param.max)) {
        throw new UsageError(`--set ${name}=${text}: lesson ${lesson.id} takes ${name} from ${param.min} to ${param.max}`);
      }
    }
    settings[name] = value;
  }
  return settings;
}

/**
 * Presenter mode: the run is already done (in process it takes no time), so the report is shown one
 * step at a time, each chunk waiting for Enter on stdin.
 */
async function present(chunks: readonly string[], stdout: (text: string) => void): Promise<void> {
  for (const [index, chunk] of chunks.entries()) {
    stdout(chunk);
    if (index === chunks.length - 1) break;
    process.stderr.write("\x1b[2m— Enter for the next step —\x1b[0m");
    await new Promise<void>((resolveStep) => {
      process.stdin.resume();
      process.stdin.once("data", () => {
        process.stdin.pause();
        resolveStep();
      });
    });
    process.stderr.write("\r\x1b[K");
  }
}

/** The whole CLI: parse, check, run, print. Returns the process exit code. */
export async function main(
  argv: readonly string[],
  lessons: readonly Lesson[],
  providers: readonly TargetProvider[],
  stdout: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  let args: CliArguments;
  try {
    args = parseArguments(argv);
    if (args.help) {
      stdout(USAGE + "\n");
      return 0;
    }
    if (args.list) {
      const slugWidth = Math.max(...lessons.map((l) => l.slug.length)) + 1;
      stdout(lessons.map((l) => `${String(l.id).padStart(2)}  ${l.slug.padEnd(slugWidth)} ${l.title}`).join("\n") + "\n");
      return 0;
    }
    if (args.target !== undefined && !/^https?:\/\//.test(args.target) && !providers.some((p) => p.handles(args.target as string))) parseEndpoints(args.target);
    const chosen = selectLessons(lessons, args.selectors);
    const settings = checkSettings(chosen, args.sets);
    if (args.html !== undefined) checkHtmlPath(args.html);
    if (args.step && (process.stdin.isTTY !== true || args.json)) throw new UsageError("--step pauses for Enter: it needs a terminal on stdin and text output");
    const text: TextOptions = { colour: process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined && !args.json, width: process.stdout.isTTY === true ? process.stdout.columns : undefined };
    const progress = args.step ? { onProgress: undefined, done() {} } : progressPrinter(chosen.length);
    let report: RunReport;
    if (args.target !== undefined && /^https?:\/\//.test(args.target)) {
      const endpoints = parseEndpoints(args.target);
      await probeEndpoints(endpoints);
      const sim = await openTargetFactory(providers, undefined);
      try {
        const compared = await compareLessons({
          lessons: chosen,
          seed: args.seed,
          endpoints,
          sim,
          settings,
          ...(progress.onProgress === undefined ? {} : { onLesson: (lesson: Lesson) => progress.onProgress?.(lesson, 0, 0) }),
        });
        report = {
          tool: "etcdsim lessons",
          seed: args.seed,
          target: `etcdsim (in-process) and etcd ${compared.etcdVersion} at ${compared.target}`,
          lessons: compared.reports,
          compared: { target: compared.target, etcdVersion: compared.etcdVersion, claimsCompared: compared.claimsCompared, claimsAgreeing: compared.claimsAgreeing, ok: compared.ok },
          ...(Object.keys(settings).length === 0 ? {} : { settings }),
        };
      } finally {
        progress.done();
        await sim.close?.();
      }
    } else {
      const factory = await openTargetFactory(providers, args.target);
      try {
        report = await runLessons(chosen, {
          seed: args.seed,
          factory,
          settings,
          ...(progress.onProgress === undefined ? {} : { onProgress: progress.onProgress }),
        });
      } finally {
        progress.done();
        await factory.close?.();
      }
    }
    if (args.json) stdout(JSON.stringify(report, jsonReplacer, 2) + "\n");
    else if (args.step) await present(renderRunChunks(report, text), stdout);
    else stdout(renderRunText(report, text));
    if (args.html !== undefined) {
      writeFileSync(args.html, renderRunHtml(report));
      process.stderr.write(`wrote ${args.html}\n`);
    }
    return runPassed(report) ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(error.message + "\n");
      return 2;
    }
    if (error instanceof TargetNotEmptyError) {
      process.stderr.write(error.message + "\n");
      return 2;
    }
    throw error;
  }
}

/** Every applicable claim holds, and with `--target` every compared claim agrees. */
export function runPassed(report: RunReport): boolean {
  if (report.compared !== undefined && !report.compared.ok) return false;
  return report.lessons.every((l) => l.claims.every((c) => c.holds || c.notApplicable === true));
}

/** bigint (lease IDs) as decimal strings, the way the v3 JSON gateway writes int64. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/**
 * `npm run console`: the scenario-script language, interactive. A thin node:readline shell around
 * the headless `ConsoleEngine` (scenarios/script/consoleEngine.ts): it reads a line, hands it to the
 * engine, and prints what comes back.
 *
 *   npm run console                            in-process etcd (v2 + v3), simulated clock, seed 1
 *   npm run console -- --target http://127.0.0.1:2379   any etcd, taken as it is (nothing is emptied)
 *   npm run console < scenarios/scripts/cheat-sheet.etcdctl     a script, as a transcript
 *
 * On a terminal: history (up/down), tab completion of commands and flags, colour (stderr red, the
 * console's own notes dim; NO_COLOR turns it off), the width of the terminal for `both` columns, and
 * background watches printed as their events arrive. Piped: each input line is echoed after the
 * prompt, so the output reads as a session transcript, and the same input gives the same bytes.
 */
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { RealClock, type Cancel } from "../shared/clock.js";
import { openInProcessTarget } from "./adapters/inProcess.js";
import { RealEtcdTargetFactory } from "./adapters/realEtcd.js";
import { ConsoleEngine, type ConsoleLine } from "./script/consoleEngine.js";
import { parseEndpoints, probeEndpoints } from "./targetUrl.js";
import { UsageError } from "./targets.js";
import { guardStdout } from "./cliOutput.js";

export const CONSOLE_USAGE = `usage: npm run console -- [--target URL] [--width N]

Type etcdctl v3 lines (put foo bar), v2 lines (v2 set /foo bar), or both (both put foo bar).
Type help inside the console for the whole language; undo, save FILE, jobs, kill %N.

  --target URL   talk to an etcd at URL (taken as it is: nothing is emptied); default in-process
  --width N      columns for both's side-by-side rows (default: the terminal's, or 100)
  --help         this text`;

interface ConsoleArgs {
  target?: string;
  width?: number;
}

export function parseConsoleArguments(argv: readonly string[]): ConsoleArgs | "help" {
  const args: ConsoleArgs = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${name} needs a value`);
      return next;
    };
    if (name === "--help" || name === "-h") return "help";
    else if (name === "--target") args.target = value();
    else if (name === "--width") {
      const text = value();
      if (!/^\d+$/.test(text) || Number(text) < 40 || Number(text) > 1000) throw new UsageError(`--width wants a number of columns from 40 to 1000, got "${text}"`);
      args.width = Number(text);
    } else throw new UsageError(`unknown option ${arg} (try --help)`);
  }
  return args;
}

function painter(stream: NodeJS.WriteStream): (line: ConsoleLine) => string {
  const colour = stream.isTTY === true && process.env["NO_COLOR"] === undefined;
  return (line) => {
    if (!colour) return line.text;
    if (line.stream === "err") return `\x1b[31m${line.text}\x1b[0m`;
    if (line.stream === "note") return `\x1b[2m${line.text}\x1b[0m`;
    if (line.stream === "watch") return `\x1b[36m${line.text}\x1b[0m`;
    return line.text;
  };
}

/** Runs the console on the process's stdin/stdout; returns the exit code. */
export async function runConsole(argv: readonly string[]): Promise<number> {
  let args: ConsoleArgs | "help";
  let engine: ConsoleEngine;
  try {
    args = parseConsoleArguments(argv);
    if (args === "help") {
      process.stdout.write(CONSOLE_USAGE + "\n");
      return 0;
    }
    const interactive = process.stdin.isTTY === true;
    const width = args.width ?? (process.stdout.isTTY === true ? process.stdout.columns : 100);
    const writeFile = (path: string, text: string): void => writeFileSync(path, text);
    if (args.target !== undefined) {
      const endpoints = parseEndpoints(args.target);
      const info = await probeEndpoints(endpoints, false);
      if (!info.v2) process.stderr.write(`etcd ${info.version} at ${endpoints[0] ?? ""} has no v2 API (--enable-v2=false): v2 and both lines will fail\n`);
      const factory = new RealEtcdTargetFactory({ endpoints, asIs: true });
      engine = await ConsoleEngine.open({ open: () => factory.open(0), replayable: false, width, writeFile });
    } else {
      engine = await ConsoleEngine.open({ open: async () => openInProcessTarget(), replayable: true, width, writeFile });
    }
    return await shell(engine, interactive, args.target !== undefined);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

async function shell(engine: ConsoleEngine, interactive: boolean, live: boolean): Promise<number> {
  const paint = painter(process.stdout);
  const print = (lines: readonly ConsoleLine[]): void => {
    for (const line of lines) process.stdout.write(paint(line) + "\n");
  };
  const rl = createInterface({
    input: process.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
    historySize: 500,
    ...(interactive ? { completer: (line: string) => [engine.complete(line), line] as [string[], string] } : {}),
  });
  // Against a real etcd, events arrive on their own: poll the watches twice a second.
  let stopPolling: Cancel | undefined;
  if (interactive && live) {
    let busy = false;
    stopPolling = new RealClock().every(500, () => {
      if (busy) return;
      busy = true;
      void engine.poll().then((lines) => {
        busy = false;
        if (lines.length === 0) return;
        process.stdout.write("\r\x1b[K");
        print(lines);
        rl.prompt(true);
      });
    });
  }
  if (interactive) {
    process.stdout.write("etcdsim console: etcdctl v3 lines, `v2 …`, `both …`; `help` for more, Ctrl-D to leave.\n");
    rl.setPrompt(engine.prompt());
    rl.prompt();
  }
  for await (const line of rl) {
    if (!interactive) process.stdout.write(`${engine.prompt()}${line}\n`);
    print(await engine.input(line));
    if (interactive) {
      rl.setPrompt(engine.prompt());
      rl.prompt();
    }
  }
  print(await engine.endOfInput());
  stopPolling?.();
  await engine.close();
  return 0;
}

guardStdout();
process.exitCode = await runConsole(process.argv.slice(2));

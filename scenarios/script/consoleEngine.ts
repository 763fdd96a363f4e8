/**
 * The console's headless engine: one input line in, the lines etcdctl (v2 or v3) would print out.
 * `npm run console` drives it from node:readline, the scenario runner from a script file, and the
 * classroom page from a web page; none of them reads etcdctl syntax itself.
 *
 *   const engine = await ConsoleEngine.open({ open: () => factory.open(seed), replayable: true });
 *   await engine.input("put foo bar")             → [{ stream: "out", text: "OK" }]
 *   await engine.input("v2 set /foo bar")         → [{ stream: "out", text: "bar" }]
 *   await engine.input("watch --prefix jobs &")   → [{ stream: "note", text: "[1] watch --prefix jobs" }]
 *   await engine.input("put jobs/a 1")            → "OK", then the watch's "PUT", "jobs/a", "1" (stream "watch", job 1)
 *   await engine.input("both put foo baz")        → v2 | v3 rows: "bar" | "OK", "index 5 → 6" | "revision 3 → 4"
 *   await engine.input("txn -i")                  → "compares:" (then one line at a time until the third blank line)
 *   await engine.input("undo")                    → replays the session minus its last command on a fresh store
 *   engine.script()                               → the session as a scenario script (what `save FILE` writes)
 *
 * The language (one line each; see scenarios/scripts/README.md):
 *   put foo bar | get … | del … | txn [-i] | lease … | compaction N | watch … &   etcdctl v3 (the default; `v3 ` optional)
 *   v2 set /foo bar | v2 get … | v2 rm … | v2 ls … | v2 watch … &                 etcdctl v2
 *   both put|get|del|watch|lease|txn|compaction …                                 both APIs, side by side
 *   # narration, ## a step title | sleep 5s | expect SUBJECT OP VALUE              script lines
 *   undo | save FILE | jobs | kill %N | help                                       console only
 * `$LEASE` is the hex ID of the last lease granted (`$LEASE1`, `$LEASE2` … the first, second …), since
 * a real etcd picks lease IDs at random.
 *
 * Contract (stable: the classroom page builds on it):
 *   - `input(line)` never throws for bad input: etcdctl's own error text comes back on "err".
 *   - On the in-process target the output is deterministic: the same lines in, the same lines out.
 *   - Background watches report in `input`'s answer (events that arrived while the command ran)
 *     and through `poll()` (events since, for a shell that redraws on a timer).
 */
import type { Target } from "../workload.js";
import { shellWords } from "./etcdctlArgs.js";
import { runV2, V2_COMMANDS, v2FlagsOf } from "./etcdctlV2.js";
import { fail, parseV3, runTxn, runV3, TXN_PROMPTS, TxnReader, V3_COMMANDS, v3FlagsOf, type CtlResult, type ParsedV3 } from "./etcdctlV3.js";
import { BOTH_TXN_REFUSAL, bothMapping, type BothPlan } from "./both.js";
import { evaluateExpect, parseExpect, type ExpectContext } from "./expect.js";
import { BackgroundWatches } from "./backgroundWatch.js";
import type { Claim } from "../report.js";

/** One printed line. `out`/`err` are etcdctl's stdout/stderr; `note` is the console's own voice. */
export interface ConsoleLine {
  stream: "out" | "err" | "note" | "watch" | "prompt";
  text: string;
  /** For `both` rows: the v2 and v3 cells the text was laid out from. */
  columns?: [string, string];
  /** For `watch` lines: the job number (`[1]`). */
  job?: number;
}

export interface ConsoleEngineOptions {
  /** Opens a fresh, empty target (both APIs). Called again by `undo`. */
  open(): Promise<Target>;
  /** True when a reopened target replays to the same state (in process): `undo` needs it. */
  replayable: boolean;
  /** Text width for `both` columns (default 100). */
  width?: number;
  /** Writes `save FILE`; absent (a web page), `save` says it cannot. */
  writeFile?(path: string, text: string): void;
}

/** The result of the last command, per API, for `expect`. */
export interface LastResult {
  api: "v2" | "v3" | "both";
  v2?: CtlResult;
  v3?: CtlResult;
}

/** Parses a duration the way the scripts write it: `5s`, `500ms`, `2m`, `1.5s`. Undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (match === null) return undefined;
  const unit = match[2] ?? "s";
  return Math.round(Number(match[1]) * (unit === "ms" ? 1 : unit === "s" ? 1000 : 60_000));
}

const META = ["undo", "save", "jobs", "kill", "help", "sleep", "expect", "repeat", "v2", "v3", "both"];

export class ConsoleEngine {
  private target!: Target;
  /** The session: each entry is one command with its continuation lines (a txn block), as typed. */
  private readonly session: string[][] = [];
  private readonly leases: string[] = [];
  private readonly claimsMade: Claim[] = [];
  private watches!: BackgroundWatches;
  private txn: { reader: TxnReader; parsed: ParsedV3; lines: string[]; interactive: boolean } | undefined;
  private last: LastResult | undefined;
  private replaying = false;
  /** Inside `repeat`: background watches are read after the loop, not after each command. */
  private repeating = false;

  private constructor(private readonly options: ConsoleEngineOptions) {}

  static async open(options: ConsoleEngineOptions): Promise<ConsoleEngine> {
    const engine = new ConsoleEngine(options);
    await engine.reset();
    return engine;
  }

  /** The prompt a shell shows before the next line: none inside a `txn` block (etcdctl shows none). */
  prompt(): string {
    return this.txn === undefined ? "etcdsim> " : "";
  }

  /** The exit code etcdctl would have returned for the last command (the v3 side after `both`). */
  exitCode(): number | undefined {
    return this.last?.v3?.exit ?? this.last?.v2?.exit;
  }

  /** Every `expect` checked so far, as lesson claims. */
  claims(): readonly Claim[] {
    return this.claimsMade;
  }

  /** The session as a script: the lines that made the current state, narration included. */
  script(): string {
    return this.session.map((entry) => entry.join("\n") + "\n").join("");
  }

  /** Words a shell offers for tab completion of `line` (command names, then flags). */
  complete(line: string): string[] {
    const words = line.split(/\s+/);
    const last = words[words.length - 1] ?? "";
    const head = words.slice(0, -1);
    let candidates: string[];
    if (head.length === 0) candidates = [...V3_COMMANDS.map((c) => c.split(" ")[0] as string), ...META];
    else if (head[0] === "v2") candidates = head.length === 1 ? V2_COMMANDS : v2FlagsOf(head[1] ?? "");
    else {
      const rest = head[0] === "both" || head[0] === "v3" ? head.slice(1) : head;
      if (rest.length === 0) candidates = V3_COMMANDS.map((c) => c.split(" ")[0] as string);
      else if (rest[0] === "lease" && rest.length === 1) candidates = ["grant", "revoke", "timetolive", "keep-alive", "list"];
      else candidates = v3FlagsOf(rest[0] === "lease" ? `lease ${rest[1] ?? ""}` : (rest[0] ?? ""));
    }
    return [...new Set(candidates)].filter((c) => c.startsWith(last)).sort().map((c) => [...head, c].join(" "));
  }

  /** Output of background watches that arrived since the last call. */
  async poll(): Promise<ConsoleLine[]> {
    return this.watches.collect();
  }

  async close(): Promise<void> {
    await this.watches.closeAll();
    await this.target.close();
  }

  /** Ends the background watches but leaves the target open (its owner closes it). */
  async stopWatches(): Promise<void> {
    await this.watches.closeAll();
  }

  /** Runs one line; see the file comment. Never throws for bad input. */
  async input(raw: string): Promise<ConsoleLine[]> {
    const line = raw.replace(/\r$/, "");
    if (this.txn !== undefined) return this.continueTxn(line);
    const text = line.trim();
    if (text === "") return [];
    if (text.startsWith("#")) {
      this.record([line]);
      return [{ stream: "note", text }];
    }
    const words = shellWords(this.substitute(text));
    if (!Array.isArray(words)) return [{ stream: "err", text: `Error: ${words.error}` }];
    const [first, ...rest] = words;
    switch (first) {
      case "help":
        return HELP.map((t) => ({ stream: "note", text: t }));
      case "undo":
        return this.undo();
      case "save":
        return this.save(rest[0]);
      case "jobs":
        return this.watches.list();
      case "kill":
        return this.watches.kill(rest[0] ?? "");
      case "sleep":
        return this.sleep(line, rest[0] ?? "");
      case "expect":
        this.record([line]);
        return this.expect(text);
      case "repeat":
        return this.repeat(line, text);
      default:
        break;
    }
    this.record([line]);
    const output = await this.command(stripEtcdctl(words));
    return [...output, ...(await this.watches.collect())];
  }

  /**
   * `repeat N COMMAND`: runs COMMAND N times with `$I` = 1 … N, and shows the last run's output (a
   * script's loop; not an etcdctl command). Background watches still print everything they get.
   */
  private async repeat(line: string, text: string): Promise<ConsoleLine[]> {
    const match = /^repeat\s+(\d+)\s+(.+)$/.exec(text);
    const times = Number(match?.[1] ?? "0");
    if (match === null || times < 1 || times > 100_000) return [{ stream: "err", text: "Error: repeat wants a count from 1 to 100000 and a command: repeat 1000 put k v$I" }];
    this.record([line]);
    const body = match[2] as string;
    let last: ConsoleLine[] = [];
    // Watches are read once, after the loop: against a real etcd each read waits for arrivals.
    this.repeating = true;
    try {
      for (let i = 1; i <= times; i++) {
        const words = shellWords(this.substitute(body.replace(/\$I\b/g, String(i))));
        if (!Array.isArray(words)) return [{ stream: "err", text: `Error: ${words.error}` }];
        last = await this.command(stripEtcdctl(words));
      }
    } finally {
      this.repeating = false;
    }
    return [{ stream: "note", text: `(ran ${times} times; the last printed:)` }, ...last, ...(await this.watches.collect())];
  }

  // ---- commands -------------------------------------------------------------------------------

  /** One command line; `&` runs a watch in the background, `> /dev/null` drops its stdout. */
  private async command(words: string[]): Promise<ConsoleLine[]> {
    const background = words[words.length - 1] === "&";
    let argv = background ? words.slice(0, -1) : words;
    const quiet = argv.length >= 2 && argv[argv.length - 2] === ">" && argv[argv.length - 1] === "/dev/null";
    if (quiet) argv = argv.slice(0, -2);
    this.watches.quietNext = quiet;
    const [api, ...rest] = argv;
    const output = api === "v2" ? await this.v2(rest, background) : api === "both" ? await this.both(rest, background) : await this.v3(api === "v3" ? rest : argv, background);
    return quiet ? output.filter((l) => l.stream !== "out") : output;
  }

  private async v3(argv: string[], background: boolean): Promise<ConsoleLine[]> {
    if (argv[0] === "watch") {
      const result = await this.watches.startV3(argv, background);
      this.last = { api: "v3", v3: result.result };
      return result.lines;
    }
    if (background) return lines(fail(1, "only watch runs in the background (&)"));
    if (argv[0] === "txn") {
      const parsed = parseV3(argv);
      if ("exit" in parsed) return this.finish("v3", parsed);
      const interactive = parsed.flags["interactive"] === "true";
      this.txn = { reader: new TxnReader(), parsed, lines: [], interactive };
      return interactive ? [{ stream: "prompt", text: TXN_PROMPTS[0] }] : [];
    }
    const result = await runV3(this.target.v3, argv);
    const granted = argv[0] === "lease" && argv[1] === "grant" && result.exit === 0 ? /lease ([0-9a-f]{16}) granted/.exec(result.out[0] ?? "") : null;
    if (granted !== null) this.leases.push(granted[1] as string);
    else if (argv[0] === "lease" && argv[1] === "grant" && result.exit === 0) await this.rememberLeaseFromJson(result);
    return this.finish("v3", result);
  }

  private async v2(argv: string[], background: boolean): Promise<ConsoleLine[]> {
    const name = argv.find((w, i) => !w.startsWith("-") && (i === 0 || !["-o", "--output"].includes(argv[i - 1] as string)));
    if (name === "watch") {
      const result = await this.watches.startV2(argv, background);
      this.last = { api: "v2", v2: result.result };
      return result.lines;
    }
    if (background) return lines({ out: [], err: ["Error:  only watch runs in the background (&)"], exit: 1 });
    const result = await runV2(this.target.v2, argv);
    this.last = { api: "v2", v2: result };
    return lines(result);
  }

  private finish(api: "v3", result: CtlResult): ConsoleLine[] {
    this.last = { api, v3: result };
    return lines(result);
  }

  /** `lease grant -w json|fields` prints the ID in decimal: remember it as hex for `$LEASE`. */
  private async rememberLeaseFromJson(result: CtlResult): Promise<void> {
    const match = /"ID"\s*:\s*(\d+)/.exec(result.out.join("\n"));
    if (match !== null) this.leases.push(BigInt(match[1] as string).toString(16).padStart(16, "0"));
  }

  private async continueTxn(line: string): Promise<ConsoleLine[]> {
    const txn = this.txn as NonNullable<ConsoleEngine["txn"]>;
    txn.lines.push(line);
    const before = txn.reader.block;
    const fed = txn.reader.feed(this.substitute(line));
    if (fed === undefined) {
      if (txn.interactive && txn.reader.block !== before) return [{ stream: "prompt", text: TXN_PROMPTS[txn.reader.block] as string }];
      return [];
    }
    this.txn = undefined;
    this.appendToLast(txn.lines);
    if ("exit" in fed) return this.finish("v3", fed);
    const result = await runTxn(this.target.v3, txn.parsed, fed);
    return [...this.finish("v3", result), ...(await this.watches.collect())];
  }

  /** Ends an unfinished `txn` block as etcdctl does when stdin ends: `Error: EOF`. */
  async endOfInput(): Promise<ConsoleLine[]> {
    if (this.txn === undefined) return [];
    const txn = this.txn;
    this.txn = undefined;
    this.appendToLast(txn.lines);
    return this.finish("v3", txn.reader.eof());
  }

  // ---- both -----------------------------------------------------------------------------------

  private async both(argv: string[], background: boolean): Promise<ConsoleLine[]> {
    if (argv[0] === "txn") return [{ stream: "err", text: `Error: ${BOTH_TXN_REFUSAL}` }];
    const plan: BothPlan = bothMapping(argv);
    const before = await this.counters();
    const v2Lines: string[] = [`v2 $ ${plan.v2 === undefined ? "(no equivalent)" : ["etcdctl", ...plan.v2.map(quoteWord)].join(" ")}`];
    const v3Lines: string[] = [`v3 $ ${["etcdctl", ...plan.v3.map(quoteWord)].join(" ")}`];
    const last: LastResult = { api: "both" };
    const told: { v2: number[]; v3: number[] } = { v2: [], v3: [] };
    const v3Prelude: string[] = [];
    if (plan.v3LeaseTtl !== undefined) {
      const grant = await runV3(this.target.v3, ["lease", "grant", String(plan.v3LeaseTtl)]);
      const id = /lease ([0-9a-f]{16}) granted/.exec(grant.out[0] ?? "")?.[1];
      v3Lines.splice(0, 1, `v3 $ etcdctl lease grant ${plan.v3LeaseTtl}`, ...grant.out, ...grant.err);
      if (id !== undefined) {
        this.leases.push(id);
        plan.v3.push(`--lease=${id}`);
        v3Prelude.push(`v3 $ ${["etcdctl", ...plan.v3.map(quoteWord)].join(" ")}`);
      }
    }
    v3Lines.push(...v3Prelude);
    const v3Output = await this.v3(plan.v3, background);
    last.v3 = this.last?.v3 ?? { out: [], err: [], exit: 0 };
    if (plan.v2 !== undefined) {
      const v2Output = await this.v2(plan.v2, background);
      last.v2 = this.last?.v2 ?? { out: [], err: [], exit: 0 };
      v2Lines.push(...v2Output.map((l) => l.text));
    } else v2Lines.push(...wrapText(plan.v2Missing ?? "", this.columnWidth()));
    v3Lines.push(...v3Output.map((l) => l.text));
    const events = this.repeating ? [] : await this.watches.collect();
    for (const event of events) if (event.job !== undefined) told[this.watches.apiOf(event.job)].push(event.job);
    const after = await this.counters();
    v2Lines.push(before.index === after.index ? `index stays ${after.index}` : `index ${before.index} → ${after.index}`);
    v3Lines.push(before.revision === after.revision ? `revision stays ${after.revision}` : `revision ${before.revision} → ${after.revision}`);
    v2Lines.push(told.v2.length === 0 ? "no watcher told" : `told watch ${[...new Set(told.v2)].map((j) => `[${j}]`).join(" ")}`);
    v3Lines.push(told.v3.length === 0 ? "no watcher told" : `told watch ${[...new Set(told.v3)].map((j) => `[${j}]`).join(" ")}`);
    this.last = last;
    return [...this.columns(v2Lines, v3Lines), ...events];
  }

  private async counters(): Promise<{ index: number; revision: number }> {
    const root = await this.target.v2.get("/");
    const range = await this.target.v3.range({ key: new Uint8Array([0]), range_end: new Uint8Array([0]), count_only: true });
    return { index: root.ok ? root.value.etcdIndex : root.error.index, revision: range.ok ? range.value.header.revision : 0 };
  }

  private columnWidth(): number {
    return Math.max(20, Math.floor(((this.options.width ?? 100) - 3) / 2));
  }

  /** Lays out v2 | v3 rows; long cells wrap within their column. */
  private columns(left: string[], right: string[]): ConsoleLine[] {
    const width = this.columnWidth();
    // Long cells wrap at spaces; only a word longer than the column (JSON) is cut.
    const wrapCells = (cells: string[]): string[] =>
      cells.flatMap((c) => (c.length <= width ? [c] : wrapText(c, width).flatMap((l) => (l.length <= width ? [l] : chunk(l, width)))));
    const l = wrapCells(left);
    const r = wrapCells(right);
    const rows: ConsoleLine[] = [];
    for (let i = 0; i < Math.max(l.length, r.length); i++) {
      const a = l[i] ?? "";
      const b = r[i] ?? "";
      rows.push({ stream: "out", text: `${a.padEnd(width)} │ ${b}`.trimEnd(), columns: [a, b] });
    }
    return rows;
  }

  // ---- script lines and meta commands ---------------------------------------------------------

  private async sleep(line: string, text: string): Promise<ConsoleLine[]> {
    const ms = parseDuration(text);
    if (ms === undefined) return [{ stream: "err", text: `Error: sleep wants a duration like 5s or 500ms, got "${text}"` }];
    this.record([line]);
    await this.target.advance(ms);
    return [{ stream: "note", text: `(${text} pass)` }, ...(await this.watches.collect())];
  }

  private async expect(text: string): Promise<ConsoleLine[]> {
    const parsed = parseExpect(text);
    if ("error" in parsed) return [{ stream: "err", text: `Error: ${parsed.error}` }];
    const context: ExpectContext = {
      last: this.last,
      counters: () => this.counters(),
      events: (job) => this.watches.eventsOf(job),
      keys: async () => {
        const range = await this.target.v3.range({ key: new Uint8Array([0]), range_end: new Uint8Array([0]), count_only: true });
        return range.ok ? range.value.count : -1;
      },
    };
    const claim = await evaluateExpect(parsed, context, this.claimsMade.length + 1);
    this.claimsMade.push(claim);
    const shown = [claim.v2Value, claim.v3Value].filter((v) => v !== null).map(String).join(" | ");
    return [{ stream: "note", text: `${claim.holds ? "✓" : "✗"} ${text.replace(/^expect\s+/, "expect ")} (got ${shown})` }];
  }

  private async undo(): Promise<ConsoleLine[]> {
    if (!this.options.replayable) return [{ stream: "err", text: "Error: undo replays the session on a fresh store; an etcd at a URL cannot be made fresh" }];
    let lastCommand = this.session.length - 1;
    while (lastCommand >= 0 && isScriptLine(this.session[lastCommand]?.[0] ?? "")) lastCommand -= 1;
    if (lastCommand < 0) return [{ stream: "note", text: "nothing to undo" }];
    const undone = this.session[lastCommand] as string[];
    const keep = this.session.slice(0, lastCommand);
    await this.watches.closeAll();
    await this.target.close();
    await this.reset();
    this.replaying = true;
    try {
      for (const entry of keep) for (const line of entry) await this.input(line);
    } finally {
      this.replaying = false;
    }
    await this.watches.collect();
    return [{ stream: "note", text: `undid: ${undone[0] ?? ""} (replayed ${keep.length} lines on a fresh store)` }];
  }

  private save(path: string | undefined): ConsoleLine[] {
    if (path === undefined) return [{ stream: "err", text: "Error: save needs a file name: save FILE" }];
    if (this.options.writeFile === undefined) return [{ stream: "err", text: "Error: save needs a file system; use the page's download button" }];
    try {
      this.options.writeFile(path, this.script());
    } catch (error) {
      return [{ stream: "err", text: `Error: ${(error as Error).message}` }];
    }
    return [{ stream: "note", text: `saved ${this.session.length} entries to ${path}` }];
  }

  private async reset(): Promise<void> {
    this.target = await this.options.open();
    this.session.length = 0;
    this.leases.length = 0;
    this.claimsMade.length = 0;
    this.txn = undefined;
    this.last = undefined;
    this.watches = new BackgroundWatches(this.target);
  }

  private record(entry: string[]): void {
    this.session.push(entry);
  }

  private appendToLast(continuation: string[]): void {
    this.session[this.session.length - 1]?.push(...continuation);
  }

  /** `$LEASE` → the last lease granted, `$LEASE2` → the second. */
  private substitute(text: string): string {
    return text.replace(/\$LEASE(\d*)/g, (whole, n: string) => {
      const id = n === "" ? this.leases[this.leases.length - 1] : this.leases[Number(n) - 1];
      return id ?? whole;
    });
  }

  /** True while `undo` replays (a shell may hide the replay's output). */
  isReplaying(): boolean {
    return this.replaying;
  }
}

const HELP = [
  "etcdctl v3 lines run as typed: put, get, del, txn [-i], lease grant|revoke|timetolive|keep-alive|list, compaction, watch … &",
  "v2 …    runs an etcdctl v2 line: v2 set /k v --ttl 5, v2 get /k, v2 ls -r /, v2 rm /k, v2 watch --forever /k &",
  "both …  runs the same operation on v2 and v3, side by side: both put k v [--ttl N], both get k [--prefix], both del k, both watch k &",
  "# text  narration; sleep 5s lets time pass; expect revision = 5 | expect v2 exit = 4 | expect output contains OK | expect events 1 = 2",
  "repeat N CMD runs CMD N times ($I = 1 … N); CMD > /dev/null drops its output (a watch still counts its events)",
  "undo    replays the session minus its last command; save FILE writes the session as a script; jobs; kill %N",
];

function isScriptLine(line: string): boolean {
  const text = line.trim();
  return text.startsWith("#") || text.startsWith("expect ");
}

/** `etcdctl …`, `ETCDCTL_API=2 etcdctl …`: what a teacher pastes from a terminal. */
function stripEtcdctl(words: string[]): string[] {
  let rest = words;
  let api: string | undefined;
  if (rest[0]?.startsWith("ETCDCTL_API=") === true) {
    api = rest[0].slice("ETCDCTL_API=".length);
    rest = rest.slice(1);
  }
  if (rest[0] === "etcdctl") rest = rest.slice(1);
  return api === "2" ? ["v2", ...rest] : rest;
}

function quoteWord(word: string): string {
  return /^[\w./:=,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function lines(result: CtlResult): ConsoleLine[] {
  return [...result.out.map((text) => ({ stream: "out" as const, text })), ...result.err.map((text) => ({ stream: "err" as const, text }))];
}

function chunk(text: string, width: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += width) out.push(text.slice(i, i + width));
  return out;
}

function wrapText(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") out.push(line);
  return out;
}

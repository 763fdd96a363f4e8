/**
 * `expect` lines: the claims of a scenario script, checked like a lesson's headline claims and
 * compared the same way against a real etcd (`--target`).
 *
 *   expect revision = 5                     the v3 store's current revision
 *   expect index = 7                        the v2 store's current index (X-Etcd-Index)
 *   expect keys = 3                         how many v3 keys exist
 *   expect exit = 0                         the last command's exit code (after `both`: say v2 or v3)
 *   expect v2 exit = 4
 *   expect output = bar                     the last command's stdout, lines joined by "\n"
 *   expect v3 output contains OK            also: stderr; operators = != < > <= >= contains !contains
 *   expect events 1 = 2                     events background watch [1] has printed so far
 *   expect revision = 5  # why it matters   a trailing "# …" becomes the claim's text
 *
 * Numbers compare as numbers, everything else as text. Lease IDs and cluster IDs differ between
 * etcds, so an `expect` that should hold on a real etcd too does not test them.
 */
import type { Claim } from "../report.js";
import { shellWords } from "./etcdctlArgs.js";
import type { CtlResult } from "./etcdctlV3.js";
import type { LastResult } from "./consoleEngine.js";

export type ExpectSubject = "revision" | "index" | "keys" | "exit" | "output" | "stderr" | "events";

export interface ParsedExpect {
  api?: "v2" | "v3";
  subject: ExpectSubject;
  /** `events N`: the job number. */
  job?: number;
  op: string;
  expected: string;
  /** The line without "expect " and the comment. */
  text: string;
  /** The trailing `# …`, if any. */
  why?: string;
}

const SUBJECTS: readonly ExpectSubject[] = ["revision", "index", "keys", "exit", "output", "stderr", "events"];
const OPS = ["=", "!=", "<", ">", "<=", ">=", "contains", "!contains"];

/** Reads one `expect` line; an error says what was wrong with it. */
export function parseExpect(line: string): ParsedExpect | { error: string } {
  const body = line.replace(/^expect\s+/, "");
  const hash = body.search(/\s#\s/);
  const claimText = (hash < 0 ? body : body.slice(0, hash)).trim();
  const why = hash < 0 ? undefined : body.slice(hash).replace(/^\s#\s/, "").trim();
  const words = shellWords(claimText);
  if (!Array.isArray(words)) return { error: `expect: ${words.error}` };
  let at = 0;
  let api: "v2" | "v3" | undefined;
  if (words[at] === "v2" || words[at] === "v3") api = words[at++] as "v2" | "v3";
  const subject = words[at++] as ExpectSubject;
  if (!SUBJECTS.includes(subject)) return { error: `expect: unknown subject "${subject ?? ""}" (revision, index, keys, exit, output, stderr, events N)` };
  let job: number | undefined;
  if (subject === "events") {
    job = Number(words[at++]);
    if (!Number.isInteger(job) || job < 1) return { error: "expect: events wants a watch job number: expect events 1 = 2" };
  }
  const op = words[at++] ?? "";
  if (!OPS.includes(op)) return { error: `expect: unknown operator "${op}" (${OPS.join(" ")})` };
  const expected = words.slice(at).join(" ");
  return { ...(api === undefined ? {} : { api }), subject, ...(job === undefined ? {} : { job }), op, expected, text: claimText, ...(why === undefined ? {} : { why }) };
}

export interface ExpectContext {
  last: LastResult | undefined;
  counters(): Promise<{ index: number; revision: number }>;
  events(job: number): { api: "v2" | "v3"; count: number } | undefined;
  keys(): Promise<number>;
}

/** `actual op expected`: numbers as numbers, else text. */
export function compareValues(actual: string | number, op: string, expected: string): boolean {
  const numeric = typeof actual === "number" || /^-?\d+(\.\d+)?$/.test(actual);
  const a = numeric && /^-?\d+(\.\d+)?$/.test(expected) ? Number(actual) : String(actual);
  const b = typeof a === "number" ? Number(expected) : expected;
  switch (op) {
    case "=":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case ">":
      return a > b;
    case "<=":
      return a <= b;
    case ">=":
      return a >= b;
    case "contains":
      return String(actual).includes(expected);
    case "!contains":
      return !String(actual).includes(expected);
    default:
      return false;
  }
}

function resultField(result: CtlResult, subject: ExpectSubject): string | number {
  if (subject === "exit") return result.exit;
  if (subject === "stderr") return result.err.join("\n");
  return result.out.join("\n");
}

/**
 * The value a claim records. For `contains` it is whether the text was there, not the whole output:
 * output carries lease and cluster IDs, which differ from one etcd to the next, so only the fact
 * checked can agree between etcdsim and a real etcd.
 */
function recorded(actual: string | number, op: string, expected: string): string | number {
  if (op !== "contains" && op !== "!contains") return actual;
  return String(actual).includes(expected) ? `contains "${expected}"` : `lacks "${expected}"`;
}

/** Checks one expect and states it as a claim with the measured value on its API's side. */
export async function evaluateExpect(expect: ParsedExpect, context: ExpectContext, number: number): Promise<Claim> {
  const claim = expect.why === undefined ? expect.text : `${expect.why} (${expect.text})`;
  const made = (api: "v2" | "v3" | undefined, actual: string | number | undefined): Claim => {
    const value = actual === undefined ? null : recorded(actual, expect.op, expect.expected);
    return {
      id: `expect-${number}`,
      claim,
      v2Value: api === "v2" ? value : null,
      v3Value: api === "v3" ? value : null,
      holds: actual !== undefined && compareValues(actual, expect.op, expect.expected),
    };
  };
  switch (expect.subject) {
    case "revision":
      return made("v3", (await context.counters()).revision);
    case "index":
      return made("v2", (await context.counters()).index);
    case "keys":
      return made("v3", await context.keys());
    case "events": {
      const job = context.events(expect.job as number);
      return made(job?.api ?? expect.api ?? "v3", job === undefined ? "no such watch" : job.count);
    }
    default: {
      const last = context.last;
      if (last === undefined) return made(expect.api ?? "v3", "no command yet");
      const api = expect.api ?? (last.api === "both" ? undefined : last.api);
      if (api === undefined) return made("v3", "say v2 or v3 after a both command");
      const result = last[api];
      return made(api, result === undefined ? `no ${api} command` : resultField(result, expect.subject));
    }
  }
}

/**
 * Mirrors etcd release-3.4 `etcdctl/ctlv3/command/txn_command.go`: the text `etcdctl txn -i` reads,
 * turned into a TxnRequest, and the TxnResponse printed the way etcdctl's simple format prints it.
 * Used by lesson 7; only the grammar and messages etcdctl has, nothing more.
 *
 *   value("user1") = "alice"        ← compares, one per line, then a blank line
 *   mod("counter") > "3"
 *
 *   put user1 bob                   ← success ops (put/get/del), then a blank line
 *   get counter
 *
 *   get user1                       ← failure ops, then a blank line
 *
 * Errors keep etcdctl's text: `malformed comparison: value(k) = "v1"; got value("")  ""`,
 * `malformed comparison: foo("k") = "v1" (unknown target foo)`, `invalid txn request: foo k`,
 * `invalid txn compare request: <line>`, `EOF`.
 */
import { fromUtf8, utf8 } from "../shared/bytes.js";
import { CompareResult, CompareTarget, type Compare, type RequestOp, type TxnRequest, type TxnResponse } from "../v3/rpc.js";
import { prefixEnd } from "./kvWorkload.js";

export type ParsedTxn = { ok: true; request: TxnRequest } | { ok: false; error: string };

/** Go's %q for a string: double-quoted with escapes (enough for printable keys). */
function goQuote(text: string): string {
  return JSON.stringify(text);
}

/** Reads a Go double-quoted string at the start of `text`: [value, rest] or undefined. */
function readQuoted(text: string): [string, string] | undefined {
  const match = /^\s*"((?:[^"\\]|\\.)*)"/.exec(text);
  if (match === null) return undefined;
  try {
    return [JSON.parse(`"${match[1] ?? ""}"`) as string, text.slice(match[0].length)];
  } catch {
    return undefined;
  }
}

/**
 * `parseCompare`: `<target>("<key>") <op> "<value>"`. The line is split at the first "(", then
 * Go's `fmt.Sscanf(rest, "%q) %s %q", &key, &op, &val)` reads the rest; fewer than 3 items is a
 * malformed comparison that prints what was read so far.
 */
export function parseCompare(line: string): Compare | string {
  const paren = line.indexOf("(");
  if (paren < 0) return `malformed comparison: ${line}`;
  const target = line.slice(0, paren);
  let rest = line.slice(paren + 1);
  let key = "";
  let op = "";
  let val = "";
  let n = 0;
  const keyRead = readQuoted(rest);
  if (keyRead !== undefined && keyRead[1].startsWith(")")) {
    key = keyRead[0];
    rest = keyRead[1].slice(1);
    n = 1;
    const opMatch = /^\s*(\S+)/.exec(rest);
    if (opMatch !== null) {
      op = opMatch[1] ?? "";
      rest = rest.slice(opMatch[0].length);
      n = 2;
      const valRead = readQuoted(rest);
      if (valRead !== undefined) {
        val = valRead[0];
        n = 3;
      }
    }
  }
  if (n !== 3) return `malformed comparison: ${line}; got ${target}(${goQuote(key)}) ${op} ${goQuote(val)}`;
  const results: Record<string, CompareResult> = { "=": CompareResult.EQUAL, "!=": CompareResult.NOT_EQUAL, "<": CompareResult.LESS, ">": CompareResult.GREATER };
  const result = results[op];
  // etcdctl panics on any other operator ("panic: Unknown result op"); the lesson reports it as an error.
  if (result === undefined) return `panic: Unknown result op "${op}"`;
  const numeric = (): number | undefined => (/^-?\d+$/.test(val) ? Number(val) : undefined);
  const k = utf8(key);
  switch (target) {
    case "ver":
    case "version": {
      const v = numeric();
      return v === undefined ? `invalid txn compare request: ${line}` : { key: k, target: CompareTarget.VERSION, result, version: v };
    }
    case "c":
    case "create": {
      const v = numeric();
      return v === undefined ? `invalid txn compare request: ${line}` : { key: k, target: CompareTarget.CREATE, result, create_revision: v };
    }
    case "m":
    case "mod": {
      const v = numeric();
      return v === undefined ? `invalid txn compare request: ${line}` : { key: k, target: CompareTarget.MOD, result, mod_revision: v };
    }
    case "val":
    case "value":
      return { key: k, target: CompareTarget.VALUE, result, value: utf8(val) };
    case "lease":
      // etcdctl 3.4 panics here ("panic: bad value"): its lease compare is built without a key.
      return `panic: bad value`;
    default:
      return `malformed comparison: ${line} (unknown target ${target})`;
  }
}

/** etcdctl's `argify`: words split on spaces, double-quoted words unquoted. */
export function argify(line: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = pattern.exec(line); m !== null; m = pattern.exec(line)) {
    words.push(m[1] !== undefined ? (JSON.parse(`"${m[1]}"`) as string) : (m[2] ?? ""));
  }
  return words;
}

/** `parseRequestUnion`: one `put`, `get` or `del` line (with --prefix). */
export function parseOp(line: string): RequestOp | string {
  const [command, ...rest] = argify(line);
  const prefix = rest.includes("--prefix");
  const args = rest.filter((a) => !a.startsWith("-"));
  const unknownFlag = rest.some((a) => a.startsWith("-") && a !== "--prefix");
  if (unknownFlag) return `invalid txn request: ${line}`;
  const key = args[0];
  switch (command) {
    case "put":
      // etcdctl parses the op with put's own argument check, and exits with its message.
      if (args.length < 2 && !prefix) return "put command needs 1 argument and input from stdin or 2 arguments";
      if (key === undefined || prefix) return `invalid txn request: ${line}`;
      return { request_put: { key: utf8(key), value: utf8(args[1] ?? "") } };
    case "get":
      if (key === undefined || args.length > 2) return "get command needs one argument as key and an optional argument as range_end";
      return {
        request_range: {
          key: utf8(key),
          ...(prefix ? { range_end: prefixEnd(utf8(key)) } : args[1] !== undefined ? { range_end: utf8(args[1]) } : {}),
        },
      };
    case "del":
      if (key === undefined || args.length > 2) return "del command needs one argument as key and an optional argument as range_end";
      return {
        request_delete_range: {
          key: utf8(key),
          ...(prefix ? { range_end: prefixEnd(utf8(key)) } : args[1] !== undefined ? { range_end: utf8(args[1]) } : {}),
        },
      };
    default:
      return `invalid txn request: ${line}`;
  }
}

/** The whole `txn -i` input: compares, blank line, success ops, blank line, failure ops, blank line. */
export function parseTxnScript(text: string): ParsedTxn {
  const lines = text.split("\n");
  let at = 0;
  const block = (): string[] | undefined => {
    const out: string[] = [];
    for (;;) {
      const line = lines[at++];
      if (line === undefined) return undefined;
      if (line.trim() === "") return out;
      out.push(line.trim());
    }
  };
  const compareLines = block();
  if (compareLines === undefined) return { ok: false, error: "EOF" };
  const compare: Compare[] = [];
  for (const line of compareLines) {
    const parsed = parseCompare(line);
    if (typeof parsed === "string") return { ok: false, error: parsed };
    compare.push(parsed);
  }
  const branches: RequestOp[][] = [];
  for (let b = 0; b < 2; b++) {
    const opLines = block();
    if (opLines === undefined) return { ok: false, error: "EOF" };
    const ops: RequestOp[] = [];
    for (const line of opLines) {
      const parsed = parseOp(line);
      if (typeof parsed === "string") return { ok: false, error: parsed };
      ops.push(parsed);
    }
    branches.push(ops);
  }
  return { ok: true, request: { compare, success: branches[0] ?? [], failure: branches[1] ?? [] } };
}

/** etcdctl's simple output of a txn: SUCCESS/FAILURE, then each response after a blank line. */
export function formatTxnSimple(response: TxnResponse): string[] {
  const out = [response.succeeded ? "SUCCESS" : "FAILURE"];
  for (const op of response.responses) {
    out.push("");
    if (op.response_put !== undefined) out.push("OK");
    else if (op.response_delete_range !== undefined) out.push(String(op.response_delete_range.deleted));
    else if (op.response_range !== undefined) for (const kv of op.response_range.kvs) out.push(fromUtf8(kv.key), fromUtf8(kv.value));
  }
  return out;
}

/**
 * Mirrors the command-line layer etcdctl sits on (`spf13/pflag` under cobra for v3, `urfave/cli`
 * for v2): a typed line becomes the argv a shell would hand etcdctl, and the argv becomes flags and
 * positional arguments. The scenario scripts and the console are "etcdctl without the process":
 * this file is the part of the process that reads the command line.
 *
 *   shellWords(`put "sp key" 'it''s' -- -v`)   → ["put", "sp key", "its", "--", "-v"]
 *   parseFlags(["get", "foo", "--rev=2", "-w", "json"], GET_FLAGS)
 *     → { args: ["get", "foo"], flags: { rev: "2", "write-out": "json" } }
 *
 * pflag rules kept: `--name=value` and `--name value` for value flags, `--name` alone for booleans
 * (`--name=false` too), one-letter shorthands (`-w json`, `-wjson`), flags anywhere among the
 * arguments, and `--` ending the flags (a value that starts with `-` needs it). An unknown flag is
 * pflag's `unknown flag: --x` (or `unknown shorthand flag: 'x' in -x`).
 */

/** Splits a line the way a POSIX shell splits words: quotes group, backslash escapes outside single quotes. */
export function shellWords(line: string): string[] | { error: string } {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { error: "unterminated ' quote" };
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === "\\" && j + 1 < line.length && '"\\$`'.includes(line[j + 1] as string)) j++;
        word += line[j];
      }
      if (j >= line.length) return { error: 'unterminated " quote' };
      inWord = true;
      i = j;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === " " || c === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** One flag a command accepts: its long name, optional one-letter shorthand, and whether it takes a value. */
export interface FlagSpec {
  name: string;
  short?: string;
  kind: "bool" | "value";
}

export interface ParsedFlags {
  /** Positional arguments, in order. */
  args: string[];
  /** Long flag name → value ("true" for a boolean given alone). The last occurrence wins, as in pflag. */
  flags: Record<string, string>;
}

/** pflag's parse: flags anywhere, `--` ends them. Unknown flags give pflag's own message. */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags | { error: string } {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short !== undefined).map((s) => [s.short as string, s]));
  const out: ParsedFlags = { args: [], flags: {} };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] as string;
    if (word === "--") {
      out.args.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith("--") && word.length > 2) {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const spec = byName.get(name);
      if (spec === undefined) return { error: `unknown flag: --${name}` };
      if (eq >= 0) out.flags[name] = word.slice(eq + 1);
      else if (spec.kind === "bool") out.flags[name] = "true";
      else {
        const next = argv[++i];
        if (next === undefined) return { error: `flag needs an argument: --${name}` };
        out.flags[name] = next;
      }
      continue;
    }
    if (word.startsWith("-") && word.length > 1) {
      const letter = word[1] as string;
      const spec = byShort.get(letter);
      if (spec === undefined) return { error: `unknown shorthand flag: '${letter}' in ${word}` };
      const rest = word.slice(2).replace(/^=/, "");
      if (spec.kind === "bool") out.flags[spec.name] = rest === "" ? "true" : rest;
      else if (rest !== "") out.flags[spec.name] = rest;
      else {
        const next = argv[++i];
        if (next === undefined) return { error: `flag needs an argument: '${letter}' in -${letter}` };
        out.flags[spec.name] = next;
      }
      continue;
    }
    out.args.push(word);
  }
  return out;
}

/** A boolean flag's value: pflag accepts true/false/1/0/t/f. */
export function flagOn(flags: Record<string, string>, name: string): boolean {
  const value = flags[name];
  return value !== undefined && ["true", "1", "t", "T", "TRUE", "True"].includes(value);
}

/**
 * Go's `strconv.ParseInt(text, base, 64)`, with Go's error text:
 *   parseGoInt("abc", 10) → { error: 'strconv.ParseInt: parsing "abc": invalid syntax' }
 */
export function parseGoInt(text: string, base: 10 | 16): bigint | { error: string } {
  const pattern = base === 10 ? /^[+-]?\d+$/ : /^[+-]?[0-9a-fA-F]+$/;
  if (!pattern.test(text)) return { error: `strconv.ParseInt: parsing ${goQuote(text)}: invalid syntax` };
  const negative = text.startsWith("-");
  const digits = text.replace(/^[+-]/, "");
  const value = BigInt(base === 16 ? `0x${digits}` : digits) * (negative ? -1n : 1n);
  if (value > 2n ** 63n - 1n || value < -(2n ** 63n)) return { error: `strconv.ParseInt: parsing ${goQuote(text)}: value out of range` };
  return value;
}

/** Go's %q for printable text: a double-quoted string with JSON-like escapes. */
export function goQuote(text: string): string {
  return JSON.stringify(text);
}

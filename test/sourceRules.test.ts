/**
 * Rules about the source itself, checked by reading the files (issue 15, "one way to do each
 * thing"). Each rule names what it forbids; a failure lists the offending lines.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The folders that hold the simulator's own code (tests and bench harnesses read it, they are not it). */
const SOURCE_DIRS = ["shared", "v2", "v3", "server", "scenarios", "bench"];

interface SourceLine {
  readonly file: string;
  readonly line: number;
  readonly text: string;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (name.endsWith(".ts")) files.push(path);
  }
  return files;
}

const LINES: readonly SourceLine[] = SOURCE_DIRS.flatMap((dir) =>
  sourceFiles(join(ROOT, dir)).flatMap((path) =>
    readFileSync(path, "utf8")
      .split("\n")
      .map((text, i) => ({ file: relative(ROOT, path), line: i + 1, text })),
  ),
);

/** The lines matching `pattern`, as "file:line: text" for a readable failure. */
function linesMatching(pattern: RegExp): string[] {
  return LINES.filter((l) => pattern.test(l.text)).map((l) => `${l.file}:${l.line}: ${l.text.trim()}`);
}

describe("one invariant error per store", () => {
  it("throws no plain Error whose message says it is an invariant", () => {
    // The forms issue 15 found: new Error("InvariantViolation: …") and Error("invariant: …").
    expect(linesMatching(/Error\(\s*["'`](invariant|InvariantViolation)/i)).toEqual([]);
  });

  it("declares InvariantViolation once in v2 and once in v3, and no other invariant class", () => {
    const declarations = linesMatching(/class \w*Invariant\w*/);
    expect(declarations.map((d) => d.slice(0, d.indexOf(":")))).toEqual(["v2/v2error.ts", "v3/errors.ts"]);
    expect(declarations.every((d) => d.includes("class InvariantViolation extends Error"))).toBe(true);
  });

  it("keeps v2 and v3 apart: neither store imports the other's InvariantViolation", () => {
    expect(linesMatching(/import .*InvariantViolation.* from ".*v3\/errors\.js"/).filter((l) => l.startsWith("v2/"))).toEqual([]);
    expect(linesMatching(/import .*InvariantViolation.* from ".*v2\/v2error\.js"/).filter((l) => l.startsWith("v3/"))).toEqual([]);
  });
});

describe("one way to turn key bytes into a key string", () => {
  it("uses no undocumented Buffer internals", () => {
    expect(linesMatching(/latin1Slice/)).toEqual([]);
  });

  it("converts with shared/bytes.ts's toBinaryString only (no second helper under another name)", () => {
    expect(linesMatching(/function (keyString|toIndexKey|fromIndexKey)\(/)).toEqual([]);
    expect(linesMatching(/String\.fromCharCode\.apply/).map((l) => l.slice(0, l.indexOf(":")))).toEqual(["shared/bytes.ts"]);
  });
});

describe("one module for Go's net/http behaviour", () => {
  it.each([
    ["GO_BUFFER_BEFORE_CHUNKING_BYTES", /const GO_BUFFER_BEFORE_CHUNKING_BYTES\b/],
    ["writeGoError", /function writeGoError\(/],
    ["allowMethod", /function allowMethod\(/],
    ["sortHeadersLikeGo", /function sortHeadersLikeGo\(/],
  ])("defines %s once, in shared/goHttp.ts", (_name, declaration) => {
    expect(linesMatching(declaration).map((l) => l.slice(0, l.indexOf(":")))).toEqual(["shared/goHttp.ts"]);
  });
});

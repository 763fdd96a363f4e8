/**
 * The whole `npm start` output, pinned. Two runs with the same seed must be byte-identical, and
 * equal to the golden file. After an intended change, regenerate it with
 *   UPDATE_GOLDEN=1 npx vitest run test/scenarios/golden.test.ts
 * and read the diff before committing it.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { inProcessProvider } from "../../scenarios/adapters/inProcess.js";
import { LESSONS } from "../../scenarios/lessons.js";
import { main } from "../../scenarios/runner.js";

const GOLDEN = fileURLToPath(new URL("./__golden__/npm-start.txt", import.meta.url));

async function capture(argv: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await main(argv, LESSONS, [inProcessProvider], (text) => {
    out += text;
  });
  return { code, out };
}

describe("npm start", () => {
  it("prints byte-identical output for the same seed, twice, matching the golden file", async () => {
    const first = await capture([]);
    const second = await capture([]);
    expect(first.code).toBe(0);
    expect(second.out).toBe(first.out);
    if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(GOLDEN, first.out);
    expect(first.out).toBe(readFileSync(GOLDEN, "utf8"));
    // Two whole runs; lesson 13 writes and fsyncs real files, which a loaded disk slows down.
  }, 120_000);

  it("prints byte-identical JSON for the same seed", async () => {
    const first = await capture(["--json", "--seed", "7"]);
    const second = await capture(["--json", "--seed", "7"]);
    expect(second.out).toBe(first.out);
    const report = JSON.parse(first.out) as { seed: number; lessons: unknown[] };
    expect(report.seed).toBe(7);
    expect(report.lessons).toHaveLength(18);
  }, 60_000);

  it("changes the seeded parts of the output with the seed, and every claim still holds", async () => {
    const other = await capture(["--seed", "2"]);
    expect(other.code).toBe(0);
    expect(other.out).not.toBe(readFileSync(GOLDEN, "utf8"));
    expect(other.out).toMatch(/18 lessons, \d+ headline claims, (\d+) hold, 0 do not\.\n$/);
  }, 60_000);

  it("runs one lesson chosen by number or by name", async () => {
    const byNumber = await capture(["4"]);
    const byName = await capture(["history-window"]);
    expect(byNumber.out).toBe(byName.out);
    expect(byNumber.out).toContain("━━ Lesson 4 · The history window");
    expect(byNumber.out).not.toContain("━━ Lesson 5");
  }, 60_000);
});

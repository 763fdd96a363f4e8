/**
 * The runner's command line: choosing lessons, seeds, output modes, targets.
 */
import { describe, expect, it } from "vitest";
import { inProcessProvider } from "../../scenarios/adapters/inProcess.js";
import { LESSONS } from "../../scenarios/lessons.js";
import { main, parseArguments, selectLessons } from "../../scenarios/runner.js";
import { openTargetFactory, UsageError } from "../../scenarios/targets.js";
import { formatNumber, wrap } from "../../scenarios/textReport.js";

describe("parseArguments", () => {
  it("reads lesson selectors, --seed, --json, --html and --target", () => {
    expect(parseArguments(["4", "ttl", "--seed", "9", "--json", "--html", "r.html", "--target", "http://x", "--set", "WRITES=999"])).toEqual({
      selectors: ["4", "ttl"],
      seed: 9,
      json: true,
      html: "r.html",
      target: "http://x",
      list: false,
      help: false,
      sets: { WRITES: "999" },
      step: false,
    });
  });
  it("defaults to every lesson with seed 1 and text output", () => {
    expect(parseArguments([])).toEqual({ selectors: [], seed: 1, json: false, list: false, help: false, sets: {}, step: false });
  });
  it("reads --name=value exactly as --name value", () => {
    expect(parseArguments(["--seed=7", "--html=r.html", "--target=http://x", "--set=A=1"])).toEqual(parseArguments(["--seed", "7", "--html", "r.html", "--target", "http://x", "--set", "A=1"]));
  });
  it("refuses an unknown option and a seed that is not a number", () => {
    expect(() => parseArguments(["--colour"])).toThrow(UsageError);
    expect(() => parseArguments(["--seed", "abc"])).toThrow(UsageError);
  });
});

describe("selectLessons", () => {
  it("finds lessons by number, slug, numbered file name or part of the title", () => {
    expect(selectLessons(LESSONS, ["4"]).map((l) => l.id)).toEqual([4]);
    expect(selectLessons(LESSONS, ["ttl-vs-leases"]).map((l) => l.id)).toEqual([9]);
    expect(selectLessons(LESSONS, ["09-ttl-vs-leases"]).map((l) => l.id)).toEqual([9]);
    expect(selectLessons(LESSONS, ["compaction", "1"]).map((l) => l.id)).toEqual([5, 1]);
  });
  it("refuses a selector that matches nothing", () => {
    expect(() => selectLessons(LESSONS, ["raft"])).toThrow(/no lesson matches "raft"/);
  });
});

describe("targets", () => {
  it("uses the first provider without --target and refuses a target no provider handles", async () => {
    expect((await openTargetFactory([inProcessProvider], undefined)).description).toBe("in-process");
    await expect(openTargetFactory([inProcessProvider], "http://127.0.0.1:1")).rejects.toThrow(/no adapter handles --target/);
  });
  it("exits with code 2 on a usage error and lists the lessons with --list", async () => {
    let out = "";
    expect(await main(["--list"], LESSONS, [inProcessProvider], (t) => (out += t))).toBe(0);
    expect(out.split("\n").filter(Boolean)).toHaveLength(17);
    expect(out).toContain(" 9  ttl-vs-leases");
    expect(await main(["nope-no-such-lesson"], LESSONS, [inProcessProvider], () => {})).toBe(2);
  });
});

describe("text helpers", () => {
  it("wraps words to the width and prints numbers as etcd does", () => {
    expect(wrap("one two three four", 9)).toEqual(["one two", "three", "four"]);
    expect(formatNumber(1500)).toBe("1500");
    expect(formatNumber(2.456)).toBe("2.46");
  });
});

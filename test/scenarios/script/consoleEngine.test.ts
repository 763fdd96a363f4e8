/**
 * The console engine as the classroom page will drive it: one line in, etcdctl's lines out, with
 * the prompt, completion, exit code and session script a front end needs.
 */
import { describe, expect, it } from "vitest";
import { openInProcessTarget } from "../../../scenarios/adapters/inProcess.js";
import { bothMapping } from "../../../scenarios/script/both.js";
import { ConsoleEngine, parseDuration } from "../../../scenarios/script/consoleEngine.js";
import { parseFlags, parseGoInt, shellWords } from "../../../scenarios/script/etcdctlArgs.js";

const open = (): Promise<ConsoleEngine> => ConsoleEngine.open({ open: async () => openInProcessTarget(), replayable: true, width: 80 });

describe("ConsoleEngine", () => {
  it("answers a put and a get as etcdctl prints them, with its exit code", async () => {
    const engine = await open();
    expect(await engine.input("put foo bar")).toEqual([{ stream: "out", text: "OK" }]);
    expect(engine.exitCode()).toBe(0);
    expect((await engine.input("get foo")).map((l) => l.text)).toEqual(["foo", "bar"]);
    expect(await engine.input("get foo --sort-by=mod")).toEqual([{ stream: "err", text: "Error: bad sort target mod" }]);
    expect(engine.exitCode()).toBe(4);
    await engine.close();
  });

  it("shows no prompt inside a txn block and etcdctl's section prompts as it goes", async () => {
    const engine = await open();
    expect(engine.prompt()).toBe("etcdsim> ");
    expect(await engine.input("txn -i")).toEqual([{ stream: "prompt", text: "compares:" }]);
    expect(engine.prompt()).toBe("");
    await engine.input('value("k") = "v"');
    expect(await engine.input("")).toEqual([{ stream: "prompt", text: "success requests (get, put, del):" }]);
    await engine.input("");
    await engine.input("");
    expect(engine.prompt()).toBe("etcdsim> ");
    expect(engine.exitCode()).toBe(0);
    await engine.close();
  });

  it("lays both out as v2 | v3 columns and says which watchers were told", async () => {
    const engine = await open();
    await engine.input("both watch jobs --prefix &");
    const rows = await engine.input("both put jobs/a 1");
    const columns = rows.filter((r) => r.columns !== undefined).map((r) => r.columns);
    expect(columns[0]).toEqual(["v2 $ etcdctl set /jobs/a 1", "v3 $ etcdctl put jobs/a 1"]);
    expect(columns).toContainEqual(["index 0 → 1", "revision 1 → 2"]);
    expect(columns).toContainEqual(["told watch [2]", "told watch [1]"]);
    expect(rows.filter((r) => r.stream === "watch").map((r) => r.text)).toEqual(["PUT", "jobs/a", "1", "[set] /jobs/a", "1"]);
    await engine.close();
  });

  it("says plainly where v2 has no equivalent", async () => {
    const engine = await open();
    const v2Column = (await engine.input("both lease grant 10")).map((r) => r.columns?.[0] ?? "").join(" ");
    expect(v2Column).toContain("v2 has no leases: a TTL belongs to one key");
    expect((await engine.input("both txn -i"))[0]?.text).toContain("v2 has no transactions");
    await engine.close();
  });

  it("completes command names and flags", async () => {
    const engine = await open();
    expect(engine.complete("le")).toEqual(["lease"]);
    expect(engine.complete("get foo --pr")).toEqual(["get foo --prefix", "get foo --print-value-only"]);
    expect(engine.complete("v2 s")).toEqual(["v2 set", "v2 setdir"]);
    await engine.close();
  });

  it("keeps the session as a script, narration included, and undo takes back the last command", async () => {
    const engine = await open();
    await engine.input("# hello");
    await engine.input("put a 1");
    await engine.input("put a 2");
    await engine.input("undo");
    expect(engine.script()).toBe("# hello\nput a 1\n");
    expect((await engine.input("get a --print-value-only")).map((l) => l.text)).toEqual(["1"]);
    await engine.close();
  });
});

describe("the command line under etcdctl", () => {
  it("splits words as a shell does", () => {
    expect(shellWords(`put "sp key" 'it''s' -- -v`)).toEqual(["put", "sp key", "its", "--", "-v"]);
    expect(shellWords(`put "unterminated`)).toEqual({ error: 'unterminated " quote' });
  });
  it("reads flags as pflag does", () => {
    const specs = [
      { name: "rev", kind: "value" as const },
      { name: "write-out", short: "w", kind: "value" as const },
      { name: "prefix", kind: "bool" as const },
    ];
    expect(parseFlags(["foo", "--rev=2", "-w", "json", "--prefix"], specs)).toEqual({ args: ["foo"], flags: { rev: "2", "write-out": "json", prefix: "true" } });
    expect(parseFlags(["--count-only"], specs)).toEqual({ error: "unknown flag: --count-only" });
    expect(parseFlags(["--", "-v"], specs)).toEqual({ args: ["-v"], flags: {} });
  });
  it("parses integers with Go's errors", () => {
    expect(parseGoInt("ff", 16)).toBe(255n);
    expect(parseGoInt("abc", 10)).toEqual({ error: 'strconv.ParseInt: parsing "abc": invalid syntax' });
    expect(parseGoInt("9223372036854775808", 10)).toEqual({ error: 'strconv.ParseInt: parsing "9223372036854775808": value out of range' });
  });
  it("reads durations and maps both commands", () => {
    expect(parseDuration("5s")).toBe(5000);
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("soon")).toBeUndefined();
    expect(bothMapping(["put", "k", "v", "--ttl", "5"])).toEqual({ v3: ["put", "k", "v"], v2: ["set", "/k", "v", "--ttl", "5"], v3LeaseTtl: 5 });
    expect(bothMapping(["get", "k", "--prefix"]).v2).toEqual(["ls", "--sort", "-r", "/k"]);
    expect(bothMapping(["get", "k", "--rev=2"]).v2Missing).toContain("no read at an old revision");
  });
});

/**
 * `npm run console`, driven the way a teacher pipes a session into it: every shipped script runs,
 * txn -i aborts on a syntax error as etcdctl does, background watches print their events, undo
 * replays the session minus its last command, and a saved session replays to the same bytes.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/** Pipes `input` into the console, as `npm run console < file` does. */
function consoleSession(input: string, args: string[] = []): { out: string; err: string; status: number | null } {
  const result = spawnSync(process.execPath, ["--import", "tsx", "scenarios/console.ts", ...args], { input, encoding: "utf8", timeout: 60_000 });
  return { out: result.stdout, err: result.stderr, status: result.status };
}

const SCRIPTS = readdirSync("scenarios/scripts").filter((name) => name.endsWith(".etcdctl")).sort();
const scratch = mkdtempSync(join(tmpdir(), "etcdsim-console-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("npm run console < script", () => {
  it.each(SCRIPTS)("runs %s with every expect holding", (name) => {
    const text = readFileSync(`scenarios/scripts/${name}`, "utf8");
    const session = consoleSession(text);
    expect(session.status, session.err).toBe(0);
    expect(session.err).toBe("");
    const expects = text.split("\n").filter((line) => line.trim().startsWith("expect ")).length;
    expect(session.out.match(/^✓ expect /gm)?.length ?? 0, session.out).toBe(expects);
    expect(session.out).not.toMatch(/^✗ expect /m);
  }, 60_000);
});

describe("console sessions", () => {
  it("aborts txn -i at the first bad compare with etcdctl's error and exit code, and carries on", () => {
    const session = consoleSession(['put foo bar', 'txn -i', 'value(foo) = "bar"', "get foo", "expect exit = 0"].join("\n") + "\n");
    expect(session.out).toContain('etcdsim> txn -i\ncompares:\nvalue(foo) = "bar"\nError: malformed comparison: value(foo) = "bar"; got value("")  ""\n');
    expect(session.out).toContain("etcdsim> get foo\nfoo\nbar\n");
    expect(session.out).toContain("✓ expect exit = 0");
  }, 60_000);

  it("runs a well-formed txn -i with etcdctl's three prompts", () => {
    const session = consoleSession(['put foo bar', 'txn -i', 'value("foo") = "bar"', "", "put foo baz", "", "get foo", "", "expect output contains SUCCESS"].join("\n") + "\n");
    expect(session.out).toContain("compares:");
    expect(session.out).toContain("success requests (get, put, del):");
    expect(session.out).toContain("failure requests (get, put, del):");
    expect(session.out).toContain("SUCCESS\n\nOK\n");
    expect(session.out).toContain("✓ expect output contains SUCCESS");
  }, 60_000);

  it("says EOF when the input ends inside a txn block, as etcdctl does", () => {
    const session = consoleSession(['txn -i', 'value("foo") = "bar"', ""].join("\n") + "\n");
    expect(session.out.trimEnd().endsWith("Error: EOF")).toBe(true);
  }, 60_000);

  it("prints a background watch's events after the command that caused them", () => {
    const session = consoleSession(["watch --prefix jobs &", "put jobs/a 1", "del jobs/a", "expect events 1 = 2"].join("\n") + "\n");
    expect(session.out).toContain("etcdsim> watch --prefix jobs &\n[1] watch --prefix jobs\n");
    expect(session.out).toContain("etcdsim> put jobs/a 1\nOK\nPUT\njobs/a\n1\n");
    expect(session.out).toContain("etcdsim> del jobs/a\n1\nDELETE\njobs/a\n\n");
    expect(session.out).toContain("✓ expect events 1 = 2");
  }, 60_000);

  it("undoes the last command by replaying the rest on a fresh store", () => {
    const session = consoleSession(["put a 1", "put a 2", "undo", "get a --print-value-only", "expect revision = 2", "undo", "undo", "get a"].join("\n") + "\n");
    expect(session.out).toContain("undid: put a 2 (replayed 1 lines on a fresh store)");
    expect(session.out).toContain("etcdsim> get a --print-value-only\n1\n");
    expect(session.out).toContain("✓ expect revision = 2");
    // Undo skips script lines (expect) and takes the next command back; the last get then finds nothing.
    expect(session.out).toMatch(/etcdsim> get a\n$/);
  }, 60_000);

  it("saves the session as a script whose replay prints the same bytes", () => {
    const file = join(scratch, "session.etcdctl");
    const lines = [
      "# a session",
      "put foo bar",
      "watch --prefix jobs &",
      "both put jobs/a 1",
      "lease grant 30",
      "put lk v --lease=$LEASE",
      "lease timetolive $LEASE --keys",
      "txn -i",
      'value("foo") = "bar"',
      "",
      "put foo baz",
      "",
      "",
      "txn -i",
      'value(foo) = "bar"',
      "v2 set /x 1 --ttl 5",
      "sleep 6s",
      "v2 get /x",
      "get foo -w json",
      "expect revision = 5",
    ];
    const session = consoleSession([...lines, `save ${file}`].join("\n") + "\n");
    const before = session.out.slice(0, session.out.indexOf(`etcdsim> save ${file}`));
    expect(session.out).toContain(`saved 14 entries to ${file}`);
    const replay = consoleSession(readFileSync(file, "utf8"));
    expect(replay.out).toBe(before);
    expect(replay.out).toContain("✓ expect revision = 5");
  }, 60_000);

  it("refuses a bad option and a dead --target in one line with exit code 2", () => {
    const bad = consoleSession("", ["--bogus"]);
    expect(bad.status).toBe(2);
    expect(bad.err).toBe("unknown option --bogus (try --help)\n");
    const dead = consoleSession("", ["--target", "http://127.0.0.1:9"]);
    expect(dead.status).toBe(2);
    expect(dead.err.trim().split("\n")).toHaveLength(1);
    expect(dead.err).toMatch(/^--target http:\/\/127\.0\.0\.1:9: nothing answers there/);
    const help = consoleSession("", ["--help"]);
    expect(help.status).toBe(0);
    expect(help.out).toContain("usage: npm run console");
  }, 60_000);
});

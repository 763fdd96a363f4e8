/**
 * Every bad input to `npm start` named in the issue gets one line on stderr and exit code 2, before
 * anything runs; `--help` exits 0 with real help; `npm start | head` ends quietly.
 */
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcessProvider } from "../../scenarios/adapters/inProcess.js";
import { LESSONS } from "../../scenarios/lessons.js";
import { main } from "../../scenarios/runner.js";

/** Runs the runner in process and captures what it writes to stdout and stderr. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv, LESSONS, [inProcessProvider], (text) => (out += text));
    return { code, out, err };
  } finally {
    process.stderr.write = write;
  }
}

let notEtcd: Server;
let notEtcdUrl = "";
beforeAll(async () => {
  notEtcd = createServer((_request, response) => {
    response.writeHead(404, { "content-type": "text/plain" });
    response.end("404 page not found\n");
  });
  await new Promise<void>((resolve) => notEtcd.listen(0, "127.0.0.1", resolve));
  const address = notEtcd.address();
  notEtcdUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
});
afterAll(() => new Promise<void>((resolve) => notEtcd.close(() => resolve())));

describe("npm start refuses bad input in one line, before anything runs", () => {
  it.each([
    [["--seed=abc"], '--seed wants a whole number from 0 to 4294967295, got "abc"'],
    [["--seed=-5"], '--seed wants a whole number from 0 to 4294967295, got "-5"'],
    [["--seed", "-5"], '--seed wants a whole number from 0 to 4294967295, got "-5"'],
    [["--seed", "4294967296"], '--seed wants a whole number from 0 to 4294967295, got "4294967296"'],
    [["--seed"], "--seed needs a value"],
    [["--html", "/nonexistent/x.html", "1"], "--html /nonexistent/x.html: the directory /nonexistent does not exist"],
    [["--colour"], "unknown option --colour (try --help)"],
    [["--json=yes"], "--json takes no value"],
    [["raft"], 'no lesson matches "raft" (try --list)'],
    [["no/such/script.etcdctl"], "no such script: no/such/script.etcdctl"],
    [["--target", "ftp://x"], '--target wants client URLs like http://127.0.0.1:2379[,http://…], got "ftp://x"'],
    [["4", "--set", "NOPE=1"], "--set NOPE: no chosen lesson has a parameter NOPE (have: WRITES, NOISY_WRITES)"],
    [["4", "--set", "WRITES=abc"], "--set WRITES=abc: wants a whole number"],
    [["4", "--set", "WRITES"], '--set wants NAME=VALUE, got "WRITES"'],
  ])("refuses %j", async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.err).toBe(`${message}\n`);
    expect(result.out).toBe("");
  });

  it("refuses a dead endpoint and an endpoint that is not an etcd", async () => {
    const dead = await run(["1", "--target", "http://127.0.0.1:9"]);
    expect(dead.code).toBe(2);
    expect(dead.err).toMatch(/^--target http:\/\/127\.0\.0\.1:9: nothing answers there \([^\n]+\)\n$/);
    const other = await run(["1", "--target", notEtcdUrl]);
    expect(other.code).toBe(2);
    expect(other.err).toBe(`--target ${notEtcdUrl}: it answered, but not as an etcd (GET /version: 404)\n`);
  });

  it("prints real help and exits 0", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("usage: npm start -- [lesson or script …] [options]");
    expect(help.out).toContain("--target URL");
    expect(help.out).toContain("--set NAME=VALUE");
    expect(help.err).toBe("");
  });
});

describe("npm start as a process", () => {
  it("exits 2 with one line for a bad seed, and ends quietly when its reader closes the pipe", () => {
    const bad = spawnSync(process.execPath, ["--import", "tsx", "scenarios/main.ts", "--seed=abc"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('--seed wants a whole number from 0 to 4294967295, got "abc"\n');
    const piped = spawnSync("sh", ["-c", `"${process.execPath}" --import tsx scenarios/main.ts 1 2 3 | head -1`], { encoding: "utf8" });
    expect(piped.stdout).toBe("etcdsim lessons · seed 1 · target in-process\n");
    expect(piped.stderr).toBe("");
  }, 60_000);
});

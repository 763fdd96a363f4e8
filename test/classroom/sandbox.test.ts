/**
 * The page console's sandbox (classroom/sandbox.ts): undo takes back the last command on
 * in-process stores, time included; freeze stops the simulated clock; the live console refuses
 * undo and says why.
 */
import { describe, expect, it } from "vitest";
import { ClassroomConsole, LIVE_UNDO_REFUSAL } from "../../classroom/console.js";
import { Sandbox } from "../../classroom/sandbox.js";

function v3Value(view: Awaited<ReturnType<Sandbox["view"]>>, key: string): string | undefined {
  return view.frame.v3?.logReset?.filter((row) => row.key === key).at(-1)?.value;
}

describe("the classroom sandbox", () => {
  it("undoes the last put: the revision it spent is free again", async () => {
    const sandbox = new Sandbox();
    expect((await sandbox.input("put foo bar")).output).toBe("OK");
    expect((await sandbox.input("put foo baz")).output).toBe("OK");
    expect((await sandbox.view()).frame.v3?.rev).toBe(3);
    const undo = await sandbox.input("undo");
    expect(undo.output).toContain("undid: put foo baz");
    const view = await sandbox.view();
    expect(view.frame.v3?.rev).toBe(2);
    expect(v3Value(view, "foo")).toBe("bar");
    expect((await sandbox.input("get foo")).output).toBe("foo\nbar");
    await sandbox.close();
  });

  it("steps over narration and expectations to the command before them", async () => {
    const sandbox = new Sandbox();
    await sandbox.input("v2 set /a 1");
    await sandbox.input("# a note");
    await sandbox.input("expect v2 index = 5");
    expect((await sandbox.input("undo")).output).toContain("undid: v2 set /a 1");
    expect((await sandbox.view()).frame.v2?.upsert).toEqual([]);
    expect((await sandbox.input("undo")).output).toBe("nothing to undo");
    await sandbox.close();
  });

  it("runs its clock on the server's time, and a frozen clock expires nothing", async () => {
    const sandbox = new Sandbox();
    sandbox.tick(1_000);
    await sandbox.input("v2 set /t x --ttl 3");
    sandbox.freeze();
    sandbox.tick(2_000);
    sandbox.tick(60_000);
    let view = await sandbox.view();
    expect(view.frozen).toBe(true);
    expect(view.clockMs).toBe(0);
    expect(view.frame.v2?.upsert.map((row) => row.path)).toEqual(["/t"]);
    sandbox.run();
    sandbox.tick(62_000);
    view = await sandbox.view();
    expect(view.clockMs).toBe(2_000);
    expect(view.frame.v2?.upsert.map((row) => row.path)).toEqual(["/t"]);
    sandbox.tick(63_600); // 3.6 s after the set: past its TTL and a 500 ms SYNC
    view = await sandbox.view();
    expect(view.frame.v2?.upsert).toEqual([]);
    await sandbox.close();
  });

  it("replays each kept line at its own simulated time, so a TTL set before the undone command keeps its deadline", async () => {
    const sandbox = new Sandbox();
    sandbox.tick(0);
    await sandbox.input("put a 1"); // the stores open at time 0
    sandbox.tick(3_000);
    await sandbox.input("v2 set /t x --ttl 10");
    const before = await sandbox.view();
    const deadline = before.frame.v2?.upsert[0]?.expireTimeMs as number;
    expect(deadline - (before.frame.nowMs - before.clockMs)).toBe(13_000);
    sandbox.tick(5_000);
    await sandbox.input("put foo baz");
    sandbox.tick(6_000);
    await sandbox.input("undo");
    const view = await sandbox.view();
    expect(view.clockMs).toBe(6_000);
    expect(view.frame.v2?.upsert[0]?.expireTimeMs).toBe(deadline);
    expect(view.frame.v3?.rev).toBe(2);
    await sandbox.close();
  });

  it("empties on reset: time 0, no keys, nothing to undo", async () => {
    const sandbox = new Sandbox();
    sandbox.tick(0);
    await sandbox.input("put a 1");
    sandbox.tick(500);
    await sandbox.reset();
    const view = await sandbox.view();
    expect([view.clockMs, view.lines, view.frame.v3?.rev]).toEqual([0, 0, 1]);
    expect((await sandbox.input("undo")).output).toBe("nothing to undo");
    await sandbox.close();
  });
});

describe("the live console's undo", () => {
  it("refuses undo on a live server, saying a real etcd cannot un-write and pointing to the sandbox", async () => {
    const shell = new ClassroomConsole("http://127.0.0.1:1");
    const answer = await shell.run("undo");
    expect(answer).toEqual({ ok: false, output: LIVE_UNDO_REFUSAL });
    expect(answer.output).toContain("sandbox");
    await shell.close();
  });
});

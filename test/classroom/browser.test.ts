/**
 * The classroom page in a real chromium: writes from the real etcdctl and from curl-style HTTP land
 * in the right pane within 2 s, a TTL counts down and expires, a v2 watcher's pin turns red after
 * 1,000 other writes, a compaction moves the line, scrubbing shows an earlier frame, and the
 * console answers as etcdctl would. Each pane is saved as a screenshot under test-artifacts/.
 *
 * The server runs in this process on free loopback ports with the real clock, as `npm run classroom`
 * runs it.
 */
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startWithClassroom, type RunningWithClassroom } from "../../server/main.js";
import { artefactPath, chromiumAvailable, launchChromium } from "../support/browser.js";
import { ETCDCTL_BINARY, etcdctlAvailable } from "../support/realEtcd.js";

const run = promisify(execFile);

/** ETCDCTL_API=2 etcdctl against the simulator. */
async function etcdctl2(clientUrl: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(ETCDCTL_BINARY, ["--endpoints", clientUrl, ...args], { env: { ...process.env, ETCDCTL_API: "2" }, timeout: 10_000 });
  return stdout;
}

async function v3put(clientUrl: string, key: string, value: string): Promise<number> {
  const b64 = (text: string): string => Buffer.from(text).toString("base64");
  const response = await fetch(`${clientUrl}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key: b64(key), value: b64(value) }) });
  const answer = (await response.json()) as { header: { revision: string } };
  return Number(answer.header.revision);
}

async function v2put(clientUrl: string, key: string, value: string): Promise<void> {
  const response = await fetch(`${clientUrl}/v2/keys${key}`, {
    method: "PUT",
    body: new URLSearchParams({ value }),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  await response.arrayBuffer();
}

/** Where a pane is on the page, for a screenshot of just that pane. */
async function boxOf(page: Page, selector: string): Promise<{ x: number; y: number; width: number; height: number }> {
  const box = await page.locator(selector).boundingBox();
  if (box === null) throw new Error(`${selector} is not on the page`);
  return box;
}

describe.skipIf(!chromiumAvailable() || !etcdctlAvailable())("the classroom page in chromium", () => {
  let etcd: RunningWithClassroom;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    etcd = await startWithClassroom({ listenClientUrl: "http://127.0.0.1:0" }, "http://127.0.0.1:0");
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(etcd.classroom.url);
    await page.waitForSelector("#app[data-seq]");
  });

  afterAll(async () => {
    await browser?.close();
    await etcd?.close();
  });

  it("shows an etcdctl v2 set in the v2 tree within 2 s", async () => {
    await etcdctl2(etcd.clientUrl, "set", "/classroom/hello", "world");
    await page.waitForSelector('#v2tree [data-path="/classroom/hello"]', { timeout: 2_000 });
    expect(await page.textContent('#v2tree [data-path="/classroom/hello"]')).toContain("world");
    expect(await page.textContent('#v2tree [data-path="/classroom"]')).toContain("/");
  });

  it("shows an etcdctl v3 put (gRPC) in the v3 keyspace and revision log within 2 s", async () => {
    const { stdout } = await run(ETCDCTL_BINARY, ["--endpoints", etcd.clientUrl, "put", "grpc-key", "over-grpc"], { env: { ...process.env, ETCDCTL_API: "3" }, timeout: 10_000 });
    expect(stdout.trim()).toBe("OK");
    await page.waitForSelector('#v3keys [data-key="grpc-key"]', { timeout: 2_000 });
    expect(await page.textContent("#v3log")).toContain("over-grpc");
  });

  it("shows a curl v2 PUT and a v3 gateway put in their own panes within 2 s", async () => {
    await v2put(etcd.clientUrl, "/curl", "from-curl");
    const rev = await v3put(etcd.clientUrl, "foo", "bar");
    await page.waitForSelector('#v2tree [data-path="/curl"]', { timeout: 2_000 });
    await page.waitForSelector(`#v3log [data-rev="${rev}.0"]`, { timeout: 2_000 });
    expect(await page.textContent('#v3keys [data-key="foo"]')).toContain(`{${rev}.0}`);
    // Each write is in its own store only.
    expect(await page.$('#v2tree [data-path="/foo"]')).toBeNull();
    expect(await page.$('#v3keys [data-key="/curl"]')).toBeNull();
  });

  it("counts a TTL key down on the server's clock and drops it after the SYNC sweep", async () => {
    await etcdctl2(etcd.clientUrl, "set", "/ttl-key", "soon", "--ttl", "2");
    const row = '#v2tree [data-path="/ttl-key"]';
    await page.waitForSelector(`${row} .ttl[data-ttl="2"]`, { timeout: 2_000 });
    await page.waitForSelector(`${row} .ttl[data-ttl="1"]`, { timeout: 2_000 });
    await page.screenshot({ path: artefactPath("v2-ttl-countdown"), clip: await boxOf(page, "#pane-v2") });
    await page.waitForSelector(row, { state: "detached", timeout: 4_000 });
    expect(await page.textContent("#v2ring .ring-recent")).toContain("expire /ttl-key");
  });

  // The history keeps 1,000 events: after 1,000 other writes the watcher's waitIndex is the oldest
  // kept slot (still answerable); the 1,001st evicts it, and a watch from it would get 401.
  it("turns a waiting v2 watcher's pin red once 1,001 other writes push its index out of the history", async () => {
    const watch = spawn(ETCDCTL_BINARY, ["--endpoints", etcd.clientUrl, "watch", "/watched"], { env: { ...process.env, ETCDCTL_API: "2" }, stdio: "ignore" });
    try {
      await page.waitForSelector("#v2ring .pin:not(.red)", { timeout: 5_000 });
      const waitIndex = Number(await page.getAttribute("#v2ring .pin", "data-wait"));
      expect(await page.textContent("#v2watchers")).toContain("1 watch on 1 TCP connection");
      for (let i = 0; i < 1_000; i++) await v2put(etcd.clientUrl, `/other/${i % 50}`, String(i));
      await page.waitForFunction((start) => Number(document.querySelector("#v2ring .ring")?.getAttribute("data-start")) === start, waitIndex, { timeout: 3_000 });
      expect(await page.$("#v2ring .pin.red")).toBeNull();
      await v2put(etcd.clientUrl, "/other/last", "1001");
      await page.waitForSelector(`#v2ring .pin.red[data-wait="${waitIndex}"]`, { timeout: 3_000 });
      expect(Number(await page.getAttribute("#v2ring .ring", "data-start"))).toBeGreaterThan(waitIndex);
      await page.screenshot({ path: artefactPath("v2-ring-red-pin"), clip: await boxOf(page, "#pane-v2") });
    } finally {
      if (watch.pid !== undefined) process.kill(watch.pid, "SIGTERM");
    }
  });

  it("moves the compaction line when the console compacts, and etcdctl's answers come back", async () => {
    const first = await v3put(etcd.clientUrl, "foo", "v2");
    await v3put(etcd.clientUrl, "foo", "v3");
    await page.fill("#console-in", `etcdctl compaction ${first}`);
    await page.press("#console-in", "Enter");
    await page.waitForSelector(`#v3log .compaction-line[data-compact-rev="${first}"]`, { timeout: 2_000 });
    expect(await page.textContent("#console-out")).toContain(`compacted revision ${first}`);
    const later = await v3put(etcd.clientUrl, "foo", "v4");
    await page.fill("#console-in", `etcdctl compaction ${later}`);
    await page.press("#console-in", "Enter");
    await page.waitForSelector(`#v3log .compaction-line[data-compact-rev="${later}"]`, { timeout: 2_000 });
    await page.fill("#console-in", `etcdctl get foo --rev=${first}`);
    await page.press("#console-in", "Enter");
    await page.waitForFunction(() => (document.getElementById("console-out")?.textContent ?? "").includes("required revision has been compacted"), null, { timeout: 2_000 });
    await page.screenshot({ path: artefactPath("v3-compaction-line"), clip: await boxOf(page, "#pane-v3") });
  });

  it("keeps a listed row's element when another key changes, and rewrites only the row that changed", async () => {
    await v3put(etcd.clientUrl, "!reuse-a", "1");
    await v3put(etcd.clientUrl, "!reuse-b", "1");
    await page.waitForSelector('#v3keys [data-key="!reuse-b"]', { timeout: 2_000 });
    const mark = (): Promise<void> =>
      page.evaluate(() => {
        for (const key of ["!reuse-a", "!reuse-b"]) {
          const row = document.querySelector(`#v3keys [data-key="${key}"]`) as HTMLElement;
          (row.closest(".vrow") as HTMLElement).dataset["mark"] = "kept";
          row.dataset["mark"] = "old";
        }
      });
    await mark();
    await v3put(etcd.clientUrl, "!reuse-b", "2");
    await page.waitForFunction(() => (document.querySelector('#v3keys [data-key="!reuse-b"]')?.textContent ?? "").split(".0").length === 3, undefined, { timeout: 2_000 });
    const marks = await page.evaluate(() =>
      ["!reuse-a", "!reuse-b"].map((key) => {
        const row = document.querySelector(`#v3keys [data-key="${key}"]`) as HTMLElement;
        return [(row.closest(".vrow") as HTMLElement).dataset["mark"], row.dataset["mark"] ?? "new"];
      }),
    );
    // Both places kept; a's row untouched, b's row written anew with its second revision.
    expect(marks).toEqual([
      ["kept", "old"],
      ["kept", "new"],
    ]);
  });

  it("scrubs back to an earlier frame and shows the stores as they were, then returns to live", async () => {
    await v3put(etcd.clientUrl, "scrubbed", "one");
    await page.waitForSelector('#v3keys [data-key="scrubbed"]', { timeout: 2_000 });
    const before = Number(await page.getAttribute("#app", "data-seq"));
    await v3put(etcd.clientUrl, "scrubbed", "two");
    await page.waitForFunction((seq) => Number(document.getElementById("app")?.dataset["seq"]) > seq, before, { timeout: 2_000 });
    const liveText = await page.textContent('#v3keys [data-key="scrubbed"]');
    await page.evaluate((seq) => {
      const scrub = document.getElementById("scrub") as HTMLInputElement;
      scrub.value = String(seq);
      scrub.dispatchEvent(new Event("input"));
    }, before);
    await page.waitForSelector(`header .past[data-viewing="${before}"]`, { timeout: 2_000 });
    const pastText = await page.textContent('#v3keys [data-key="scrubbed"]');
    expect(pastText?.split(".0").length).toBe(2); // one revision then
    expect(liveText?.split(".0").length).toBe(3); // two revisions now
    await page.screenshot({ path: artefactPath("scrubbed-back"), fullPage: true });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("l");
    await page.waitForSelector("header .live", { timeout: 2_000 });
  });

  it("lists each client connection with the watches it holds", async () => {
    const watches = [0, 1, 2].map(() => spawn(ETCDCTL_BINARY, ["--endpoints", etcd.clientUrl, "watch", "/many"], { env: { ...process.env, ETCDCTL_API: "2" }, stdio: "ignore" }));
    try {
      await page.waitForFunction(() => document.querySelectorAll("#conns tr[data-conn]").length >= 3, null, { timeout: 15_000 });
      await page.waitForFunction(() => (document.getElementById("v2watchers")?.textContent ?? "").includes("3 watches on 3 TCP connections"), null, { timeout: 15_000 });
      await page.screenshot({ path: artefactPath("connections"), clip: await boxOf(page, ".bottom") });
    } finally {
      for (const watch of watches) if (watch.pid !== undefined) process.kill(watch.pid, "SIGTERM");
    }
  });

  it("shows three v3 watchers of one etcdctl on one gRPC connection and one stream", async () => {
    const watch = spawn(ETCDCTL_BINARY, ["--endpoints", etcd.clientUrl, "watch", "-i"], { env: { ...process.env, ETCDCTL_API: "3" }, stdio: ["pipe", "ignore", "ignore"] });
    try {
      watch.stdin?.write("watch one\nwatch two\nwatch three\n");
      await page.waitForFunction(() => (document.getElementById("v3watchers")?.textContent ?? "").includes("3 watchers on 1 stream"), null, { timeout: 10_000 });
      // Its connection (the page's console may hold another gRPC connection, with no stream).
      await page.waitForFunction(
        () => [...document.querySelectorAll("#conns tr[data-conn]")].some((row) => row.textContent?.includes("gRPC (HTTP/2)") === true && row.lastElementChild?.textContent === "1"),
        null,
        { timeout: 5_000 },
      );
      await page.screenshot({ path: artefactPath("v3-watchers-one-stream"), clip: await boxOf(page, "#pane-v3") });
    } finally {
      watch.stdin?.end();
      if (watch.pid !== undefined) process.kill(watch.pid, "SIGTERM");
    }
  });

  it("runs a lesson's simulated clock: a freeze stops the countdowns, and running it again lets the TTLs expire", async () => {
    await page.selectOption("#lesson-pick", "02-ttl-vs-lease");
    await page.waitForSelector('#lesson-step[data-step="1"]', { timeout: 5_000 });
    await page.waitForSelector('header .clock[data-clock="running"]');
    await page.waitForSelector('#v2tree [data-path="/session/a"] .ttl[data-ttl="4"]', { timeout: 3_000 });
    await page.click("#lesson-freeze");
    await page.waitForSelector('header .clock[data-clock="frozen"]');
    const frozenAt = await page.textContent("header .clock");
    const ttl = await page.getAttribute('#v2tree [data-path="/session/a"] .ttl', "data-ttl");
    await page.waitForTimeout(1_500);
    expect(await page.textContent("header .clock")).toBe(frozenAt);
    expect(await page.getAttribute('#v2tree [data-path="/session/a"] .ttl', "data-ttl")).toBe(ttl);
    expect(await page.textContent("#v3leases")).toContain("session/a");
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("z"); // Z in a lesson runs the lesson's clock again
    await page.waitForSelector('header .clock[data-clock="running"]');
    // 5 s TTLs: the v2 keys go at the SYNC sweep after their deadline, the lease and its keys with it.
    await page.waitForSelector('#v2tree [data-path="/session/a"]', { state: "detached", timeout: 6_000 });
    await page.waitForFunction(() => document.getElementById("v3leases")?.textContent?.includes("no leases"), undefined, { timeout: 2_000 });
    await page.click("#lesson-freeze"); // the next test starts frozen
    await page.click("#lesson-exit");
    await page.waitForSelector("header .live", { timeout: 2_000 });
  });

  it("steps a lesson forward and back, and a step shown again is the same as the first time", async () => {
    // The clock is frozen (previous test), so a step shown twice is the state right after its commands.
    expect(await page.getAttribute("#lesson-freeze", "data-frozen")).toBe("true");
    await page.selectOption("#lesson-pick", "02-ttl-vs-lease");
    await page.waitForSelector('#lesson-step[data-step="1"]', { timeout: 5_000 });
    await page.waitForSelector('#v2tree [data-path="/session/a"] .ttl[data-ttl="5"]', { timeout: 2_000 });
    expect(await page.textContent("#v3leases")).toContain("session/a");
    await page.click("#lesson-next");
    await page.waitForSelector('#lesson-step[data-step="2"]', { timeout: 5_000 });
    await page.waitForSelector('#v2tree [data-path="/session/a"] .ttl[data-ttl="2"]', { timeout: 2_000 });
    const stepTwo = await page.innerHTML("#pane-v2"); // drawn (the step label changes a frame before the panes)
    await page.click("#lesson-next");
    await page.waitForSelector('#lesson-step[data-step="3"]', { timeout: 5_000 });
    await page.waitForSelector('#v2tree [data-path="/session/a"]', { state: "detached", timeout: 2_000 });
    expect(await page.textContent("#v3leases")).toContain("no leases");
    await page.screenshot({ path: artefactPath("lesson-step-3"), fullPage: true });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("ArrowLeft");
    await page.waitForSelector('#lesson-step[data-step="2"]', { timeout: 5_000 });
    await page.waitForSelector('#v2tree [data-path="/session/a"]', { timeout: 2_000 });
    expect(await page.innerHTML("#pane-v2")).toBe(stepTwo);
    await page.keyboard.press("Escape");
    await page.waitForSelector("header .live", { timeout: 2_000 });
    expect(await page.$('#v2tree [data-path="/session/a"]')).toBeNull();
  });

  it("refuses undo on the live server, and in the sandbox undoes a put, counts a TTL down and freezes its clock", async () => {
    const console = async (line: string, expected: string): Promise<void> => {
      await page.fill("#console-in", line);
      await page.press("#console-in", "Enter");
      await page.waitForFunction((text) => (document.getElementById("console-out")?.textContent ?? "").includes(text), expected, { timeout: 5_000 });
    };
    await console("undo", "undo cannot un-write a live etcd");
    await page.click("#console-mode");
    await page.waitForSelector('header .sandbox[data-sandbox="running"]', { timeout: 2_000 });
    expect(await page.$('#v2tree [data-path="/classroom"]')).toBeNull(); // the sandbox starts empty
    await console("put kept one", "OK");
    await console("put undone two", "OK");
    await page.waitForSelector('#v3keys [data-key="undone"]', { timeout: 2_000 });
    await console("undo", "undid: put undone two");
    await page.waitForSelector('#v3keys [data-key="undone"]', { state: "detached", timeout: 2_000 });
    expect(await page.$('#v3keys [data-key="kept"]')).not.toBeNull();
    expect(await v3put(etcd.clientUrl, "live-only", "x")).toBeGreaterThan(1); // the live server is untouched by the sandbox…
    await console("get undone", "$ get undone"); // …and the sandbox by the live server
    expect(await page.$('#v3keys [data-key="live-only"]')).toBeNull();
    await console("v2 set /countdown x --ttl 3", "x");
    await page.waitForSelector('#v2tree [data-path="/countdown"] .ttl[data-ttl="2"]', { timeout: 3_000 });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("z"); // Z in the sandbox freezes the sandbox's clock
    await page.waitForSelector('header .sandbox[data-sandbox="frozen"]', { timeout: 2_000 });
    const frozenAt = await page.textContent('#v2tree [data-path="/countdown"] .ttl');
    await page.waitForTimeout(2_500);
    expect(await page.textContent('#v2tree [data-path="/countdown"] .ttl')).toBe(frozenAt); // nothing moves, nothing expires
    await page.screenshot({ path: artefactPath("sandbox-frozen"), fullPage: true });
    await page.click("#freeze");
    await page.waitForSelector('#v2tree [data-path="/countdown"]', { state: "detached", timeout: 5_000 });
    await page.click("#console-mode");
    await page.waitForSelector("header .live", { timeout: 2_000 });
    await page.waitForSelector('#v3keys [data-key="live-only"]', { timeout: 2_000 });
    expect(await page.$('#v3keys [data-key="kept"]')).toBeNull();
  });

  it("draws the whole page for the README, and in projector mode with large type", async () => {
    await page.setViewportSize({ width: 1600, height: 1000 });
    await page.screenshot({ path: artefactPath("page"), fullPage: false });
    await page.keyboard.press("p");
    await page.waitForSelector("body.projector");
    expect(await page.evaluate(() => getComputedStyle(document.documentElement).fontSize)).toBe("14px");
    expect(await page.evaluate(() => getComputedStyle(document.body).fontSize)).toBe("21px");
    await page.screenshot({ path: artefactPath("page-projector"), fullPage: false });
    await page.keyboard.press("p");
  });
});

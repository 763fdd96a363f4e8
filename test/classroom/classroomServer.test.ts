/**
 * The classroom listener from the outside: the client port answers byte for byte the same with the
 * classroom on; the SSE feed numbers its frames and resumes; the console prints what the real
 * etcdctl prints for the same command against the same server; a write storm is paced to two
 * frames a second.
 */
import { execFile } from "node:child_process";
import { request } from "node:http";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWithClassroom, type RunningWithClassroom } from "../../server/main.js";
import { startEtcd, type RunningEtcd } from "../../server/etcd.js";
import { v3Mount } from "../../server/v3Mount.js";
import { ClassroomConsole } from "../../classroom/console.js";
import { shellWords } from "../../scenarios/script/etcdctlArgs.js";
import { ETCDCTL_BINARY, etcdctlAvailable } from "../support/realEtcd.js";
import { SimulatedClock, sleep } from "../../shared/clock.js";
import { utf8 } from "../../shared/bytes.js";
import { V2Store } from "../../v2/store.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { startClassroom, STORM_FRAME_CHARS } from "../../classroom/classroomServer.js";
import { FRAME_INTERVAL_MS } from "../../classroom/observer.js";

const run = promisify(execFile);

/** Status line, headers (Date dropped) and body of one raw HTTP exchange. */
function rawExchange(url: string, method: string, path: string, body = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers: body === "" ? {} : { "Content-Type": "application/x-www-form-urlencoded" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        const headers = Object.entries(res.headers)
          .filter(([name]) => name !== "date")
          .map(([name, value]) => `${name}: ${String(value)}`)
          .join("\n");
        resolve(`${res.statusCode ?? 0}\n${headers}\n\n${text}`);
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("the classroom listener", () => {
  let withPage: RunningWithClassroom;
  let plain: RunningEtcd;

  beforeAll(async () => {
    withPage = await startWithClassroom({ listenClientUrl: "http://127.0.0.1:0" }, "http://127.0.0.1:0");
    plain = await startEtcd({ listenClientUrl: "http://127.0.0.1:0", extraHandlers: [v3Mount()] });
  });

  afterAll(async () => {
    await withPage?.close();
    await plain?.close();
  });

  it("leaves the client port's answers byte for byte as they are without it", async () => {
    const exchanges: Array<[string, string, string?]> = [
      ["PUT", "/v2/keys/a", "value=1"],
      ["GET", "/v2/keys/a"],
      ["GET", "/v2/keys/missing"],
      ["GET", "/classroom"],
      ["GET", "/events"],
      ["GET", "//v2/keys/a"],
      ["POST", "/v3/kv/put", JSON.stringify({ key: "YQ==", value: "MQ==" })],
      ["GET", "/version"],
    ];
    for (const [method, path, body] of exchanges) {
      const [a, b] = await Promise.all([rawExchange(withPage.clientUrl, method, path, body), rawExchange(plain.clientUrl, method, path, body)]);
      expect(a.replaceAll(withPage.clientUrl, "URL"), `${method} ${path}`).toBe(b.replaceAll(plain.clientUrl, "URL"));
    }
  });

  it("numbers frames as SSE ids and resumes after the id a page sends back", async () => {
    const read = async (query: string): Promise<string> => {
      const controller = new AbortController();
      const response = await fetch(`${withPage.classroom.url}/events${query}`, { signal: controller.signal });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const { value } = await reader.read();
      let text = new TextDecoder().decode(value);
      while (!text.includes("data: ")) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      return text;
    };
    await fetch(`${withPage.clientUrl}/v2/keys/sse`, { method: "PUT", body: new URLSearchParams({ value: "1" }) });
    const first = await read("");
    const seq = Number(/id: (\d+)/.exec(first)?.[1]);
    expect(first).toContain('"reset":true');
    await fetch(`${withPage.clientUrl}/v2/keys/sse`, { method: "PUT", body: new URLSearchParams({ value: "2" }) });
    const resumed = await read(`?lastEventId=${seq}`);
    expect(resumed).toContain(`id: ${seq + 1}\n`);
    expect(resumed).not.toContain('"reset":true');
    const behind = await read(`?lastEventId=${seq + 1_000_000}`);
    expect(behind).toContain('"behind":true');
  });

  it("refuses a frame it no longer keeps with 410 and says which it keeps", async () => {
    const response = await fetch(`${withPage.classroom.url}/state?seq=999999`);
    expect(response.status).toBe(410);
    expect(((await response.json()) as { error: string }).error).toMatch(/^frame 999999 is not kept \(kept: \d+…\d+\)$/);
  });

  it.skipIf(!etcdctlAvailable())("prints what the real etcdctl prints for the same commands", async () => {
    const lines = [
      "ETCDCTL_API=2 etcdctl set /console/a 1",
      "ETCDCTL_API=2 etcdctl get /console/a",
      "ETCDCTL_API=2 etcdctl get /console/missing",
      "ETCDCTL_API=2 etcdctl mk /console/a 2",
      "ETCDCTL_API=2 etcdctl update /console/a 3",
      "ETCDCTL_API=2 etcdctl rm /console/a",
      "etcdctl put console-k v1",
      "etcdctl get console-k",
      "etcdctl get console --prefix",
      "etcdctl del console-k",
    ];
    const shell = new ClassroomConsole(withPage.clientUrl);
    let compared = 0;
    for (const line of lines) {
      const words = shellWords(line);
      if (!Array.isArray(words)) throw new Error(words.error);
      const api = words[0]?.startsWith("ETCDCTL_API=") === true ? (words.shift() as string).slice(12) : "3";
      const args = words.slice(1);
      // The same command twice against fresh state: first the real etcdctl, then the console (the
      // real one's write is undone by running the console's on a mirrored key).
      const real = await run(ETCDCTL_BINARY, ["--endpoints", withPage.clientUrl, ...args.map((a) => a.replace("console", "real"))], { env: { ...process.env, ETCDCTL_API: api } }).then(
        ({ stdout, stderr }) => (stdout + stderr).trim(),
        (error: { stdout: string; stderr: string }) => (error.stdout + error.stderr).trim(),
      );
      const ours = await shell.run(line);
      // Indexes differ between the two runs by the real run's own write; compare with them masked.
      const mask = (text: string): string => text.replace(/\[\d+\]/g, "[N]").replaceAll("real", "console");
      expect(mask(ours.output), line).toBe(mask(real));
      compared++;
    }
    await shell.close();
    expect(compared).toBe(lines.length);
  });
});

describe("frame pacing", () => {
  it("rests one tick after a write-storm frame and sends a calm class's writes every tick", async () => {
    const clock = new SimulatedClock();
    const stores = { v2: new V2Store(), v3: new EtcdServer({ clock }), clock };
    const classroom = await startClassroom({ listenUrl: "http://127.0.0.1:0", stores, clock, clientUrl: "http://127.0.0.1:9" });
    const controller = new AbortController();
    try {
      const response = await fetch(`${classroom.url}/events`, { signal: controller.signal });
      void (response.body as ReadableStream<Uint8Array>).pipeTo(new WritableStream()).catch(() => {});
      for (let i = 0; classroom.pageCount() === 0 && i < 100; i++) await sleep(10);
      const put = (key: string): unknown => stores.v3.put({ key: utf8(key), value: utf8("v".repeat(100)) });
      const seq = (): number => classroom.builder.model.seq;
      const start = seq();

      for (let i = 0; i < 2_000; i++) put(`storm/${i}`);
      clock.advance(FRAME_INTERVAL_MS);
      expect(seq()).toBe(start + 1);
      expect(classroom.frames.resume(start, classroom.builder.model).join("").length).toBeGreaterThan(STORM_FRAME_CHARS);

      put("during-rest");
      clock.advance(FRAME_INTERVAL_MS); // the rest: nothing built
      expect(seq()).toBe(start + 1);
      clock.advance(FRAME_INTERVAL_MS); // the write from the rest comes now
      expect(seq()).toBe(start + 2);
      expect(classroom.builder.model.v3.keys.has("during-rest")).toBe(true);

      for (const key of ["calm/1", "calm/2", "calm/3"]) {
        put(key);
        clock.advance(FRAME_INTERVAL_MS);
        expect(classroom.builder.model.v3.keys.has(key)).toBe(true);
      }
      expect(seq()).toBe(start + 5);
    } finally {
      controller.abort();
      await classroom.close();
    }
  });
});

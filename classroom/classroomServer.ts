/**
 * The classroom listener: a second HTTP port that serves the page and streams both stores to it.
 * etcd's nearest counterpart is `--listen-metrics-urls` (`embed/etcd.go` `serveMetrics`): another
 * port, so that the client port's answers (its 404s, redirects, CORS headers) stay byte for byte
 * those of a real etcd while the class looks at the internals somewhere else.
 *
 *   GET  /            the page (HTML; its script and style are built in memory at start)
 *   GET  /app.js      the page's script, bundled from classroom/page/ by esbuild when the server starts
 *   GET  /events      Server-Sent Events: one `id: seq` event per frame, `event: clock` each second;
 *                     a reconnect sends Last-Event-ID and gets the frames it missed, or a snapshot
 *                     marked `behind` when those are no longer kept (frameLog.ts)
 *   GET  /state?seq=N the model as it was after frame N (the scrubber), as one reset frame
 *   POST /trace       {"key":"foo","rev":5} → how `get foo --rev=5` is answered: index, then backend
 *   POST /command     {"line":"etcdctl put foo bar"} → what etcdctl prints (console.ts);
 *                     with "sandbox":true the line runs on the sandbox's in-process stores (sandbox.ts)
 *   GET  /sandbox     the sandbox's stores as one reset frame, its clock and whether it is frozen
 *   POST /sandbox     {"action":"freeze"|"run"|"reset"} → stop or restart its simulated clock, or empty it
 *   GET  /lessons     the shipped lessons; POST /lesson {"name":…,"step":2} → that step, replayed (lessonPlayer.ts);
 *                     {"name":…,"step":2,"elapsedMs":3000} → the step with its simulated clock run 3 s on
 *
 *   const classroom = await startClassroom({ listenUrl: "http://127.0.0.1:0", stores, clock, clientUrl });
 *   classroom.url   // http://127.0.0.1:41234
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Cancel, Clock, Ticker } from "../shared/clock.js";
import { utf8 } from "../shared/bytes.js";
import { describeTrace, StoreInspector } from "../v3/inspect.js";
import { ClassroomConsole } from "./console.js";
import { FrameLog } from "./frameLog.js";
import { LessonPlayer, shippedLessons } from "./lessonPlayer.js";
import { Sandbox } from "./sandbox.js";
import { FRAME_INTERVAL_MS, FrameBuilder, type ObservedStores } from "./observer.js";
import { snapshotFrame } from "./viewModel.js";

/** Where `npm run classroom` puts the page when no URL is given. */
export const DEFAULT_LISTEN_CLASSROOM_URL = "http://127.0.0.1:2390";
/** A page whose unsent frames pass this is cut off; it reconnects and resumes or gets a snapshot. */
export const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** How often a page hears the server's clock when nothing changes (its countdowns stay honest). */
export const CLOCK_EVENT_INTERVAL_MS = 1_000;
/**
 * A frame longer than this is a write storm (about 400 puts in one tick: 16 clients putting flat
 * out send ~190,000 characters a tick). The tick after it builds nothing, so a storm is shown two
 * frames a second instead of four: nobody reads 1,000 rows a quarter second, and on a 2-core laptop
 * the page's redraws take that CPU from the server (chromium's CPU per 1,000 puts of such a storm:
 * 26-44 ms at four frames a second, 17-31 ms at two). The next frame carries both ticks' changes;
 * a calm class (a few etcdctl commands a second) still sees each write within a quarter second.
 *
 *   tick 1: 2,000 puts → frame (≈300,000 chars) · tick 2: 5 puts → nothing · tick 3: → frame with them
 */
export const STORM_FRAME_CHARS = 64 * 1024;
/** Largest POST body the classroom reads. */
const MAX_BODY_BYTES = 64 * 1024;

const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), "page");

export interface ClassroomOptions {
  readonly listenUrl: string;
  readonly stores: ObservedStores;
  readonly clock: Clock & Ticker;
  /** The client URL the console's commands are sent to (so they go through the same door as a student's). */
  readonly clientUrl: string;
  /** Runs before each frame is built (e.g. to notice closed connections). */
  readonly beforeFrame?: () => void;
}

export interface RunningClassroom {
  readonly url: string;
  readonly builder: FrameBuilder;
  readonly frames: FrameLog;
  /** Pages connected to /events now. */
  pageCount(): number;
  close(): Promise<void>;
}

/** The page's script, bundled now (about 100 ms). */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [join(PAGE_DIR, "main.ts")],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2022",
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error("esbuild produced no page bundle");
  return output.text;
}

/** The page's HTML with its style inlined. */
export function pageHtml(): string {
  const style = readFileSync(join(PAGE_DIR, "style.css"), "utf8");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>etcdsim classroom</title>
<style>${style}</style>
</head>
<body>
<div id="app">loading…</div>
<script src="/app.js"></script>
</body>
</html>
`;
}

/** Starts the classroom listener; resolves once it listens and the page is bundled. */
export async function startClassroom(options: ClassroomOptions): Promise<RunningClassroom> {
  const script = await bundlePage();
  const html = pageHtml();
  const builder = new FrameBuilder(options.stores);
  const frames = new FrameLog();
  const pages = new Set<ServerResponse>();
  const shell = new ClassroomConsole(options.clientUrl);
  const sandbox = new Sandbox();
  const lessons = new Map([...shippedLessons()].map(([name, text]) => [name, LessonPlayer.fromScript(text)]));
  const inspector = options.stores.v3 === undefined ? undefined : new StoreInspector(options.stores.v3.kv);

  const send = (res: ServerResponse, text: string): void => {
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      // Too far behind to catch up by queueing: cut it; its reconnect resumes or gets a snapshot.
      pages.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  };

  let ticks = 0;
  let stormRest = false;
  const tick = (): void => {
    ticks++;
    sandbox.tick(options.clock.now());
    // Nobody looking: build a frame a second, to keep the records.
    if (pages.size === 0 && ticks % (1_000 / FRAME_INTERVAL_MS) !== 0) return;
    if (stormRest) {
      stormRest = false;
      return;
    }
    options.beforeFrame?.();
    const frame = builder.build();
    if (frame !== undefined) {
      const recorded = frames.record(frame, builder.model);
      for (const page of pages) send(page, recorded.text);
      stormRest = pages.size > 0 && recorded.text.length > STORM_FRAME_CHARS;
    } else if (ticks % (CLOCK_EVENT_INTERVAL_MS / FRAME_INTERVAL_MS) === 0) {
      const text = `event: clock\ndata: ${JSON.stringify({ nowMs: options.clock.now(), seq: builder.model.seq })}\n\n`;
      for (const page of pages) send(page, text);
    }
  };
  const stopTicking: Cancel = options.clock.every(FRAME_INTERVAL_MS, () => {
    try {
      tick();
    } catch (error) {
      process.stderr.write(`etcdsim: classroom frame failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
  });

  const openEvents = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void => {
    // Build now, so a new page starts from the stores as they are, not as they were a tick ago.
    const frame = builder.build();
    if (frame !== undefined) {
      const recorded = frames.record(frame, builder.model);
      for (const page of pages) send(page, recorded.text);
    }
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive" });
    res.write("retry: 1000\n\n");
    // The browser resends the last id it saw as Last-Event-ID; ?lastEventId= does the same for tests.
    const header = req.headers["last-event-id"] ?? query.get("lastEventId");
    let lastSeq: number | undefined;
    if (typeof header === "string" && header !== "") lastSeq = Number.isSafeInteger(Number(header)) ? Number(header) : -1;
    for (const text of frames.resume(lastSeq, builder.model)) res.write(text);
    pages.add(res);
    res.on("close", () => pages.delete(res));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://classroom");
    const route = `${req.method ?? "GET"} ${url.pathname}`;
    switch (route) {
      case "GET /":
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" });
        res.end(html);
        return;
      case "GET /app.js":
        res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache" });
        res.end(script);
        return;
      case "GET /events":
        openEvents(req, res, url.searchParams);
        return;
      case "GET /state": {
        const seq = Number(url.searchParams.get("seq"));
        const model = Number.isSafeInteger(seq) ? frames.stateAt(seq) : undefined;
        if (model === undefined) {
          json(res, 410, { error: `frame ${url.searchParams.get("seq") ?? ""} is not kept (kept: ${frames.oldestSeq()}…${frames.newestSeq()})` });
          return;
        }
        json(res, 200, snapshotFrame(model));
        return;
      }
      case "POST /trace": {
        if (inspector === undefined) return json(res, 404, { error: "no v3 store mounted" });
        const body = await readJson(req);
        const key = typeof body["key"] === "string" ? body["key"] : "";
        const rev = typeof body["rev"] === "number" ? body["rev"] : 0;
        const trace = inspector.traceGet(utf8(key), rev);
        json(res, 200, { lines: describeTrace(trace), atRev: trace.atRev, found: trace.index.found, refused: trace.refused ?? null });
        return;
      }
      case "GET /lessons":
        json(res, 200, [...lessons].map(([name, player]) => ({ name, title: player.title, steps: player.steps.length })));
        return;
      case "POST /lesson": {
        const body = await readJson(req);
        const player = lessons.get(typeof body["name"] === "string" ? body["name"] : "");
        if (player === undefined) return json(res, 404, { error: `no lesson ${JSON.stringify(body["name"])}; GET /lessons lists them` });
        json(res, 200, await player.goto(typeof body["step"] === "number" ? body["step"] : 0, typeof body["elapsedMs"] === "number" ? body["elapsedMs"] : 0));
        return;
      }
      case "POST /command": {
        const body = await readJson(req);
        const line = typeof body["line"] === "string" ? body["line"] : "";
        json(res, 200, body["sandbox"] === true ? await sandbox.input(line) : await shell.run(line));
        return;
      }
      case "GET /sandbox":
        json(res, 200, await sandbox.view());
        return;
      case "POST /sandbox": {
        const action = (await readJson(req))["action"];
        if (action === "freeze") sandbox.freeze();
        else if (action === "run") sandbox.run();
        else if (action === "reset") await sandbox.reset();
        else return json(res, 400, { error: `no sandbox action ${JSON.stringify(action)}; freeze, run or reset` });
        json(res, 200, await sandbox.view());
        return;
      }
      default:
        json(res, 404, { error: `no ${route} here` });
    }
  };

  const listenUrl = new URL(options.listenUrl);
  if (listenUrl.protocol !== "http:") throw new Error(`the classroom serves http only, got ${listenUrl.href}`);
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(listenUrl.port === "" ? 80 : listenUrl.port), listenUrl.hostname, () => resolve());
  });
  const url = `http://${listenUrl.hostname}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    builder,
    frames,
    pageCount: () => pages.size,
    close: async () => {
      stopTicking();
      await shell.close();
      await sandbox.close();
      for (const player of lessons.values()) await player.close();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-cache" });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

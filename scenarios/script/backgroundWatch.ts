/**
 * Mirrors etcd release-3.4 `etcdctl/ctlv3/command/watch_command.go` and
 * `etcdctl/ctlv2/command/watch_command.go`, run as jobs: `watch --prefix jobs &` keeps watching
 * while the session goes on, the way `etcdctl watch … &` does in a shell, and its events print as
 * they arrive, in etcdctl's format, tagged with the job number.
 *
 *   v3: one Watch stream per job (each etcdctl process opens its own client). A server cancel
 *       (compaction, empty range) prints `watch was canceled (<reason>)` and
 *       `Error: watch is canceled by the server`, and the job ends (etcdctl exits 5).
 *   v2: one long poll at a time. Without --forever the job ends after its first event; with it, the
 *       next poll asks for waitIndex = modifiedIndex + 1, as etcd's Go client does. `-r` adds the
 *       `[action] key` line. A 401 (the index fell out of the 1000-event window) ends the job.
 *
 * In process, a watch that starts in the past is served by the catch-up loop (every 100 ms in
 * etcd); the console gives it one pass before reading, so `watch --rev=2 foo &` prints its history
 * at once. Without `&`, a watch prints what has arrived and stops (etcdctl would wait for ever).
 */
import { utf8 } from "../../shared/bytes.js";
import type { WatchCreateRequest, WatchResponse } from "../../v3/rpc.js";
import { prefixEnd } from "../kvWorkload.js";
import type { Target, V2Watch, V3WatchStream } from "../workload.js";
import { flagOn } from "./etcdctlArgs.js";
import { parseV2, printResponse, v2Key, V2_EXIT_BAD_ARGS, V2_EXIT_SERVER_ERROR } from "./etcdctlV2.js";
import { EXIT_BAD_ARGS, EXIT_INTERRUPTED, fail, parseV3, type CtlResult } from "./etcdctlV3.js";
import * as format from "./etcdctlFormat.js";
import { formatV2Error } from "../kvWorkload.js";
import type { ConsoleLine } from "./consoleEngine.js";

interface JobBase {
  id: number;
  command: string;
  events: number;
  done: boolean;
  /** `> /dev/null`: events are counted, not printed. */
  quiet: boolean;
}

interface V3Job extends JobBase {
  api: "v3";
  stream: V3WatchStream;
  output: format.OutputFormat;
  hex: boolean;
}

interface V2Job extends JobBase {
  api: "v2";
  key: string;
  recursive: boolean;
  forever: boolean;
  output: string;
  watch: V2Watch | undefined;
}

type Job = V3Job | V2Job;

export interface StartedWatch {
  lines: ConsoleLine[];
  /** What etcdctl had printed and returned so far (exit 0 while running). */
  result: CtlResult;
}

export class BackgroundWatches {
  private readonly jobs: Job[] = [];
  /** Set by the engine before a command: the next watch started drops its output (`> /dev/null`). */
  quietNext = false;

  constructor(private readonly target: Target) {}

  /** `watch [--prefix] [--rev N] [--prev-kv] [-w F] key [range_end] [&]`. */
  async startV3(argv: readonly string[], background: boolean): Promise<StartedWatch> {
    const parsed = parseV3(argv);
    if ("exit" in parsed) return refused(parsed);
    if (flagOn(parsed.flags, "interactive")) return refused(fail(EXIT_BAD_ARGS, "watch -i reads its own stdin: not supported in the console"));
    if (parsed.output === "table") return refused(fail(4, "table not supported as output format"));
    const { args, flags } = parsed;
    if (args.length < 1 || args.length > 2) return refused(fail(EXIT_BAD_ARGS, "bad number of arguments"));
    const prefix = flagOn(flags, "prefix");
    if (prefix && args.length === 2) return refused(fail(EXIT_BAD_ARGS, "`range_end` and `--prefix` are mutually exclusive"));
    const rev = flags["rev"] === undefined ? 0 : Number(flags["rev"]);
    if (!Number.isSafeInteger(rev)) return refused(fail(1, `invalid argument "${flags["rev"]}" for "--rev" flag`));
    let key = utf8(args[0] as string);
    const request: WatchCreateRequest = { key };
    if (args.length === 2) request.range_end = utf8(args[1] as string);
    if (prefix) {
      if (key.length === 0) {
        key = new Uint8Array([0]);
        request.key = key;
        request.range_end = new Uint8Array([0]);
      } else request.range_end = prefixEnd(key);
    }
    if (rev > 0) request.start_revision = rev;
    if (flagOn(flags, "prev-kv")) request.prev_kv = true;
    const stream = await this.target.v3.watch();
    await stream.send({ create_request: request });
    const job: V3Job = {
      api: "v3",
      id: this.jobs.length + 1,
      command: `watch ${argv.slice(1).join(" ")}`,
      events: 0,
      done: false,
      quiet: this.quietNext,
      stream,
      output: parsed.output,
      hex: flagOn(flags, "hex"),
    };
    return this.started(job, background);
  }

  /** `v2 [-o F] watch [-r] [--forever] [--after-index N] key [&]`. */
  async startV2(argv: readonly string[], background: boolean): Promise<StartedWatch> {
    const parsed = parseV2(argv);
    if ("exit" in parsed) return refused(parsed);
    const key = parsed.args[0];
    if (key === undefined) return refused({ out: [], err: ["Error:  key required"], exit: V2_EXIT_BAD_ARGS });
    const after = Number(parsed.flags["after-index"] ?? "0");
    const job: V2Job = {
      api: "v2",
      id: this.jobs.length + 1,
      command: `v2 watch ${argv.slice(argv.indexOf("watch") + 1).join(" ")}`,
      events: 0,
      done: false,
      quiet: this.quietNext,
      key: v2Key(key),
      recursive: flagOn(parsed.flags, "recursive"),
      forever: flagOn(parsed.flags, "forever"),
      output: parsed.output,
      watch: undefined,
    };
    const first = await this.pollV2(job, after > 0 ? after + 1 : undefined);
    if (first !== undefined) return { lines: first.err.map((text) => ({ stream: "err", text })), result: first };
    return this.started(job, background);
  }

  private async started(job: Job, background: boolean): Promise<StartedWatch> {
    this.jobs.push(job);
    if (background) return { lines: [{ stream: "note", text: `[${job.id}] ${job.command}` }], result: { out: [], err: [], exit: 0 } };
    // In the foreground etcdctl would wait for ever: print what has arrived, then stop the watch.
    if (job.api === "v3") this.target.v3Internals?.syncWatchersOnce();
    const arrived = await this.collectJob(job);
    await this.stop(job);
    this.jobs.pop();
    const out = arrived.map((line) => ({ ...line, stream: line.stream === "watch" ? ("out" as const) : line.stream, job: undefined }));
    const exit = arrived.some((line) => line.text === "Error: watch is canceled by the server") ? EXIT_INTERRUPTED : 0;
    return {
      lines: [...out.map(({ job: _job, ...line }) => line), { stream: "note", text: "(a foreground watch waits for ever: stopped here; end the line with & to keep it)" }],
      result: { out: out.filter((l) => l.stream === "out").map((l) => l.text), err: out.filter((l) => l.stream === "err").map((l) => l.text), exit },
    };
  }

  /** Everything the running jobs have received since the last call, in job order. */
  async collect(): Promise<ConsoleLine[]> {
    const running = this.jobs.filter((job) => !job.done);
    if (running.length === 0) return [];
    if (running.some((job) => job.api === "v3")) this.target.v3Internals?.syncWatchersOnce();
    const out: ConsoleLine[] = [];
    for (const job of running) out.push(...(await this.collectJob(job)));
    return out;
  }

  private async collectJob(job: Job): Promise<ConsoleLine[]> {
    const lines = job.api === "v3" ? await this.collectV3(job) : await this.collectV2(job);
    return job.quiet ? lines.filter((line) => line.stream !== "watch") : lines;
  }

  private async collectV3(job: V3Job): Promise<ConsoleLine[]> {
    const out: ConsoleLine[] = [];
    const tag = (stream: ConsoleLine["stream"], text: string): ConsoleLine => ({ stream, text, job: job.id });
    for (const response of await job.stream.take()) {
      if (response.created && !response.canceled) continue;
      job.events += response.events.length;
      if (response.canceled) out.push(tag("err", `watch was canceled (${cancelReason(response)})`));
      if (!response.canceled || job.output !== "simple") out.push(...printWatch(response, job).map((text) => tag("watch", text)));
      if (response.canceled) {
        out.push(tag("err", "Error: watch is canceled by the server"));
        job.done = true;
        await job.stream.close();
        break;
      }
    }
    return out;
  }

  private async collectV2(job: V2Job): Promise<ConsoleLine[]> {
    const out: ConsoleLine[] = [];
    for (;;) {
      const watch = job.watch;
      if (watch === undefined || job.done) break;
      const events = await watch.take();
      if (events.length === 0) break;
      const event = events[0] as NonNullable<(typeof events)[0]>;
      await watch.close();
      job.watch = undefined;
      if (event.node.dir !== true) {
        job.events += 1;
        if (job.recursive) out.push({ stream: "watch", text: `[${event.action}] ${event.node.key ?? ""}`, job: job.id });
        out.push(...printResponse(event, job.output).out.map((text) => ({ stream: "watch" as const, text, job: job.id })));
        if (!job.forever) {
          job.done = true;
          break;
        }
      }
      const failed = await this.pollV2(job, (event.node.modifiedIndex ?? event.etcdIndex) + 1);
      if (failed !== undefined) {
        out.push(...failed.err.map((text) => ({ stream: "err" as const, text, job: job.id })));
        break;
      }
    }
    return out;
  }

  /** Registers the job's next long poll; a refusal (401) ends the job and comes back as its error. */
  private async pollV2(job: V2Job, waitIndex: number | undefined): Promise<CtlResult | undefined> {
    const answer = await this.target.v2.watch(job.key, { recursive: job.recursive, ...(waitIndex === undefined ? {} : { waitIndex }) });
    if (answer.ok) {
      job.watch = answer.value;
      return undefined;
    }
    job.done = true;
    return { out: [], err: [`Error:  ${formatV2Error(answer.error)}`], exit: V2_EXIT_SERVER_ERROR };
  }

  list(): ConsoleLine[] {
    if (this.jobs.length === 0) return [{ stream: "note", text: "no watches running" }];
    return this.jobs.map((job) => ({ stream: "note", text: `[${job.id}] ${job.done ? "done   " : "running"} ${job.command} (${job.events} events)` }));
  }

  async kill(spec: string): Promise<ConsoleLine[]> {
    const job = this.jobs.find((j) => `%${j.id}` === spec || String(j.id) === spec);
    if (job === undefined) return [{ stream: "err", text: `Error: no such job ${spec} (see jobs)` }];
    await this.stop(job);
    return [{ stream: "note", text: `[${job.id}] stopped ${job.command}` }];
  }

  apiOf(jobId: number): "v2" | "v3" {
    return this.jobs.find((j) => j.id === jobId)?.api ?? "v3";
  }

  eventsOf(jobId: number): { api: "v2" | "v3"; count: number } | undefined {
    const job = this.jobs.find((j) => j.id === jobId);
    return job === undefined ? undefined : { api: job.api, count: job.events };
  }

  async closeAll(): Promise<void> {
    for (const job of this.jobs) await this.stop(job);
  }

  private async stop(job: Job): Promise<void> {
    if (job.done && job.api === "v3") return;
    job.done = true;
    if (job.api === "v3") await job.stream.close();
    else await job.watch?.close();
  }
}

function refused(result: CtlResult): StartedWatch {
  return { lines: [...result.out.map((text) => ({ stream: "out" as const, text })), ...result.err.map((text) => ({ stream: "err" as const, text }))], result };
}

/** clientv3's `resp.Err()`: a compaction names ErrCompacted, anything else the server's reason. */
function cancelReason(response: WatchResponse): string {
  return response.compact_revision > 0 ? "etcdserver: mvcc: required revision has been compacted" : response.cancel_reason;
}

function printWatch(response: WatchResponse, job: V3Job): string[] {
  switch (job.output) {
    case "json":
      return [format.watchJson(response)];
    case "fields":
      return format.fieldsWatch(response);
    default:
      return format.simpleWatch(response, { hex: job.hex });
  }
}

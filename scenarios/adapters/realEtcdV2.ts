/**
 * Mirrors etcd release-3.4 `client/keys.go` (the v2 Go client): the `/v2/keys` HTTP API of a real
 * etcd, spoken with `fetch`, behind the lessons' `V2Client` interface.
 *
 * Each call is one HTTP request, as the Go client makes it: PUT with a form body, GET and DELETE with
 * the parameters in the query string (etcd reads no form body for DELETE). A watch is one long-poll
 * request held open on its own connection, exactly the cost lesson 10 counts.
 *
 * Index rebasing. A lesson expects a fresh store, but a real etcd has spent indexes before the lesson
 * starts: a fresh member on its own membership writes (1-3), and a shared one on the lessons before.
 * The client therefore shows every index relative to the moment its target was opened:
 *
 *   real etcd index at open 57, fresh in-process store index 3  →  indexOffset 54
 *   real answer  {"node":{"key":"/a","modifiedIndex":58}}, X-Etcd-Index: 58
 *   lesson sees  {"node":{"key":"/a","modifiedIndex":4}},  etcdIndex 4
 *
 * Every index a client can see moves by the offset: the X-Etcd-Index header, createdIndex and
 * modifiedIndex at every depth, an error's `index`, the index pair in a 101 cause when prevIndex was
 * sent (`[4 != 9]`), the `[start/waitIndex]` of a 401 cause, and the 20-digit names of in-order keys
 * (`/queue/00000000000000000058` is shown as `/queue/00000000000000000004`). Indexes the lesson
 * sends (prevIndex, waitIndex, in-order names in paths) move the other way. 0 stays 0: it means "none".
 */
import { sleep } from "../../shared/clock.js";
import type {
  V2Client,
  V2DeleteOptions,
  V2ErrorBody,
  V2Event,
  V2GetOptions,
  V2Node,
  V2Outcome,
  V2SetOptions,
  V2StoreStats,
  V2Watch,
  V2WatchOptions,
} from "../workload.js";

/** In-order keys are named after their creation index, zero-padded to 20 digits (`fmt.Sprintf("%020s")`). */
const IN_ORDER_NAME = /^\d{20}$/;

/** How long `take()` waits for a watch event still on the wire, and for the quiet that ends a burst. */
export interface WatchSettle {
  /** Wait at most this long for the first event when none has arrived yet. */
  firstMs: number;
  /** After an event, keep collecting until nothing new arrives for this long. */
  quietMs: number;
  /**
   * After creating a v3 watcher with a start_revision, keep collecting until nothing new arrives for
   * this long: a watcher starting in the past is unsynced, and etcd's sync loop replays its history
   * every 100 ms (v3.md §7).
   */
  catchUpMs: number;
}
export const DEFAULT_WATCH_SETTLE: WatchSettle = { firstMs: 200, quietMs: 30, catchUpMs: 150 };

export interface RealEtcdV2Options {
  /** Subtracted from every index etcd shows; added to every index the lesson sends. */
  indexOffset?: number;
  /** Counters of `/v2/stats/store` at open: subtracted, so the lesson counts only its own operations. */
  statsBaseline?: V2StoreStats;
  watchSettle?: WatchSettle;
  /** Told the top-level name of every key written, so the target can clean up hidden ones later. */
  onWrite?: (topLevelName: string) => void;
}

/** The /v2/keys API of one real etcd member. */
export class RealEtcdV2Client implements V2Client {
  private readonly indexOffset: number;
  private readonly settle: WatchSettle;
  private readonly watches = new Set<RealV2Watch>();

  constructor(
    readonly endpoint: string,
    private readonly options: RealEtcdV2Options = {},
  ) {
    this.indexOffset = options.indexOffset ?? 0;
    this.settle = options.watchSettle ?? DEFAULT_WATCH_SETTLE;
  }

  get(key: string, options: V2GetOptions = {}): Promise<V2Outcome<V2Event>> {
    return this.send("GET", key, { recursive: options.recursive, sorted: options.sorted, quorum: options.quorum });
  }

  set(key: string, value: string, options: V2SetOptions = {}): Promise<V2Outcome<V2Event>> {
    this.noteWrite(key);
    const params: Params = {
      // A refresh must not carry a value (error 211), and a directory has none.
      value: options.refresh === true || options.dir === true ? undefined : value,
      ttl: options.ttlSeconds,
      dir: options.dir,
      prevExist: options.prevExist,
      prevValue: options.prevValue,
      prevIndex: this.toReal(options.prevIndex),
      refresh: options.refresh,
    };
    return this.send("PUT", key, params, { prevIndexSent: options.prevIndex !== undefined && options.prevIndex > 0 });
  }

  createInOrder(dir: string, value: string, options: { ttlSeconds?: number } = {}): Promise<V2Outcome<V2Event>> {
    this.noteWrite(dir);
    return this.send("POST", dir, { value, ttl: options.ttlSeconds });
  }

  delete(key: string, options: V2DeleteOptions = {}): Promise<V2Outcome<V2Event>> {
    const params: Params = {
      dir: options.dir,
      recursive: options.recursive,
      prevValue: options.prevValue,
      prevIndex: this.toReal(options.prevIndex),
    };
    return this.send("DELETE", key, params, { prevIndexSent: options.prevIndex !== undefined && options.prevIndex > 0 });
  }

  async watch(key: string, options: V2WatchOptions = {}): Promise<V2Outcome<V2Watch>> {
    const params: Params = {
      wait: true,
      recursive: options.recursive,
      waitIndex: this.toReal(options.waitIndex),
      stream: options.stream,
    };
    const abort = new AbortController();
    const response = await fetch(this.url(key, params), { signal: abort.signal });
    if (response.status !== 200) {
      const error = this.rebaseError(JSON.parse(await response.text()) as V2ErrorBody, false);
      return { ok: false, error };
    }
    const etcdIndex = Number(response.headers.get("x-etcd-index"));
    // A watch's events carry the X-Etcd-Index of the moment it registered (v2.md §2.2).
    const watch = new RealV2Watch(response, abort, this.fromReal(etcdIndex), this.settle, (event) => this.rebaseEvent({ ...event, etcdIndex }));
    this.watches.add(watch);
    return { ok: true, value: watch };
  }

  async stats(): Promise<V2StoreStats> {
    const raw = (await (await fetch(`${this.endpoint}/v2/stats/store`)).json()) as V2StoreStats;
    const base = this.options.statsBaseline;
    if (base === undefined) return pickStats(raw);
    return {
      watchers: raw.watchers,
      expireCount: raw.expireCount - base.expireCount,
      setsSuccess: raw.setsSuccess - base.setsSuccess,
      compareAndSwapSuccess: raw.compareAndSwapSuccess - base.compareAndSwapSuccess,
      compareAndSwapFail: raw.compareAndSwapFail - base.compareAndSwapFail,
    };
  }

  /** Hangs up every watch still open. */
  async close(): Promise<void> {
    await Promise.all([...this.watches].map((watch) => watch.close()));
    this.watches.clear();
  }

  // ---- the wire ----------------------------------------------------------------------------------

  private async send(method: string, key: string, params: Params, context = { prevIndexSent: false }): Promise<V2Outcome<V2Event>> {
    const init: RequestInit = { method };
    let url: string;
    if (method === "PUT" || method === "POST") {
      url = this.url(key, {});
      init.headers = { "content-type": "application/x-www-form-urlencoded" };
      init.body = encodeParams(params);
    } else {
      url = this.url(key, params);
    }
    const response = await fetch(url, init);
    const body = JSON.parse(await response.text()) as Record<string, unknown>;
    if ("errorCode" in body) return { ok: false, error: this.rebaseError(body as unknown as V2ErrorBody, context.prevIndexSent) };
    const event = body as unknown as V2Event;
    event.etcdIndex = Number(response.headers.get("x-etcd-index"));
    return { ok: true, value: this.rebaseEvent(event) };
  }

  private url(key: string, params: Params): string {
    const path = key
      .split("/")
      .filter((segment) => segment !== "")
      .map((segment) => encodeURIComponent(IN_ORDER_NAME.test(segment) ? pad20(Number(segment) + this.indexOffset) : segment))
      .join("/");
    const query = encodeParams(params);
    return `${this.endpoint}/v2/keys/${path}${query === "" ? "" : `?${query}`}`;
  }

  private noteWrite(key: string): void {
    const top = key.split("/").find((segment) => segment !== "");
    if (top !== undefined) this.options.onWrite?.(top);
  }

  // ---- rebasing (see the file comment) -----------------------------------------------------------

  private toReal(index: number | undefined): number | undefined {
    return index === undefined || index <= 0 ? index : index + this.indexOffset;
  }

  private fromReal(index: number): number {
    return index <= 0 ? index : index - this.indexOffset;
  }

  private rebaseEvent(event: V2Event): V2Event {
    const rebased: V2Event = { ...event, node: this.rebaseNode(event.node), etcdIndex: this.fromReal(event.etcdIndex) };
    if (event.prevNode !== undefined) rebased.prevNode = this.rebaseNode(event.prevNode);
    return rebased;
  }

  private rebaseNode(node: V2Node): V2Node {
    const rebased: V2Node = { ...node };
    if (node.key !== undefined) rebased.key = this.rebaseKey(node.key);
    if (node.createdIndex !== undefined) rebased.createdIndex = this.fromReal(node.createdIndex);
    if (node.modifiedIndex !== undefined) rebased.modifiedIndex = this.fromReal(node.modifiedIndex);
    if (node.nodes !== undefined) rebased.nodes = node.nodes.map((child) => this.rebaseNode(child));
    return rebased;
  }

  private rebaseKey(key: string): string {
    if (this.indexOffset === 0) return key;
    return key
      .split("/")
      .map((segment) => (IN_ORDER_NAME.test(segment) ? pad20(Number(segment) - this.indexOffset) : segment))
      .join("/");
  }

  /**
   *   101 with prevIndex sent:  "[a != b] [61 != 58]"                    → "[a != b] [7 != 4]"
   *   401:  "the requested history has been cleared [1057/55]"          → "… [1003/1]"
   */
  private rebaseError(error: V2ErrorBody, prevIndexSent: boolean): V2ErrorBody {
    const rebased: V2ErrorBody = { ...error, index: this.fromReal(error.index) };
    if (error.cause !== undefined) {
      let cause = error.cause;
      if (error.errorCode === 101 && prevIndexSent) {
        cause = cause.replace(/\[(\d+) != (\d+)\]$/, (_, sent: string, actual: string) => `[${this.fromReal(Number(sent))} != ${this.fromReal(Number(actual))}]`);
      } else if (error.errorCode === 401) {
        cause = cause.replace(/\[(\d+)\/(\d+)\]$/, (_, start: string, wait: string) => `[${this.fromReal(Number(start))}/${this.fromReal(Number(wait))}]`);
      } else {
        cause = this.rebaseKey(cause);
      }
      rebased.cause = cause;
    }
    return rebased;
  }
}

/**
 * One long-poll watch: the response headers have come (etcd flushes them as the watch registers);
 * the body brings one JSON event per line, one for a plain watch, many for `stream=true`.
 */
class RealV2Watch implements V2Watch {
  private readonly events: V2Event[] = [];
  private finished = false;
  private wake: (() => void) | undefined;
  private readonly reading: Promise<void>;

  constructor(
    response: Response,
    private readonly abort: AbortController,
    readonly etcdIndex: number,
    private readonly settle: WatchSettle,
    rebase: (event: V2Event) => V2Event,
  ) {
    this.reading = this.read(response, rebase);
  }

  private async read(response: Response, rebase: (event: V2Event) => V2Event): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of response.body ?? []) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let newline = buffered.indexOf("\n");
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line !== "") this.events.push(rebase(JSON.parse(line) as V2Event));
          this.wake?.();
          newline = buffered.indexOf("\n");
        }
      }
    } catch {
      // aborted by close(): the client hung up
    } finally {
      this.finished = true;
      this.wake?.();
    }
  }

  /**
   * The events that have arrived. A real event may still be on the wire when the write that caused
   * it has returned, so this waits up to `firstMs` for a first event and then for a short quiet.
   */
  async take(): Promise<V2Event[]> {
    if (this.events.length === 0 && !this.finished) await this.waitForEvent(this.settle.firstMs);
    while (this.events.length > 0 && !this.finished) {
      const before = this.events.length;
      await this.waitForEvent(this.settle.quietMs);
      if (this.events.length === before) break;
    }
    return this.events.splice(0, this.events.length);
  }

  done(): boolean {
    return this.finished;
  }

  async close(): Promise<void> {
    if (!this.finished) this.abort.abort();
    await this.reading;
  }

  private waitForEvent(ms: number): Promise<void> {
    return Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), sleep(ms)]).then(() => {
      this.wake = undefined;
    });
  }
}

type Params = Record<string, string | number | boolean | undefined>;

function encodeParams(params: Params): string {
  return Object.entries(params)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`)
    .join("&");
}

function pad20(index: number): string {
  return String(index).padStart(20, "0");
}

function pickStats(raw: V2StoreStats): V2StoreStats {
  return {
    watchers: raw.watchers,
    expireCount: raw.expireCount,
    setsSuccess: raw.setsSuccess,
    compareAndSwapSuccess: raw.compareAndSwapSuccess,
    compareAndSwapFail: raw.compareAndSwapFail,
  };
}

/** Reads the store counters as they are now: a baseline for `RealEtcdV2Options.statsBaseline`. */
export async function readV2Stats(endpoint: string): Promise<V2StoreStats> {
  return pickStats((await (await fetch(`${endpoint}/v2/stats/store`)).json()) as V2StoreStats);
}

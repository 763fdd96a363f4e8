/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/watch.go`: one gRPC Watch stream on the server
 * side (`serverWatchStream`), between the client's requests and the store's WatchStream.
 *
 * It turns wire requests into store calls and store responses into wire responses:
 *   create   key "" → "\0"; range_end "" → one key; range_end "\0" → every key ≥ key;
 *            start_revision 0 → current + 1. Answers {created, watch_id} at once, with
 *            header.revision = current; a refused create answers {created, canceled,
 *            watch_id -1, cancel_reason}.
 *   cancel   answers {canceled, watch_id} for a known ID, and nothing for an unknown one.
 *   progress answers {watch_id -1} with header.revision = current (3.4: whatever the watchers' state).
 *   events   {watch_id, events, header.revision = the store response's revision}; prev_kv is read
 *            here, at mod_revision − 1 (none for a create, none if compacted); a compacted watcher
 *            gets {compact_revision, canceled} with no revision in its header.
 *
 * Two queues, as in etcd: control responses (created, canceled, progress) go out at once; event
 * responses wait in the store's bounded channel (128) until the send loop moves them out
 * (`pump()`). With `autoPump` (the default) that happens as soon as the store posts, like a client
 * that reads as fast as the server writes. Without it, responses pile up in the channel until the
 * driver pumps, and once 128 wait, the store turns the stream's watchers into victims: a slow
 * reader.
 *
 *   stream.recv({create_request: {key: "foo"}})  → out: {created, watch_id 0, header rev 9}
 *   put foo=5 (rev 10)                            → out: {watch_id 0, header rev 10, events [PUT foo]}
 *
 * Not modelled: fragmenting responses over 2 MiB (`fragment`), auth checks (`isWatchPermitted`).
 */
import { type KeyValue, type ResponseHeader, type WatchCreateRequest, type WatchRequest, type WatchResponse as RpcWatchResponse, type Event } from "./rpc.js";
import { EventType } from "./rpc.js";
import type { RangeResult } from "./kv.js";
import type { WatchableStore } from "./watchableStore.js";
import { filtersFromRequest, type WatchID, type WatchResponse as StoreWatchResponse, WatchStream } from "./watcher.js";

/** `watch_id` of responses that belong to no watcher: failed creates and progress answers (clientv3.InvalidWatchID). */
export const INVALID_WATCH_ID = -1;

/** Default progress-notify interval (etcd: `--experimental-watch-progress-notify-interval`, 10 min). */
export const DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000;

export interface ServerWatchStreamOptions {
  /** Builds the header for a revision (cluster/member IDs and term come from the server). */
  header: (revision: number) => ResponseHeader;
  /** Called with each response as it goes out on the wire; when set, `take()` has nothing to return. */
  onResponse?: (response: RpcWatchResponse) => void;
  /** Move event responses out as soon as the store posts them (default true). */
  autoPump?: boolean;
  /** Channel capacity (default 128). */
  chanBufLen?: number;
  /**
   * The auth check of a create (etcd: `isWatchPermitted`), given the key and end after the
   * conversions below: undefined allows it, a string refuses it with that cancel reason.
   */
  isWatchPermitted?: (key: Uint8Array, end: Uint8Array | undefined) => string | undefined;
}

/** One server-side Watch stream (etcd: `serverWatchStream`). */
export class ServerWatchStream {
  readonly watchStream: WatchStream;
  /** Responses sent and not yet taken by `take()`. */
  private readonly outbox: RpcWatchResponse[] = [];
  /** IDs announced with `created` and not cancelled: events go out only for these (etcd: `ids`). */
  private readonly ids = new Set<WatchID>();
  /** Per watcher: progress notify wanted, and whether the next tick may send (etcd: `progress`). */
  private readonly progress = new Map<WatchID, boolean>();
  private readonly prevKV = new Set<WatchID>();
  private pumping = false;
  closed = false;

  constructor(
    private readonly store: WatchableStore,
    private readonly options: ServerWatchStreamOptions,
  ) {
    this.watchStream = store.newWatchStream(options.chanBufLen);
    if (options.autoPump !== false) this.watchStream.ch.onSend = () => this.pump();
  }

  /** Handles one request from the client (etcd: `recvLoop`'s body). */
  recv(request: WatchRequest): void {
    if (this.closed) return;
    if (request.create_request !== undefined) this.create(request.create_request);
    else if (request.cancel_request !== undefined) this.cancel(request.cancel_request.watch_id);
    else if (request.progress_request !== undefined) {
      this.send({ ...emptyResponse(this.options.header(this.watchStream.rev())), watch_id: INVALID_WATCH_ID });
    }
    // A request with none of the three is ignored, as etcd's switch has no default case.
  }

  private create(request: WatchCreateRequest): void {
    const key = request.key.length === 0 ? new Uint8Array([0]) : request.key;
    let end: Uint8Array | undefined = request.range_end;
    if (end !== undefined && end.length === 0) end = undefined; // one key
    else if (end !== undefined && end.length === 1 && end[0] === 0) end = new Uint8Array(); // every key ≥ key
    const currentRev = this.watchStream.rev();
    // quirk (etcd 3.4): the check sees the converted end, so a from-key watch (end "\0" → empty)
    // is checked as the single key `key`, not as the range [key, +∞).
    const refusal = this.options.isWatchPermitted?.(key, end);
    if (refusal !== undefined) {
      this.send({ ...emptyResponse(this.options.header(currentRev)), watch_id: INVALID_WATCH_ID, created: true, canceled: true, cancel_reason: refusal });
      return;
    }
    const startRev = request.start_revision !== undefined && request.start_revision !== 0 ? request.start_revision : currentRev + 1;
    const header = this.options.header(currentRev);
    let id: WatchID;
    try {
      id = this.watchStream.watch(request.watch_id ?? 0, key, end, startRev, filtersFromRequest(request.filters ?? []));
    } catch (error) {
      this.send({ ...emptyResponse(header), watch_id: INVALID_WATCH_ID, created: true, canceled: true, cancel_reason: (error as Error).message });
      return;
    }
    if (request.progress_notify === true) this.progress.set(id, true);
    if (request.prev_kv === true) this.prevKV.add(id);
    this.send({ ...emptyResponse(header), watch_id: id, created: true });
    this.ids.add(id);
  }

  private cancel(id: WatchID): void {
    try {
      this.watchStream.cancel(id);
    } catch {
      return; // unknown ID: etcd sends nothing
    }
    this.send({ ...emptyResponse(this.options.header(this.watchStream.rev())), watch_id: id, canceled: true });
    this.ids.delete(id);
    this.progress.delete(id);
    this.prevKV.delete(id);
  }

  /**
   * Moves up to `max` store responses from the channel to the wire (etcd: `sendLoop`'s event
   * case). Returns how many moved. Responses of a cancelled watcher are dropped.
   */
  pump(max = Number.POSITIVE_INFINITY): number {
    if (this.pumping) return 0; // a listener that writes to the store re-enters; the outer loop continues
    this.pumping = true;
    let moved = 0;
    try {
      while (moved < max) {
        const response = this.watchStream.ch.take();
        if (response === undefined) break;
        moved++;
        this.sendStoreResponse(response);
      }
    } finally {
      this.pumping = false;
    }
    return moved;
  }

  private sendStoreResponse(response: StoreWatchResponse): void {
    const id = response.watchID;
    // etcd parks responses for IDs not announced (or no longer): a cancelled watcher's stragglers never go out.
    if (!this.ids.has(id)) return;
    const needPrevKV = this.prevKV.has(id);
    const events: Event[] = response.events.map((event) => {
      if (!needPrevKV || isCreateEvent(event)) return event;
      const prev = this.readPrev(event.kv);
      return prev === undefined ? event : { ...event, prev_kv: prev };
    });
    const canceled = response.compactRevision !== 0;
    this.send({
      ...emptyResponse(this.options.header(response.revision)),
      watch_id: id,
      events,
      compact_revision: response.compactRevision,
      canceled,
    });
    // A tick right after events were sent is skipped for this watcher: it just learned a revision.
    if (events.length > 0 && this.progress.get(id) === true) this.progress.set(id, false);
  }

  /** The key's value just before this event, or nothing if it did not exist or was compacted. */
  private readPrev(kv: KeyValue): KeyValue | undefined {
    let result: RangeResult;
    try {
      result = this.store.range(kv.key, undefined, { rev: kv.mod_revision - 1 });
    } catch {
      return undefined;
    }
    return result.kvs[0];
  }

  /**
   * One progress-notify tick (etcd: `progressTicker`): every watcher that asked for progress
   * notifications and was not just sent events gets a progress response if it is synced.
   */
  progressNotify(): void {
    for (const [id, due] of this.progress) {
      if (due) this.watchStream.requestProgress(id);
      this.progress.set(id, true);
    }
  }

  /** Responses on the wire not yet taken, oldest first. Pumps first unless `autoPump` is off. */
  take(): RpcWatchResponse[] {
    if (this.options.autoPump !== false) this.pump();
    return this.outbox.splice(0, this.outbox.length);
  }

  /** The client closed the stream: every watcher is cancelled, nothing more is sent. */
  close(): void {
    this.closed = true;
    this.watchStream.close();
    this.watchStream.ch.onSend = undefined;
  }

  /** Watchers on this stream. */
  get watcherCount(): number {
    return this.watchStream.watcherCount;
  }

  private send(response: RpcWatchResponse): void {
    if (this.options.onResponse !== undefined) this.options.onResponse(response);
    else this.outbox.push(response);
  }
}

/** A create event: a PUT whose key was created by this very revision. */
function isCreateEvent(event: Event): boolean {
  return event.type === EventType.PUT && event.kv.create_revision === event.kv.mod_revision;
}

function emptyResponse(header: ResponseHeader): RpcWatchResponse {
  return { header, watch_id: 0, created: false, canceled: false, compact_revision: 0, cancel_reason: "", fragment: false, events: [] };
}

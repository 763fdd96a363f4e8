/**
 * Mirrors etcd release-3.4 `clientv3/kv.go`, `clientv3/lease.go` and `clientv3/watch.go`: the
 * lessons' `V3Client` interface, answered by a real etcd over gRPC (through `realEtcdGrpc.ts`).
 *
 * Revision rebasing. A lesson expects a fresh store, whose current revision is 1. A real etcd that
 * has served earlier lessons (or anything else) is further along, so this client shows revisions
 * relative to the moment its target was opened, when the key space had just been emptied:
 *
 *   real revision at open 212, fresh store revision 1  →  revisionOffset 211
 *   real answer  put foo → header.revision 213, kv {create_revision 213, mod_revision 213}
 *   lesson sees  put foo → header.revision 2,   kv {create_revision 2,   mod_revision 2}
 *
 * Revisions move by the offset wherever a client can see one: response headers (top level and inside
 * txn sub-responses), create_revision and mod_revision of every kv, prev_kv and event, and a cancelled
 * watch's compact_revision. Revisions the lesson sends move the other way: a range's `revision` and
 * its min/max mod and create filters, CREATE and MOD compares, a compaction's revision, a watch's
 * start_revision. 0 stays 0 ("current", "missing", "no filter"). Events from before the target was
 * opened (the clean-up's deletes) are dropped from watch responses, since a fresh store has none.
 *
 * Not rebased, and so different from etcdsim by nature: lease IDs (etcd derives them from the member
 * ID and start time), cluster_id, member_id, raft_term, and the db size in `status`.
 */
import type {
  CompactionRequest,
  Compare,
  DeleteRangeRequest,
  KeyValue,
  LeaseGrantRequest,
  LeaseKeepAliveRequest,
  LeaseRevokeRequest,
  LeaseTimeToLiveRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchResponse,
} from "../../v3/rpc.js";
import { CompareTarget } from "../../v3/rpc.js";
import type { V3Client, V3Outcome, V3WatchStream } from "../workload.js";
import { RealEtcdV3Client, RealEtcdV3Error } from "./realEtcdGrpc.js";
import { openWatch, type RealWatchStream } from "./realEtcdWatchStream.js";
import { DEFAULT_WATCH_SETTLE, type WatchSettle } from "./realEtcdV2.js";

export interface RealEtcdV3Options {
  /** Subtracted from every revision etcd shows; added to every revision the lesson sends. */
  revisionOffset?: number;
  watchSettle?: WatchSettle;
}

/** The KV, Lease, Watch and Maintenance services of a real etcd, as a lesson's `V3Client`. */
export class RealEtcdV3Adapter implements V3Client {
  private readonly offset: number;
  private readonly settle: WatchSettle;
  private readonly streams = new Set<RebasedWatchStream>();

  constructor(
    private readonly client: RealEtcdV3Client,
    options: RealEtcdV3Options = {},
  ) {
    this.offset = options.revisionOffset ?? 0;
    this.settle = options.watchSettle ?? DEFAULT_WATCH_SETTLE;
  }

  range(request: RangeRequest) {
    return this.outcome(async () => {
      const response = await this.client.range(this.realRange(request));
      return { ...response, header: this.header(response.header), kvs: response.kvs.map((kv) => this.kv(kv)) };
    });
  }

  put(request: PutRequest) {
    return this.outcome(async () => {
      const response = await this.client.put(request);
      return response.prev_kv === undefined
        ? { header: this.header(response.header) }
        : { header: this.header(response.header), prev_kv: this.kv(response.prev_kv) };
    });
  }

  deleteRange(request: DeleteRangeRequest) {
    return this.outcome(async () => {
      const response = await this.client.deleteRange(request);
      return { ...response, header: this.header(response.header), prev_kvs: response.prev_kvs.map((kv) => this.kv(kv)) };
    });
  }

  txn(request: TxnRequest) {
    return this.outcome(async () => this.txnResponse(await this.client.txn(this.realTxn(request))));
  }

  compact(request: CompactionRequest) {
    return this.outcome(async () => {
      const response = await this.client.compact({ ...request, revision: this.toReal(request.revision) });
      return { header: this.header(response.header) };
    });
  }

  leaseGrant(request: LeaseGrantRequest) {
    return this.outcome(async () => {
      const response = await this.client.leaseGrant(request);
      return { ...response, header: this.header(response.header) };
    });
  }

  leaseRevoke(request: LeaseRevokeRequest) {
    return this.outcome(async () => ({ header: this.header((await this.client.leaseRevoke(request)).header) }));
  }

  leaseKeepAliveOnce(request: LeaseKeepAliveRequest) {
    return this.outcome(async () => {
      const response = await this.client.leaseKeepAliveOnce(request.ID);
      return { ...response, header: this.header(response.header) };
    });
  }

  leaseTimeToLive(request: LeaseTimeToLiveRequest) {
    return this.outcome(async () => {
      const response = await this.client.leaseTimeToLive(request);
      return { ...response, header: this.header(response.header) };
    });
  }

  leaseLeases() {
    return this.outcome(async () => {
      const response = await this.client.leaseLeases();
      return { ...response, header: this.header(response.header) };
    });
  }

  status() {
    return this.outcome(async () => {
      const response = await this.client.status();
      return { ...response, header: this.header(response.header) };
    });
  }

  async watch(): Promise<V3WatchStream> {
    const stream = new RebasedWatchStream(await openWatch(this.client), this, this.settle);
    this.streams.add(stream);
    return stream;
  }

  /** Closes every watch stream this adapter opened. */
  async close(): Promise<void> {
    await Promise.all([...this.streams].map((stream) => stream.close()));
    this.streams.clear();
  }

  // ---- rebasing (see the file comment) -----------------------------------------------------------

  /** The absolute revision a fresh store's revision 1 stands for; events at or below it predate the target. */
  get baseRevision(): number {
    return this.offset + 1;
  }

  toReal(revision: number): number;
  toReal(revision: number | undefined): number | undefined;
  toReal(revision: number | undefined): number | undefined {
    return revision === undefined || revision <= 0 ? revision : revision + this.offset;
  }

  fromReal(revision: number): number {
    return revision <= 0 ? revision : revision - this.offset;
  }

  header(header: ResponseHeader): ResponseHeader {
    return { ...header, revision: this.fromReal(header.revision) };
  }

  kv(kv: KeyValue): KeyValue {
    return { ...kv, create_revision: this.fromReal(kv.create_revision), mod_revision: this.fromReal(kv.mod_revision) };
  }

  watchResponse(response: WatchResponse): WatchResponse {
    return {
      ...response,
      header: this.header(response.header),
      compact_revision: this.fromReal(response.compact_revision),
      events: response.events
        .filter((event) => event.kv.mod_revision > this.baseRevision)
        .map((event) => {
          const rebased = { type: event.type, kv: this.kv(event.kv) };
          return event.prev_kv === undefined ? rebased : { ...rebased, prev_kv: this.kv(event.prev_kv) };
        }),
    };
  }

  realWatchRequest(request: WatchRequest): WatchRequest {
    const create = request.create_request;
    if (create === undefined) return request;
    const start = this.toReal(create.start_revision);
    return { create_request: start === undefined ? create : { ...create, start_revision: start } };
  }

  private realRange(request: RangeRequest): RangeRequest {
    const real: RangeRequest = { ...request };
    for (const field of ["revision", "min_mod_revision", "max_mod_revision", "min_create_revision", "max_create_revision"] as const) {
      const value = this.toReal(request[field]);
      if (value !== undefined) real[field] = value;
    }
    return real;
  }

  private realCompare(compare: Compare): Compare {
    if (compare.target === CompareTarget.CREATE && compare.create_revision !== undefined) {
      return { ...compare, create_revision: this.toReal(compare.create_revision) };
    }
    if (compare.target === CompareTarget.MOD && compare.mod_revision !== undefined) {
      return { ...compare, mod_revision: this.toReal(compare.mod_revision) };
    }
    return compare;
  }

  private realOp(op: RequestOp): RequestOp {
    if (op.request_range !== undefined) return { request_range: this.realRange(op.request_range) };
    if (op.request_txn !== undefined) return { request_txn: this.realTxn(op.request_txn) };
    return op;
  }

  private realTxn(request: TxnRequest): TxnRequest {
    const real: TxnRequest = {};
    if (request.compare !== undefined) real.compare = request.compare.map((compare) => this.realCompare(compare));
    if (request.success !== undefined) real.success = request.success.map((op) => this.realOp(op));
    if (request.failure !== undefined) real.failure = request.failure.map((op) => this.realOp(op));
    return real;
  }

  private txnResponse(response: TxnResponse): TxnResponse {
    return { ...response, header: this.header(response.header), responses: response.responses.map((op) => this.responseOp(op)) };
  }

  private responseOp(op: ResponseOp): ResponseOp {
    if (op.response_range !== undefined) {
      const range = op.response_range;
      return { response_range: { ...range, header: this.header(range.header), kvs: range.kvs.map((kv) => this.kv(kv)) } };
    }
    if (op.response_put !== undefined) {
      const put = op.response_put;
      return { response_put: put.prev_kv === undefined ? { header: this.header(put.header) } : { header: this.header(put.header), prev_kv: this.kv(put.prev_kv) } };
    }
    if (op.response_delete_range !== undefined) {
      const del = op.response_delete_range;
      return { response_delete_range: { ...del, header: this.header(del.header), prev_kvs: del.prev_kvs.map((kv) => this.kv(kv)) } };
    }
    if (op.response_txn !== undefined) return { response_txn: this.txnResponse(op.response_txn) };
    return op;
  }

  private async outcome<T>(run: () => Promise<T>): Promise<V3Outcome<T>> {
    try {
      return { ok: true, value: await run() };
    } catch (error) {
      if (error instanceof RealEtcdV3Error) return { ok: false, error: { code: error.code, message: error.message } };
      throw error;
    }
  }
}

/**
 * A watch stream whose responses are rebased. Watch responses travel on their own after the write
 * that caused them has returned, and a watcher starting in the past is caught up by etcd's sync loop
 * (every 100 ms), so `take()` waits a little for responses still on their way.
 */
class RebasedWatchStream implements V3WatchStream {
  constructor(
    private readonly stream: RealWatchStream,
    private readonly adapter: RealEtcdV3Adapter,
    private readonly settle: WatchSettle,
  ) {}

  /** A watcher was asked to start in the past: its history comes by etcd's sync loop, a little later. */
  private catchUpPending = false;

  async send(request: WatchRequest): Promise<void> {
    if ((request.create_request?.start_revision ?? 0) > 0) this.catchUpPending = true;
    this.stream.send(this.adapter.realWatchRequest(request));
  }

  async take(): Promise<WatchResponse[]> {
    if (!(await this.stream.arrival(this.settle.firstMs))) return [];
    const taken = this.stream.drain();
    const quietMs = this.catchUpPending ? this.settle.catchUpMs : this.settle.quietMs;
    this.catchUpPending = false;
    while (await this.stream.arrival(quietMs)) taken.push(...this.stream.drain());
    // A response whose every event predates the target is dropped whole; created, cancelled and
    // progress responses (which never had events) are kept.
    return taken
      .map((response) => ({ raw: response, rebased: this.adapter.watchResponse(response) }))
      .filter(({ raw, rebased }) => rebased.events.length > 0 || raw.events.length === 0)
      .map(({ rebased }) => rebased);
  }

  async close(): Promise<void> {
    this.stream.close();
  }
}

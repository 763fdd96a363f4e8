/**
 * Mirrors etcd release-3.4 `clientv3/retry.go`'s raw clients (`RetryKVClient`, `RetryLeaseClient`,
 * and the Watch stream of `clientv3/watch.go`): the v3 API's RPCs, spoken over gRPC to a real etcd.
 *
 * This is the oracle's mouth. It sends the messages of `v3/rpc.ts` to a running etcd through the
 * `etcd3` package's raw RPC services (`client.kv`, `client.leaseClient`, `client.watchClient`),
 * which carry the proto requests field for field, and turns the answers back into the same
 * `v3/rpc.ts` types etcdsim's own v3 store answers with. A caller can therefore hold a response from
 * etcdsim and one from real etcd and compare them with `toEqual`.
 *
 * The translation is mechanical, one rule per proto kind (as in `v3/rpc.ts`):
 *   bytes   Buffer            → Uint8Array
 *   int64   "16" (string)     → 16 (number)      revisions, versions, counts, TTLs
 *   lease   "7587…" (string)  → 7587…n (bigint)  lease IDs use all 63 bits
 *   uint64  "1543…" (string)  → 1543…n (bigint)  cluster and member IDs
 *   enum    "Put" / "Delete"  → EventType.PUT / EventType.DELETE
 *   unset message (null)      → field left out   (prev_kv of a create, prev_kv of a put on a new key)
 *
 * Errors come back as `RealEtcdV3Error` holding etcd's own text ("etcdserver: mvcc: required revision
 * has been compacted") and the gRPC status code (11), with the client library's decoration removed.
 */
import { Etcd3, type IOptions } from "etcd3";
import type * as RPC from "etcd3/lib/rpc.js";
import type {
  CompactionRequest,
  CompactionResponse,
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  KeyValue,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchResponse,
} from "../../v3/rpc.js";
import { EventType } from "../../v3/rpc.js";

/** gRPC status names by code, for printing ("OutOfRange (11)"). */
export const GRPC_CODE_NAMES: Readonly<Record<number, string>> = {
  1: "Canceled", 2: "Unknown", 3: "InvalidArgument", 4: "DeadlineExceeded", 5: "NotFound", 6: "AlreadyExists",
  7: "PermissionDenied", 8: "ResourceExhausted", 9: "FailedPrecondition", 10: "Aborted", 11: "OutOfRange",
  12: "Unimplemented", 13: "Internal", 14: "Unavailable", 15: "DataLoss", 16: "Unauthenticated",
};

/**
 * An error answered by a real etcd: its gRPC code and etcd's exact message.
 *   range at a future revision → code 11, message "etcdserver: mvcc: required revision is a future revision"
 */
export class RealEtcdV3Error extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "RealEtcdV3Error";
  }
}

/**
 * The `etcd3` package decorates errors: "11 OUT_OF_RANGE: etcdserver: …" for most, and for a missing
 * lease "Lease 5 NOT_FOUND: etcdserver: requested lease not found is expired or revoked". Both hold
 * grpc-js's "<code> <NAME>: <details>", which this takes apart.
 */
export function toRealEtcdV3Error(error: unknown): RealEtcdV3Error | Error {
  if (error instanceof RealEtcdV3Error || !(error instanceof Error)) return error as Error;
  const match = /(\d+) [A-Z_]+: (.*)$/s.exec(error.message);
  if (match === null) return error;
  let details = match[2] as string;
  if (error.name === "EtcdLeaseInvalidError" || error.constructor.name === "EtcdLeaseInvalidError") {
    details = details.replace(/ is expired or revoked$/, "");
  }
  return new RealEtcdV3Error(Number(match[1]), details);
}

/**
 * grpc-js's text for a call that never left the client: its channel was closed before the call
 * started. The `etcd3` client closes every channel of a host whenever one of its own streams ends
 * with CANCELLED (a watch it cancelled itself), so a call made at that moment meets a closed channel.
 * Nothing reached the server, so trying again cannot apply anything twice.
 */
const NOT_STARTED = "Channel closed before call started";
/** Attempts for a call that keeps meeting a closed channel. */
const NOT_STARTED_ATTEMPTS = 3;

async function call<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const notStarted = error instanceof Error && error.message.includes(NOT_STARTED);
      if (!notStarted || attempt >= NOT_STARTED_ATTEMPTS) throw toRealEtcdV3Error(error);
    }
  }
}

// ---- requests: v3/rpc.ts → etcd3's proto objects -------------------------------------------------

function buf(bytes: Uint8Array | undefined): Buffer | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Copies the set fields only, so an unset field stays the proto zero value on the wire. */
function defined<T extends object>(object: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function rangeRequest(request: RangeRequest): RPC.IRangeRequest {
  return defined({
    key: buf(request.key),
    range_end: buf(request.range_end),
    limit: request.limit,
    revision: request.revision,
    sort_order: request.sort_order,
    sort_target: request.sort_target,
    serializable: request.serializable,
    keys_only: request.keys_only,
    count_only: request.count_only,
    min_mod_revision: request.min_mod_revision,
    max_mod_revision: request.max_mod_revision,
    min_create_revision: request.min_create_revision,
    max_create_revision: request.max_create_revision,
  }) as RPC.IRangeRequest;
}

function putRequest(request: PutRequest): RPC.IPutRequest {
  return defined({
    key: buf(request.key),
    value: buf(request.value),
    lease: request.lease?.toString(),
    prev_kv: request.prev_kv,
    ignore_value: request.ignore_value,
    ignore_lease: request.ignore_lease,
  }) as RPC.IPutRequest;
}

function deleteRangeRequest(request: DeleteRangeRequest): RPC.IDeleteRangeRequest {
  return defined({ key: buf(request.key), range_end: buf(request.range_end), prev_kv: request.prev_kv }) as RPC.IDeleteRangeRequest;
}

function compare(request: Compare): RPC.ICompare {
  return defined({
    result: request.result,
    target: request.target,
    key: buf(request.key),
    version: request.version,
    create_revision: request.create_revision,
    mod_revision: request.mod_revision,
    value: buf(request.value),
    lease: request.lease?.toString(),
    range_end: buf(request.range_end),
  }) as RPC.ICompare;
}

function requestOp(op: RequestOp): RPC.IRequestOp {
  return defined({
    request_range: op.request_range && rangeRequest(op.request_range),
    request_put: op.request_put && putRequest(op.request_put),
    request_delete_range: op.request_delete_range && deleteRangeRequest(op.request_delete_range),
    request_txn: op.request_txn && txnRequest(op.request_txn),
  }) as RPC.IRequestOp;
}

function txnRequest(request: TxnRequest): RPC.ITxnRequest {
  return {
    compare: (request.compare ?? []).map(compare),
    success: (request.success ?? []).map(requestOp),
    failure: (request.failure ?? []).map(requestOp),
  };
}

// ---- responses: etcd3's proto objects → v3/rpc.ts ------------------------------------------------

function bytes(buffer: Buffer | null | undefined): Uint8Array {
  return buffer === null || buffer === undefined ? new Uint8Array(0) : new Uint8Array(buffer);
}

/** A header as etcd sent it. Txn sub-responses carry zeros except `revision` (v3.md §1.3). */
export function header(raw: RPC.IResponseHeader | null | undefined): ResponseHeader {
  return {
    cluster_id: BigInt(raw?.cluster_id ?? 0),
    member_id: BigInt(raw?.member_id ?? 0),
    revision: Number(raw?.revision ?? 0),
    raft_term: Number(raw?.raft_term ?? 0),
  };
}

export function keyValue(raw: RPC.IKeyValue): KeyValue {
  return {
    key: bytes(raw.key),
    create_revision: Number(raw.create_revision),
    mod_revision: Number(raw.mod_revision),
    version: Number(raw.version),
    value: bytes(raw.value),
    lease: BigInt(raw.lease),
  };
}

function rangeResponse(raw: RPC.IRangeResponse): RangeResponse {
  return { header: header(raw.header), kvs: (raw.kvs ?? []).map(keyValue), more: Boolean(raw.more), count: Number(raw.count) };
}

function putResponse(raw: RPC.IPutResponse): PutResponse {
  const response: PutResponse = { header: header(raw.header) };
  if (raw.prev_kv) response.prev_kv = keyValue(raw.prev_kv);
  return response;
}

function deleteRangeResponse(raw: RPC.IDeleteRangeResponse): DeleteRangeResponse {
  return { header: header(raw.header), deleted: Number(raw.deleted), prev_kvs: (raw.prev_kvs ?? []).map(keyValue) };
}

function responseOp(raw: RPC.IResponseOp): ResponseOp {
  if (raw.response_range) return { response_range: rangeResponse(raw.response_range) };
  if (raw.response_put) return { response_put: putResponse(raw.response_put) };
  if (raw.response_delete_range) return { response_delete_range: deleteRangeResponse(raw.response_delete_range) };
  if (raw.response_txn) return { response_txn: txnResponse(raw.response_txn) };
  return {};
}

function txnResponse(raw: RPC.ITxnResponse): TxnResponse {
  return { header: header(raw.header), succeeded: Boolean(raw.succeeded), responses: (raw.responses ?? []).map(responseOp) };
}

function event(raw: RPC.IEvent): Event {
  const result: Event = { type: raw.type === "Delete" ? EventType.DELETE : EventType.PUT, kv: keyValue(raw.kv) };
  if (raw.prev_kv) result.prev_kv = keyValue(raw.prev_kv);
  return result;
}

/** A watch response as etcd sent it (revisions untouched). */
export function watchResponse(raw: RPC.IWatchResponse): WatchResponse {
  return {
    header: header(raw.header),
    watch_id: Number(raw.watch_id),
    created: Boolean(raw.created),
    canceled: Boolean(raw.canceled),
    compact_revision: Number(raw.compact_revision),
    cancel_reason: raw.cancel_reason ?? "",
    fragment: Boolean(raw.fragment),
    events: (raw.events ?? []).map(event),
  };
}

/** A watch request in etcd3's proto shape. */
export function watchRequest(request: WatchRequest): RPC.IWatchRequest {
  if (request.create_request !== undefined) {
    const create = request.create_request;
    return {
      create_request: defined({
        key: buf(create.key),
        range_end: buf(create.range_end),
        start_revision: create.start_revision,
        progress_notify: create.progress_notify,
        filters: create.filters,
        prev_kv: create.prev_kv,
        watch_id: create.watch_id,
        fragment: create.fragment,
      }) as RPC.IWatchCreateRequest,
    };
  }
  if (request.cancel_request !== undefined) return { cancel_request: { watch_id: request.cancel_request.watch_id } };
  return { progress_request: {} };
}

// ---- the client ----------------------------------------------------------------------------------

type Policy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;

/**
 * etcd3 retries failed calls and opens a circuit breaker after three "recoverable" errors in a row
 * (a cancelled watch stream counts as one). An oracle must do neither: a retried put could apply
 * twice, and a lesson closing 100 watch streams would find the client refusing every later call. So
 * every call runs exactly once and its error comes back as etcd sent it (cockatiel's `noop` policy,
 * written out here because only `execute` is ever called).
 */
const NO_FAULT_HANDLING = {
  execute: <T>(run: (context: { signal: AbortSignal }) => T | Promise<T>): Promise<T> =>
    Promise.resolve().then(() => run({ signal: new AbortController().signal })),
} as unknown as Policy;

/**
 * A v3 client for a real etcd, speaking gRPC. Every method sends one RPC and returns etcd's answer as
 * the `v3/rpc.ts` type of the same name, or throws `RealEtcdV3Error`.
 *
 *   const client = new RealEtcdV3Client(["http://127.0.0.1:2379"]);
 *   await client.put({ key: utf8("foo"), value: utf8("bar") })   // { header: { revision: 2, … } }
 *   client.close();
 */
export class RealEtcdV3Client {
  private readonly client: Etcd3;
  private readonly streams = new Set<RPC.IDuplexStream<RPC.IWatchRequest, RPC.IWatchResponse>>();

  constructor(endpoints: readonly string[], options: Partial<IOptions> = {}) {
    if (endpoints.length === 0) throw new RangeError("at least one etcd endpoint is needed");
    this.client = new Etcd3({ faultHandling: { host: () => NO_FAULT_HANDLING, global: NO_FAULT_HANDLING }, ...options, hosts: [...endpoints] });
  }

  range(request: RangeRequest): Promise<RangeResponse> {
    return call(async () => rangeResponse(await this.client.kv.range(rangeRequest(request))));
  }

  put(request: PutRequest): Promise<PutResponse> {
    return call(async () => putResponse(await this.client.kv.put(putRequest(request))));
  }

  deleteRange(request: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    return call(async () => deleteRangeResponse(await this.client.kv.deleteRange(deleteRangeRequest(request))));
  }

  txn(request: TxnRequest): Promise<TxnResponse> {
    return call(async () => txnResponse(await this.client.kv.txn(txnRequest(request))));
  }

  compact(request: CompactionRequest): Promise<CompactionResponse> {
    return call(async () => ({ header: header((await this.client.kv.compact(defined({ revision: request.revision, physical: request.physical }))).header) }));
  }

  leaseGrant(request: LeaseGrantRequest): Promise<LeaseGrantResponse> {
    return call(async () => {
      const raw = await this.client.leaseClient.leaseGrant(defined({ TTL: request.TTL, ID: request.ID?.toString() }));
      return { header: header(raw.header), ID: BigInt(raw.ID), TTL: Number(raw.TTL), error: raw.error ?? "" };
    });
  }

  leaseRevoke(request: LeaseRevokeRequest): Promise<LeaseRevokeResponse> {
    return call(async () => ({ header: header((await this.client.leaseClient.leaseRevoke({ ID: request.ID.toString() })).header) }));
  }

  /** One keep-alive round trip on its own stream, as `etcdctl lease keep-alive --once` does. TTL 0 = no such lease. */
  leaseKeepAliveOnce(ID: bigint): Promise<LeaseKeepAliveResponse> {
    return call(async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive();
      const raw = await new Promise<RPC.ILeaseKeepAliveResponse>((resolve, reject) => {
        stream.on("data", resolve);
        stream.on("error", reject);
        stream.write({ ID: ID.toString() });
      });
      stream.cancel();
      return { header: header(raw.header), ID: BigInt(raw.ID), TTL: Number(raw.TTL) };
    });
  }

  leaseTimeToLive(request: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    return call(async () => {
      const raw = await this.client.leaseClient.leaseTimeToLive(defined({ ID: request.ID.toString(), keys: request.keys }));
      return {
        header: header(raw.header),
        ID: BigInt(raw.ID),
        TTL: Number(raw.TTL),
        grantedTTL: Number(raw.grantedTTL),
        keys: (raw.keys ?? []).map((key) => bytes(key)),
      };
    });
  }

  leaseLeases(): Promise<LeaseLeasesResponse> {
    return call(async () => {
      const raw = await this.client.leaseClient.leaseLeases();
      return { header: header(raw.header), leases: (raw.leases ?? []).map((lease) => ({ ID: BigInt(lease.ID) })) };
    });
  }

  status(): Promise<StatusResponse> {
    return call(async () => {
      const raw = await this.client.maintenance.status();
      return {
        header: header(raw.header),
        version: raw.version,
        dbSize: Number(raw.dbSize),
        leader: BigInt(raw.leader),
        raftIndex: Number(raw.raftIndex),
        raftTerm: Number(raw.raftTerm),
        raftAppliedIndex: Number(raw.raftAppliedIndex),
        errors: raw.errors ?? [],
        dbSizeInUse: Number(raw.dbSizeInUse),
        isLearner: Boolean(raw.isLearner),
      };
    });
  }

  /**
   * Opens one raw Watch stream (one gRPC call). `realEtcdWatchStream.ts` wraps it; the stream is
   * cancelled when the client closes, if it has not been already.
   */
  async openWatchStream(): Promise<RPC.IDuplexStream<RPC.IWatchRequest, RPC.IWatchResponse>> {
    const stream = await call(() => this.client.watchClient.watch());
    this.streams.add(stream);
    stream.on("end", () => this.streams.delete(stream));
    return stream;
  }

  close(): void {
    for (const stream of this.streams) stream.cancel();
    this.streams.clear();
    this.client.close();
  }
}

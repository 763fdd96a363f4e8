/**
 * Mirrors etcd release-3.4 `etcdserver/apply.go` (`applierV3backend`), fronted by the request checks
 * of `etcdserver/api/v3rpc/key.go` (keyChecks.ts) and the error mapping of `v3rpc/util.go`.
 *
 * The applier turns one v3 request into store operations and a response. It is what a member runs
 * once raft has committed the request (writes) or once a read may proceed (ranges):
 *
 *   request ──► key.go checks ──► size check ──► apply: open a txn on the KV, run, end ──► response
 *                (RpcError)        (RpcError)     (sentinels → RpcError at the boundary)
 *
 * Every public method returns an rpc.ts response or throws an RpcError carrying etcd's gRPC code,
 * exact message and the gateway's HTTP status. A request that fails changes nothing. KeyValues in
 * responses are the store's own records, shared and not copied: treat them as immutable.
 *
 * Response headers: top-level responses carry the member's identity (member.ts) and a revision —
 * the current one for reads and for writes that changed nothing, the new one otherwise. Inside a
 * txn, each sub-response's header holds only `revision` (§5.6), and a nested txn's header is empty:
 *
 *   txn [del missing, get k, put k, get k, del missing] at revision 6
 *     → sub-headers 6, 6, 7, 7, 7; top-level header 7
 */
import type {
  Compare,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KeyValue,
  LeaseID,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from "./rpc.js";
import { CompareResult, CompareTarget, NO_LEASE, SortOrder, SortTarget } from "./rpc.js";
import type { KV, LeaseHooks, ReadView, TxnRead, TxnWrite } from "./kv.js";
import { compareBytes, toBinaryString } from "../shared/bytes.js";
import { CompactedError, FutureRevError, InvariantViolation, KeyNotFoundError, LeaseNotFoundError, RequestTooLargeError, toRpcError } from "./errors.js";
import type { MemberIdentity } from "./member.js";
import { DEFAULT_MEMBER, responseHeader } from "./member.js";
import { MAX_REQUEST_BYTES, MAX_TXN_OPS, checkDeleteRequest, checkIntervals, checkPutRequest, checkRangeRequest, checkTxnRequest, raftRequestSize } from "./keyChecks.js";
import { NO_LEASE_HOOKS } from "./kvstore.js";
import { goSort } from "./goSort.js";

/** What an Applier runs on: a KV (the store or a wrapper), plus optional leases, member identity and request limits. */
export interface ApplierOptions {
  /** The store (or a wrapper of it, such as the watchable store). */
  readonly kv: KV;
  /** Answers "does this lease exist?" (the Lessor). Default: no lease exists. */
  readonly leases?: Pick<LeaseHooks, "exists">;
  /** Whose header to print (default: the spec's single fresh member). */
  readonly member?: MemberIdentity;
  /** `--max-txn-ops` (default 128). */
  readonly maxTxnOps?: number;
  /** `--max-request-bytes` (default 1.5 MiB). */
  readonly maxRequestBytes?: number;
}

/** An auth check run at etcd's point in the request (see `range`); throws to refuse. */
export type Authorize = () => void;

/** The v3 KV applier: range, put, deleteRange, txn and compaction requests against a KV. */
export class Applier {
  readonly kv: KV;
  /** Swappable so a lessor built after the applier can plug in. */
  leases: Pick<LeaseHooks, "exists">;
  readonly member: MemberIdentity;
  readonly maxTxnOps: number;
  readonly maxRequestBytes: number;
  /**
   * Raft entries applied so far: every write request that passed the checks above raft counts,
   * whether or not it then failed in apply (as in etcd, where a failed put still used an entry).
   */
  appliedIndex = 0;

  constructor(options: ApplierOptions) {
    this.kv = options.kv;
    this.leases = options.leases ?? NO_LEASE_HOOKS;
    this.member = options.member ?? DEFAULT_MEMBER;
    this.maxTxnOps = options.maxTxnOps ?? MAX_TXN_OPS;
    this.maxRequestBytes = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
  }

  /**
   * A Range request (reads do not go through raft). `authorize`, when given, is the auth check
   * (etcd: v3_server.go's `chk` in doSerialize, or apply_auth.go for writes); it throws to refuse.
   * It runs after the request checks and, for writes, after the raft entry is taken, as in etcd,
   * where a denied write still used an index.
   */
  range(r: RangeRequest, authorize?: Authorize): RangeResponse {
    return this.answer(() => {
      checkRangeRequest(r);
      authorize?.();
      const response = this.applyRange(undefined, r);
      response.header = this.header(response.header.revision);
      return response;
    });
  }

  /** A Put request. */
  put(r: PutRequest, authorize?: Authorize): PutResponse {
    return this.answer(() => {
      checkPutRequest(r);
      this.propose("put", r);
      authorize?.();
      const response = this.applyPut(undefined, r);
      response.header = this.header(response.header.revision);
      return response;
    });
  }

  /** A DeleteRange request. */
  deleteRange(r: DeleteRangeRequest, authorize?: Authorize): DeleteRangeResponse {
    return this.answer(() => {
      checkDeleteRequest(r);
      this.propose("delete", r);
      authorize?.();
      const response = this.applyDeleteRange(undefined, r);
      response.header = this.header(response.header.revision);
      return response;
    });
  }

  /**
   * A Txn request: validate the whole request, evaluate every compare on the path it will take
   * (nested ones included) against the state before any op runs, pre-check the chosen ops against
   * that state, then run them in one write transaction (or a read one if every op is a range).
   */
  txn(r: TxnRequest, authorize?: Authorize): TxnResponse {
    return this.answer(() => {
      checkTxnRequest(r, this.maxTxnOps);
      checkIntervals(r.success ?? []);
      checkIntervals(r.failure ?? []);
      const readOnly = isTxnReadonly(r);
      if (!readOnly) this.propose("txn", r);
      authorize?.();
      const response = this.applyTxnRequest(r, readOnly);
      response.header = this.header(response.header.revision);
      return response;
    });
  }

  /**
   * A Compaction request. Errors: CompactedError at or below the last compaction, FutureRevError
   * above the current revision. The header reports the current revision. `physical` changes
   * nothing here: compaction always finishes before the answer.
   */
  compaction(r: CompactionRequest): CompactionResponse {
    return this.answer(() => {
      this.propose("compaction", r);
      this.kv.compact(r.revision);
      return { header: this.header(this.kv.rev()) };
    });
  }

  // -------------------------------------------------------------------------------------------
  // apply.go: each takes an open transaction (inside a txn) or opens its own (standalone).
  // -------------------------------------------------------------------------------------------

  /** etcd's applierV3backend.Range. The header holds only the revision (the caller fills the rest). */
  private applyRange(txn: TxnRead | undefined, r: RangeRequest): RangeResponse {
    const view = txn ?? this.kv.read();
    try {
      const sortOrder0 = r.sort_order ?? SortOrder.NONE;
      const sortTarget = r.sort_target ?? SortTarget.KEY;
      const minMod = r.min_mod_revision ?? 0;
      const maxMod = r.max_mod_revision ?? 0;
      const minCreate = r.min_create_revision ?? 0;
      const maxCreate = r.max_create_revision ?? 0;
      const requestLimit = r.limit ?? 0;
      // Sorting or filtering needs every match; otherwise fetch one more than the limit to learn `more`.
      let limit = requestLimit;
      if (sortOrder0 !== SortOrder.NONE || minMod !== 0 || maxMod !== 0 || minCreate !== 0 || maxCreate !== 0) limit = 0;
      if (limit > 0) limit++;
      const result = view.range(r.key, mkGteRange(r.range_end), { limit, rev: r.revision ?? 0, count: r.count_only ?? false });
      let kvs = result.kvs;
      if (maxMod !== 0) kvs = kvs.filter((kv) => kv.mod_revision <= maxMod);
      if (minMod !== 0) kvs = kvs.filter((kv) => kv.mod_revision >= minMod);
      if (maxCreate !== 0) kvs = kvs.filter((kv) => kv.create_revision <= maxCreate);
      if (minCreate !== 0) kvs = kvs.filter((kv) => kv.create_revision >= minCreate);
      let sortOrder = sortOrder0;
      if (sortTarget !== SortTarget.KEY && sortOrder === SortOrder.NONE) sortOrder = SortOrder.ASCEND;
      if (sortOrder !== SortOrder.NONE) {
        const compare = sortComparator(sortTarget);
        if (kvs === result.kvs) kvs = kvs.slice();
        if (sortOrder === SortOrder.DESCEND) goSort(kvs, (a, b) => compare(b, a) < 0);
        else goSort(kvs, (a, b) => compare(a, b) < 0);
      }
      let more = false;
      if (requestLimit > 0 && kvs.length > requestLimit) {
        kvs = kvs.slice(0, requestLimit);
        more = true;
      }
      if (r.keys_only === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY_BYTES }));
      return { header: revisionHeader(result.rev), kvs, more, count: result.count };
    } finally {
      if (txn === undefined) view.end();
    }
  }

  /** etcd's applierV3backend.Put. */
  private applyPut(txn: TxnWrite | undefined, r: PutRequest): PutResponse {
    let lease: LeaseID = r.lease ?? NO_LEASE;
    let value = r.value ?? EMPTY_BYTES;
    if (txn === undefined && lease !== NO_LEASE && !this.leases.exists(lease)) throw new LeaseNotFoundError();
    const writer = txn ?? this.kv.write();
    try {
      let previous: KeyValue | undefined;
      if (r.ignore_value === true || r.ignore_lease === true || r.prev_kv === true) {
        previous = writer.range(r.key, undefined).kvs[0];
      }
      if ((r.ignore_value === true || r.ignore_lease === true) && previous === undefined) throw new KeyNotFoundError();
      if (r.ignore_value === true) value = (previous as KeyValue).value;
      if (r.ignore_lease === true) lease = (previous as KeyValue).lease;
      const response: PutResponse = { header: revisionHeader(writer.put(r.key, value, lease)) };
      if (r.prev_kv === true && previous !== undefined) response.prev_kv = previous;
      return response;
    } finally {
      if (txn === undefined) writer.end();
    }
  }

  /** etcd's applierV3backend.DeleteRange. */
  private applyDeleteRange(txn: TxnWrite | undefined, r: DeleteRangeRequest): DeleteRangeResponse {
    const writer = txn ?? this.kv.write();
    try {
      const end = mkGteRange(r.range_end);
      const prevKvs = r.prev_kv === true ? writer.range(r.key, end).kvs : [];
      const { deleted, rev } = writer.deleteRange(r.key, end);
      return { header: revisionHeader(rev), deleted, prev_kvs: prevKvs };
    } finally {
      if (txn === undefined) writer.end();
    }
  }

  /** etcd's applierV3backend.Txn. */
  private applyTxnRequest(r: TxnRequest, readOnly: boolean): TxnResponse {
    // Fix the whole path (this txn's and every nested txn's compare outcome) on the current state.
    const reader = this.kv.read();
    let path: boolean[];
    try {
      path = compareToPath(reader, r);
      if (!readOnly) {
        const keys = new KeysDuringTxn(reader);
        checkRequests(reader, r, path, (_view, op) => this.checkPut(keys, op));
      }
      checkRequests(reader, r, path, checkRange);
    } finally {
      reader.end();
    }
    const response = newTxnResponse(r, path).response;
    if (readOnly) {
      const txn = this.kv.read();
      try {
        this.applyTxn(txn, r, path, response);
        response.header = revisionHeader(txn.rev());
      } finally {
        txn.end();
      }
      return response;
    }
    const txn = this.kv.write();
    try {
      this.applyTxn(txn, r, path, response);
      response.header = revisionHeader(txn.changes().length > 0 ? txn.rev() + 1 : txn.rev());
    } finally {
      txn.end();
    }
    return response;
  }

  /** Runs the ops of the chosen branches in order; returns how many nested txns it consumed. */
  private applyTxn(txn: TxnRead | TxnWrite, r: TxnRequest, path: boolean[], response: TxnResponse): number {
    const ops = (path[0] as boolean) ? (r.success ?? []) : (r.failure ?? []);
    let txns = 0;
    let rest = path;
    ops.forEach((op, i) => {
      const slot = response.responses[i] as ResponseOp;
      if (op.request_txn === undefined) {
        try {
          if (op.request_range !== undefined) slot.response_range = this.applyRange(txn, op.request_range);
          else if (op.request_put !== undefined) slot.response_put = this.applyPut(asWrite(txn), op.request_put);
          else if (op.request_delete_range !== undefined) slot.response_delete_range = this.applyDeleteRange(asWrite(txn), op.request_delete_range);
        } catch (err) {
          // The checks before the txn let every op through, so an op failing here is a bug, as
          // in etcd (which panics with this text): never a client's answer.
          if (err instanceof InvariantViolation) throw err;
          throw new InvariantViolation(`unexpected error during txn: ${err instanceof Error ? err.message : String(err)}`);
        }
      } else {
        const applied = this.applyTxn(txn, op.request_txn, rest.slice(1), slot.response_txn as TxnResponse);
        txns += applied + 1;
        rest = rest.slice(applied + 1);
      }
    });
    return txns;
  }

  /**
   * etcd's checkRequestPut, run over the chosen ops in the order they will apply (deletes are
   * recorded on the way): ignore_value/ignore_lease need the key to exist when the put runs; a
   * lease must exist.
   *
   * Quirk guarded, not copied: etcd 3.4.23 checks ignore_* puts against the state before the txn
   * only, and its duplicate-key check lets a delete with range_end "\0" through (that interval holds
   * no key, see keyChecks.ts). So [delete a.."\0", put a ignore_lease] on a live "a" passes every
   * check, the delete runs, the put finds no "a", and the member panics ("unexpected error during
   * txn: etcdserver: key not found"), again on every restart as it replays the entry. The simulator
   * refuses such a txn here, before any op runs, with the error the put itself met and etcd's
   * panic names (etcdserver: key not found, InvalidArgument, HTTP 400): the same answer a put on a
   * key missing before the txn gets. Not "duplicate key": etcd accepts [delete a.."\0", put a].
   */
  private checkPut(keys: KeysDuringTxn, op: RequestOp): void {
    if (op.request_delete_range !== undefined) return keys.deleted(op.request_delete_range);
    const put = op.request_put;
    if (put === undefined) return;
    if (put.ignore_value === true || put.ignore_lease === true) {
      if (!keys.exists(put.key)) throw new KeyNotFoundError();
    }
    const lease = put.lease ?? NO_LEASE;
    if (lease !== NO_LEASE && !this.leases.exists(lease)) throw new LeaseNotFoundError();
    keys.put(put.key);
  }

  /** Counts a write request as a raft entry, refusing one whose encoding is too large. */
  private propose(kind: "put" | "delete" | "txn" | "compaction", r: PutRequest | DeleteRangeRequest | TxnRequest | CompactionRequest): void {
    if (raftRequestSize(kind, r) > this.maxRequestBytes) throw new RequestTooLargeError();
    this.appliedIndex++;
  }

  /** A full header at `revision` (0: the current revision, as etcd's header.fill does). */
  private header(revision: number): ResponseHeader {
    return responseHeader(revision === 0 ? this.kv.rev() : revision, this.member);
  }

  /** Runs `body`, turning any failure into the RpcError a client would see. */
  private answer<T>(body: () => T): T {
    try {
      return body();
    } catch (err) {
      throw toRpcError(err);
    }
  }
}

/** A value for keys_only results and for puts without a value. */
const EMPTY_BYTES = new Uint8Array(0);

/** The wire's range_end "\0" means "every key ≥ key": the store's empty end (etcd's mkGteRange). */
export function mkGteRange(rangeEnd: Uint8Array | undefined): Uint8Array | undefined {
  if (rangeEnd === undefined || rangeEnd.length === 0) return undefined;
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return EMPTY_BYTES;
  return rangeEnd;
}

/** A header holding only a revision, as inside a txn (the top level gets the member's identity). */
function revisionHeader(revision: number): ResponseHeader {
  return { cluster_id: 0n, member_id: 0n, revision, raft_term: 0 };
}

/** An empty header, as a nested txn's response carries. */
function emptyHeader(): ResponseHeader {
  return revisionHeader(0);
}

function asWrite(txn: TxnRead | TxnWrite): TxnWrite {
  if (!("put" in txn)) throw new InvariantViolation("a write op in a read-only txn");
  return txn;
}

/** True when every op of both branches is a range (not looking into nested txns, like etcd). */
export function isTxnReadonly(r: TxnRequest): boolean {
  for (const op of r.success ?? []) if (op.request_range === undefined) return false;
  for (const op of r.failure ?? []) if (op.request_range === undefined) return false;
  return true;
}

/**
 * The outcome of this txn's compares followed by those of the nested txns on the chosen branch,
 * depth first (etcd's compareToPath). All read the same view, before any op runs.
 *
 *   If(a) Then(Txn(If(b)…), Txn(If(c)…))   → [a, b, c]     (when a holds)
 */
export function compareToPath(view: ReadView, r: TxnRequest): boolean[] {
  const path = [applyCompares(view, r.compare ?? [])];
  const ops = path[0] ? (r.success ?? []) : (r.failure ?? []);
  for (const op of ops) if (op.request_txn !== undefined) path.push(...compareToPath(view, op.request_txn));
  return path;
}

/**
 * Which keys exist as the ops of a txn run, before they run: the view before the txn, minus what
 * earlier deletes removed, plus what earlier puts wrote. Only keys a check asks about are looked up.
 *
 *   before {a, b}; delete b.."\0"; put c   →  exists(a) true, exists(b) false, exists(c) true
 */
class KeysDuringTxn {
  /** Every delete so far, as binary strings [key, end): end undefined = just key, "" = every key ≥ key. */
  private readonly deletes: { key: string; end: string | undefined }[] = [];
  /** Keys (binary strings) written so far: true = put since the last delete covering it. */
  private readonly written = new Map<string, boolean>();

  constructor(private readonly before: ReadView) {}

  deleted(r: DeleteRangeRequest): void {
    const end = mkGteRange(r.range_end);
    const range = { key: toBinaryString(r.key), end: end === undefined ? undefined : toBinaryString(end) };
    this.deletes.push(range);
    for (const key of this.written.keys()) if (covers(range, key)) this.written.set(key, false);
  }

  put(key: Uint8Array): void {
    this.written.set(toBinaryString(key), true);
  }

  exists(key: Uint8Array): boolean {
    const k = toBinaryString(key);
    const written = this.written.get(k);
    if (written !== undefined) return written;
    if (this.deletes.some((range) => covers(range, k))) return false;
    return this.before.range(key, undefined).kvs.length > 0;
  }
}

/** True when a delete's range holds the key `k` (binary strings compare like the bytes). */
function covers(range: { key: string; end: string | undefined }, k: string): boolean {
  if (range.end === undefined) return range.key === k;
  return range.key <= k && (range.end === "" || k < range.end);
}

/** Runs `check` on every op of the chosen branches; returns how many nested txns it walked. */
function checkRequests(view: ReadView, r: TxnRequest, path: boolean[], check: (view: ReadView, op: RequestOp) => void): number {
  let txns = 0;
  let rest = path;
  const ops = (rest[0] as boolean) ? (r.success ?? []) : (r.failure ?? []);
  for (const op of ops) {
    if (op.request_txn !== undefined) {
      const nested = checkRequests(view, op.request_txn, rest.slice(1), check);
      txns += nested + 1;
      rest = rest.slice(nested + 1);
      continue;
    }
    check(view, op);
  }
  return txns;
}

/**
 * etcd's checkRange: a range op's revision must be readable now. Quirk kept from etcd: the check
 * compares against the compacted revision even for a negative revision, so inside a txn a range
 * at revision −2 fails with "compacted" while a standalone range at −2 reads the latest.
 */
function checkRange(view: ReadView, op: RequestOp): void {
  const range = op.request_range;
  if (range === undefined) return;
  const revision = range.revision ?? 0;
  if (revision === 0) return;
  if (revision > view.rev()) throw new FutureRevError();
  if (revision < view.firstRev()) throw new CompactedError();
}

/** Builds the response skeleton for the chosen branches (etcd's newTxnResp). */
function newTxnResponse(r: TxnRequest, path: boolean[]): { response: TxnResponse; txns: number } {
  const succeeded = path[0] as boolean;
  const ops = succeeded ? (r.success ?? []) : (r.failure ?? []);
  let txns = 0;
  let rest = path;
  const responses: ResponseOp[] = ops.map((op) => {
    if (op.request_txn !== undefined) {
      const nested = newTxnResponse(op.request_txn, rest.slice(1));
      rest = rest.slice(1 + nested.txns);
      txns += nested.txns + 1;
      return { response_txn: nested.response };
    }
    return {};
  });
  return { response: { header: emptyHeader(), succeeded, responses }, txns };
}

/** All compares hold (an empty list holds). */
export function applyCompares(view: ReadView, compares: readonly Compare[]): boolean {
  for (const c of compares) if (!applyCompare(view, c)) return false;
  return true;
}

/**
 * One compare over [key, range_end): every matching key must satisfy it. With no match, a VALUE
 * compare is false whatever it says (no way to tell a missing value from an empty one), and the
 * other targets compare against 0 — so `create(k) = 0` means "k does not exist".
 */
export function applyCompare(view: ReadView, c: Compare): boolean {
  let kvs: KeyValue[];
  try {
    kvs = view.range(c.key, mkGteRange(c.range_end)).kvs;
  } catch {
    return false;
  }
  if (kvs.length === 0) {
    if (c.target === CompareTarget.VALUE) return false;
    return compareKV(c, MISSING_KEY);
  }
  for (const kv of kvs) if (!compareKV(c, kv)) return false;
  return true;
}

/** What a missing key "has": version, create, mod and lease all 0. */
const MISSING_KEY: KeyValue = { key: EMPTY_BYTES, create_revision: 0, mod_revision: 0, version: 0, value: EMPTY_BYTES, lease: NO_LEASE };

function compareKV(c: Compare, kv: KeyValue): boolean {
  let result: number;
  switch (c.target) {
    case CompareTarget.VALUE:
      result = compareBytes(kv.value, c.value ?? EMPTY_BYTES);
      break;
    case CompareTarget.CREATE:
      result = Math.sign(kv.create_revision - (c.create_revision ?? 0));
      break;
    case CompareTarget.MOD:
      result = Math.sign(kv.mod_revision - (c.mod_revision ?? 0));
      break;
    case CompareTarget.VERSION:
      result = Math.sign(kv.version - (c.version ?? 0));
      break;
    case CompareTarget.LEASE: {
      const lease = c.lease ?? NO_LEASE;
      result = kv.lease < lease ? -1 : kv.lease > lease ? 1 : 0;
      break;
    }
    default:
      result = 0;
  }
  switch (c.result) {
    case CompareResult.EQUAL:
      return result === 0;
    case CompareResult.NOT_EQUAL:
      return result !== 0;
    case CompareResult.GREATER:
      return result > 0;
    case CompareResult.LESS:
      return result < 0;
    default:
      return true;
  }
}

/** The ascending order for Range's sort_target (etcd's kvSortByKey … kvSortByValue). */
function sortComparator(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case SortTarget.VERSION:
      return (a, b) => a.version - b.version;
    case SortTarget.CREATE:
      return (a, b) => a.create_revision - b.create_revision;
    case SortTarget.MOD:
      return (a, b) => a.mod_revision - b.mod_revision;
    case SortTarget.VALUE:
      return (a, b) => compareBytes(a.value, b.value);
    default:
      return (a, b) => compareBytes(a.key, b.key);
  }
}

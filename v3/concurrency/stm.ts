/**
 * Mirrors etcd release-3.4 `clientv3/concurrency/stm.go`: software transactional memory over
 * etcd transactions.
 *
 * `newSTM(client, apply)` runs `apply` against a read set and a write set kept on the client, then
 * commits the write set in one Txn guarded by compares that fail if anything `apply` relied on
 * changed; on failure it runs `apply` again. What "relied on" means is the isolation level:
 *
 *   level                 reads                                     commit compares
 *   SerializableSnapshot  1st read at current rev R, rest at R      mod(read k) = seen mod  ∧  mod(written k) < R+1
 *   Serializable          1st read at current rev R, rest at R      mod(read k) = seen mod
 *   RepeatableReads       each key read once, at the latest rev     mod(read k) = seen mod
 *   ReadCommitted         each key read once, at the latest rev     none: always commits
 *
 * Example, two transfers of 10 from a (=100) racing under RepeatableReads:
 *   T1 get a → 100 (mod 2)      T2 get a → 100 (mod 2)
 *   T1 commit If(mod(a)=2) Then(put a 90)      → succeeds, a@mod 4
 *   T2 commit If(mod(a)=2) Then(put a 90)      → fails; T2 re-runs, reads 90, writes 80
 * Under ReadCommitted T2's commit has no compare and writes 90 again: one transfer is lost.
 */
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import type { Compare, RequestOp, ResponseOp, TxnResponse, RangeResponse, LeaseID } from "../rpc.js";
import { CompareResult, CompareTarget } from "../rpc.js";
import type { TxnClient } from "./client.js";
import { InvariantViolation } from "../errors.js";

/** How strictly a transaction is isolated (etcd: `Isolation`; the numbers are etcd's). */
export const Isolation = {
  /** Serializable, and also no write to a written key may have happened since the first read. The default. */
  SerializableSnapshot: 0,
  /** Reads are pinned to the first read's revision; commit fails if a read key changed. */
  Serializable: 1,
  /** A key reads the same each time within an attempt; commit fails if a read key changed. */
  RepeatableReads: 2,
  /** Reads see the latest committed values; commit never fails. */
  ReadCommitted: 3,
} as const;
/** One of the four isolation levels above. */
export type Isolation = (typeof Isolation)[keyof typeof Isolation];

/** The largest revision Go can name minus one (`math.MaxInt64 - 1`); JS numbers stop at 2^53. */
const NO_READ_REVISION = Number.MAX_SAFE_INTEGER - 1;

/** Counters a lesson can print; pass one object to several STMs to add them up. */
export class STMStats {
  /** Times `apply` started. */
  attempts = 0;
  /** Commits that failed their compares and made `apply` run again. */
  retries = 0;
  /** Successful commits. */
  commits = 0;
  /** Runs that ended with an error (from `apply` or from the client) and wrote nothing. */
  aborts = 0;
}

/** etcd's `stmOptions`: the isolation level (default SerializableSnapshot), prefetch keys, an abort signal, counters. */
export interface STMOptions {
  /** Default `Isolation.SerializableSnapshot`, as in etcd. */
  isolation?: Isolation;
  /** Keys read before `apply` on every attempt (etcd: `WithPrefetch`). */
  prefetch?: string[];
  /** Checked before each request; once aborted, the STM stops with `signal.reason` (etcd: `WithAbortContext`). */
  signal?: AbortSignal;
  stats?: STMStats;
}

/** What `apply` sees (etcd: the `STM` interface). Reads go to etcd; writes wait for commit. */
export interface STM {
  /** The first key's value ("" when missing), reading all of `keys` into the read set. A written key returns the buffered value. */
  get(...keys: string[]): Promise<string>;
  /** Buffers a put; the last write to a key wins. */
  put(key: string, value: string, options?: { lease?: LeaseID }): void;
  /** The key's mod revision as read (0 when missing). */
  rev(key: string): Promise<number>;
  /** Buffers a delete. */
  del(key: string): void;
}

/** One read: the range response for the key, as `readSet` holds it. */
type ReadResult = RangeResponse;

interface StmPut {
  value: string;
  op: RequestOp;
}

/** What one read is sent with: the pinned revision (0 = latest) and serializable. */
interface GetOptions {
  revision: number;
  serializable: boolean;
}

/** The STM for RepeatableReads and ReadCommitted (etcd: `stm`). */
class RepeatableStm implements STM {
  readSet = new Map<string, ReadResult>();
  writeSet = new Map<string, StmPut>();
  protected getOptions: GetOptions = { revision: 0, serializable: true };

  constructor(
    protected readonly client: TxnClient,
    protected readonly isolation: Isolation,
    protected readonly signal: AbortSignal | undefined,
  ) {}

  async get(...keys: string[]): Promise<string> {
    const written = this.bufferedWrite(keys);
    if (written !== undefined) return written.value;
    return valueOf(await this.fetch(keys));
  }

  put(key: string, value: string, options: { lease?: LeaseID } = {}): void {
    const request_put = options.lease === undefined ? { key: utf8(key), value: utf8(value) } : { key: utf8(key), value: utf8(value), lease: options.lease };
    this.writeSet.set(key, { value, op: { request_put } });
  }

  del(key: string): void {
    this.writeSet.set(key, { value: "", op: { request_delete_range: { key: utf8(key) } } });
  }

  async rev(key: string): Promise<number> {
    const response = await this.fetch([key]);
    return response?.kvs[0]?.mod_revision ?? 0;
  }

  reset(): void {
    this.readSet = new Map();
    this.writeSet = new Map();
  }

  /** The conflict compares for this level (etcd: `conflicts`). */
  conflicts(): Compare[] {
    switch (this.isolation) {
      case Isolation.SerializableSnapshot:
        return [...readSetCompares(this.readSet), ...writeSetCompares(this.writeSet, firstRevision(this.readSet) + 1)];
      case Isolation.Serializable:
      case Isolation.RepeatableReads:
        return readSetCompares(this.readSet);
      case Isolation.ReadCommitted:
        return [];
    }
  }

  /** Commits; returns the response if it succeeded, undefined to retry. */
  async commit(): Promise<TxnResponse | undefined> {
    this.checkAbort();
    const response = await this.client.txn({ compare: this.conflicts(), success: [...this.writeSet.values()].map((w) => w.op) });
    return response.succeeded ? response : undefined;
  }

  protected bufferedWrite(keys: string[]): StmPut | undefined {
    for (const key of keys) {
      const written = this.writeSet.get(key);
      if (written !== undefined) return written;
    }
    return undefined;
  }

  /** Reads `keys` in one read-only Txn, unless the first is already in the read set (etcd: `fetch`). */
  protected async fetch(keys: string[]): Promise<ReadResult | undefined> {
    const first = keys[0];
    if (first === undefined) return undefined;
    const ops: RequestOp[] = [];
    for (const key of keys) {
      const cached = this.readSet.get(key);
      if (cached !== undefined) return cached; // etcd returns the first cached key's response, as here
      ops.push({ request_range: { key: utf8(key), revision: this.getOptions.revision, serializable: this.getOptions.serializable } });
    }
    this.checkAbort();
    const response = await this.client.txn({ success: ops });
    addToReadSet(this.readSet, keys, response.responses);
    return this.readSet.get(first);
  }

  protected checkAbort(): void {
    if (this.signal?.aborted === true) throw this.signal.reason ?? new Error("context canceled");
  }
}

/** The STM for Serializable and SerializableSnapshot (etcd: `stmSerializable`). */
class SerializableStm extends RepeatableStm {
  /** Reads answered by the previous attempt's failed commit (its Else branch). */
  private prefetched = new Map<string, ReadResult>();

  constructor(client: TxnClient, isolation: Isolation, signal: AbortSignal | undefined) {
    super(client, isolation, signal);
    this.getOptions = { revision: 0, serializable: false };
  }

  override async get(...keys: string[]): Promise<string> {
    const written = this.bufferedWrite(keys);
    if (written !== undefined) return written.value;
    const firstRead = this.readSet.size === 0;
    for (const key of keys) {
      const prefetched = this.prefetched.get(key);
      if (prefetched !== undefined) {
        this.prefetched.delete(key);
        this.readSet.set(key, prefetched);
      }
    }
    const response = await this.fetch(keys);
    // The first read fixes the attempt's revision: every later read is served at it.
    if (firstRead && response !== undefined) this.getOptions = { revision: response.header.revision, serializable: true };
    return valueOf(response);
  }

  override async rev(key: string): Promise<number> {
    await this.get(key);
    return super.rev(key);
  }

  override async commit(): Promise<TxnResponse | undefined> {
    this.checkAbort();
    const keys = [...this.readSet.keys()];
    const response = await this.client.txn({
      compare: this.conflicts(),
      success: [...this.writeSet.values()].map((w) => w.op),
      // On conflict the Else branch reads the keys again, saving the retry a round trip.
      failure: keys.map((key) => ({ request_range: { key: utf8(key) } })),
    });
    if (response.succeeded) return response;
    addToReadSet(this.readSet, keys, response.responses);
    this.prefetched = this.readSet;
    this.getOptions = { revision: 0, serializable: false };
    return undefined;
  }
}

/**
 * Runs `apply` until its commit succeeds (etcd: `NewSTM` + `runSTM`), and returns the commit's
 * TxnResponse. An error thrown by `apply` or by the client ends the loop and is rethrown; nothing
 * is written then.
 */
export async function newSTM(client: TxnClient, apply: (stm: STM) => Promise<void> | void, options: STMOptions = {}): Promise<TxnResponse> {
  const isolation = options.isolation ?? Isolation.SerializableSnapshot;
  const stats = options.stats ?? new STMStats();
  const stm =
    isolation === Isolation.SerializableSnapshot || isolation === Isolation.Serializable
      ? new SerializableStm(client, isolation, options.signal)
      : new RepeatableStm(client, isolation, options.signal);
  const prefetch = options.prefetch ?? [];
  try {
    for (;;) {
      stm.reset();
      stats.attempts++;
      if (prefetch.length > 0) await stm.get(...prefetch);
      await apply(stm);
      const response = await stm.commit();
      if (response !== undefined) {
        stats.commits++;
        return response;
      }
      stats.retries++;
    }
  } catch (error) {
    stats.aborts++;
    throw error;
  }
}

/** The smallest header revision in the read set; "no reads" gives MaxInt64−1 (etcd: `readSet.first`). */
function firstRevision(readSet: Map<string, ReadResult>): number {
  let first = NO_READ_REVISION;
  for (const response of readSet.values()) if (response.header.revision < first) first = response.header.revision;
  return first;
}

/** `mod(k) = mod seen` for every read key; `= 0` when it was missing (etcd: `isKeyCurrent`). */
function readSetCompares(readSet: Map<string, ReadResult>): Compare[] {
  return [...readSet].map(([key, response]) => ({
    result: CompareResult.EQUAL,
    target: CompareTarget.MOD,
    key: utf8(key),
    mod_revision: response.kvs[0]?.mod_revision ?? 0,
  }));
}

/** `mod(k) < rev` for every written key: nobody wrote it since the snapshot (etcd: `writeSet.cmps`). */
function writeSetCompares(writeSet: Map<string, StmPut>, rev: number): Compare[] {
  return [...writeSet.keys()].map((key) => ({ result: CompareResult.LESS, target: CompareTarget.MOD, key: utf8(key), mod_revision: rev }));
}

function addToReadSet(readSet: Map<string, ReadResult>, keys: string[], responses: ResponseOp[]): void {
  keys.forEach((key, i) => {
    const range = responses[i]?.response_range;
    if (range === undefined) throw new InvariantViolation(`read of ${key} got no range response`);
    readSet.set(key, range);
  });
}

function valueOf(response: ReadResult | undefined): string {
  const kv = response?.kvs[0];
  return kv === undefined ? "" : fromUtf8(kv.value);
}

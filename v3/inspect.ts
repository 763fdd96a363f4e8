/**
 * A read-only window into the MVCC store for lessons and tests. etcd has no single counterpart:
 * it gathers what `etcdctl` and etcd's debugging tools (`bbolt`'s page dump, the keyIndex's
 * String method in `mvcc/key_index.go`) would show, so a lesson can print how a read works.
 *
 * The lesson this file exists for is `get foo --rev=66`, a read in two steps:
 *
 *   step 1  tree index  "foo" generations {empty} {60.0, 64.0, 70.0(t)}
 *                       newest revision ≤ 66 → 64.0 (created 60, version 2)
 *   step 2  backend     key 0000000000000040_0000000000000000 → foo=bar (create 60, mod 64, ver 2)
 *
 * Nothing here changes the store.
 */
import type { KeyValue } from "./rpc.js";
import type { KVStore } from "./kvstore.js";
import { describeKeyValue } from "./kvstore.js";
import type { Generation } from "./keyIndex.js";
import { KeyIndexGet } from "./keyIndex.js";
import type { Revision } from "./revision.js";
import { formatRevision, formatRevisionKey, revToBytes } from "./revision.js";
import { fromBinaryString, toBinaryString, utf8 } from "../shared/bytes.js";

/** A key's keyIndex, decoded. */
export interface KeyIndexView {
  readonly key: Uint8Array;
  readonly modified: Revision;
  /** Oldest first; the last one is empty when the key is deleted. */
  readonly generations: readonly Generation[];
  /** key_index.go's drawing, newest first: "{empty} {4.0, 5.0(t)} {1.0, 2.0, 3.0(t)}". */
  readonly diagram: string;
}

/** One key-bucket entry, decoded. */
export interface BackendEntryView {
  readonly revision: Revision;
  readonly tombstone: boolean;
  /** The bbolt key as hex: "0000000000000042_0000000000000000", with a trailing "t" for tombstones. */
  readonly revisionKey: string;
  readonly kv: KeyValue;
}

/** The two steps of a read at a revision. */
export interface GetTrace {
  readonly key: Uint8Array;
  /** The revision read at (the current one when 0 was asked). */
  readonly atRev: number;
  /** Why the read was refused before step 1, if it was. */
  readonly refused?: "compacted" | "future";
  /** Step 1: what the tree index answered. */
  readonly index: {
    readonly diagram: string;
    readonly found: boolean;
    readonly modified?: Revision;
    readonly created?: Revision;
    readonly version?: number;
  };
  /** Step 2: what the backend holds at that revision (absent when step 1 found nothing). */
  readonly backend?: { readonly revisionKey: string; readonly kv: KeyValue };
}

/** Read-only views of a KVStore's internals. */
export class StoreInspector {
  constructor(private readonly store: KVStore) {}

  /** The store's current revision. */
  currentRevision(): number {
    return this.store.currentRev;
  }

  /** The last compaction revision (−1 before any). */
  compactedRevision(): number {
    return this.store.compactMainRev;
  }

  /** Bytes the backend holds, per the size model in backend.ts. */
  backendSizeBytes(): number {
    return this.store.backend.sizeBytes;
  }

  /** A key's keyIndex, or undefined if the index has no entry for it. */
  keyIndex(key: Uint8Array | string): KeyIndexView | undefined {
    const keyIndex = this.store.index.keyIndex(toBinaryString(asBytes(key)));
    if (keyIndex === undefined) return undefined;
    return { key: fromBinaryString(keyIndex.key), modified: keyIndex.modified, generations: keyIndex.generations, diagram: keyIndex.toString() };
  }

  /** Every key the index holds (live or with history), in byte order. */
  indexedKeys(): Uint8Array[] {
    return this.store.index.keyIndexes().map((keyIndex) => fromBinaryString(keyIndex.key));
  }

  /** Key-bucket entries with fromMain ≤ main < toMain, in revision order. */
  backendEntries(fromMain = 0, toMain = Number.MAX_SAFE_INTEGER): BackendEntryView[] {
    return this.store.backend.entriesBetween(fromMain, toMain).map((entry) => ({
      revision: { main: entry.main, sub: entry.sub },
      tombstone: entry.tombstone,
      revisionKey: formatRevisionKey(entry.revisionKey),
      kv: entry.kv,
    }));
  }

  /**
   * How a read of `key` at `rev` (0: current) is answered, step by step. Follows the store's own
   * read path: the same revision checks, the same index lookup, the same backend lookup.
   */
  traceGet(key: Uint8Array | string, rev = 0): GetTrace {
    const bytes = asBytes(key);
    const store = this.store;
    const atRev = rev <= 0 ? store.currentRev : rev;
    const keyIndex = store.index.keyIndex(toBinaryString(bytes));
    const diagram = keyIndex?.toString() ?? "(not in the index)";
    if (atRev > store.currentRev) return { key: bytes, atRev, refused: "future", index: { diagram, found: false } };
    if (atRev < store.compactMainRev) return { key: bytes, atRev, refused: "compacted", index: { diagram, found: false } };
    const out = new KeyIndexGet();
    if (keyIndex === undefined || !keyIndex.get(atRev, out)) return { key: bytes, atRev, index: { diagram, found: false } };
    const modified = out.modified;
    const kv = store.backend.get(modified.main, modified.sub);
    return {
      key: bytes,
      atRev,
      index: { diagram, found: true, modified, created: out.created, version: out.ver },
      ...(kv === undefined ? {} : { backend: { revisionKey: formatRevisionKey(revToBytes(modified)), kv } }),
    };
  }
}

/** A trace as the lines a lesson prints. */
export function describeTrace(trace: GetTrace): string[] {
  const key = JSON.stringify(new TextDecoder().decode(trace.key));
  if (trace.refused !== undefined) return [`get ${key} --rev=${trace.atRev}: refused, revision is ${trace.refused}`];
  const lines = [`step 1  tree index  ${key} generations ${trace.index.diagram}`];
  if (!trace.index.found || trace.index.modified === undefined) {
    lines.push(`                    no version visible at ${trace.atRev} → not found`);
    return lines;
  }
  lines.push(
    `                    newest revision ≤ ${trace.atRev} → ${formatRevision(trace.index.modified)} ` +
      `(created ${trace.index.created?.main ?? 0}, version ${trace.index.version ?? 0})`,
  );
  if (trace.backend !== undefined) lines.push(`step 2  backend     key ${trace.backend.revisionKey} → ${describeKeyValue(trace.backend.kv)}`);
  return lines;
}

function asBytes(key: Uint8Array | string): Uint8Array {
  return typeof key === "string" ? utf8(key) : key;
}

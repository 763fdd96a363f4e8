/**
 * The common `Workload` built once per API on top of its client, so any adapter (in process or over
 * the network) gets it for free. Also the two error formatters every lesson table uses.
 *
 *   v2Workload(target.v2).compareAndSwap("/a", "1", "2")   → PUT /v2/keys/a prevValue=1 value=2
 *   v3Workload(target.v3).compareAndSwap("/a", "1", "2")   → Txn(If value("/a") = "1" Then put "/a" "2")
 */
import { CompareResult, CompareTarget, type KeyValue } from "../v3/rpc.js";
import { fromUtf8, utf8 } from "../shared/bytes.js";
import type {
  KvEntry,
  V2Client,
  V2ErrorBody,
  V2Node,
  V3Client,
  V3Status,
  Workload,
  WorkloadError,
  WorkloadOutcome,
} from "./workload.js";

/** v2 errors the way etcdctl v2 prints them: `101: Compare failed ([a != b]) [8]`. */
export function formatV2Error(error: V2ErrorBody): string {
  const cause = error.cause === undefined || error.cause === "" ? "" : ` (${error.cause})`;
  return `${error.errorCode}: ${error.message}${cause} [${error.index}]`;
}

/** v3 errors the way etcdctl v3 prints them: the gRPC message, `etcdserver: …`. */
export function formatV3Error(status: V3Status): string {
  return status.message;
}

export function v2Failure(error: V2ErrorBody): { ok: false; error: WorkloadError } {
  return { ok: false, error: { api: "v2", code: error.errorCode, text: formatV2Error(error) } };
}

export function v3Failure(status: V3Status): { ok: false; error: WorkloadError } {
  return { ok: false, error: { api: "v3", code: status.code, text: formatV3Error(status) } };
}

function ok<T>(value: T): WorkloadOutcome<T> {
  return { ok: true, value };
}

/** A v2 node as a `KvEntry` (files only). */
export function entryOfV2Node(node: V2Node): KvEntry {
  return { key: node.key ?? "/", value: node.value ?? "", created: node.createdIndex ?? 0, modified: node.modifiedIndex ?? 0 };
}

/** A v3 KeyValue as a `KvEntry`. */
export function entryOfKeyValue(kv: KeyValue): KvEntry {
  return { key: fromUtf8(kv.key), value: fromUtf8(kv.value), created: kv.create_revision, modified: kv.mod_revision, version: kv.version };
}

/** Every file (leaf) below a v2 node, depth first, in the order the node lists them. */
export function v2Leaves(node: V2Node): V2Node[] {
  if (node.dir !== true) return [node];
  return (node.nodes ?? []).flatMap(v2Leaves);
}

/**
 * The range end that makes [key, end) cover every key starting with `key` (clientv3 GetPrefixRangeEnd):
 * drop trailing 0xff bytes, add one to the last byte. "a" → "b", "a\xff" → "b", "\xff" → "\0" (from key).
 */
export function prefixEnd(key: Uint8Array): Uint8Array {
  const end = key.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

/** The common workload over the /v2/keys API. */
export function v2Workload(client: V2Client): Workload {
  return {
    api: "v2",
    counterName: "index",
    async put(key, value) {
      const answer = await client.set(key, value);
      return answer.ok ? ok(answer.value.etcdIndex) : v2Failure(answer.error);
    },
    async get(key) {
      const answer = await client.get(key);
      return answer.ok ? ok(entryOfV2Node(answer.value.node)) : v2Failure(answer.error);
    },
    async delete(key) {
      const answer = await client.delete(key, { recursive: true });
      return answer.ok ? ok(1) : v2Failure(answer.error);
    },
    async compareAndSwap(key, expected, next) {
      const answer = await client.set(key, next, { prevValue: expected });
      if (answer.ok) return ok(true);
      if (answer.error.errorCode === 101) return ok(false);
      return v2Failure(answer.error);
    },
  };
}

/** The common workload over the v3 KV and Lease services. */
export function v3Workload(client: V3Client): Workload {
  return {
    api: "v3",
    counterName: "revision",
    async put(key, value) {
      const answer = await client.put({ key: utf8(key), value: utf8(value) });
      return answer.ok ? ok(answer.value.header.revision) : v3Failure(answer.error);
    },
    async get(key) {
      const answer = await client.range({ key: utf8(key) });
      if (!answer.ok) return v3Failure(answer.error);
      const kv = answer.value.kvs[0];
      return ok(kv === undefined ? undefined : entryOfKeyValue(kv));
    },
    async delete(key) {
      const answer = await client.deleteRange({ key: utf8(key) });
      return answer.ok ? ok(answer.value.deleted) : v3Failure(answer.error);
    },
    async compareAndSwap(key, expected, next) {
      const answer = await client.txn({
        compare: [{ result: CompareResult.EQUAL, target: CompareTarget.VALUE, key: utf8(key), value: utf8(expected) }],
        success: [{ request_put: { key: utf8(key), value: utf8(next) } }],
      });
      return answer.ok ? ok(answer.value.succeeded) : v3Failure(answer.error);
    },
  };
}

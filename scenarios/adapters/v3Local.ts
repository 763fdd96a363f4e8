/**
 * The in-process v3 adapter: a `V3Client` over an `EtcdServer` (v3/etcdServer.ts), the way etcd's
 * gRPC services (`etcdserver/api/v3rpc/key.go`, `lease.go`, `watch.go`) sit over the server.
 *
 * Each call goes to the server's public API; an `RpcError` comes back as the gRPC status a client
 * would see, `{code, message}`. Watch streams are the server's own `ServerWatchStream`s: responses
 * wait in the stream until the lesson takes them, as they would wait in a gRPC client's buffer.
 *
 * Time: `tickV3Server` runs the server's timers (lease expiry, watcher catch-up, victims) every
 * 100 ms of simulated time, etcd's `syncWatchersLoop` period.
 */
import type { SimulatedClock } from "../../shared/clock.js";
import { fromUtf8, toBinaryString } from "../../shared/bytes.js";
import { RpcError } from "../../v3/errors.js";
import type { EtcdServer } from "../../v3/etcdServer.js";
import type { ServerWatchStream } from "../../v3/watchServer.js";
import { KeyIndexGet } from "../../v3/keyIndex.js";
import { formatRevision } from "../../v3/revision.js";
import { KVStore } from "../../v3/kvstore.js";
import type { WatchRequest, WatchResponse } from "../../v3/rpc.js";
import type { SlowWatchStream, TraceStep, V3Client, V3Internals, V3Outcome, V3WatchStream } from "../workload.js";

/** etcd's watchable store syncs unsynced watchers every 100 ms (`syncWatchersLoop`). */
export const V3_TICK_INTERVAL_MS = 100;

function attempt<T>(call: () => T): V3Outcome<T> {
  try {
    return { ok: true, value: call() };
  } catch (error) {
    if (error instanceof RpcError) return { ok: false, error: { code: error.code, message: error.message } };
    throw error;
  }
}

class LocalV3WatchStream implements V3WatchStream {
  constructor(private readonly stream: ServerWatchStream) {}
  async send(request: WatchRequest): Promise<void> {
    this.stream.recv(request);
  }
  async take(): Promise<WatchResponse[]> {
    return this.stream.take();
  }
  async close(): Promise<void> {
    this.stream.close();
  }
}

export class V3LocalClient implements V3Client {
  constructor(private readonly server: EtcdServer) {}
  async range(request: Parameters<EtcdServer["range"]>[0]) {
    return attempt(() => this.server.range(request));
  }
  async put(request: Parameters<EtcdServer["put"]>[0]) {
    return attempt(() => this.server.put(request));
  }
  async deleteRange(request: Parameters<EtcdServer["deleteRange"]>[0]) {
    return attempt(() => this.server.deleteRange(request));
  }
  async txn(request: Parameters<EtcdServer["txn"]>[0]) {
    return attempt(() => this.server.txn(request));
  }
  async compact(request: Parameters<EtcdServer["compact"]>[0]) {
    return attempt(() => this.server.compact(request));
  }
  async leaseGrant(request: Parameters<EtcdServer["leaseGrant"]>[0]) {
    return attempt(() => this.server.leaseGrant(request));
  }
  async leaseRevoke(request: Parameters<EtcdServer["leaseRevoke"]>[0]) {
    return attempt(() => this.server.leaseRevoke(request));
  }
  async leaseKeepAliveOnce(request: Parameters<EtcdServer["leaseKeepAlive"]>[0]) {
    return attempt(() => this.server.leaseKeepAlive(request));
  }
  async leaseTimeToLive(request: Parameters<EtcdServer["leaseTimeToLive"]>[0]) {
    return attempt(() => this.server.leaseTimeToLive(request));
  }
  async leaseLeases() {
    return attempt(() => this.server.leaseLeases());
  }
  async watch(): Promise<V3WatchStream> {
    return new LocalV3WatchStream(this.server.watch());
  }
  async status() {
    return attempt(() => this.server.status());
  }
}

/**
 * The server's timers on the simulated clock (lease expiry every 500 ms, watcher catch-up and
 * victims, progress notify), run by `EtcdServer.tick` every 100 ms of simulated time. Returns the
 * handle that stops them.
 */
export function startV3Ticks(server: EtcdServer, clock: SimulatedClock): () => void {
  return clock.every(V3_TICK_INTERVAL_MS, () => {
    server.tick(clock.now());
  });
}

/** Views only the in-process server has, read through its public fields. */
export function v3LocalInternals(server: EtcdServer): V3Internals {
  return {
    traceRange(key, revision) {
      return traceV3Range(server, key, revision);
    },
    backendSize() {
      return { revisions: server.backend.entries, bytes: server.backend.sizeBytes };
    },
    watcherGroups() {
      return server.watcherGroups();
    },
    syncWatchersOnce() {
      return server.syncWatchers();
    },
    compactRevision() {
      return server.kv.compactMainRev;
    },
    restartFromBackend() {
      const restarted = new KVStore({ backend: server.backend });
      return { revision: restarted.rev(), keys: restarted.index.size, entriesScanned: server.backend.entries };
    },
    openSlowStream(): SlowWatchStream {
      const stream = server.watch(undefined, { autoPump: false });
      return {
        async send(request) {
          stream.recv(request);
        },
        async take() {
          return stream.take();
        },
        async close() {
          stream.close();
        },
        read(max = Number.POSITIVE_INFINITY) {
          return stream.pump(max);
        },
      };
    },
  };
}

/**
 * A range on one key, in the two steps mvcc takes (`kvstore_txn.go` rangeKeys), read from the
 * server's own structures:
 *   1. the in-memory index (`kv.index`, a B-tree of keyIndex) maps the key to the revision
 *      visible at `rev` (keyIndex.get walks the generations);
 *   2. the backend's key bucket, keyed by revision, holds the KeyValue stored at that revision.
 */
function traceV3Range(server: EtcdServer, key: Uint8Array, revision: number): TraceStep[] {
  const steps: TraceStep[] = [];
  const rev = revision > 0 ? revision : server.kv.rev();
  const name = fromUtf8(key);
  steps.push({ layer: "request", detail: `range "${name}" at revision ${rev} (current ${server.kv.rev()})` });
  const indexKey = toBinaryString(key);
  const keyIndex = server.kv.index.keyIndex(indexKey);
  if (keyIndex === undefined) {
    steps.push({ layer: "index", detail: `B-tree lookup of "${name}" (one of ${server.kv.index.size} keys): not there; the backend is not read` });
    return steps;
  }
  steps.push({ layer: "index", detail: `B-tree lookup of "${name}" (one of ${server.kv.index.size} keys) → keyIndex with generations ${keyIndex.toString()}` });
  const found = new KeyIndexGet();
  if (!server.kv.index.get(indexKey, rev, found)) {
    steps.push({ layer: "index", detail: `no version visible at ${rev} (deleted, or not yet created): the backend is not read` });
    return steps;
  }
  steps.push({ layer: "index", detail: `keyIndex.get(${rev}) → revision ${formatRevision(found.modified)}, created ${formatRevision(found.created)}, version ${found.ver}` });
  const kv = server.backend.get(found.modified.main, found.modified.sub);
  steps.push({
    layer: "backend",
    detail: `key bucket get ${bucketKey(found.modified.main, found.modified.sub)} (8-byte main, '_', 8-byte sub) → KeyValue{value "${fromUtf8(kv?.value ?? new Uint8Array())}", create_revision ${kv?.create_revision}, mod_revision ${kv?.mod_revision}, version ${kv?.version}}`,
  });
  return steps;
}

function bucketKey(main: number, sub: number): string {
  return `${main.toString(16).padStart(16, "0")}_${sub.toString(16).padStart(16, "0")}`;
}

/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/maintenance.go` (`maintenanceServer`): each RPC is
 * a call to the EtcdServer method of the same name (the logic lives there and in hash.ts, alarm
 * handling, backend.ts).
 *
 *   Status {}                 → {header, version: "3.4.23", dbSize, leader, raftIndex, …}
 *   Hash {} / HashKV {rev}    → {header, hash} / {header, hash, compact_revision}
 *   Defragment, Alarm, MoveLeader → answers without a header (etcd's quirk)
 *   Snapshot {}               → a server stream: the backend in 32 KiB chunks, then its SHA-256
 *
 * Snapshot honours flow control: each chunk is written only once grpc-js has room (a client that
 * reads slowly holds the stream, not the server's memory beyond one image).
 */
import type { ServerWritableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../etcdServer.js";
import type { AlarmRequest, HashKVRequest, MoveLeaderRequest, SnapshotResponse } from "../rpc.js";
import { serverStream, unary } from "./util.js";

/** The Maintenance service's handlers, keyed by method name. */
export function maintenanceServer(server: EtcdServer): UntypedServiceImplementation {
  return {
    Status: unary(() => server.status()),
    Hash: unary(() => server.hash()),
    HashKV: unary((request: HashKVRequest) => server.hashKV(request)),
    Defragment: unary(() => server.defragment()),
    Alarm: unary((request: AlarmRequest) => server.alarm(request)),
    MoveLeader: unary((request: MoveLeaderRequest) => server.moveLeader(request)),
    Snapshot: serverStream((_request: unknown, call: ServerWritableStream<unknown, SnapshotResponse>) => {
      const chunks = server.snapshot();
      let next = 0;
      const send = (): void => {
        while (next < chunks.length && !call.destroyed) {
          const ok = call.write(chunks[next++] as SnapshotResponse);
          if (!ok) {
            call.once("drain", send);
            return;
          }
        }
        if (next >= chunks.length && !call.destroyed) call.end();
      };
      send();
    }),
  };
}

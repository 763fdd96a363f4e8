/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/watch.go` (`watchServer.Watch`): one
 * bidirectional gRPC stream per `Watch` call, carrying many watchers. The stream logic itself
 * (create, cancel, progress, prev_kv, compaction) is `v3/watchServer.ts`, shared with the JSON
 * gateway; this file only connects it to grpc-js.
 *
 * Flow control is the gRPC stream's: control answers (created, canceled, progress) are written at
 * once; event responses wait in the store's 128-slot channel and move to the wire one at a time
 * while grpc-js accepts more (`write()` returns true). A client that stops reading fills HTTP/2's
 * window, then grpc-js's buffer, then the channel, and the store turns its watchers into victims,
 * exactly as etcd's sendLoop blocked on a full window does. Other streams are not held up.
 *
 *   → {create_request: {key: "foo"}}   ← {header: {revision: 9}, watch_id: 0, created: true}
 *   put foo 5                          ← {header: {revision: 10}, watch_id: 0, events: [PUT foo]}
 *   client ends sending                  the stream stays open for events (etcd's recvLoop returns nil on EOF)
 *   client cancels the call              every watcher of the stream is cancelled
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../etcdServer.js";
import type { WatchRequest, WatchResponse } from "../rpc.js";
import { bidi } from "./util.js";

/** The Watch service's handler. */
export function watchServer(server: EtcdServer): UntypedServiceImplementation {
  return {
    Watch: bidi((call: ServerDuplexStream<WatchRequest, WatchResponse>) => {
      const stream = server.watch((response) => call.write(response), { autoPump: false });
      // The send loop: move events out while grpc-js has room, then wait for 'drain'.
      const pump = (): void => {
        while (!call.writableNeedDrain && !call.destroyed && stream.pump(1) > 0) {
          // one response per turn, re-checking the stream's buffer each time
        }
      };
      stream.watchStream.ch.onSend = pump;
      call.on("drain", pump);
      return {
        recv: (request) => {
          stream.recv(request);
          pump();
        },
        closeSend: () => {},
        close: () => stream.close(),
      };
    }),
  };
}

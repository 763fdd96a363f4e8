/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/lease.go` (`LeaseServer`): grant, revoke,
 * time-to-live and the list as unary calls, and the keep-alive stream.
 *
 * The keep-alive stream answers each request with one response, in order, on the same stream:
 *
 *   → {ID: 7}            ← {header, ID: 7, TTL: 60}
 *   → {ID: 8} (unknown)  ← {header, ID: 8, TTL: 0}       not an error: TTL 0 says "not found"
 *   client ends sending  → the server ends the stream with OK (etcd: recvLoop's io.EOF)
 */
import type { ServerDuplexStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../etcdServer.js";
import type {
  LeaseGrantRequest,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseRevokeRequest,
  LeaseTimeToLiveRequest,
} from "../rpc.js";
import { bidi, unary } from "./util.js";

/** The Lease service's handlers, keyed by method name. */
export function leaseServer(server: EtcdServer): UntypedServiceImplementation {
  return {
    LeaseGrant: unary((request: LeaseGrantRequest) => server.leaseGrant(request)),
    LeaseRevoke: unary((request: LeaseRevokeRequest) => server.leaseRevoke(request)),
    LeaseTimeToLive: unary((request: LeaseTimeToLiveRequest) => server.leaseTimeToLive(request)),
    LeaseLeases: unary(() => server.leaseLeases()),
    LeaseKeepAlive: bidi((call: ServerDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse>) => ({
      recv: (request) => {
        call.write(server.leaseKeepAlive(request));
      },
      closeSend: () => call.end(),
      close: () => {},
    })),
  };
}

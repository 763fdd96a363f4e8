/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/grpc.go` (`Server`): builds the gRPC server with
 * etcd's limits and registers every service etcd 3.4 serves on the client port.
 *
 *   service                      handlers                 file
 *   etcdserverpb.KV              Range Put DeleteRange Txn Compact   key.ts
 *   etcdserverpb.Watch           Watch (bidirectional)    watch.ts
 *   etcdserverpb.Lease           LeaseGrant … LeaseKeepAlive (bidirectional)   lease.ts
 *   etcdserverpb.Cluster         MemberList MemberAdd MemberRemove MemberUpdate MemberPromote   member.ts
 *   etcdserverpb.Maintenance     Status Hash HashKV Defragment Alarm Snapshot (stream) MoveLeader   maintenance.ts
 *   v3electionpb.Election        Campaign Proclaim Leader Observe (stream) Resign   election.ts (embed/serve.go)
 *   v3lockpb.Lock                Lock Unlock              lock.ts (embed/serve.go)
 *   grpc.health.v1.Health        Check, Watch             here (etcd registers grpc-go's health server)
 *
 * Limits (grpc.md §1.1, §3.3):
 *   receive  --max-request-bytes + 512 KiB = 2,097,152 bytes by default; past it code 8
 *            "grpc: received message larger than max (N vs. 2097152)" (checked in codec.ts, so the
 *            text is grpc-go's; grpc-js itself stops messages past 4× that with its own text)
 *   send     2^31 − 1 bytes
 *   streams  --max-concurrent-streams per connection (etcd's default 2^32 − 1, HTTP/2's "unlimited")
 *
 * Methods in the loaded rpc.proto that etcd 3.4 does not have (the `etcd3` package ships a 3.5-era
 * file with Auth.AuthStatus and Maintenance.Downgrade) answer as etcd 3.4's grpc-go does:
 *   code 12 "unknown method AuthStatus for service etcdserverpb.Auth".
 */
import { Metadata, Server, type handleUnaryCall, type ServerInterceptor, type ServerOptions, type ServerWritableStream, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { GrpcCode, RpcError } from "../errors.js";
import type { V3Api, V3AuthApi } from "../gateway.js";
import { ProtoRegistry } from "./codec.js";
import { kvServer } from "./key.js";
import { leaseServer } from "./lease.js";
import { electionServer } from "./election.js";
import { lockServer } from "./lock.js";
import { maintenanceServer } from "./maintenance.js";
import { clusterServer } from "./member.js";
import { authServer } from "./auth.js";
import { serverStream, unary } from "./util.js";
import { watchServer } from "./watch.js";

/** etcd's default `--max-request-bytes` (1.5 MiB). */
export const DEFAULT_MAX_REQUEST_BYTES = 1_572_864;
/** etcd's `grpcOverheadBytes`: room for the gRPC envelope above --max-request-bytes. */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** etcd's `maxSendBytes` (math.MaxInt32). */
export const MAX_SEND_BYTES = 2 ** 31 - 1;
/** etcd's default `--max-concurrent-streams` (math.MaxUint32). */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 2 ** 32 - 1;

/** The flags that shape the gRPC server. */
export interface GrpcLimits {
  /** --max-request-bytes (default 1,572,864). */
  readonly maxRequestBytes?: number;
  /** --max-concurrent-streams (default 2^32 − 1). */
  readonly maxConcurrentStreams?: number;
}

/** The methods etcd 3.4 lacks but the loaded (3.5-era) rpc.proto declares. */
const NOT_IN_ETCD_34: ReadonlyArray<readonly [service: string, method: string]> = [
  ["etcdserverpb.Auth", "AuthStatus"],
  ["etcdserverpb.Maintenance", "Downgrade"],
];

/** grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING */
const SERVING = 1;

/** The .proto files, loaded (each call reads them again: a server loads them once, at start). */
export function protoRegistry(): ProtoRegistry {
  return new ProtoRegistry();
}

/** The server's receive limit for a --max-request-bytes value. */
export function maxReceiveBytes(limits: GrpcLimits = {}): number {
  return (limits.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES) + GRPC_OVERHEAD_BYTES;
}

/**
 * etcd's `v3rpc.Server`, first half: a grpc-js server with etcd's limits. It is not bound to a
 * port: connections are injected (server/cmux.ts). `registerV3Services` adds the services.
 * `interceptors` may watch calls go by; they must not change them.
 */
export function newGrpcServer(limits: GrpcLimits = {}, interceptors: readonly ServerInterceptor[] = []): Server {
  const receiveBytes = maxReceiveBytes(limits);
  const options: ServerOptions = {
    // Observers only (the classroom's request log); none by default.
    ...(interceptors.length === 0 ? {} : { interceptors: [...interceptors] }),
    "grpc.max_receive_message_length": receiveBytes * 4,
    "grpc.max_send_message_length": MAX_SEND_BYTES,
    "grpc.max_concurrent_streams": Math.min(limits.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS, 2 ** 32 - 1),
  };
  return new Server(options);
}

/** Registers the services of the table above on `grpcServer`. */
export function registerV3Services(grpcServer: Server, server: V3Api & V3AuthApi, limits: GrpcLimits = {}): void {
  const receiveBytes = maxReceiveBytes(limits);
  const registry = protoRegistry();
  const add = (service: string, implementation: UntypedServiceImplementation): void => {
    const definition = registry.serviceDefinition(service, receiveBytes);
    for (const [svc, method] of NOT_IN_ETCD_34) {
      if (svc === service) implementation[method] = unknownMethod(service, method);
    }
    // Only the methods given: the rest answer grpc-js's Unimplemented.
    const present = Object.fromEntries(Object.entries(definition).filter(([name]) => implementation[name] !== undefined));
    grpcServer.addService(present, implementation);
  };
  add("etcdserverpb.KV", kvServer(server));
  add("etcdserverpb.Watch", watchServer(server));
  add("etcdserverpb.Lease", leaseServer(server));
  add("etcdserverpb.Cluster", clusterServer(server));
  add("etcdserverpb.Maintenance", maintenanceServer(server));
  add("v3electionpb.Election", electionServer(server));
  add("v3lockpb.Lock", lockServer(server));
  add("etcdserverpb.Auth", authServer(server));
  add("grpc.health.v1.Health", healthServer());
}

/** grpc-go's answer for a method its registered service does not have. */
function unknownMethod(service: string, method: string): handleUnaryCall<unknown, unknown> {
  return (_call, callback) => callback({ code: GrpcCode.Unimplemented, details: `unknown method ${method} for service ${service}`, metadata: new Metadata() });
}

/**
 * grpc-go's health server as etcd 3.4 registers it: the empty service name is SERVING; any other
 * name is code 5 "unknown service". Watch sends the status once and stays open.
 */
function healthServer(): UntypedServiceImplementation {
  return {
    Check: unary((request: { service: string }) => {
      if (request.service !== "") throw new RpcError(GrpcCode.NotFound, "unknown service");
      return { status: SERVING };
    }),
    Watch: serverStream((request: { service: string }, call: ServerWritableStream<{ service: string }, { status: number }>) => {
      // grpc-go answers SERVICE_UNKNOWN (3) for a name it does not know, and keeps the stream open.
      call.write({ status: request.service === "" ? SERVING : 3 });
    }),
  };
}

/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/maintenance.go` (`maintenanceServer`): Status
 * (and, as the server grows them, Hash, HashKV, Defragment, Alarm, Snapshot, MoveLeader), each a
 * call to the EtcdServer method of the same name.
 *
 *   /etcdserverpb.Maintenance/Status {} → {header, version: "3.4.23", dbSize, leader, raftIndex, …}
 */
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../etcdServer.js";
import { unary } from "./util.js";

/** The Maintenance service's handlers, keyed by method name. */
export function maintenanceServer(server: EtcdServer): UntypedServiceImplementation {
  return {
    Status: unary(() => server.status()),
  };
}

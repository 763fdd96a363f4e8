/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/member.go` (`ClusterServer`): the Cluster service,
 * one EtcdServer call per RPC (cluster.ts holds what a single member accepts).
 *
 *   MemberList {}                     → {header (no revision), members: [{ID, name, peerURLs, clientURLs}]}
 *   MemberRemove {ID: self}           → code 2 "etcdserver: re-configuration failed due to not enough started members"
 *   MemberPromote {ID: a voter}       → code 9 "etcdserver: can only promote a learner member"
 */
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../etcdServer.js";
import type { MemberAddRequest, MemberPromoteRequest, MemberRemoveRequest, MemberUpdateRequest } from "../rpc.js";
import { unary } from "./util.js";

/** The Cluster service's handlers, keyed by method name. */
export function clusterServer(server: EtcdServer): UntypedServiceImplementation {
  return {
    MemberList: unary(() => server.memberList()),
    MemberAdd: unary((request: MemberAddRequest) => server.memberAdd(request)),
    MemberRemove: unary((request: MemberRemoveRequest) => server.memberRemove(request)),
    MemberUpdate: unary((request: MemberUpdateRequest) => server.memberUpdate(request)),
    MemberPromote: unary((request: MemberPromoteRequest) => server.memberPromote(request)),
  };
}

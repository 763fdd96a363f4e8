/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/member.go` (`ClusterServer`): the Cluster service,
 * one EtcdServer call per RPC (cluster.ts holds what a single member accepts).
 *
 *   MemberList {}                     → {header (no revision), members: [{ID, name, peerURLs, clientURLs}]}
 *   MemberRemove {ID: self}           → code 2 "etcdserver: re-configuration failed due to not enough started members"
 *   MemberPromote {ID: a voter}       → code 9 "etcdserver: can only promote a learner member"
 */
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { V3Api } from "../gateway.js";
import type { MemberAddRequest, MemberPromoteRequest, MemberRemoveRequest, MemberUpdateRequest } from "../rpc.js";
import { unary } from "./util.js";
import { callContext } from "./auth.js";

/** The Cluster service's handlers, keyed by method name. */
export function clusterServer(server: V3Api): UntypedServiceImplementation {
  return {
    MemberList: unary(() => server.memberList()),
    MemberAdd: unary((request: MemberAddRequest, call) => server.memberAdd(request, callContext(call))),
    MemberRemove: unary((request: MemberRemoveRequest, call) => server.memberRemove(request, callContext(call))),
    MemberUpdate: unary((request: MemberUpdateRequest, call) => server.memberUpdate(request, callContext(call))),
    MemberPromote: unary((request: MemberPromoteRequest, call) => server.memberPromote(request, callContext(call))),
  };
}

/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3election/election.go` (`electionServer`) as registered
 * on the client port by `embed/serve.go`: the Election service, whose logic is v3/v3election.ts.
 *
 *   Campaign {name, lease, value}  waits until leader → {header, leader: {name, key, rev, lease}}
 *   Leader {name}                  → {header, kv} or code 2 "election: no leader"
 *   Observe {name}                 a server stream: the leader's kv now, then one message per change
 *   Proclaim, Resign               → {header}
 */
import type { ServerUnaryCall, ServerWritableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../etcdServer.js";
import type { CampaignRequest, LeaderRequest, LeaderResponse, ProclaimRequest, ResignRequest } from "../v3election.js";
import { callSignal, serverStream, unary } from "./util.js";

/** The Election service's handlers, keyed by method name. */
export function electionServer(server: EtcdServer): UntypedServiceImplementation {
  return {
    Campaign: unary((request: CampaignRequest, call: ServerUnaryCall<CampaignRequest, unknown>) => server.campaign(request, callSignal(call))),
    Proclaim: unary((request: ProclaimRequest) => server.proclaim(request)),
    Leader: unary((request: LeaderRequest) => server.leader(request)),
    Resign: unary((request: ResignRequest) => server.resign(request)),
    Observe: serverStream(async (request: LeaderRequest, call: ServerWritableStream<LeaderRequest, LeaderResponse>) => {
      await server.observe(request, (response) => call.write(response), callSignal(call));
      if (!call.destroyed) call.end();
    }),
  };
}

/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/key.go` (`kvServer`): the KV service. Each method
 * hands the decoded request to the same V3Api method the JSON gateway calls (EtcdServer in memory,
 * LoggedV3Api with a data dir, whose writes go through the WAL first); the request
 * checks (`checkRangeRequest`, `checkTxnRequest`, …) and the header fill happen there, so gRPC and
 * the gateway cannot disagree.
 *
 *   /etcdserverpb.KV/Put   {key: "foo", value: "bar"}  → {header: {…, revision: 2}}
 *   /etcdserverpb.KV/Range {key: ""}                    → code 3 "etcdserver: key is not provided"
 */
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { V3Api } from "../gateway.js";
import type { CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest } from "../rpc.js";
import { unary } from "./util.js";
import { callContext } from "./auth.js";

/** The KV service's handlers, keyed by method name. */
export function kvServer(server: V3Api): UntypedServiceImplementation {
  return {
    Range: unary((request: RangeRequest, call) => server.range(request, callContext(call))),
    Put: unary((request: PutRequest, call) => server.put(request, callContext(call))),
    DeleteRange: unary((request: DeleteRangeRequest, call) => server.deleteRange(request, callContext(call))),
    Txn: unary((request: TxnRequest, call) => server.txn(request, callContext(call))),
    Compact: unary((request: CompactionRequest, call) => server.compact(request, callContext(call))),
  };
}

/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/key.go` (`kvServer`): the KV service. Each method
 * hands the decoded request to the same EtcdServer method the JSON gateway calls; the request
 * checks (`checkRangeRequest`, `checkTxnRequest`, …) and the header fill happen there, so gRPC and
 * the gateway cannot disagree.
 *
 *   /etcdserverpb.KV/Put   {key: "foo", value: "bar"}  → {header: {…, revision: 2}}
 *   /etcdserverpb.KV/Range {key: ""}                    → code 3 "etcdserver: key is not provided"
 */
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../etcdServer.js";
import type { CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest } from "../rpc.js";
import { unary } from "./util.js";

/** The KV service's handlers, keyed by method name. */
export function kvServer(server: EtcdServer): UntypedServiceImplementation {
  return {
    Range: unary((request: RangeRequest) => server.range(request)),
    Put: unary((request: PutRequest) => server.put(request)),
    DeleteRange: unary((request: DeleteRangeRequest) => server.deleteRange(request)),
    Txn: unary((request: TxnRequest) => server.txn(request)),
    Compact: unary((request: CompactionRequest) => server.compact(request)),
  };
}

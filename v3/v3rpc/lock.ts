/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3lock/lock.go` (`lockServer`) as registered on the client
 * port by `embed/serve.go`: the Lock service, whose logic is v3/v3lock.ts.
 *
 *   Lock {name: "mylock"}   waits until held → {header, key: "mylock/1822a23f1dc7a019"}
 *   the caller goes away while waiting      → its waiting key is deleted (the call's signal aborts)
 *   Unlock {key}                            → {header}
 */
import type { ServerUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../etcdServer.js";
import type { LockRequest, UnlockRequest } from "../v3lock.js";
import { callSignal, unary } from "./util.js";

/** The Lock service's handlers, keyed by method name. */
export function lockServer(server: EtcdServer): UntypedServiceImplementation {
  return {
    Lock: unary((request: LockRequest, call: ServerUnaryCall<LockRequest, unknown>) => server.lock(request, callSignal(call))),
    Unlock: unary((request: UnlockRequest) => server.unlock(request)),
  };
}

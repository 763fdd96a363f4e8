/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/auth.go` (`AuthServer`) and the metadata reading
 * of `auth/store.go` `AuthInfoFromCtx` / `AuthInfoFromTLS`: the Auth service, and the credentials
 * every other service passes on to EtcdServer.
 *
 *   metadata token: "iUOrzrPgYUdBWJUC.247"        → the token
 *   metadata authorization: "…" (no `token`)      → the same token (what the gateway forwards)
 *   no token, --client-cert-auth, cert CN "alice" → user alice (EtcdServer decides, see authInfoFromCtx)
 *
 *   /etcdserverpb.Auth/UserAdd {name: "root", password: "pw"} → {header}
 *   /etcdserverpb.Auth/Authenticate {name: "root", password: "pw"} → {header, token}
 */
import type { handleUnaryCall, Metadata, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { CallContext } from "../etcdServer.js";
import type { V3AuthApi, V3AuthMethod } from "../gateway.js";
import { unary } from "./util.js";

/** The parts of a grpc-js call that carry credentials. */
interface CallWithCredentials {
  readonly metadata: Metadata;
  getAuthContext(): { sslPeerCertificate?: { subject?: { CN?: string | string[] } } };
}

/** The credentials of one call: first `token`, else `authorization` metadata, and the TLS peer's CN. */
export function callContext(call: CallWithCredentials): CallContext {
  const first = (key: string): string | undefined => {
    const value = call.metadata.get(key)[0];
    return typeof value === "string" ? value : undefined;
  };
  const token = first("token");
  const authorization = first("authorization");
  const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN;
  const commonName = Array.isArray(cn) ? cn[0] : cn;
  return {
    ...(token === undefined ? {} : { token }),
    ...(authorization === undefined ? {} : { authorization }),
    ...(commonName === undefined ? {} : { commonName }),
  };
}

/** The Auth service's handlers, keyed by method name. */
export function authServer(server: V3AuthApi): UntypedServiceImplementation {
  /** Each method: the request and the call's credentials go to the server method of that name. */
  const method = (name: V3AuthMethod): handleUnaryCall<unknown, unknown> =>
    unary((request: unknown, call) => (server[name] as (r: unknown, c: CallContext) => unknown).call(server, request, callContext(call))) as handleUnaryCall<unknown, unknown>;
  return {
    AuthEnable: method("authEnable"),
    AuthDisable: method("authDisable"),
    Authenticate: method("authenticate"),
    UserAdd: method("userAdd"),
    UserGet: method("userGet"),
    UserList: method("userList"),
    UserDelete: method("userDelete"),
    UserChangePassword: method("userChangePassword"),
    UserGrantRole: method("userGrantRole"),
    UserRevokeRole: method("userRevokeRole"),
    RoleAdd: method("roleAdd"),
    RoleGet: method("roleGet"),
    RoleList: method("roleList"),
    RoleDelete: method("roleDelete"),
    RoleGrantPermission: method("roleGrantPermission"),
    RoleRevokePermission: method("roleRevokePermission"),
  };
}

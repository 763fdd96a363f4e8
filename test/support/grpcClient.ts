/**
 * etcdsim only: a plain grpc-js client for etcd's services, built from the same `.proto` files the
 * server loads (v3rpc/grpc.ts `protoRegistry`). Tests and benchmarks speak to etcdsim and to a real
 * etcd through it, so the two are driven byte for byte alike.
 *
 *   const kv = grpcClient("etcdserverpb.KV", "127.0.0.1:2379");
 *   const answer = await grpcCall<PutResponse>(kv, "Put", { key: utf8("foo"), value: utf8("bar") });
 */
import { credentials, makeGenericClientConstructor, Metadata, type ChannelCredentials, type Client, type ServiceError } from "@grpc/grpc-js";
import { protoRegistry } from "../../v3/v3rpc/grpc.js";

/** A grpc-js client class for one of the loaded services, e.g. "etcdserverpb.KV". */
export function grpcClientClass(service: string): new (address: string, creds: ChannelCredentials, options?: object) => Client {
  return makeGenericClientConstructor(protoRegistry().serviceDefinition(service, 2 ** 31 - 1), service) as never;
}

/** A client on a channel of its own (no shared subchannel pool), insecure unless `creds` says otherwise. */
export function grpcClient(service: string, address: string, creds: ChannelCredentials = credentials.createInsecure(), options: object = {}): Client {
  const Constructor = grpcClientClass(service);
  return new Constructor(address, creds, { "grpc.use_local_subchannel_pool": 1, ...options });
}

type UnaryMethod = (request: object, metadata: Metadata, callback: (error: ServiceError | null, response?: unknown) => void) => void;

/** One unary call; rejects with the ServiceError (code, details) the server answered. */
export function grpcCall<T>(client: Client, method: string, request: object, metadata = new Metadata()): Promise<T> {
  return new Promise((resolve, reject) => {
    const handler = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
    if (handler === undefined) {
      reject(new Error(`no method ${method}`));
      return;
    }
    handler.call(client, request, metadata, (error, response) => (error === null ? resolve(response as T) : reject(error)));
  });
}

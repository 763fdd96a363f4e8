/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3rpc/util.go` (`togRPCError`) and the shape every
 * handler in `v3rpc/` shares: decode, call the server, encode, or answer a gRPC status.
 *
 * One table turns what the server throws into what the client reads (`toRpcError` in errors.ts is
 * that table; this file puts its result on the wire):
 *
 *   server throws                        client reads (code, details)
 *   CompactedError / RpcCompactedError   11  "etcdserver: mvcc: required revision has been compacted"
 *   LeaseNotFoundError                    5  "etcdserver: requested lease not found"
 *   an error outside the catalogue        2  its own text (grpc-go's answer for a plain Go error)
 *   InvariantViolation (a bug)           13  logged on stderr; the server keeps serving
 *
 * and the transport's own refusals, found while decoding (codec.ts `WireError`):
 *
 *   a message over the receive limit      8  "grpc: received message larger than max (2200010 vs. 2097152)"
 *   bytes that are not the message       13  "grpc: error unmarshalling request: unexpected EOF"
 */
import type {
  handleBidiStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  StatusObject,
} from "@grpc/grpc-js";
import { Metadata } from "@grpc/grpc-js";
import { GrpcCode, InvariantViolation, toRpcError } from "../errors.js";
import { WireError } from "./codec.js";

/** A gRPC status as grpc-js sends it. */
export type GrpcStatus = Pick<StatusObject, "code" | "details" | "metadata">;

/** etcd's `togRPCError`: any thrown value → the status the client reads (table above). */
export function togRPCError(error: unknown): GrpcStatus {
  if (error instanceof WireError) return status(error.code, error.message);
  if (error instanceof InvariantViolation) {
    process.stderr.write(`etcdsim: invariant violated in a gRPC handler: ${error.stack ?? error.message}\n`);
    return status(GrpcCode.Internal, error.message);
  }
  try {
    const rpcError = toRpcError(error);
    return status(rpcError.code, rpcError.message);
  } catch (bug) {
    return togRPCError(bug);
  }
}

function status(code: number, details: string): GrpcStatus {
  return { code, details, metadata: new Metadata() };
}

/**
 * A unary handler: the decoded request (or the decoder's WireError) in, the response out. The
 * handler may be async (Lock and Campaign wait); whatever it throws becomes a status.
 */
export function unary<Req, Res>(handle: (request: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>): handleUnaryCall<Req | WireError, Res> {
  return (call, callback) => {
    const request = call.request;
    if (request instanceof WireError) {
      callback(togRPCError(request));
      return;
    }
    let answer: Res | Promise<Res>;
    try {
      answer = handle(request, call as unknown as ServerUnaryCall<Req, Res>);
    } catch (error) {
      callback(togRPCError(error));
      return;
    }
    if (answer instanceof Promise) answer.then((response) => callback(null, response), (error: unknown) => callback(togRPCError(error)));
    else callback(null, answer);
  };
}

/** Ends a stream with a status (grpc-js sends the status when the stream emits 'error'). */
export function endStream(call: ServerDuplexStream<unknown, unknown> | ServerWritableStream<unknown, unknown>, error: unknown): void {
  if (call.destroyed || call.writableEnded) return;
  call.emit("error", togRPCError(error));
}

/**
 * A bidirectional handler: `open` builds the per-stream state and returns what to do with each
 * request and at the client's end of sending. A request that does not decode ends the stream with
 * its status, as grpc-go's RecvMsg error ends etcd's recvLoop.
 */
export function bidi<Req, Res>(
  open: (call: ServerDuplexStream<Req, Res>) => { recv(request: Req): void; closeSend(): void; close(): void },
): handleBidiStreamingCall<Req | WireError, Res> {
  return (call) => {
    const typed = call as unknown as ServerDuplexStream<Req, Res>;
    let session: ReturnType<typeof open>;
    try {
      session = open(typed);
    } catch (error) {
      endStream(call, error);
      return;
    }
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      session.close();
    };
    call.on("data", (request: Req | WireError) => {
      if (closed) return;
      if (request instanceof WireError) {
        close();
        endStream(call, request);
        return;
      }
      try {
        session.recv(request);
      } catch (error) {
        close();
        endStream(call, error);
      }
    });
    call.on("end", () => {
      if (!closed) session.closeSend();
    });
    call.on("cancelled", close);
    call.on("close", close);
    call.on("error", close);
  };
}

/** A server-streaming handler; what `start` throws ends the stream with its status. */
export function serverStream<Req, Res>(
  start: (request: Req, call: ServerWritableStream<Req, Res>) => void | Promise<void>,
): handleServerStreamingCall<Req | WireError, Res> {
  return (call) => {
    const request = call.request;
    if (request instanceof WireError) {
      endStream(call, request);
      return;
    }
    try {
      const done = start(request, call as unknown as ServerWritableStream<Req, Res>);
      if (done instanceof Promise) done.catch((error: unknown) => endStream(call, error));
    } catch (error) {
      endStream(call, error);
    }
  };
}

/** An AbortSignal that fires when the client cancels the call or goes away (etcd: the call's context). */
export function callSignal(call: { on(event: "cancelled", listener: () => void): unknown }): AbortSignal {
  const controller = new AbortController();
  call.on("cancelled", () => controller.abort());
  return controller.signal;
}

/**
 * Mirrors grpc-gateway v1's bidirectional-stream glue as etcd release-3.4 generates it
 * (`etcdserver/etcdserverpb/gw/rpc.pb.gw.go`: `request_Watch_Watch_0`, `request_Lease_LeaseKeepAlive_0`)
 * and `runtime.ForwardResponseStream`: one HTTP POST carries a whole gRPC stream.
 *
 * The request body is a sequence of JSON requests, read one at a time, in order, and handed to
 * the stream. Every message the stream sends back is written as one line, `{"result":{…}}\n`.
 *
 *   body:  {"create_request":{"key":"Zm9v"}}{"progress_request":{}}
 *   out:   200, Transfer-Encoding: chunked
 *          {"result":{"header":{…,"revision":"9",…},"created":true}}
 *          {"result":{"header":{…,"revision":"9",…},"watch_id":"-1"}}
 *          … later events, as long as the client keeps the connection open
 *
 * What happens on bad input (all checked against etcd 3.4.23):
 *   - the FIRST request does not decode        → 500 `{"error":…,"message":…,"code":2}`, nothing else:
 *                                                 the error never became a gRPC status, so it is Unknown (2);
 *   - a LATER request does not decode          → reading stops silently (the gateway half-closes the
 *                                                 stream); what was sent keeps its answers, a watch stays open;
 *   - an empty body                            → the stream is half-closed at once: a watch then sends
 *                                                 nothing, not even headers; a keep-alive stream ends
 *                                                 with an empty 200 (no Grpc-Metadata header);
 *   - the client disconnects                   → the stream is closed (a watch stream cancels its watchers).
 *
 * Quirk kept from Go's HTTP/1 server: on a connection it may reuse, it reads the rest of the request
 * body before it starts a response, so NOTHING is written until the client has finished sending
 * its body. A keep-alive client that keeps the body open sees no answer at all; `curl -d '…'` (a
 * complete body) sees everything at once, then live events. When the connection will not be reused
 * (the client sent `Connection: close`, or `Expect: 100-continue` as `curl -T -` does), Go answers
 * at once, with `Connection: close`, and the stream is truly two-way: requests written later on the
 * open body are read and answered as they come. Checked on etcd 3.4.23 with both kinds of client.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { GoJsonStream } from "./gatewayGoJson.js";
import { decodeRequest, encodeErrorBody, encodeStreamChunk, type RequestTypes } from "./gatewayJson.js";
import { GoJsonError } from "./gatewayGoText.js";

/** gRPC code Unknown: a first-request decode error is a plain Go error, not a gRPC status. */
const CODE_UNKNOWN = 2;

/**
 * True when Go's server will close the connection after this exchange (`Connection: close`, or
 * `Expect: 100-continue`), so it answers without first reading the rest of the request body.
 */
export function connectionWillClose(req: IncomingMessage): boolean {
  return (req.headers.expect ?? "").toLowerCase() === "100-continue" || /(^|,)\s*close\s*(,|$)/i.test(req.headers.connection ?? "");
}

/** The server half of one stream, as the gateway sees it. */
export interface StreamSession<Request> {
  /** One decoded request, in arrival order. */
  recv(request: Request): void;
  /** The client finished sending (body ended, or a later request did not decode). */
  closeSend(): void;
  /** The connection went away: release everything. */
  close(): void;
}

/**
 * What a stream may do with its HTTP response: send messages (already-encoded JSON), and finish.
 * `finish()` ends the response, as a gRPC server returning from its handler ends the stream.
 *
 * Flow control: `writable()` is false while the client is not taking what was sent (the socket's
 * buffer is full) and, by the quirk above, until the request body has ended. A sender that can wait
 * (the watch stream's event channel) stops then and resumes when `onWritable` fires, so a client
 * that stops reading backs up into etcd's 128-slot channel and its watchers become victims, as
 * gRPC flow control makes them in etcd.
 */
export interface StreamSink {
  send(messageJson: string): void;
  finish(): void;
  writable(): boolean;
  onWritable(resume: () => void): void;
}

/**
 * Serves one streaming endpoint on `req`/`res`. `open(sink)` starts the server half of the stream
 * (etcd: the `Watch` or `LeaseKeepAlive` handler) once the first request has decoded.
 */
export function serveStream<K extends keyof RequestTypes>(
  req: IncomingMessage,
  res: ServerResponse,
  requestType: K,
  open: (sink: StreamSink) => StreamSession<RequestTypes[K]>,
): void {
  const decoder = new GoJsonStream();
  let session: StreamSession<RequestTypes[K]> | undefined;
  let reading = true;
  let bodyEnded = false;
  // A connection that will not be reused: Go answers at once (and closes it afterwards).
  const answersEarly = connectionWillClose(req);
  if (answersEarly) res.setHeader("Connection", "close");
  /** True once output may go out: the body ended, or the connection will not be reused. */
  const mayWrite = (): boolean => bodyEnded || answersEarly;
  let headersWritten = false;
  let finished = false;
  /** Lines produced before the body ended (Go's server holds them; see the quirk above). */
  const held: string[] = [];
  const resumers: Array<() => void> = [];
  const resume = (): void => {
    for (const resumeOne of resumers) guarded(resumeOne);
  };
  res.on("drain", resume);

  const writeHeaders = (withGrpcMetadata: boolean): void => {
    if (headersWritten) return;
    headersWritten = true;
    res.setHeader("Content-Type", "application/json");
    if (withGrpcMetadata) res.setHeader("Grpc-Metadata-Content-Type", "application/grpc");
    res.setHeader("Transfer-Encoding", "chunked");
    res.writeHead(200);
  };
  const flush = (): void => {
    if (!mayWrite() || res.destroyed) return;
    if (held.length > 0) {
      writeHeaders(true);
      res.write(held.splice(0, held.length).join(""));
    }
    if (finished && !res.writableEnded) {
      // A stream that ends without a message has no gRPC header metadata to forward.
      writeHeaders(false);
      res.end();
    }
  };
  const sink: StreamSink = {
    send(messageJson) {
      if (finished) return;
      held.push(encodeStreamChunk(messageJson) + "\n");
      flush();
    },
    finish() {
      finished = true;
      flush();
    },
    writable: () => mayWrite() && !finished && !res.destroyed && !res.writableNeedDrain,
    onWritable(resumeOne) {
      resumers.push(resumeOne);
    },
  };

  const stopReading = (): void => {
    if (!reading) return;
    reading = false;
    session?.closeSend();
  };
  const failFirst = (message: string): void => {
    reading = false;
    finished = true;
    const body = Buffer.from(encodeErrorBody(CODE_UNKNOWN, message), "utf8");
    res.setHeader("Content-Type", "application/json");
    res.setHeader("Content-Length", String(body.length));
    res.writeHead(500);
    res.end(body);
  };
  const pump = (): void => {
    while (reading) {
      const item = decoder.next();
      if (item.kind === "more") return;
      if (item.kind === "eof") {
        if (session === undefined) session = open(sink);
        stopReading();
        return;
      }
      let request: RequestTypes[K];
      try {
        if (item.kind === "error") throw new GoJsonError(item.message);
        request = decodeRequest(requestType, item.value);
      } catch (error) {
        if (!(error instanceof GoJsonError)) throw error;
        if (session === undefined) failFirst(error.message);
        else stopReading();
        return;
      }
      if (session === undefined) session = open(sink);
      session.recv(request);
    }
  };

  req.on("data", (chunk: Buffer) => {
    if (!reading) return;
    decoder.push(chunk);
    guarded(pump);
  });
  req.on("end", () => {
    bodyEnded = true;
    decoder.end();
    guarded(pump);
    flush();
    resume();
  });
  res.on("close", () => {
    reading = false;
    session?.close();
  });

  /** Nothing a client sends may crash the server: an unexpected failure cuts this stream only. */
  function guarded(step: () => void): void {
    try {
      step();
    } catch (error) {
      process.stderr.write(`etcdsim: v3 stream failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      session?.close();
      res.destroy();
    }
  }
}

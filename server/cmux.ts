/**
 * Mirrors etcd release-3.4 `embed/serve.go` (`serveCtx.serve`) with the connection multiplexer it
 * uses (soheilhy/cmux v0.1.4) and the TLS listener of `pkg/transport/listener.go`: one client
 * port, gRPC and HTTP/1.x on it.
 *
 * Plaintext (`http://`): each new connection is sniffed, like cmux's two matchers in order:
 *
 *   first bytes                                   goes to
 *   "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (24 bytes)  the gRPC server (HTTP/2 with prior knowledge)
 *   a first line ending in HTTP/1.x                the HTTP server (/v2/keys, /v3/… gateway, /version, /health)
 *   anything else ("HELLO\r\n", "GET /x\r\n")      closed without a reply, and a line on stderr
 *   bytes without a newline (a TLS ClientHello)    kept waiting, as cmux's HTTP/1 matcher waits for its line
 *                                                  (up to 4096 bytes, then closed)
 *
 * The sniffed bytes are put back (`unshift`) before the connection is handed on, so neither side
 * knows it was looked at.
 *
 * TLS (`https://`): no sniffing. Every connection is a TLS connection; ALPN picks the protocol,
 * `h2` → gRPC, `http/1.1` or none → the HTTP server. This is recipe A of grpc.md §1.4. etcd
 * instead serves both from one Go HTTP/2 server and routes each HTTP/2 request on its
 * content-type, so there a non-gRPC request over HTTP/2 (curl's default over https) reaches the
 * gateway; here it reaches grpc-js, which answers 415. HTTP/1.1 over TLS (`curl --http1.1`) works.
 * A client certificate is required and verified when `--client-cert-auth` or
 * `--trusted-ca-file` is given (etcd requires one in both cases, grpc.md §8.1).
 */
import { readFileSync } from "node:fs";
import type { Server as HttpServer } from "node:http";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { ServerCredentials, type Server as GrpcServer } from "@grpc/grpc-js";

/** The HTTP/2 client connection preface (RFC 7540 §3.5). */
export const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** cmux's HTTP/1 matcher reads at most this many bytes looking for the request line. */
export const MAX_HTTP1_LINE_BYTES = 4096;

/** etcd's client TLS flags (`--cert-file`, `--key-file`, `--trusted-ca-file`, `--client-cert-auth`). */
export interface TlsInfo {
  readonly certFile: string;
  readonly keyFile: string;
  readonly trustedCaFile?: string;
  readonly clientCertAuth?: boolean;
}

export interface ClientListenerOptions {
  readonly httpServer: HttpServer;
  readonly grpcServer: GrpcServer;
  /** Set for an https:// client URL. */
  readonly tls?: TlsInfo;
  /** Where the "neither HTTP/1.1 nor HTTP/2" lines go (default stderr). */
  readonly log?: (line: string) => void;
}

/** What the sniffer decided from the first bytes of a plaintext connection. */
export type Sniffed = "grpc" | "http1" | "neither" | "more";

/**
 * cmux's two matchers over the bytes seen so far:
 *   sniff(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")) → "grpc"
 *   sniff(Buffer.from("GET /version HTTP/1.1\r\n"))       → "http1"
 *   sniff(Buffer.from("GET /version\r\n"))                → "neither"  (no protocol: HTTP/0.9 style)
 *   sniff(Buffer.from("PRI * HT"))                         → "more"
 */
export function sniff(bytes: Buffer): Sniffed {
  const prefix = Math.min(bytes.length, HTTP2_PREFACE.length);
  if (bytes.subarray(0, prefix).equals(HTTP2_PREFACE.subarray(0, prefix))) return prefix === HTTP2_PREFACE.length ? "grpc" : "more";
  const newline = bytes.indexOf(0x0a);
  if (newline < 0) return bytes.length >= MAX_HTTP1_LINE_BYTES ? "neither" : "more";
  // Go's textproto line, then net/http's parseRequestLine: "METHOD URI PROTO", PROTO = HTTP/1.x.
  const line = bytes.subarray(0, newline).toString("latin1").replace(/\r$/, "");
  const first = line.indexOf(" ");
  const second = first < 0 ? -1 : line.indexOf(" ", first + 1);
  if (second < 0) return "neither";
  return /^HTTP\/1\.\d+$/.test(line.slice(second + 1)) ? "http1" : "neither";
}

/** A short, printable picture of the first bytes, for the log line. */
function describeBytes(bytes: Buffer): string {
  const head = bytes.subarray(0, 32);
  return JSON.stringify(head.toString("latin1")) + (bytes.length > head.length ? ` (+${bytes.length - head.length} bytes)` : "");
}

/**
 * The client listener: a net.Server (plaintext) or tls.Server (TLS) that hands each connection
 * to gRPC or HTTP. The caller listens on it; `sockets` holds every open connection so that
 * closing the member can cut them all.
 */
export function createClientListener(options: ClientListenerOptions): { server: NetServer; sockets: Set<Socket> } {
  const { httpServer, grpcServer } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const injector = grpcServer.createConnectionInjector(ServerCredentials.createInsecure());
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // A reset connection must not take the server down; the socket is closed either way.
    socket.on("error", () => {});
  };
  const toHttp = (socket: Socket): void => {
    httpServer.emit("connection", socket);
    socket.resume(); // without it Node's HTTP parser never sees the unshifted bytes
  };

  if (options.tls !== undefined) {
    const tls = options.tls;
    const requireClientCert = tls.clientCertAuth === true || tls.trustedCaFile !== undefined;
    const server = createTlsServer({
      cert: readFileSync(tls.certFile),
      key: readFileSync(tls.keyFile),
      ...(tls.trustedCaFile !== undefined ? { ca: readFileSync(tls.trustedCaFile) } : {}),
      requestCert: requireClientCert,
      rejectUnauthorized: requireClientCert,
      minVersion: "TLSv1.2",
      ALPNProtocols: ["h2", "http/1.1"],
    });
    server.on("connection", track);
    server.on("tlsClientError", () => {}); // a failed handshake closes that connection only
    server.on("secureConnection", (socket: TLSSocket) => {
      if (socket.alpnProtocol === "h2") injector.injectConnection(socket);
      else toHttp(socket);
    });
    return { server, sockets };
  }

  const server = createNetServer((socket) => {
    track(socket);
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const verdict = sniff(seen);
      if (verdict === "more") return;
      socket.off("data", onData);
      socket.pause();
      if (verdict === "neither") {
        log(`etcdsim: closed a connection from ${socket.remoteAddress}:${socket.remotePort} that speaks neither HTTP/1.x nor HTTP/2; first bytes ${describeBytes(seen)}`);
        socket.destroy();
        return;
      }
      socket.unshift(seen);
      if (verdict === "grpc") injector.injectConnection(socket);
      else toHttp(socket);
    };
    socket.on("data", onData);
  });
  return { server, sockets };
}

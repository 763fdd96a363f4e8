/**
 * The client port seen from the outside: every request, the TCP connection it came on, and the
 * watches each connection holds open. etcd has no counterpart (its closest is the
 * `--log-level=debug` request log of `etcdserver/api/etcdhttp`); this is what the classroom's
 * connection pane and timeline draw.
 *
 * It only listens: `observe(req, res)` runs before the request is routed, reads the method, target
 * and headers, and waits for the response to close. It never reads the body and never writes, so
 * the client port's bytes are the same with or without a page connected.
 *
 *   ETCDCTL_API=2 etcdctl watch /w     →  conn 3: GET /v2/keys/w?wait=true  (v2 watch, waitIndex = index + 1)
 *   curl -X PUT …/v2/keys/a -d value=1 →  conn 4: PUT /v2/keys/a  200  index 5  (timeline row on close)
 *   a v3 watch over the JSON gateway   →  conn 5: POST /v3/watch  (one stream while it stays open)
 *
 * Why it matters: a v2 watch is a long poll that holds its TCP connection, so ten watches need ten
 * connections; v3 carries many watchers on one stream, and many streams on one HTTP/2 connection.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ServerInterceptingCall, ServerListenerBuilder, type ServerInterceptor } from "@grpc/grpc-js";
import type { Socket } from "node:net";
import type { Clock } from "../shared/clock.js";
import type { ConnectionRow, TimelineRow, V2WatcherRow } from "./viewModel.js";

/** Where the stores stand, read when a request arrives and when it ends. */
export interface StoreReadings {
  v2Index(): number;
  v3Rev(): number;
}

/** A finished request, before the frame builder gives it a frame number (its timeline row). */
export type FinishedRequest = Omit<TimelineRow, "seq">;

interface ConnectionState {
  readonly conn: number;
  readonly remote: string;
  userAgent: string;
  requests: number;
  open: boolean;
  readonly v2Watches: Set<V2WatcherRow>;
  v3Streams: number;
}

/** Longest target kept for the timeline (a v2 PUT with a long query is cut, with "…"). */
export const TARGET_CHARS_KEPT = 160;

/** Connections and requests on the client port; see the file header. */
export class RequestLog {
  private readonly connections = new Map<number, ConnectionState>();
  private readonly bySocket = new WeakMap<Socket, ConnectionState>();
  private readonly byPeer = new Map<string, ConnectionState>();
  private nextConn = 1;
  private nextRequest = 1;
  private finished: FinishedRequest[] = [];
  /** Bumped whenever a connection or a waiting watch comes or goes. */
  version = 0;

  constructor(
    private readonly clock: Clock,
    private readonly readings: StoreReadings,
  ) {}

  /** Called for each request before it is routed. */
  observe(req: IncomingMessage, res: ServerResponse): void {
    const connection = this.connectionOf(req);
    connection.requests++;
    const userAgent = req.headers["user-agent"];
    if (typeof userAgent === "string") connection.userAgent = userAgent;
    const n = this.nextRequest++;
    const atMs = this.clock.now();
    const target = req.url ?? "/";
    const method = req.method ?? "GET";
    const { path, query } = splitTarget(target);
    const api = path.startsWith("/v2/") ? "v2" : path.startsWith("/v3/") || path === "/v3" ? "v3" : "other";
    let v2Watch: V2WatcherRow | undefined;
    let v3Stream = false;
    if (api === "v2" && path.startsWith("/v2/keys") && method === "GET" && query.get("wait") === "true") {
      const waitIndex = Number(query.get("waitIndex") ?? "0");
      v2Watch = {
        conn: connection.conn,
        key: decodePath(path.slice("/v2/keys".length)) || "/",
        recursive: query.get("recursive") === "true",
        stream: query.get("stream") === "true",
        // etcd: a watch without waitIndex waits from the next index (watcherHub.watch: storeIndex + 1).
        waitIndex: Number.isSafeInteger(waitIndex) && waitIndex > 0 ? waitIndex : this.readings.v2Index() + 1,
      };
      connection.v2Watches.add(v2Watch);
      this.version++;
    } else if (api === "v3" && path === "/v3/watch") {
      v3Stream = true;
      connection.v3Streams++;
      this.version++;
    }
    res.once("close", () => {
      if (v2Watch !== undefined) connection.v2Watches.delete(v2Watch);
      if (v3Stream) connection.v3Streams--;
      if (v2Watch !== undefined || v3Stream) this.version++;
      const endMs = this.clock.now();
      this.finished.push({
        n,
        transport: "http",
        atMs,
        conn: connection.conn,
        api,
        method,
        target: target.length > TARGET_CHARS_KEPT ? target.slice(0, TARGET_CHARS_KEPT) + "…" : target,
        status: res.statusCode,
        v2Index: this.readings.v2Index(),
        v3Rev: this.readings.v3Rev(),
        durationMs: endMs - atMs,
      });
    });
  }

  /**
   * A grpc-js server interceptor that logs each call like an HTTP request: its connection (by the
   * peer address; one HTTP/2 connection carries many calls), and a watch stream while it is open.
   * It forwards everything unchanged.
   */
  grpcInterceptor(): ServerInterceptor {
    return (methodDescriptor, call) => {
      const method = methodDescriptor.path;
      let connection: ConnectionState | undefined;
      let n = 0;
      let atMs = 0;
      let finished = false;
      const isWatch = method === "/etcdserverpb.Watch/Watch";
      const finish = (code: number): void => {
        if (finished || connection === undefined) return;
        finished = true;
        if (isWatch) {
          connection.v3Streams--;
          this.version++;
        }
        this.finished.push({
          n,
          transport: "grpc",
          atMs,
          conn: connection.conn,
          api: "v3",
          method: "gRPC",
          target: method,
          status: code,
          v2Index: this.readings.v2Index(),
          v3Rev: this.readings.v3Rev(),
          durationMs: this.clock.now() - atMs,
        });
      };
      return new ServerInterceptingCall(call, {
        start: (next) => {
          connection = this.grpcConnection(call.getPeer());
          connection.requests++;
          n = this.nextRequest++;
          atMs = this.clock.now();
          if (isWatch) {
            connection.v3Streams++;
            this.version++;
          }
          next(new ServerListenerBuilder().withOnCancel(() => finish(1)).build());
        },
        sendStatus: (status, next) => {
          finish(status.code ?? 0);
          next(status);
        },
      });
    };
  }

  /** Requests finished since the last call, in the order they finished. */
  takeFinished(): FinishedRequest[] {
    const out = this.finished;
    this.finished = [];
    return out;
  }

  /** Open connections, oldest first. */
  connectionRows(): ConnectionRow[] {
    const rows: ConnectionRow[] = [];
    for (const connection of this.connections.values()) {
      rows.push({
        conn: connection.conn,
        remote: connection.remote,
        userAgent: connection.userAgent,
        requests: connection.requests,
        v2Watches: connection.v2Watches.size,
        v3Streams: connection.v3Streams,
      });
    }
    return rows;
  }

  /** Every waiting v2 watch, by connection. */
  v2Watchers(): V2WatcherRow[] {
    const rows: V2WatcherRow[] = [];
    for (const connection of this.connections.values()) rows.push(...connection.v2Watches);
    return rows;
  }

  /** gRPC calls carry their peer address, not their socket: one connection per peer address. */
  private grpcConnection(peer: string): ConnectionState {
    const known = this.byPeer.get(peer);
    if (known !== undefined && known.open) return known;
    const connection: ConnectionState = { conn: this.nextConn++, remote: peer, userAgent: "gRPC (HTTP/2)", requests: 0, open: true, v2Watches: new Set(), v3Streams: 0 };
    this.byPeer.set(peer, connection);
    this.connections.set(connection.conn, connection);
    this.version++;
    return connection;
  }

  /**
   * Drops gRPC connections whose peer closed: the interceptor never sees a socket close, so the
   * HTTP/2 sockets the listener tracks are asked (`openPeers`: "address:port" of each open one).
   */
  forgetClosedGrpc(openPeers: ReadonlySet<string>): void {
    for (const [peer, connection] of this.byPeer) {
      if (openPeers.has(peer)) continue;
      connection.open = false;
      this.byPeer.delete(peer);
      this.connections.delete(connection.conn);
      this.version++;
    }
  }

  private connectionOf(req: IncomingMessage): ConnectionState {
    const socket = req.socket;
    const known = this.bySocket.get(socket);
    if (known !== undefined) return known;
    const connection: ConnectionState = {
      conn: this.nextConn++,
      remote: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`,
      userAgent: "",
      requests: 0,
      open: true,
      v2Watches: new Set(),
      v3Streams: 0,
    };
    this.bySocket.set(socket, connection);
    this.connections.set(connection.conn, connection);
    this.version++;
    socket.once("close", () => {
      connection.open = false;
      this.connections.delete(connection.conn);
      this.version++;
    });
    return connection;
  }
}

function splitTarget(target: string): { path: string; query: URLSearchParams } {
  const question = target.indexOf("?");
  return question < 0 ? { path: target, query: new URLSearchParams() } : { path: target.slice(0, question), query: new URLSearchParams(target.slice(question + 1)) };
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

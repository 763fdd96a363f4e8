/**
 * The one HTTP client the server row drives both etcdsim and a real etcd with: node's own `http`
 * module, a keep-alive agent, a fixed number of requests in flight, and a bound on both the request
 * count and the wall time, so a slow or stuck server cannot stretch the run.
 *
 *   const result = await loadTest({ url: "http://127.0.0.1:2379", requests: 3000, concurrency: 16, maxMs: 5000,
 *                                   request: (i) => v2Put(i) });
 *   result.completed / (result.elapsedMs / 1000)   // puts per second
 */
import http from "node:http";
import { nowMs } from "./harness.js";

/** One request: method, path, headers and body. */
export interface LoadRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface LoadOptions {
  /** Base URL, e.g. "http://127.0.0.1:40123". */
  readonly url: string;
  /** At most this many requests are sent. */
  readonly requests: number;
  /** Requests kept in flight at once. */
  readonly concurrency: number;
  /** No new request starts after this many milliseconds. */
  readonly maxMs: number;
  /** The i-th request (i counts from 0). */
  request(i: number): LoadRequest;
  /** True when a response status counts as a success (default: 2xx). */
  accept?(status: number): boolean;
}

export interface LoadResult {
  readonly completed: number;
  readonly failed: number;
  readonly elapsedMs: number;
  /** The first failure's status and body, to print when nothing succeeded. */
  readonly firstFailure?: string;
}

/** Sends one request and resolves with its status and body. */
function send(agent: http.Agent, base: URL, request: LoadRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        agent,
        hostname: base.hostname,
        port: base.port,
        method: request.method,
        path: request.path,
        headers: { ...request.headers, "content-length": Buffer.byteLength(request.body).toString() },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        response.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(request.body);
  });
}

/** Runs the load and reports how many requests completed in how long. */
export async function loadTest(options: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const base = new URL(options.url);
  const accept = options.accept ?? ((status: number) => status >= 200 && status < 300);
  let next = 0;
  let completed = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const start = nowMs();
  const worker = async (): Promise<void> => {
    while (next < options.requests && nowMs() - start < options.maxMs) {
      const i = next++;
      try {
        const { status, body } = await send(agent, base, options.request(i));
        if (accept(status)) completed++;
        else {
          failed++;
          firstFailure ??= `${status} ${body.slice(0, 200)}`;
        }
      } catch (error) {
        failed++;
        firstFailure ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = nowMs() - start;
  agent.destroy();
  return { completed, failed, elapsedMs, ...(firstFailure !== undefined ? { firstFailure } : {}) };
}

/**
 * Mirrors etcd release-3.4 `etcdserver/api/etcdhttp/base.go` and the `/health` part of `metrics.go`.
 *
 * Two endpoints every etcd serves whatever APIs are enabled, and that clients and load balancers probe:
 *
 *   GET /version  →  200 application/json  {"etcdserver":"3.4.23","etcdcluster":"3.4.0"}   (no newline)
 *   GET /health   →  200 text/plain         {"health":"true"}                                (no newline)
 *                 →  503 text/plain         {"health":"false"}\n   (Go's http.Error) while a v3 alarm is raised
 *                                                                    or the cluster has no quorum
 *
 * etcd writes both bodies with a bare `w.Write`, so there is no trailing newline, and `/health` sets no
 * Content-Type (Go sniffs "text/plain; charset=utf-8"). Any other method gets 405 with `Allow: GET`.
 * The cluster version is the 3.4 minor with a zero patch: members agree on a minor version, not a patch.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { allowMethod, writeGoBody, writeGoError } from "../shared/goHttp.js";
import type { Handler } from "./server.js";

/** The etcd release the simulator imitates. */
export const ETCD_SERVER_VERSION = "3.4.23";
/** The cluster version a 3.4 cluster agrees on. */
export const ETCD_CLUSTER_VERSION = "3.4.0";

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const question = url.indexOf("?");
  return question < 0 ? url : url.slice(0, question);
}

/** `/version` and `/health`. `isHealthy` lets the caller report a store problem. */
export function createBaseHandler(options: { isHealthy?: () => boolean } = {}): Handler {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = pathOf(req);
    if (path === "/version") {
      if (!allowMethod(req, res, "GET")) return true;
      res.setHeader("Content-Type", "application/json");
      writeGoBody(req, res, 200, JSON.stringify({ etcdserver: ETCD_SERVER_VERSION, etcdcluster: ETCD_CLUSTER_VERSION }));
      return true;
    }
    if (path === "/health") {
      if (!allowMethod(req, res, "GET")) return true;
      const healthy = options.isHealthy?.() ?? true;
      // Unhealthy goes out through Go's http.Error: 503, nosniff, and a trailing newline.
      if (!healthy) {
        writeGoError(req, res, JSON.stringify({ health: "false" }), 503);
        return true;
      }
      res.setHeader("Content-Type", "text/plain; charset=utf-8");
      writeGoBody(req, res, 200, JSON.stringify({ health: "true" }));
      return true;
    }
    return false;
  };
}

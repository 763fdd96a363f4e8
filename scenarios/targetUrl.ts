/**
 * `--target URL`: reading the URL and checking, before anything runs, that an etcd answers there.
 * Mirrors what etcdctl does first with `--endpoints` (`clientv3/client.go` dials, and `etcdctl`
 * gives up with a one-line error), so a dead or non-etcd endpoint gives one line and exit code 2,
 * not a stack trace in the middle of a run:
 *
 *   parseEndpoints("http://127.0.0.1:2379,http://127.0.0.1:22379")  → two endpoints
 *   await probeEndpoint("http://127.0.0.1:1")    → UsageError "--target http://127.0.0.1:1: nothing answers there (ECONNREFUSED)"
 *   await probeEndpoint("http://example.org")    → UsageError "…: it answered, but not as an etcd (GET /version: 404)"
 *   await probeEndpoint("http://127.0.0.1:2379") → { version: "3.4.23", v2: true }
 */
import { sleep } from "../shared/clock.js";
import { UsageError } from "./targets.js";

/** `--target` specs: one or more comma-separated http(s) client URLs. */
export function parseEndpoints(spec: string): string[] {
  const endpoints = spec.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (endpoints.length === 0 || !endpoints.every((url) => /^https?:\/\/[^/\s]+\/?$/.test(url))) {
    throw new UsageError(`--target wants client URLs like http://127.0.0.1:2379[,http://…], got "${spec}"`);
  }
  return endpoints.map((url) => url.replace(/\/$/, ""));
}

/** How long an endpoint may take to answer `GET /version` before it counts as dead. */
export const PROBE_TIMEOUT_MS = 3000;

export interface EndpointInfo {
  /** etcd's server version, "3.4.23". */
  version: string;
  /** False when the etcd was started without `--enable-v2` (GET /v2/keys answers 404). */
  v2: boolean;
}

/** GETs `url` and reads its body, with a deadline; rejects with a one-line reason. */
async function fetchWithin(url: string, ms: number): Promise<{ ok: boolean; status: number; body: string }> {
  const abort = new AbortController();
  let finished = false;
  const timeout = sleep(ms).then(() => {
    if (finished) return undefined as never;
    abort.abort();
    throw new Error(`no answer within ${ms / 1000} s`);
  });
  const get = async (): Promise<{ ok: boolean; status: number; body: string }> => {
    const response = await fetch(url, { signal: abort.signal });
    return { ok: response.ok, status: response.status, body: await response.text() };
  };
  try {
    return await Promise.race([get(), timeout]);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(cause?.code ?? cause?.message ?? (error as Error).message);
  } finally {
    finished = true;
  }
}

/**
 * Checks that each endpoint is an etcd client URL (with the v2 API on, when `needV2`); throws a
 * UsageError naming the first that is not. An etcd's peer URL answers /version too, but not /v2/keys.
 */
export async function probeEndpoints(endpoints: readonly string[], needV2 = true): Promise<EndpointInfo> {
  let first: EndpointInfo | undefined;
  for (const endpoint of endpoints) {
    const info = await probeEndpoint(endpoint);
    if (needV2 && !info.v2) {
      throw new UsageError(`--target ${endpoint}: etcd ${info.version} answers, but not /v2/keys: give a client URL of an etcd started with --enable-v2=true`);
    }
    first ??= info;
  }
  return first as EndpointInfo;
}

export async function probeEndpoint(endpoint: string): Promise<EndpointInfo> {
  let response: { ok: boolean; status: number; body: string };
  try {
    response = await fetchWithin(`${endpoint}/version`, PROBE_TIMEOUT_MS);
  } catch (error) {
    throw new UsageError(`--target ${endpoint}: nothing answers there (${(error as Error).message})`);
  }
  const body = response.body;
  let version: string | undefined;
  try {
    version = (JSON.parse(body) as { etcdserver?: string }).etcdserver;
  } catch {
    version = undefined;
  }
  if (!response.ok || version === undefined) {
    throw new UsageError(`--target ${endpoint}: it answered, but not as an etcd (GET /version: ${response.status})`);
  }
  let v2 = false;
  try {
    v2 = (await fetchWithin(`${endpoint}/v2/keys/`, PROBE_TIMEOUT_MS)).ok;
  } catch {
    v2 = false;
  }
  return { version, v2 };
}

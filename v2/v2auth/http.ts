/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2http/client_auth.go`: the `/v2/auth` endpoints, and the
 * access checks the keys API makes when v2 auth is enabled (HTTP Basic credentials, the guest role).
 *
 *   GET    /v2/auth/enable                → {"enabled":false}
 *   PUT    /v2/auth/enable | DELETE        → enable / disable (root needed while enabled)
 *   GET    /v2/auth/users  | /users/<u>    → users with their role objects
 *   PUT    /v2/auth/users/<u>  {"user","password"} | {"user","grant":[…]} | {"user","revoke":[…]}
 *   GET    /v2/auth/roles  | /roles/<r>;  PUT {"role","permissions"} | {"role","grant"|"revoke"};  DELETE
 *
 * Rules kept from etcd:
 *   - an `Authorization` header must name an existing user with the right password, or the request
 *     is refused: no falling back to guest. Without one, the TLS CN (under --client-cert-auth) or
 *     else the guest role decides;
 *   - keys: GET/HEAD need read, anything else write; a recursive request only matches "…*" patterns;
 *   - a refused keys request: 401 `{"errorCode":110,…,"cause":"Insufficient credentials","index":0}`;
 *     a refused auth request: 401 `{"message":"Insufficient credentials"}`, without X-Etcd-Cluster-Id.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { allowMethod, writeGoBody as writeBody } from "../../shared/goHttp.js";
import { goJson } from "../http.js";
import { ROOT_ROLE, roleHasAccess, V2AuthError, type RWPermission, type V2AuthStore, type V2Role, type V2User } from "./store.js";

export const AUTH_PREFIX = "/v2/auth";

/** Go's `Request.BasicAuth`: ["user", "password"] or undefined. */
export function basicAuth(header: string | undefined): [string, string] | undefined {
  if (header === undefined || header.length < 6 || header.slice(0, 6).toLowerCase() !== "basic ") return undefined;
  const encoded = header.slice(6);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return undefined;
  const text = Buffer.from(encoded, "base64").toString("latin1");
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  return [Buffer.from(text.slice(0, colon), "latin1").toString("utf8"), Buffer.from(text.slice(colon + 1), "latin1").toString("utf8")];
}

/** The credentials a request carries: its Authorization header and the TLS CN if any. */
export interface Credentials {
  readonly authorization: string | undefined;
  readonly commonName: string | undefined;
}

function credentialsOf(req: IncomingMessage): Credentials {
  const socket = req.socket as { getPeerCertificate?: () => { subject?: { CN?: string } } };
  return { authorization: req.headers["authorization"], commonName: socket.getPeerCertificate?.()?.subject?.CN };
}

/** etcd `userFromBasicAuth`: the user when the header holds a known user and its password. */
function userFromBasicAuth(sec: V2AuthStore, authorization: string | undefined): V2User | undefined {
  const pair = basicAuth(authorization);
  if (pair === undefined) return undefined;
  try {
    const user = sec.getUser(pair[0]);
    return sec.checkPassword(user, pair[1]) ? user : undefined;
  } catch {
    return undefined;
  }
}

function userFromCommonName(sec: V2AuthStore, cn: string | undefined): V2User | undefined {
  if (cn === undefined || cn === "") return undefined;
  try {
    return sec.getUser(cn);
  } catch {
    return undefined;
  }
}

/** etcd `hasRootAccess`. */
function hasRootAccess(sec: V2AuthStore, creds: Credentials, clientCertAuth: boolean): boolean {
  if (!sec.authEnabled()) return true;
  const user =
    creds.authorization === undefined && clientCertAuth ? userFromCommonName(sec, creds.commonName) : userFromBasicAuth(sec, creds.authorization);
  return user?.roles?.includes(ROOT_ROLE) ?? false;
}

/** etcd `hasKeyPrefixAccess` for an HTTP request: may it touch `key` (the raw path after /v2/keys)? */
export function hasKeyPrefixAccess(sec: V2AuthStore, req: IncomingMessage, key: string, recursive: boolean, clientCertAuth: boolean): boolean {
  return keyAccess(sec, { method: req.method ?? "GET", ...credentialsOf(req) }, key, recursive, clientCertAuth);
}

/**
 * The decision itself, from the method and the credentials:
 *   no Authorization header → the CN's user (under --client-cert-auth), else the guest role;
 *   an Authorization header → that user with the right password, else refused (no guest fallback).
 */
export function keyAccess(sec: V2AuthStore, request: { method: string } & Credentials, key: string, recursive: boolean, clientCertAuth: boolean): boolean {
  if (!sec.authEnabled()) return true;
  const write = request.method !== "GET" && request.method !== "HEAD";
  let user: V2User | undefined;
  if (request.authorization === undefined) {
    if (clientCertAuth) user = userFromCommonName(sec, request.commonName);
    if (user === undefined) return hasGuestAccess(sec, key, write);
  } else {
    user = userFromBasicAuth(sec, request.authorization);
    if (user === undefined) return false;
  }
  for (const roleName of user.roles ?? []) {
    let role: V2Role;
    try {
      role = sec.getRole(roleName);
    } catch {
      continue; // a deleted role the user still names
    }
    if (roleHasAccess(role, key, write, recursive)) return true;
  }
  return false;
}

/** etcd `hasGuestAccess`: the guest role, non-recursive rule only. */
function hasGuestAccess(sec: V2AuthStore, key: string, write: boolean): boolean {
  try {
    return roleHasAccess(sec.getRole("guest"), key, write, false);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The endpoints
// ---------------------------------------------------------------------------------------------

/** `{"message": …}` with a status (etcd's httptypes.HTTPError), JSON newline-terminated. */
function writeMessage(req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  res.setHeader("Content-Type", "application/json");
  writeBody(req, res, status, goJson({ message }));
}

function writeError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  if (error instanceof V2AuthError) writeMessage(req, res, error.status, error.message);
  else writeMessage(req, res, 500, error instanceof Error ? error.message : String(error));
}

/**
 * etcd's check on `/v2/members` writes (`hasWriteRootAccess`): GET and HEAD are open, anything else
 * needs root while v2 auth is on. Answers the 401 itself and returns false when refused.
 */
export function checkMembersWrite(sec: V2AuthStore, req: IncomingMessage, res: ServerResponse, clientCertAuth: boolean): boolean {
  if (req.method === "GET" || req.method === "HEAD") return true;
  if (hasRootAccess(sec, credentialsOf(req), clientCertAuth)) return true;
  writeNoAuth(req, res);
  return false;
}

/** etcd `writeNoAuth`: 401 without the cluster header. */
function writeNoAuth(req: IncomingMessage, res: ServerResponse): void {
  res.removeHeader("X-Etcd-Cluster-Id");
  writeMessage(req, res, 401, "Insufficient credentials");
}

/** The user as it is printed: roles expanded into role objects (omitted when none). */
function userWithRoles(sec: V2AuthStore, user: V2User, skipMissing: boolean): { user: string; roles?: V2Role[] } {
  const roles: V2Role[] = [];
  for (const name of user.roles ?? []) {
    try {
      roles.push(sec.getRole(name));
    } catch (error) {
      if (!skipMissing) throw error;
    }
  }
  return roles.length === 0 ? { user: user.user } : { user: user.user, roles };
}

/** Go's `json.Decoder.Decode` into a struct: a JSON object (or null); field names match case-insensitively. */
function decodeObject(body: string): Map<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (value === null) return new Map();
  if (typeof value !== "object" || Array.isArray(value)) return undefined;
  return new Map(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
}

function stringField(fields: Map<string, unknown>, name: string): string | undefined | null {
  const v = fields.get(name);
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : null;
}

function listField(fields: Map<string, unknown>, name: string): string[] | null | undefined {
  const v = fields.get(name);
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || !v.every((item) => typeof item === "string")) return undefined;
  return v as string[];
}

function permissionsField(fields: Map<string, unknown>, name: string): { kv: RWPermission } | null | undefined {
  const v = fields.get(name);
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) return undefined;
  const outer = new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k.toLowerCase(), x]));
  const kvRaw = outer.get("kv");
  if (kvRaw === undefined || kvRaw === null) return { kv: { read: null, write: null } };
  if (typeof kvRaw !== "object" || Array.isArray(kvRaw)) return undefined;
  const kv = new Map(Object.entries(kvRaw as Record<string, unknown>).map(([k, x]) => [k.toLowerCase(), x]));
  const read = listField(kv, "read");
  const write = listField(kv, "write");
  if (read === undefined || write === undefined) return undefined;
  return { kv: { read, write } };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(""));
  });
}

/**
 * The `/v2/auth` handler: true when the path is under /v2/auth (answered, possibly 404 by the
 * caller's mux for unknown names), false otherwise.
 */
export function serveV2Auth(
  sec: V2AuthStore,
  options: { clusterId: string; clientCertAuth: boolean },
  req: IncomingMessage,
  res: ServerResponse,
  urlPath: string,
): boolean {
  const sub = urlPath.slice(AUTH_PREFIX.length);
  const creds = credentialsOf(req);
  const setHeaders = (): void => {
    res.setHeader("X-Etcd-Cluster-Id", options.clusterId);
    res.setHeader("Content-Type", "application/json");
  };
  const json = (status: number, value: unknown): void => writeBody(req, res, status, goJson(value) + "\n");

  if (sub === "/enable") {
    if (!allowMethod(req, res, "GET", "PUT", "DELETE")) return true;
    const write = req.method !== "GET" && req.method !== "HEAD";
    if (write && !hasRootAccess(sec, creds, options.clientCertAuth)) return (writeNoAuth(req, res), true);
    setHeaders();
    if (req.method === "GET") json(200, { enabled: sec.authEnabled() });
    else answerWhenWritten(req, res, req.method === "PUT" ? () => sec.enableAuth() : () => sec.disableAuth(), () => writeBody(req, res, 200, ""));
    return true;
  }

  for (const kind of ["users", "roles"] as const) {
    if (sub !== `/${kind}` && !sub.startsWith(`/${kind}/`)) continue;
    const pieces = sub.replace(/\/+$/, "").split("/"); // "", kind, name?
    if (pieces.length === 2) {
      if (!allowMethod(req, res, "GET")) return true;
      if (!hasRootAccess(sec, creds, options.clientCertAuth)) return (writeNoAuth(req, res), true);
      setHeaders();
      if (kind === "users") {
        const users = sec.allUsers().map((name) => userWithRoles(sec, sec.getUser(name), true));
        json(200, { users: users.length === 0 ? null : users });
      } else {
        json(200, { roles: sec.allRoles().map((name) => sec.getRole(name)) });
      }
      return true;
    }
    if (pieces.length !== 3) {
      writeMessage(req, res, 400, "Invalid path");
      return true;
    }
    const name = pieces[2] as string;
    if (!allowMethod(req, res, "GET", "PUT", "DELETE")) return true;
    if (!hasRootAccess(sec, creds, options.clientCertAuth)) return (writeNoAuth(req, res), true);
    setHeaders();
    if (req.method === "GET") {
      try {
        json(200, kind === "users" ? userWithRoles(sec, sec.getUser(name), false) : sec.getRole(name));
      } catch (error) {
        writeError(req, res, error);
      }
      return true;
    }
    if (req.method === "DELETE") {
      answerWhenWritten(req, res, () => (kind === "users" ? sec.deleteUser(name) : sec.deleteRole(name)), () => writeBody(req, res, 200, ""));
      return true;
    }
    void readBody(req).then((body) =>
      answerWhenWritten(req, res, () => (kind === "users" ? putUser(sec, name, body, req, res, json) : putRole(sec, name, body, req, res, json)), () => {}),
    );
    return true;
  }
  return false;
}

/**
 * Runs a change and answers once it is written (with a data dir: logged, synced and applied), or
 * answers its V2AuthError; nothing is written for a refused change.
 */
function answerWhenWritten(req: IncomingMessage, res: ServerResponse, change: () => Promise<unknown>, answer: () => void): void {
  let pending: Promise<unknown>;
  try {
    pending = change();
  } catch (error) {
    writeError(req, res, error);
    return;
  }
  pending.then(answer, (error: unknown) => writeError(req, res, error));
}

const INVALID_JSON = "Invalid JSON in request body.";

/** etcd `forUser` PUT: create, create-or-update (new password), or grant/revoke. */
async function putUser(sec: V2AuthStore, name: string, body: string, req: IncomingMessage, res: ServerResponse, json: (status: number, value: unknown) => void): Promise<void> {
  const fields = decodeObject(body);
  const user = fields === undefined ? undefined : stringField(fields, "user");
  const password = fields === undefined ? undefined : stringField(fields, "password");
  const roles = fields === undefined ? undefined : listField(fields, "roles");
  const grant = fields === undefined ? undefined : listField(fields, "grant");
  const revoke = fields === undefined ? undefined : listField(fields, "revoke");
  if ([user, password, roles, grant, revoke].some((v) => v === undefined) || user === null || password === null) {
    writeMessage(req, res, 400, INVALID_JSON);
    return;
  }
  if (user !== name) {
    writeMessage(req, res, 400, "User JSON name does not match the name in the URL");
    return;
  }
  const input = { user: user as string, password: password as string, roles: roles as string[] | null };
  const grants = (grant as string[] | null) ?? [];
  const revokes = (revoke as string[] | null) ?? [];
  let out: V2User;
  let created = false;
  if (grants.length === 0 && revokes.length === 0) {
    if ((input.roles ?? []).length !== 0) out = await sec.createUser(input);
    else [out, created] = await sec.createOrUpdateUser(input);
  } else {
    if ((input.roles ?? []).length !== 0) {
      writeMessage(req, res, 400, "User JSON contains both roles and grant/revoke");
      return;
    }
    out = await sec.updateUser({ user: input.user, password: input.password, grant: grants, revoke: revokes });
  }
  json(created ? 201 : 200, { user: out.user, roles: out.roles });
}

/** etcd `forRole` PUT: create with permissions, or grant/revoke patterns. */
async function putRole(sec: V2AuthStore, name: string, body: string, req: IncomingMessage, res: ServerResponse, json: (status: number, value: unknown) => void): Promise<void> {
  const fields = decodeObject(body);
  const role = fields === undefined ? undefined : stringField(fields, "role");
  const permissions = fields === undefined ? undefined : permissionsField(fields, "permissions");
  const grant = fields === undefined ? undefined : permissionsField(fields, "grant");
  const revoke = fields === undefined ? undefined : permissionsField(fields, "revoke");
  if ([role, permissions, grant, revoke].some((v) => v === undefined) || role === null) {
    writeMessage(req, res, 400, INVALID_JSON);
    return;
  }
  if (role !== name) {
    writeMessage(req, res, 400, "Role JSON name does not match the name in the URL");
    return;
  }
  const isEmpty = (p: { kv: RWPermission } | null | undefined): boolean => p === null || p === undefined || ((p.kv.read ?? []).length === 0 && (p.kv.write ?? []).length === 0);
  if (isEmpty(grant) && isEmpty(revoke)) {
    const created: V2Role = { role: name, permissions: permissions ?? { kv: { read: null, write: null } } };
    await sec.createRole(created);
    json(201, created);
    return;
  }
  if (!isEmpty(permissions)) {
    writeMessage(req, res, 400, "Role JSON contains both permissions and grant/revoke");
    return;
  }
  json(200, await sec.updateRole({ role: name, grant: grant ?? null, revoke: revoke ?? null }));
}

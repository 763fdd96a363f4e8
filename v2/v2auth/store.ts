/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2auth/auth.go`: v2's own users and roles, unrelated to
 * v3 auth. etcd keeps them as JSON values in the v2 store under the hidden `/2` (`/2/users/<name>`,
 * `/2/roles/<name>`, `/2/enabled`); they never show under `/v2/keys`, but every write spends an
 * etcd index. The first write of a process also creates `/2`, `/2/users/`, `/2/roles/` and
 * `/2/enabled=false` when they are missing (4 indexes):
 *
 *   fresh store, index 3;  PUT /v2/auth/users/alice  → indexes 4..7 for /2 and its children, 8 for alice
 *
 * Roles hold glob-like path patterns: "/app/*" is every key starting with "/app/", anything else is
 * one exact path. The role `root` is virtual (read and write "/*") and cannot be created, changed or
 * deleted; user root always reports it. Enabling creates the role `guest` (read and write "/*") if
 * missing, so anonymous requests keep working until guest's patterns are revoked.
 *
 * Errors are `V2AuthError`s with an HTTP status and a message starting "auth: " (written as
 * `{"message": …}` by http.ts). Lists keep Go's JSON distinction between null and [].
 *
 * The state lives only in those `/2` nodes (the v2 store's internal records), so it is in every v2
 * snapshot and, with a data dir, every change reaches it through the log: a change is checked here,
 * turned into the `/2` writes etcd would make (`AuthRecord`s), and handed to the writer, which applies
 * them at once in memory or logs them first (server/etcd.ts). The mutating calls answer once written.
 */
import bcrypt from "bcryptjs";
import type { InternalAction, Store } from "../store.js";

/** One write etcd's v2auth makes under `/2` (a PUT or DELETE through raft in etcd). `value` is JSON. */
export interface AuthRecord {
  readonly action: InternalAction;
  readonly path: string;
  readonly value: string;
}

/** Applies records: at once (memory), or once logged and synced (a data dir). */
export type AuthWriter = (records: readonly AuthRecord[]) => Promise<void>;

/** The part of the v2 store v2 auth reads and writes. */
export type AuthBackingStore = Pick<Store, "internalWrite" | "internalValue" | "internalRecords">;

const USERS_PREFIX = "/2/users/";
const ROLES_PREFIX = "/2/roles/";
const ENABLED_PATH = "/2/enabled";

export const ROOT_ROLE = "root";
export const GUEST_ROLE = "guest";
/** Go's bcrypt.DefaultCost, which v2auth uses. */
export const V2_BCRYPT_COST = 10;

/** A v2 user as stored: the password is a bcrypt hash; roles null until granted. */
export interface V2User {
  user: string;
  password: string;
  roles: string[] | null;
}

/** The read and write pattern lists of a role (null when never set). */
export interface RWPermission {
  read: string[] | null;
  write: string[] | null;
}

/** A v2 role as stored and printed: {"role", "permissions": {"kv": {"read", "write"}}}. */
export interface V2Role {
  role: string;
  permissions: { kv: RWPermission };
}

/** etcd's `auth.Error`: an HTTP status and "auth: …". */
export class V2AuthError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(`auth: ${message}`);
    this.name = "V2AuthError";
  }
}

const ROOT_ROLE_OBJECT: V2Role = { role: ROOT_ROLE, permissions: { kv: { read: ["/*"], write: ["/*"] } } };
const GUEST_ROLE_OBJECT: V2Role = { role: GUEST_ROLE, permissions: { kv: { read: ["/*"], write: ["/*"] } } };

/** etcd `simpleMatch`: "/app/*" matches every key starting with "/app/"; otherwise exact equality. */
export function simpleMatch(pattern: string, key: string): boolean {
  if (pattern.endsWith("*")) return key.startsWith(pattern.slice(0, -1));
  return key === pattern;
}

/** etcd `prefixMatch` (recursive requests): only patterns ending in "*" can match. */
export function prefixMatch(pattern: string, key: string): boolean {
  return pattern.endsWith("*") && key.startsWith(pattern.slice(0, -1));
}

/** etcd `Role.HasKeyAccess` / `HasRecursiveAccess`. */
export function roleHasAccess(role: V2Role, key: string, write: boolean, recursive: boolean): boolean {
  if (role.role === ROOT_ROLE) return true;
  const list = (write ? role.permissions.kv.write : role.permissions.kv.read) ?? [];
  return list.some((pattern) => pattern !== "" && (recursive ? prefixMatch(pattern, key) : simpleMatch(pattern, key)));
}

/** Go's sort.Strings (bytewise). */
function sortStrings(list: string[]): string[] {
  return list.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** etcd's v2auth `store`: a view over the `/2` records, and the checks of each change. */
export class V2AuthStore {
  private readonly bcryptCost: number;
  private readonly writer: AuthWriter;

  constructor(
    private readonly store: AuthBackingStore,
    options: { bcryptCost?: number; writer?: AuthWriter } = {},
  ) {
    this.bcryptCost = options.bcryptCost ?? V2_BCRYPT_COST;
    this.writer = options.writer ?? (async (records) => applyAuthRecords(store, records));
  }

  authEnabled(): boolean {
    return this.store.internalValue(ENABLED_PATH) === "true";
  }

  // ── users ──────────────────────────────────────────────────────────────────────────────────

  /** Every user name, sorted. */
  allUsers(): string[] {
    return sortStrings(this.names(USERS_PREFIX));
  }

  /** A copy of the user; user root always carries the role root. */
  getUser(name: string): V2User {
    const user = this.stored<V2User>(USERS_PREFIX, name);
    if (user === undefined) throw new V2AuthError(404, `User ${name} does not exist.`);
    return name === "root" ? attachRootRole(user) : user;
  }

  checkPassword(user: V2User, password: string): boolean {
    return bcrypt.compareSync(password, user.password);
  }

  /** etcd `CreateUser`: the password is required; root gets the role root. */
  async createUser(input: V2User): Promise<V2User> {
    const user = input.user === "root" ? attachRootRole({ ...input }) : { ...input };
    if (user.password === "") throw new V2AuthError(400, `Cannot create user ${user.user} with an empty password`);
    user.password = bcrypt.hashSync(user.password, this.bcryptCost);
    const dirs = this.authDirectories();
    if (this.stored(USERS_PREFIX, user.user) !== undefined) throw new V2AuthError(409, `User ${user.user} already exists.`);
    await this.writer([...dirs, { action: "create", path: USERS_PREFIX + user.user, value: JSON.stringify(user) }]);
    return user;
  }

  /** etcd `CreateOrUpdateUser`: [the user, created?]. */
  async createOrUpdateUser(input: V2User & { grant?: string[] | null; revoke?: string[] | null }): Promise<[V2User, boolean]> {
    if (this.stored(USERS_PREFIX, input.user) !== undefined) return [await this.updateUser(input), false];
    return [await this.createUser(input), true];
  }

  /**
   * etcd `UpdateUser` (`User.merge`): a new password is hashed, grants and revokes applied; granting
   * a held role or revoking one not held is 409; nothing changed is 400. Granting a role that does
   * not exist is accepted.
   */
  async updateUser(input: { user: string; password: string; grant?: string[] | null; revoke?: string[] | null }): Promise<V2User> {
    const old = this.getUser(input.user);
    const roles = new Set(old.roles ?? []);
    for (const g of input.grant ?? []) {
      if (roles.has(g)) throw new V2AuthError(409, `Granting duplicate role ${g} for user ${input.user}`);
      roles.add(g);
    }
    for (const r of input.revoke ?? []) {
      if (!roles.has(r)) throw new V2AuthError(409, `Revoking ungranted role ${r} for user ${input.user}`);
      roles.delete(r);
    }
    const updated: V2User = {
      user: old.user,
      password: input.password !== "" ? bcrypt.hashSync(input.password, this.bcryptCost) : old.password,
      roles: sortStrings([...roles]),
    };
    // Go's reflect.DeepEqual: a null list is not an empty one, so a user whose roles were null counts as changed.
    if (updated.password === old.password && old.roles !== null && sameList(old.roles, updated.roles ?? [])) {
      throw new V2AuthError(400, "User not updated. Use grant/revoke/password to update the user.");
    }
    await this.writer([...this.authDirectories(), { action: "update", path: USERS_PREFIX + updated.user, value: JSON.stringify(updated) }]);
    return updated;
  }

  async deleteUser(name: string): Promise<void> {
    if (this.authEnabled() && name === "root") throw new V2AuthError(403, "Cannot delete root user while auth is enabled.");
    const dirs = this.authDirectories();
    if (this.stored(USERS_PREFIX, name) === undefined) throw new V2AuthError(404, `User ${name} does not exist`);
    await this.writer([...dirs, { action: "delete", path: USERS_PREFIX + name, value: "" }]);
  }

  // ── roles ──────────────────────────────────────────────────────────────────────────────────

  /** Every role name including root, sorted. */
  allRoles(): string[] {
    return sortStrings([ROOT_ROLE, ...this.names(ROLES_PREFIX)]);
  }

  getRole(name: string): V2Role {
    if (name === ROOT_ROLE) return structuredClone(ROOT_ROLE_OBJECT);
    const role = this.stored<V2Role>(ROLES_PREFIX, name);
    if (role === undefined) throw new V2AuthError(404, `Role ${name} does not exist.`);
    return role;
  }

  async createRole(role: V2Role): Promise<void> {
    await this.writer(this.createRoleRecords(role));
  }

  private createRoleRecords(role: V2Role): AuthRecord[] {
    if (role.role === ROOT_ROLE) throw new V2AuthError(403, `Cannot modify role ${role.role}: is root role.`);
    const dirs = this.authDirectories();
    if (this.stored(ROLES_PREFIX, role.role) !== undefined) throw new V2AuthError(409, `Role ${role.role} already exists.`);
    return [...dirs, { action: "create", path: ROLES_PREFIX + role.role, value: JSON.stringify(role) }];
  }

  /**
   * etcd `UpdateRole` (`Role.merge`): grants first (a pattern already there is 409), then revokes
   * (an absent pattern is skipped); lists come back sorted, and a merge that changed nothing is 400.
   */
  async updateRole(input: { role: string; grant?: { kv: RWPermission } | null; revoke?: { kv: RWPermission } | null }): Promise<V2Role> {
    if (input.role === ROOT_ROLE) throw new V2AuthError(403, `Cannot modify role ${input.role}: is root role.`);
    const old = this.getRole(input.role);
    let kv = old.permissions.kv;
    if (input.grant !== undefined && input.grant !== null) kv = grantPatterns(kv, input.grant.kv);
    if (input.revoke !== undefined && input.revoke !== null) kv = revokePatterns(kv, input.revoke.kv);
    const updated: V2Role = { role: old.role, permissions: { kv } };
    if (JSON.stringify(updated) === JSON.stringify(old)) throw new V2AuthError(400, "Role not updated. Use grant/revoke to update the role.");
    await this.writer([...this.authDirectories(), { action: "update", path: ROLES_PREFIX + updated.role, value: JSON.stringify(updated) }]);
    return structuredClone(updated);
  }

  /** Users keep the deleted role's name (unlike v3). */
  async deleteRole(name: string): Promise<void> {
    if (name === ROOT_ROLE) throw new V2AuthError(403, `Cannot modify role ${name}: is root role.`);
    const dirs = this.authDirectories();
    if (this.stored(ROLES_PREFIX, name) === undefined) throw new V2AuthError(404, `Role ${name} doesn't exist.`);
    await this.writer([...dirs, { action: "delete", path: ROLES_PREFIX + name, value: "" }]);
  }

  // ── enable / disable ───────────────────────────────────────────────────────────────────────

  async enableAuth(): Promise<void> {
    if (this.authEnabled()) throw new V2AuthError(409, "already enabled");
    if (this.stored(USERS_PREFIX, "root") === undefined) throw new V2AuthError(409, "No root user available, please create one");
    const guest = this.stored(ROLES_PREFIX, GUEST_ROLE) === undefined ? this.createRoleRecords(GUEST_ROLE_OBJECT) : this.authDirectories();
    await this.writer([...guest, { action: "update", path: ENABLED_PATH, value: "true" }]);
  }

  async disableAuth(): Promise<void> {
    if (!this.authEnabled()) throw new V2AuthError(409, "already disabled");
    await this.writer([...this.authDirectories(), { action: "update", path: ENABLED_PATH, value: "false" }]);
  }

  // ── the v2 store's part ────────────────────────────────────────────────────────────────────

  /**
   * etcd `ensureAuthDirectories`: the first write creates /2, /2/users/, /2/roles/ and /2/enabled
   * (false), 4 indexes; once they exist, nothing.
   */
  private authDirectories(): AuthRecord[] {
    if (this.store.internalValue(ENABLED_PATH) !== undefined) return [];
    return [
      { action: "create", path: "/2", value: "" },
      { action: "create", path: "/2/users", value: "" },
      { action: "create", path: "/2/roles", value: "" },
      { action: "create", path: ENABLED_PATH, value: "false" },
    ];
  }

  /** The names under a prefix ("/2/users/alice" → "alice"). */
  private names(prefix: string): string[] {
    return [...this.store.internalRecords().keys()].filter((path) => path.startsWith(prefix) && path.length > prefix.length).map((path) => path.slice(prefix.length));
  }

  /** A fresh copy of the JSON record at prefix + name, or undefined. */
  private stored<T>(prefix: string, name: string): T | undefined {
    const value = this.store.internalValue(prefix + name);
    return value === undefined ? undefined : (JSON.parse(value) as T);
  }
}

/** Writes records into the v2 store, one index each (a create of what exists is skipped, as etcd ignores it). */
export function applyAuthRecords(store: Pick<Store, "internalWrite" | "internalValue">, records: readonly AuthRecord[]): void {
  for (const record of records) {
    if (record.action === "create" && store.internalValue(record.path) !== undefined) continue;
    store.internalWrite(record.action, record.path, record.value);
  }
}

function attachRootRole(user: V2User): V2User {
  const roles = user.roles ?? [];
  if (!roles.includes(ROOT_ROLE)) user.roles = [...roles, ROOT_ROLE];
  return user;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function grantPatterns(current: RWPermission, add: RWPermission): RWPermission {
  const merge = (list: string[] | null, more: string[] | null, kind: "read" | "write"): string[] => {
    const set = new Set(list ?? []);
    for (const pattern of more ?? []) {
      if (set.has(pattern)) throw new V2AuthError(409, `Granting duplicate ${kind} permission ${pattern}`);
      set.add(pattern);
    }
    return sortStrings([...set]);
  };
  return { read: merge(current.read, add.read, "read"), write: merge(current.write, add.write, "write") };
}

function revokePatterns(current: RWPermission, remove: RWPermission): RWPermission {
  const cut = (list: string[] | null, less: string[] | null): string[] => {
    const set = new Set(list ?? []);
    for (const pattern of less ?? []) set.delete(pattern);
    return sortStrings([...set]);
  };
  return { read: cut(current.read, remove.read), write: cut(current.write, remove.write) };
}

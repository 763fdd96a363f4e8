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
 */
import bcrypt from "bcryptjs";
import type { Store } from "../store.js";

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

/** etcd's v2auth `store`. */
export class V2AuthStore {
  private enabled = false;
  private readonly users = new Map<string, V2User>();
  private readonly roles = new Map<string, V2Role>();
  /** Whether `/2`, `/2/users/`, `/2/roles/` and `/2/enabled` exist in the v2 store. */
  private dirsExist = false;
  private readonly bcryptCost: number;

  constructor(
    private readonly store: Pick<Store, "spendIndex">,
    options: { bcryptCost?: number } = {},
  ) {
    this.bcryptCost = options.bcryptCost ?? V2_BCRYPT_COST;
  }

  authEnabled(): boolean {
    return this.enabled;
  }

  // ── users ──────────────────────────────────────────────────────────────────────────────────

  /** Every user name, sorted. */
  allUsers(): string[] {
    return sortStrings([...this.users.keys()]);
  }

  /** A copy of the user; user root always carries the role root. */
  getUser(name: string): V2User {
    const user = this.users.get(name);
    if (user === undefined) throw new V2AuthError(404, `User ${name} does not exist.`);
    const copy: V2User = { ...user, roles: user.roles === null ? null : [...user.roles] };
    return name === "root" ? attachRootRole(copy) : copy;
  }

  checkPassword(user: V2User, password: string): boolean {
    return bcrypt.compareSync(password, user.password);
  }

  /** etcd `CreateUser`: the password is required; root gets the role root. */
  createUser(input: V2User): V2User {
    const user = input.user === "root" ? attachRootRole({ ...input }) : { ...input };
    if (user.password === "") throw new V2AuthError(400, `Cannot create user ${user.user} with an empty password`);
    user.password = bcrypt.hashSync(user.password, this.bcryptCost);
    this.ensureAuthDirectories();
    if (this.users.has(user.user)) throw new V2AuthError(409, `User ${user.user} already exists.`);
    this.write(() => this.users.set(user.user, user));
    return user;
  }

  /** etcd `CreateOrUpdateUser`: [the user, created?]. */
  createOrUpdateUser(input: V2User & { grant?: string[] | null; revoke?: string[] | null }): [V2User, boolean] {
    if (this.users.has(input.user)) return [this.updateUser(input), false];
    return [this.createUser(input), true];
  }

  /**
   * etcd `UpdateUser` (`User.merge`): a new password is hashed, grants and revokes applied; granting
   * a held role or revoking one not held is 409; nothing changed is 400. Granting a role that does
   * not exist is accepted.
   */
  updateUser(input: { user: string; password: string; grant?: string[] | null; revoke?: string[] | null }): V2User {
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
    this.ensureAuthDirectories();
    this.write(() => this.users.set(updated.user, updated));
    return updated;
  }

  deleteUser(name: string): void {
    if (this.enabled && name === "root") throw new V2AuthError(403, "Cannot delete root user while auth is enabled.");
    this.ensureAuthDirectories();
    if (!this.users.has(name)) throw new V2AuthError(404, `User ${name} does not exist`);
    this.write(() => this.users.delete(name));
  }

  // ── roles ──────────────────────────────────────────────────────────────────────────────────

  /** Every role name including root, sorted. */
  allRoles(): string[] {
    return sortStrings([ROOT_ROLE, ...this.roles.keys()]);
  }

  getRole(name: string): V2Role {
    if (name === ROOT_ROLE) return structuredClone(ROOT_ROLE_OBJECT);
    const role = this.roles.get(name);
    if (role === undefined) throw new V2AuthError(404, `Role ${name} does not exist.`);
    return structuredClone(role);
  }

  createRole(role: V2Role): void {
    if (role.role === ROOT_ROLE) throw new V2AuthError(403, `Cannot modify role ${role.role}: is root role.`);
    this.ensureAuthDirectories();
    if (this.roles.has(role.role)) throw new V2AuthError(409, `Role ${role.role} already exists.`);
    this.write(() => this.roles.set(role.role, structuredClone(role)));
  }

  /**
   * etcd `UpdateRole` (`Role.merge`): grants first (a pattern already there is 409), then revokes
   * (an absent pattern is skipped); lists come back sorted, and a merge that changed nothing is 400.
   */
  updateRole(input: { role: string; grant?: { kv: RWPermission } | null; revoke?: { kv: RWPermission } | null }): V2Role {
    if (input.role === ROOT_ROLE) throw new V2AuthError(403, `Cannot modify role ${input.role}: is root role.`);
    const old = this.getRole(input.role);
    let kv = old.permissions.kv;
    if (input.grant !== undefined && input.grant !== null) kv = grantPatterns(kv, input.grant.kv);
    if (input.revoke !== undefined && input.revoke !== null) kv = revokePatterns(kv, input.revoke.kv);
    const updated: V2Role = { role: old.role, permissions: { kv } };
    if (JSON.stringify(updated) === JSON.stringify(old)) throw new V2AuthError(400, "Role not updated. Use grant/revoke to update the role.");
    this.ensureAuthDirectories();
    this.write(() => this.roles.set(updated.role, updated));
    return structuredClone(updated);
  }

  /** Users keep the deleted role's name (unlike v3). */
  deleteRole(name: string): void {
    if (name === ROOT_ROLE) throw new V2AuthError(403, `Cannot modify role ${name}: is root role.`);
    this.ensureAuthDirectories();
    if (!this.roles.has(name)) throw new V2AuthError(404, `Role ${name} doesn't exist.`);
    this.write(() => this.roles.delete(name));
  }

  // ── enable / disable ───────────────────────────────────────────────────────────────────────

  enableAuth(): void {
    if (this.enabled) throw new V2AuthError(409, "already enabled");
    if (!this.users.has("root")) throw new V2AuthError(409, "No root user available, please create one");
    if (!this.roles.has(GUEST_ROLE)) this.createRole(GUEST_ROLE_OBJECT);
    this.ensureAuthDirectories();
    this.write(() => (this.enabled = true));
  }

  disableAuth(): void {
    if (!this.enabled) throw new V2AuthError(409, "already disabled");
    this.ensureAuthDirectories();
    this.write(() => (this.enabled = false));
  }

  // ── the v2 store's part ────────────────────────────────────────────────────────────────────

  /** etcd `ensureAuthDirectories`: the first write creates /2, /2/users/, /2/roles/, /2/enabled. */
  private ensureAuthDirectories(): void {
    if (this.dirsExist) return;
    for (let i = 0; i < 4; i++) this.store.spendIndex();
    this.dirsExist = true;
  }

  /** One successful PUT or DELETE under /2: one etcd index. */
  private write(change: () => unknown): void {
    change();
    this.store.spendIndex();
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

/**
 * Mirrors etcd release-3.4 `auth/store.go`: v3 users, roles and their key permissions, the enabled
 * flag, the auth revision, password checks, tokens, and the permission questions every request asks.
 *
 *   userAdd root → roleAdd/userGrantRole root root → authEnable
 *   authenticate("alice", pw) → token;  authInfoFromToken(token) → {username: "alice", revision}
 *   isPutPermitted(info, "/app/x")       → throws AuthError("ErrPermissionDenied") when not allowed
 *
 * Rules kept from etcd:
 *   - the *root role* is the string "root" in a user's roles: such a user passes every key and admin
 *     check. The role object need not exist (`userGrantRole root root` works without it).
 *   - while enabled, user root cannot be deleted or lose role root, and role root cannot be deleted
 *     (ErrInvalidAuthMgmt); authEnable needs user root holding role root.
 *   - the auth revision starts at 1 and grows by one on every change: user add/delete/passwd/grant
 *     (not a repeated grant)/revoke, role add/grant/revoke/delete, and authDisable. Not on authEnable,
 *     authenticate or reads.
 *   - every check passes while disabled; revision 0 (no credentials) is "user name is empty"; a
 *     revision older than the current one is "revision of auth store is old".
 *   - roles and role lists stay sorted; deleting a role removes it from every user.
 * Passwords are bcrypt hashes (`bcryptjs`, cost `--bcrypt-cost`, default 10).
 */
import bcrypt from "bcryptjs";
import { compareBytes, toBinaryString, utf8 } from "../../shared/bytes.js";
import { AuthError } from "../errors.js";
import { uint64Bytes } from "../backend.js";
import { marshalRole, marshalUser, unmarshalRole, unmarshalUser, type Permission, type Role, type User } from "../authpb.js";
import { UnifiedRangePermissions } from "./rangePermCache.js";
import type { AuthInfo, TokenProvider } from "./simpleToken.js";

/** The name of the super user and of the role that makes a user one. */
export const ROOT_USER = "root";
export const ROOT_ROLE = "root";
/** etcd's default `--bcrypt-cost` (bcrypt.DefaultCost). */
export const DEFAULT_BCRYPT_COST = 10;

/** A snapshot of everything the auth store persists (etcd's `auth`, `authUsers`, `authRoles` buckets). */
export interface AuthState {
  enabled: boolean;
  revision: number;
  users: User[];
  roles: Role[];
}

export interface AuthStoreOptions {
  tokenProvider: TokenProvider;
  /** 4..31; anything else falls back to 10 (etcd logs a warning). */
  bcryptCost?: number;
  /** Restart from persisted state (tokens are never persisted). */
  state?: AuthState;
  /**
   * The backend's auth buckets: read at start (unless `state` is given) and written on every change,
   * so the state is committed with the backend (tokens are never persisted).
   */
  buckets?: AuthBuckets;
}

/**
 * etcd's three auth buckets as rows (Backend.bucket(name) satisfies each):
 *   auth       "authEnabled" → 01 or 00 (absent until the first enable), "authRevision" → uint64 big-endian
 *   authUsers  user name → authpb.User bytes
 *   authRoles  role name → authpb.Role bytes
 */
export interface AuthBuckets {
  readonly auth: Map<string, Uint8Array>;
  readonly authUsers: Map<string, Uint8Array>;
  readonly authRoles: Map<string, Uint8Array>;
}

/** etcd's `authStore`. */
export class AuthStore {
  private enabled = false;
  private rev = 1;
  private readonly users = new Map<string, User>();
  private readonly roles = new Map<string, Role>();
  /** username → merged permissions (etcd: `rangePermCache`), rebuilt lazily after each change. */
  private permCache = new Map<string, UnifiedRangePermissions>();
  readonly tokenProvider: TokenProvider;
  readonly bcryptCost: number;
  private readonly buckets: AuthBuckets | undefined;

  constructor(options: AuthStoreOptions) {
    this.tokenProvider = options.tokenProvider;
    const cost = options.bcryptCost ?? DEFAULT_BCRYPT_COST;
    this.bcryptCost = Number.isInteger(cost) && cost >= 4 && cost <= 31 ? cost : DEFAULT_BCRYPT_COST;
    this.buckets = options.buckets;
    const state = options.state ?? (options.buckets === undefined ? undefined : readAuthBuckets(options.buckets));
    if (state !== undefined) {
      this.enabled = state.enabled;
      this.rev = state.revision;
      for (const user of state.users) this.users.set(user.name, structuredClone(user));
      for (const role of state.roles) this.roles.set(role.name, structuredClone(role));
    }
  }

  /** Starts the token keeper when the restored state is enabled (etcd: `NewAuthStore`). */
  start(nowMs: number): void {
    if (this.enabled) this.tokenProvider.enable(nowMs);
  }

  /** What a data dir would persist. */
  state(): AuthState {
    return {
      enabled: this.enabled,
      revision: this.rev,
      users: [...this.users.values()].map((u) => structuredClone(u)),
      roles: [...this.roles.values()].map((r) => structuredClone(r)),
    };
  }

  isAuthEnabled(): boolean {
    return this.enabled;
  }

  /** The auth revision (persisted; changes on every mutation but authEnable). */
  revision(): number {
    return this.rev;
  }

  // ── enable / disable ───────────────────────────────────────────────────────────────────────

  authEnable(nowMs: number): void {
    if (this.enabled) return; // already enabled: success, nothing changes
    const root = this.users.get(ROOT_USER);
    if (root === undefined) throw new AuthError("ErrRootUserNotExist");
    if (!hasRootRole(root)) throw new AuthError("ErrRootRoleNotExist");
    this.enabled = true;
    this.tokenProvider.enable(nowMs);
    this.invalidateCache();
    this.persist();
    this.buckets?.auth.set("authEnabled", Uint8Array.of(1));
  }

  authDisable(): void {
    if (!this.enabled) return;
    this.enabled = false;
    this.commitRevision();
    this.buckets?.auth.set("authEnabled", Uint8Array.of(0));
    this.tokenProvider.disable();
  }

  // ── authentication ─────────────────────────────────────────────────────────────────────────

  /**
   * etcd `CheckPassword` (runs outside raft): the auth revision the check saw, or an AuthError.
   * An unknown user (also "") and a wrong password are the same ErrAuthFailed.
   */
  checkPassword(name: string, password: string): number {
    if (!this.enabled) throw new AuthError("ErrAuthNotEnabled");
    const user = this.users.get(name);
    if (user === undefined) throw new AuthError("ErrAuthFailed");
    if (user.options.no_password) throw new AuthError("ErrNoPasswordUser");
    if (user.password === "" || !bcrypt.compareSync(password, user.password)) throw new AuthError("ErrAuthFailed");
    return this.rev;
  }

  /** etcd `Authenticate` as applied from the raft entry: issues the token. */
  authenticate(name: string, entry: { index: number; prefix: string }, nowMs: number): string {
    if (!this.enabled) throw new AuthError("ErrAuthNotEnabled");
    const user = this.users.get(name);
    if (user === undefined || user.options.no_password) throw new AuthError("ErrAuthFailed");
    return this.tokenProvider.assign(name, this.rev, entry, nowMs);
  }

  /** etcd `authInfoFromToken`: undefined when the token is not accepted ("invalid auth token"). */
  authInfoFromToken(token: string, appliedIndex: number, nowMs: number): AuthInfo | undefined {
    return this.tokenProvider.info(token, this.rev, appliedIndex, nowMs);
  }

  /** etcd `AuthInfoFromTLS`: the certificate's CN as the user, at the current revision. */
  authInfoFromCommonName(commonName: string): AuthInfo {
    return { username: commonName, revision: this.rev };
  }

  // ── users ──────────────────────────────────────────────────────────────────────────────────

  /** The hash is computed before the store is touched, as etcd does (bcrypt is slow). */
  userAdd(name: string, password: string, noPassword: boolean): void {
    if (name.length === 0) throw new AuthError("ErrUserEmpty");
    const hash = noPassword ? "" : bcrypt.hashSync(password, this.bcryptCost);
    if (this.users.has(name)) throw new AuthError("ErrUserAlreadyExist");
    this.users.set(name, { name, password: hash, roles: [], options: { no_password: noPassword } });
    this.commitRevision();
  }

  userDelete(name: string): void {
    if (this.enabled && name === ROOT_USER) throw new AuthError("ErrInvalidAuthMgmt");
    if (!this.users.delete(name)) throw new AuthError("ErrUserNotFound");
    this.commitRevision();
    this.invalidateCache();
    this.tokenProvider.invalidateUser(name);
  }

  /** A no-password user keeps its flag (and still cannot log in); the new hash is stored anyway. */
  userChangePassword(name: string, password: string): void {
    const hash = bcrypt.hashSync(password, this.bcryptCost);
    const user = this.users.get(name);
    if (user === undefined) throw new AuthError("ErrUserNotFound");
    user.password = hash;
    this.commitRevision();
    this.invalidateCache();
    this.tokenProvider.invalidateUser(name);
  }

  userGrantRole(name: string, role: string): void {
    const user = this.users.get(name);
    if (user === undefined) throw new AuthError("ErrUserNotFound");
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw new AuthError("ErrRoleNotFound");
    const at = sortedIndex(user.roles, role);
    if (user.roles[at] === role) return; // already granted: success, no revision
    user.roles.splice(at, 0, role);
    this.commitRevision();
    this.invalidateCache();
  }

  userGet(name: string): string[] {
    const user = this.users.get(name);
    if (user === undefined) throw new AuthError("ErrUserNotFound");
    return [...user.roles];
  }

  userList(): string[] {
    return [...this.users.keys()].sort(compareStrings);
  }

  userRevokeRole(name: string, role: string): void {
    if (this.enabled && name === ROOT_USER && role === ROOT_ROLE) throw new AuthError("ErrInvalidAuthMgmt");
    const user = this.users.get(name);
    if (user === undefined) throw new AuthError("ErrUserNotFound");
    const at = user.roles.indexOf(role);
    if (at < 0) throw new AuthError("ErrRoleNotGranted");
    user.roles.splice(at, 1);
    this.commitRevision();
    this.invalidateCache();
  }

  /** Does `username` hold `role`? (etcd `HasRole`, for RoleGet by a non-admin) */
  hasRole(username: string, role: string): boolean {
    return this.users.get(username)?.roles.includes(role) ?? false;
  }

  // ── roles ──────────────────────────────────────────────────────────────────────────────────

  roleAdd(name: string): void {
    if (name.length === 0) throw new AuthError("ErrRoleEmpty");
    if (this.roles.has(name)) throw new AuthError("ErrRoleAlreadyExist");
    this.roles.set(name, { name, keyPermission: [] });
    this.commitRevision();
  }

  roleGet(name: string): Permission[] {
    const role = this.roles.get(name);
    if (role === undefined) throw new AuthError("ErrRoleNotFound");
    return role.keyPermission.map((p) => ({ ...p }));
  }

  roleList(): string[] {
    return [...this.roles.keys()].sort(compareStrings);
  }

  /** Removes the role from every user too (etcd 3.4 does; v2 does not). */
  roleDelete(name: string): void {
    if (this.enabled && name === ROOT_ROLE) throw new AuthError("ErrInvalidAuthMgmt");
    if (!this.roles.delete(name)) throw new AuthError("ErrRoleNotFound");
    for (const user of this.users.values()) {
      const at = user.roles.indexOf(name);
      if (at >= 0) user.roles.splice(at, 1);
    }
    this.commitRevision();
    this.invalidateCache();
  }

  /**
   * etcd looks at the first entry whose key is ≥ the new key: same key and range_end → only its
   * type changes; otherwise the new entry is appended and the list sorted by key, which leaves it
   * after the entries with the same key.
   *   [a READ] + (a..c WRITE) → [a READ, a..c WRITE];  + (a READWRITE) → [a READWRITE, a..c WRITE]
   *   quirk: [a..b READ, a..c READ] + (a..c WRITE) → a third entry, since only a..b is looked at
   */
  roleGrantPermission(name: string, perm: Permission): void {
    const role = this.roles.get(name);
    if (role === undefined) throw new AuthError("ErrRoleNotFound");
    const list = role.keyPermission;
    const first = list[lowerBound(list, perm.key, 0)];
    if (first !== undefined && compareBytes(first.key, perm.key) === 0 && compareBytes(first.range_end, perm.range_end) === 0) {
      first.permType = perm.permType;
    } else {
      list.splice(lowerBound(list, perm.key, 1), 0, { permType: perm.permType, key: perm.key.slice(), range_end: perm.range_end.slice() });
    }
    this.commitRevision();
    this.invalidateCache();
  }

  roleRevokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array): void {
    const role = this.roles.get(name);
    if (role === undefined) throw new AuthError("ErrRoleNotFound");
    const kept = role.keyPermission.filter((p) => !(compareBytes(p.key, key) === 0 && compareBytes(p.range_end, rangeEnd) === 0));
    if (kept.length === role.keyPermission.length) throw new AuthError("ErrPermissionNotGranted");
    role.keyPermission = kept;
    this.commitRevision();
    this.invalidateCache();
  }

  // ── the checks (etcd: isOpPermitted, IsAdminPermitted) ─────────────────────────────────────

  isRangePermitted(info: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
    this.isOpPermitted(info, "read", key, rangeEnd);
  }

  isPutPermitted(info: AuthInfo | undefined, key: Uint8Array): void {
    this.isOpPermitted(info, "write", key, undefined);
  }

  isDeleteRangePermitted(info: AuthInfo | undefined, key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
    this.isOpPermitted(info, "write", key, rangeEnd);
  }

  /**
   * Admin calls: no revision check (unlike key checks), and an unknown user is "user not found"
   * rather than "permission denied".
   */
  isAdminPermitted(info: AuthInfo | undefined): void {
    if (!this.enabled) return;
    if (info === undefined || info.username === "") throw new AuthError("ErrUserEmpty");
    const user = this.users.get(info.username);
    if (user === undefined) throw new AuthError("ErrUserNotFound");
    if (!hasRootRole(user)) throw new AuthError("ErrPermissionDenied");
  }

  private isOpPermitted(info: AuthInfo | undefined, kind: "read" | "write", key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
    if (!this.enabled) return;
    const revision = info?.revision ?? 0;
    if (revision === 0) throw new AuthError("ErrUserEmpty");
    if (revision < this.rev) throw new AuthError("ErrAuthOldRevision");
    const username = (info as AuthInfo).username;
    const user = this.users.get(username);
    if (user === undefined) throw new AuthError("ErrPermissionDenied");
    if (hasRootRole(user)) return;
    if (!this.mergedPermissions(user).permits(kind, key, rangeEnd)) throw new AuthError("ErrPermissionDenied");
  }

  private mergedPermissions(user: User): UnifiedRangePermissions {
    let cached = this.permCache.get(user.name);
    if (cached === undefined) {
      const perms: Permission[] = [];
      for (const roleName of user.roles) perms.push(...(this.roles.get(roleName)?.keyPermission ?? []));
      cached = UnifiedRangePermissions.of(perms);
      this.permCache.set(user.name, cached);
    }
    return cached;
  }

  private invalidateCache(): void {
    this.permCache = new Map();
  }

  /** Every change ends here: the revision moves and the buckets are rewritten (see `persist`). */
  private commitRevision(): void {
    this.rev++;
    this.persist();
  }

  /**
   * Writes the revision, users and roles into the buckets (auth changes are rare and the lists small,
   * so a full rewrite keeps this simple); the backend commits them with the next batch, as etcd's tx
   * does. The `authEnabled` row is written by enable and disable only, as etcd writes it.
   */
  private persist(): void {
    const buckets = this.buckets;
    if (buckets === undefined) return;
    buckets.auth.set("authRevision", uint64Bytes(BigInt(this.rev)));
    buckets.authUsers.clear();
    for (const user of this.users.values()) buckets.authUsers.set(toBinaryString(utf8(user.name)), marshalUser(user));
    buckets.authRoles.clear();
    for (const role of this.roles.values()) buckets.authRoles.set(toBinaryString(utf8(role.name)), marshalRole(role));
  }
}

/** The state the buckets hold; undefined for a backend auth has never written to (enabled row absent, no users). */
function readAuthBuckets(buckets: AuthBuckets): AuthState | undefined {
  const enabled = buckets.auth.get("authEnabled");
  if (enabled === undefined && buckets.authUsers.size === 0 && buckets.authRoles.size === 0) return undefined;
  const revision = buckets.auth.get("authRevision");
  return {
    enabled: enabled !== undefined && enabled[0] === 1,
    revision: revision === undefined ? 1 : Number(Buffer.from(revision).readBigUInt64BE()),
    users: [...buckets.authUsers.values()].map(unmarshalUser),
    roles: [...buckets.authRoles.values()].map(unmarshalRole),
  };
}

function hasRootRole(user: User): boolean {
  return user.roles.includes(ROOT_ROLE);
}

/** Go compares strings bytewise (UTF-8); for names JS's UTF-16 order differs only past U+FFFF. */
function compareStrings(a: string, b: string): number {
  return compareBytes(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function sortedIndex(sorted: readonly string[], item: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareStrings(sorted[mid] as string, item) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key is ≥ `key` (bias 0) or > `key` (bias 1) (Go: sort.Search by key). */
function lowerBound(list: readonly Permission[], key: Uint8Array, bias: 0 | 1): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes((list[mid] as Permission).key, key) < bias) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

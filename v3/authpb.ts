/**
 * Mirrors etcd release-3.4 `auth/authpb/auth.proto`: what the v3 auth store keeps, one record per
 * user and per role (bbolt buckets `authUsers` and `authRoles`). Contracts only.
 *
 *   User  {name: "alice", password: <bcrypt hash>, roles: ["reader"], options: {no_password: false}}
 *   Role  {name: "reader", keyPermission: [{permType: READ, key: "/app/", range_end: "/app0"}]}
 *
 * A permission's range_end reads as in a RangeRequest: empty = the one key, "\0" = every key from
 * `key` on, otherwise [key, range_end).
 */

/** authpb.Permission.Type */
export const PermissionType = { READ: 0, WRITE: 1, READWRITE: 2 } as const;
export type PermissionType = (typeof PermissionType)[keyof typeof PermissionType];

/** authpb.Permission */
export interface Permission {
  permType: PermissionType; // 1
  key: Uint8Array; // 2
  range_end: Uint8Array; // 3
}

/** authpb.UserAddOptions */
export interface UserAddOptions {
  no_password: boolean; // 1
}

/** authpb.User: roles kept sorted and without duplicates; no password hash when no_password. */
export interface User {
  name: string; // 1 (bytes in the proto; names are UTF-8 text in every API)
  password: string; // 2 (the bcrypt hash, "" when none)
  roles: string[]; // 3
  options: UserAddOptions; // 4
}

/** authpb.Role: permissions kept sorted by key (bytewise); two may share a key with different ends. */
export interface Role {
  name: string; // 1
  keyPermission: Permission[]; // 2
}

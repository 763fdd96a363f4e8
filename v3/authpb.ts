/**
 * Mirrors etcd release-3.4 `auth/authpb/auth.proto`: what the v3 auth store keeps, one record per
 * user and per role (bbolt buckets `authUsers` and `authRoles`), and those records' protobuf bytes.
 *
 *   User  {name: "alice", password: <bcrypt hash>, roles: ["reader"], options: {no_password: false}}
 *   Role  {name: "reader", keyPermission: [{permType: READ, key: "/app/", range_end: "/app0"}]}
 *
 * A permission's range_end reads as in a RangeRequest: empty = the one key, "\0" = every key from
 * `key` on, otherwise [key, range_end).
 */
import { bytesOf, PbWriter, readFields, varintOf } from "../shared/pb.js";

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

// ── The bytes etcd keeps in the authUsers and authRoles buckets (gogo's Marshal: fields in number
// order, zero values left out; User.options is a pointer, so it is written even when empty) ──────
//
//   User{name "root", password "$2a$…", roles ["root"], options {}}
//     → 0a 04 72 6f 6f 74  12 3c 24 32 61 …  1a 04 72 6f 6f 74  22 00
//   Role{name "r", keyPermission [{READWRITE, "a", "b"}]} → 0a 01 72  12 08 08 02 12 01 61 1a 01 62

const fromText = new TextDecoder();

/** authpb.User.Marshal. */
export function marshalUser(user: User): Uint8Array {
  const w = new PbWriter();
  if (user.name !== "") w.string(1, user.name);
  if (user.password !== "") w.string(2, user.password);
  for (const role of user.roles) w.string(3, role);
  const options = new PbWriter();
  if (user.options.no_password) options.bool(1, true);
  return w.bytes(4, options.finish()).finish();
}

/** authpb.User.Unmarshal (a missing options message reads as {no_password: false}). */
export function unmarshalUser(bytes: Uint8Array): User {
  const fields = readFields(bytes);
  const options = bytesOf(fields, 4);
  return {
    name: fromText.decode(bytesOf(fields, 1) ?? new Uint8Array()),
    password: fromText.decode(bytesOf(fields, 2) ?? new Uint8Array()),
    roles: fields.filter((f) => f.field === 3 && f.bytes !== undefined).map((f) => fromText.decode(f.bytes)),
    options: { no_password: options !== undefined && varintOf(readFields(options), 1) !== 0n },
  };
}

/** authpb.Role.Marshal. */
export function marshalRole(role: Role): Uint8Array {
  const w = new PbWriter();
  if (role.name !== "") w.string(1, role.name);
  for (const perm of role.keyPermission) {
    const p = new PbWriter();
    if (perm.permType !== PermissionType.READ) p.uint(1, perm.permType);
    if (perm.key.length > 0) p.bytes(2, perm.key);
    if (perm.range_end.length > 0) p.bytes(3, perm.range_end);
    w.bytes(2, p.finish());
  }
  return w.finish();
}

/** authpb.Role.Unmarshal. */
export function unmarshalRole(bytes: Uint8Array): Role {
  const fields = readFields(bytes);
  return {
    name: fromText.decode(bytesOf(fields, 1) ?? new Uint8Array()),
    keyPermission: fields
      .filter((f) => f.field === 2 && f.bytes !== undefined)
      .map((f) => {
        const p = readFields(f.bytes as Uint8Array);
        return {
          permType: Number(varintOf(p, 1)) as PermissionType,
          key: Uint8Array.from(bytesOf(p, 2) ?? []),
          range_end: Uint8Array.from(bytesOf(p, 3) ?? []),
        };
      }),
  };
}

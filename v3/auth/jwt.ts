/**
 * Mirrors etcd release-3.4 `auth/jwt.go` and the option parsing of `auth/options.go`: signed JSON
 * Web Tokens instead of simple tokens (`--auth-token jwt,pub-key=<file>,priv-key=<file>,sign-method=RS256[,ttl=5m]`).
 *
 *   header  {"alg":"RS256","typ":"JWT"}
 *   claims  {"exp":<unix seconds>,"revision":<auth revision at login>,"username":"alice"}
 *
 * The server keeps nothing: a token is valid while its signature checks and `exp` is in the future,
 * and the request is judged with the revision inside it, so any auth change since the login makes
 * it "revision of auth store is old" (the store's check). Nothing is dropped on passwd, delete or
 * disable, and a restart changes nothing. With only a public key the member verifies but cannot
 * issue ("auth: token signing attempted with verify-only key").
 *
 * Signing uses Node's crypto: RS* (PKCS#1 v1.5), PS* (PSS, salt = hash length), ES* (raw r‖s, as
 * JWS wants), HS* (HMAC whose secret is the private-key file's bytes, as etcd reads it).
 */
import { createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify, constants, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { AuthError } from "../errors.js";
import type { AuthInfo, TokenProvider } from "./simpleToken.js";

/** etcd's default JWT lifetime (`ttl` option). */
export const DEFAULT_JWT_TTL_MS = 5 * 60 * 1000;

const HASHES: Readonly<Record<string, string>> = { "256": "sha256", "384": "sha384", "512": "sha512" };

export interface JwtOptions {
  signMethod: string;
  /** PEM (RS/PS/ES) or the raw secret (HS); undefined = verify only. */
  privateKey?: Buffer;
  /** PEM; for HS the secret doubles as the verification key. */
  publicKey?: Buffer;
  ttlMs?: number;
}

/**
 * Parses `jwt,pub-key=…,priv-key=…,sign-method=…,ttl=…` (etcd: `parseOptions`). Unknown options are
 * ignored (etcd warns). Throws for a missing sign-method or an unknown one.
 */
export function parseJwtOptions(spec: string, readFile: (path: string) => Buffer = readFileSync): JwtOptions {
  const [kind, ...pairs] = spec.split(",");
  if (kind !== "jwt") throw new Error(`--auth-token: unknown token type ${JSON.stringify(kind)}`);
  const values = new Map(pairs.map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]));
  const signMethod = values.get("sign-method") ?? "";
  if (!/^(RS|PS|ES|HS)(256|384|512)$/.test(signMethod)) throw new Error(`--auth-token: invalid sign-method ${JSON.stringify(signMethod)}`);
  const ttl = values.get("ttl");
  const priv = values.get("priv-key");
  const pub = values.get("pub-key");
  return {
    signMethod,
    ...(priv === undefined ? {} : { privateKey: readFile(priv) }),
    ...(pub === undefined ? {} : { publicKey: readFile(pub) }),
    ...(ttl === undefined ? {} : { ttlMs: parseGoDuration(ttl) }),
  };
}

/** Go's time.ParseDuration for the usual forms ("5m", "30s", "1h30m", "250ms"). */
function parseGoDuration(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = re.exec(text)) !== null) {
    total += Number(match[1]) * (units[match[2] as string] as number);
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || text === "") throw new Error(`--auth-token: invalid ttl ${JSON.stringify(text)}`);
  return total;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

/** etcd's `tokenJWT`. */
export class JwtTokenProvider implements TokenProvider {
  private readonly family: string;
  private readonly hash: string;
  private readonly signKey: KeyObject | Buffer | undefined;
  private readonly verifyKey: KeyObject | Buffer;
  private readonly ttlMs: number;

  constructor(
    private readonly options: JwtOptions,
    private readonly now: () => number,
  ) {
    this.family = options.signMethod.slice(0, 2);
    this.hash = HASHES[options.signMethod.slice(2)] as string;
    this.ttlMs = options.ttlMs ?? DEFAULT_JWT_TTL_MS;
    if (this.family === "HS") {
      const secret = options.privateKey ?? options.publicKey;
      if (secret === undefined) throw new Error("--auth-token: HS* needs priv-key (the secret)");
      this.signKey = options.privateKey;
      this.verifyKey = secret;
    } else {
      if (options.publicKey === undefined && options.privateKey === undefined) throw new Error("--auth-token: jwt needs pub-key and/or priv-key");
      this.signKey = options.privateKey === undefined ? undefined : createPrivateKey(options.privateKey);
      this.verifyKey = options.publicKey !== undefined ? createPublicKey(options.publicKey) : createPublicKey(createPrivateKey(options.privateKey as Buffer));
    }
  }

  enable(): void {}
  disable(): void {}
  invalidateUser(): void {}
  sweep(): void {}
  genTokenPrefix(): string {
    return "";
  }

  assign(username: string, revision: number): string {
    if (this.signKey === undefined) throw new AuthError("ErrTokenSigningVerifyOnly");
    const header = b64url(JSON.stringify({ alg: this.options.signMethod, typ: "JWT" }));
    const claims = b64url(JSON.stringify({ exp: Math.floor((this.now() + this.ttlMs) / 1000), revision, username }));
    const input = `${header}.${claims}`;
    return `${input}.${b64url(this.signature(input))}`;
  }

  info(token: string): AuthInfo | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [header, claims, signature] = parts as [string, string, string];
    try {
      const head = JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg?: unknown };
      if (head.alg !== this.options.signMethod) return undefined;
      if (!this.verifies(`${header}.${claims}`, Buffer.from(signature, "base64url"))) return undefined;
      const body = JSON.parse(Buffer.from(claims, "base64url").toString("utf8")) as { exp?: unknown; revision?: unknown; username?: unknown };
      if (typeof body.exp === "number" && body.exp * 1000 <= this.now()) return undefined;
      if (typeof body.username !== "string" || typeof body.revision !== "number") return undefined;
      return { username: body.username, revision: body.revision };
    } catch {
      return undefined;
    }
  }

  private signature(input: string): Buffer {
    if (this.family === "HS") return createHmac(this.hash, this.signKey as Buffer).update(input).digest();
    return sign(this.hash, Buffer.from(input), this.keyOptions(this.signKey as KeyObject));
  }

  private verifies(input: string, sig: Buffer): boolean {
    if (this.family === "HS") {
      const expected = createHmac(this.hash, this.verifyKey as Buffer).update(input).digest();
      return expected.length === sig.length && timingSafeEqual(expected, sig);
    }
    return verify(this.hash, Buffer.from(input), this.keyOptions(this.verifyKey as KeyObject), sig);
  }

  private keyOptions(key: KeyObject): KeyObject | { key: KeyObject; padding?: number; saltLength?: number; dsaEncoding?: "ieee-p1363" } {
    if (this.family === "PS") return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
    if (this.family === "ES") return { key, dsaEncoding: "ieee-p1363" };
    return key;
  }
}

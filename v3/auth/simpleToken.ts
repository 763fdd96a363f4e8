/**
 * Mirrors etcd release-3.4 `auth/simple_token.go`: the default token, `<16 letters>.<raft index>`,
 * kept only in memory, with a sliding lifetime of `--auth-token-ttl` seconds (default 300).
 *
 *   assign("alice", rev, {index: 247, prefix: "iUOrzrPgYUdBWJUC"}) → "iUOrzrPgYUdBWJUC.247" (index of the Authenticate entry)
 *   info("iUOrzrPgYUdBWJUC.247") → "alice", and the token's expiry moves to now + TTL
 *   info("bogus") / info("bogus.x") / info("bogus.5") (unknown) → undefined: "invalid auth token"
 *
 * Expiry, as etcd's TTL keeper does it: a sweep runs every second from the moment auth was enabled
 * and drops every token whose expiry is already past, so a token dies between TTL and TTL + 1 s after
 * its last use. No timer is needed to reproduce that: the first sweep after a token's expiry is
 * `start + 1000 × (⌊(expiry − start) / 1000⌋ + 1)`, and the token is gone once the clock has passed
 * it. `sweep(now)` just forgets such tokens (the server calls it once a second).
 *
 *   TTL 3 s, keeper started at 0, token used at 0.2 s → expiry 3.2 s → swept at 4 s.
 *   Used again at 3.9 s → expiry 6.9 s; idle after that → swept at 7 s.
 *
 * Tokens are dropped on UserDelete and UserChangePassword (that user's), on AuthDisable (all), and
 * by a restart (all: nothing is persisted).
 */
import type { Random } from "../../shared/random.js";

/** etcd's default `--auth-token-ttl`, in seconds. */
export const DEFAULT_SIMPLE_TOKEN_TTL_SECONDS = 300;
/** The TTL keeper's sweep period (etcd: a one-second ticker). */
export const SIMPLE_TOKEN_SWEEP_MS = 1000;
/** Length of a token's random prefix (etcd: `defaultSimpleTokenLength`). */
const SIMPLE_TOKEN_PREFIX_LENGTH = 16;
const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** Who a token speaks for, and the auth revision its request is checked against. */
export interface AuthInfo {
  readonly username: string;
  readonly revision: number;
}

/**
 * What the auth store needs from a token kind (etcd: `TokenProvider`): simple tokens here, JWT in
 * jwt.ts. `info` answers undefined for a token it does not accept.
 */
export interface TokenProvider {
  enable(nowMs: number): void;
  disable(): void;
  /** `appliedIndex` is the member's raft index; `revision` the store's current auth revision. */
  info(token: string, revision: number, appliedIndex: number, nowMs: number): AuthInfo | undefined;
  /**
   * A new token for `username`, issued when the Authenticate raft entry at `entry.index` (carrying
   * the prefix drawn by `genTokenPrefix`) is applied, with the current auth `revision`.
   */
  assign(username: string, revision: number, entry: { index: number; prefix: string }, nowMs: number): string;
  /** Drops every token of `username` (no-op for JWT: nothing is tracked). */
  invalidateUser(username: string): void;
  /** Forgets expired tokens (no-op for JWT). */
  sweep(nowMs: number): void;
  /** The random prefix Authenticate proposes with its raft entry ("" for JWT). */
  genTokenPrefix(): string;
}

/** etcd's `tokenSimple` with its `simpleTokenTTLKeeper`. */
export class SimpleTokenProvider implements TokenProvider {
  private readonly ttlMs: number;
  private readonly random: Random;
  /** token → user and expiry; empty and unused while disabled. */
  private readonly tokens = new Map<string, { username: string; expiryMs: number }>();
  /** When the TTL keeper started (its sweeps fall on whole seconds from here); undefined = disabled. */
  private keeperStartMs: number | undefined;

  constructor(options: { random: Random; ttlSeconds?: number }) {
    this.random = options.random;
    this.ttlMs = (options.ttlSeconds ?? DEFAULT_SIMPLE_TOKEN_TTL_SECONDS) * 1000;
  }

  enable(nowMs: number): void {
    this.keeperStartMs = nowMs;
  }

  disable(): void {
    this.keeperStartMs = undefined;
    this.tokens.clear();
  }

  genTokenPrefix(): string {
    let prefix = "";
    for (let i = 0; i < SIMPLE_TOKEN_PREFIX_LENGTH; i++) prefix += LETTERS[this.random.int(0, LETTERS.length - 1)];
    return prefix;
  }

  /** Registers `<prefix>.<index>` for `username` (etcd: `assign` → `assignSimpleTokenToUser`). */
  assign(username: string, _revision: number, entry: { index: number; prefix: string }, nowMs: number): string {
    const token = `${entry.prefix}.${entry.index}`;
    if (this.keeperStartMs !== undefined) this.tokens.set(token, { username, expiryMs: nowMs + this.ttlMs });
    return token;
  }

  /**
   * etcd `info`: the format check (one dot, an integer after it), then the lookup, which slides
   * the expiry. etcd waits for its applied index to reach the token's index before the lookup, so a
   * token naming a future index hangs the request until the client gives up. etcdsim refuses it at
   * once as an invalid token instead (deliberate: a simulated member's index only moves when a
   * request moves it, so the wait could end only by the client's timeout, and a hung request holds
   * a connection for nothing; the client's view, an error and no token, is the same).
   */
  info(token: string, revision: number, appliedIndex: number, nowMs: number): AuthInfo | undefined {
    const parts = token.split(".");
    if (parts.length !== 2) return undefined;
    const index = parseGoInt(parts[1] as string);
    if (index === undefined || index < 0 || index > appliedIndex) return undefined;
    const entry = this.tokens.get(token);
    if (entry === undefined) return undefined;
    if (this.sweptBy(entry.expiryMs, nowMs)) {
      this.tokens.delete(token);
      return undefined;
    }
    entry.expiryMs = nowMs + this.ttlMs;
    return { username: entry.username, revision };
  }

  invalidateUser(username: string): void {
    for (const [token, entry] of this.tokens) if (entry.username === username) this.tokens.delete(token);
  }

  sweep(nowMs: number): void {
    for (const [token, entry] of this.tokens) if (this.sweptBy(entry.expiryMs, nowMs)) this.tokens.delete(token);
  }

  /** Live tokens (for lessons and tests). */
  get size(): number {
    return this.tokens.size;
  }

  /** Has a keeper sweep at or before `nowMs` fallen strictly after `expiryMs`? */
  private sweptBy(expiryMs: number, nowMs: number): boolean {
    const start = this.keeperStartMs;
    if (start === undefined) return true;
    const firstSweepAfter = start + SIMPLE_TOKEN_SWEEP_MS * (Math.floor((expiryMs - start) / SIMPLE_TOKEN_SWEEP_MS) + 1);
    return firstSweepAfter <= nowMs;
  }
}

/** Go's `strconv.Atoi` on a token suffix: optional sign, decimal digits, nothing else. */
function parseGoInt(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

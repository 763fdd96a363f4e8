/**
 * Seeded workloads shared by the benchmarks: the keys, their order, the values.
 *
 * Keys are grouped under prefixes of exactly 1,000 keys each, so a prefix range returns 1,000 keys
 * at any store size, and they are inserted in a seeded random order (a B-tree fed sorted keys
 * would only ever append to its rightmost leaf, which flatters every ordered structure).
 *
 *   benchKeyText(1234)   →  "key/0001/0234"     (prefix 1, item 234)
 *   benchPrefixText(1)   →  "key/0001/"
 *   unrelatedKeyText(1234) → "key/0001/02d4"  (never written, sorts among the written keys)
 *   shuffledIndexes(5, new Random(42))  →  e.g. [3, 0, 4, 1, 2], the same for seed 42 on every machine
 */
import { Random } from "../shared/random.js";
import { utf8 } from "../shared/bytes.js";

/** Keys under one prefix: a prefix range returns exactly this many. */
export const KEYS_PER_PREFIX = 1000;

/** The seed every benchmark starts from unless `--seed` says otherwise. */
export const DEFAULT_SEED = 42;

function pad4(n: number): string {
  return n.toString().padStart(4, "0");
}

/** The text of key number `n`: "key/<prefix>/<item>", 13 bytes. */
export function benchKeyText(n: number): string {
  return `key/${pad4(Math.floor(n / KEYS_PER_PREFIX))}/${pad4(n % KEYS_PER_PREFIX)}`;
}

/**
 * A key shaped exactly like key `n` (same length, same first and last byte, same prefix) that no
 * bench ever writes: the item's third digit d becomes the letter "a" + d, so distinct n give distinct
 * keys. It sorts between the written keys, so a watcher on it is unrelated to every write yet shares
 * the written part of the key space, and no cheap test on a key's length, ends or bounds can tell
 * the two apart.
 *
 *   unrelatedKeyText(1234)  →  "key/0001/02d4"     (between key/0001/0299 and key/0001/0300)
 *   unrelatedKeyText(1204)  →  "key/0001/02a4"     (a different key: the digit is kept as a letter)
 */
export function unrelatedKeyText(n: number): string {
  const text = benchKeyText(n);
  const digit = text.charCodeAt(11) - 48;
  return `${text.slice(0, 11)}${String.fromCharCode(97 + digit)}${text.slice(12)}`;
}

/** The prefix shared by keys `p * 1000` … `p * 1000 + 999`. */
export function benchPrefixText(prefix: number): string {
  return `key/${pad4(prefix)}/`;
}

/** The numbers 0 … count-1 in a seeded random order (Fisher–Yates). */
export function shuffledIndexes(count: number, random: Random): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = i;
  for (let i = count - 1; i > 0; i--) {
    const j = random.int(0, i);
    const t = out[i] as number;
    out[i] = out[j] as number;
    out[j] = t;
  }
  return out;
}

/** `count` key texts in a seeded random order. */
export function shuffledKeyTexts(count: number, seed: number): string[] {
  const order = shuffledIndexes(count, new Random(seed));
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = benchKeyText(order[i] as number);
  return out;
}

/** `count` keys as UTF-8 bytes (what the v3 API takes), in a seeded random order. */
export function shuffledKeys(count: number, seed: number): Uint8Array[] {
  return shuffledKeyTexts(count, seed).map(utf8);
}

/** One small value shared by every put, so the benchmarks time the stores and not value allocation. */
export const BENCH_VALUE: Uint8Array = utf8("value-0123456789");

/** The same value as text, for the v2 store and the baselines that hold strings. */
export const BENCH_VALUE_TEXT = "value-0123456789";

/**
 * Seeded randomness. Every random choice in a scenario, a test or a benchmark comes from a `Random`
 * built from a printed seed, so a run is reproduced by its seed (TigerBeetle's VOPR rule).
 *
 * Backed by `pure-rand` (xoroshiro128+), the generator fast-check itself uses.
 *
 *   const random = new Random(42);
 *   random.int(0, 9)   // the same sequence of integers for seed 42, on every machine
 */
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import type { RandomGenerator } from "pure-rand/types/RandomGenerator";

export class Random {
  readonly seed: number;
  private readonly generator: RandomGenerator;

  constructor(seed: number) {
    this.seed = seed;
    this.generator = xoroshiro128plus(seed);
  }

  /** A uniform integer in [min, max], both ends included. */
  int(min: number, max: number): number {
    return uniformInt(this.generator, min, max);
  }

  /** A float in [0, 1), from 53 random bits. */
  float(): number {
    const high = this.int(0, (1 << 26) - 1);
    const low = this.int(0, (1 << 27) - 1);
    return (high * 2 ** 27 + low) / 2 ** 53;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty array");
    return items[this.int(0, items.length - 1)] as T;
  }

  /** A hex string of `length` characters, e.g. for random service-instance ids. */
  hex(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += this.int(0, 15).toString(16);
    return out;
  }

  /** A Fisher–Yates shuffle of a copy of `items`. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }
}

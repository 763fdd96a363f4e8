/**
 * The benchmark harness: timing, garbage collection, paired trials and medians.
 *
 * Every figure in `npm run bench` is a ratio against a baseline measured in the same process, a few
 * milliseconds apart, so a noisy or slow machine moves both sides together and the ratio holds.
 * To keep the two sides honest the harness:
 *
 *   1. runs each side once untimed (warm-up: the JIT compiles both hot loops before any timing),
 *   2. alternates the sides, baseline then subject, for several trials (ABAB…), so drift in CPU
 *      frequency or a neighbour's load lands on both,
 *   3. collects garbage before every timed phase, so one side's garbage is not paid by the other,
 *   4. times each phase in CPU time of this process (`process.cpuUsage()`, user + system, all of its
 *      threads, so V8's helper threads doing a side's garbage collection count for that side), not
 *      wall time: on a machine shared with other busy processes, time spent waiting for a core
 *      belongs to nobody's cost model. On an idle machine the two agree,
 *   5. reports the median of each side and the median of the per-trial ratios.
 *
 * Only `bench/` and `shared/` read real time. Memory is read from `process.memoryUsage().heapUsed`
 * after a forced full GC (`node --expose-gc`), never estimated.
 *
 *   const result = pairedTrials({ trials: 5 }, () => prepareBaseline(), () => prepareSubject());
 *   result.ratio   // median over trials of subjectMs / baselineMs
 */

/** A phase is prepared untimed, then its returned closure is timed. */
export type Phase = () => () => void;

/** The figures of one baseline-versus-subject comparison. */
export interface PairedResult {
  /** Median CPU time of the baseline's timed closure, in milliseconds. */
  readonly baselineMs: number;
  /** Median CPU time of the subject's timed closure, in milliseconds. */
  readonly subjectMs: number;
  /** Median over trials of subjectMs / baselineMs: above 1 means the subject is slower. */
  readonly slowdown: number;
  /** Every trial's raw times, for the verbose print. */
  readonly trials: readonly { baselineMs: number; subjectMs: number }[];
}

export interface PairedOptions {
  /** Timed trials per side (default 5). The median is taken over these. */
  readonly trials?: number;
  /** Untimed runs per side before the first trial (default 1). */
  readonly warmups?: number;
}

/** Milliseconds from a monotonic clock, with sub-microsecond resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * CPU time (user + system, every thread of this process) of one call to `run`, in milliseconds.
 * Linux accounts it to the nanosecond (getrusage sums the scheduler's per-thread runtime), so it is
 * as fine-grained as wall time for the phases here (≥ 10 ms), and waiting for a busy core does not count.
 */
export function cpuMs(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/**
 * A full, blocking garbage collection. Needs `node --expose-gc` (which `npm run bench` passes).
 * Two passes: the first may only queue finalizers and weak-reference clearing that the second completes.
 */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    throw new Error("global.gc is missing: run the benchmarks with `npm run bench` (node --expose-gc)");
  }
  gc();
  gc();
}

/** Bytes of live JavaScript heap after a full collection. */
export function liveHeapBytes(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** The middle value (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Runs a prepared phase with a collection first, and returns its CPU time in milliseconds. */
function timedPhase(phase: Phase): number {
  const run = phase();
  collectGarbage();
  return cpuMs(run);
}

/**
 * Baseline and subject, alternated trial by trial (see the file comment). Each phase is prepared
 * afresh for every run, so a phase may build a new store in its untimed part.
 */
export function pairedTrials(options: PairedOptions, baseline: Phase, subject: Phase): PairedResult {
  const trials = options.trials ?? 5;
  const warmups = options.warmups ?? 1;
  for (let i = 0; i < warmups; i++) {
    timedPhase(baseline);
    timedPhase(subject);
  }
  const results: { baselineMs: number; subjectMs: number }[] = [];
  for (let i = 0; i < trials; i++) {
    // Alternate which side goes first, so neither always runs on a heap the other just grew.
    if (i % 2 === 0) {
      const baselineMs = timedPhase(baseline);
      const subjectMs = timedPhase(subject);
      results.push({ baselineMs, subjectMs });
    } else {
      const subjectMs = timedPhase(subject);
      const baselineMs = timedPhase(baseline);
      results.push({ baselineMs, subjectMs });
    }
  }
  collectGarbage();
  return {
    baselineMs: median(results.map((r) => r.baselineMs)),
    subjectMs: median(results.map((r) => r.subjectMs)),
    slowdown: median(results.map((r) => r.subjectMs / r.baselineMs)),
    trials: results,
  };
}

/**
 * Where lessons run: the seam between the runner and the adapters.
 *
 * Without `--target`, lessons run in process (`inProcessTargets`, built from v2Local and v3Local).
 * With `--target URL`, the runner asks each provider in order whether it handles the URL, and the
 * first that does opens it. To plug in another adapter (a real etcd over the network, say), write a
 * `TargetProvider` and add it to the list `scenarios/main.ts` passes to the runner:
 *
 *   export const realEtcdProvider: TargetProvider = {
 *     name: "real etcd",
 *     handles: (spec) => spec.startsWith("http://") || spec === "etcd",
 *     open: async (spec) => ({ description: `etcd at ${spec}`, open: async (seed) => …, close: async () => … }),
 *   };
 */
import type { TargetFactory } from "./workload.js";

/** A mistake on the command line: the runner prints the message and exits with code 2. */
export class UsageError extends Error {}

/** A target factory that may hold resources for the whole run (a launched etcd). */
export interface RunTargetFactory extends TargetFactory {
  close?(): Promise<void>;
}

export interface TargetProvider {
  readonly name: string;
  /** True when this provider understands `--target <spec>`. */
  handles(spec: string): boolean;
  open(spec: string): Promise<RunTargetFactory>;
}

/** The factory for `--target spec`, or the first provider's default ("in-process") without one. */
export async function openTargetFactory(providers: readonly TargetProvider[], spec: string | undefined): Promise<RunTargetFactory> {
  const chosen = spec === undefined ? providers[0] : providers.find((p) => p.handles(spec));
  if (chosen === undefined) {
    const names = providers.map((p) => p.name).join(", ");
    throw new UsageError(`no adapter handles --target ${spec ?? ""} (have: ${names})`);
  }
  return chosen.open(spec ?? "in-process");
}

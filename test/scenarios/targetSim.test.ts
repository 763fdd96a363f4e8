/**
 * The lessons over the wire: `npm start -- --target URL` pointed at etcdsim's own server (`npm run
 * serve`, its own process) speaks to it exactly as to a real etcd (v2 over HTTP, v3 over gRPC
 * through the `etcd3` client), and every headline claim agrees with the in-process run. This is
 * what a teacher does with a projector while students connect their own etcdctl.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcessProvider } from "../../scenarios/adapters/inProcess.js";
import type { RunTargetFactory } from "../../scenarios/targets.js";
import { compareLessons, renderTargetText } from "../../scenarios/target.js";
import { etcdAvailable } from "../support/realEtcd.js";
import { disagreements, quickLessons } from "../support/quickLessons.js";
import { startSim, type SimServer } from "../support/simServer.js";

describe.skipIf(!etcdAvailable())("lessons against etcdsim's own server (--target)", () => {
  let server: SimServer;
  let inProcess: RunTargetFactory;
  beforeAll(async () => {
    server = await startSim();
    inProcess = await inProcessProvider.open("in-process");
  }, 60_000);
  afterAll(async () => {
    await inProcess?.close?.();
    await server?.stop();
  });

  it("runs every quick lesson over the wire, and every headline claim agrees with the in-process run", async () => {
    const report = await compareLessons({ lessons: quickLessons(), seed: 1, endpoints: [server.clientUrl], sim: inProcess });
    expect(disagreements(report), renderTargetText(report)).toEqual([]);
    expect(report.lessons.every((lesson) => lesson.status === "ran")).toBe(true);
    expect(report.claimsCompared).toBeGreaterThan(0);
    expect(report.claimsAgreeing).toBe(report.claimsCompared);
  }, 400_000);
});

/**
 * The shipped scenario scripts against a real etcd 3.4 (`npm start -- FILE --target URL`): every
 * `expect` of every script must agree between etcdsim in process and the real etcd, value and verdict.
 */
import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcessProvider } from "../../scenarios/adapters/inProcess.js";
import { scriptLesson } from "../../scenarios/script/scriptLesson.js";
import { compareLessons, renderTargetText } from "../../scenarios/target.js";
import type { RunTargetFactory } from "../../scenarios/targets.js";
import { etcdAvailable, startEtcd, type RealEtcd } from "../support/realEtcd.js";

const DIR = "scenarios/scripts";
const SCRIPTS = readdirSync(DIR).filter((name) => name.endsWith(".etcdctl")).sort();

describe.skipIf(!etcdAvailable())("scenario scripts on etcdsim and on a real etcd 3.4", () => {
  let etcd: RealEtcd;
  let sim: RunTargetFactory;
  beforeAll(async () => {
    etcd = await startEtcd();
    sim = await inProcessProvider.open("in-process");
  });
  afterAll(async () => {
    await sim?.close?.();
    await etcd?.stop();
  });

  it("ships at least six scripts", () => {
    expect(SCRIPTS.length).toBeGreaterThanOrEqual(6);
  });

  it.each(SCRIPTS)("agrees on every expect of %s", async (name) => {
    const path = `${DIR}/${name}`;
    const lesson = scriptLesson(path, readFileSync(path, "utf8"), 101);
    const report = await compareLessons({ lessons: [lesson], seed: 1, endpoints: [etcd.clientUrl], sim });
    const [only] = report.lessons;
    expect(only?.status, only?.reason).toBe("ran");
    expect(report.claimsCompared, renderTargetText(report)).toBeGreaterThan(0);
    expect(report.claimsAgreeing, renderTargetText(report)).toBe(report.claimsCompared);
    expect(only?.claims.every((c) => c.sim?.holds === true)).toBe(true);
  }, 120_000);
});

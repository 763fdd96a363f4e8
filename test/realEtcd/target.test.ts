/**
 * `npm start -- --target`: the lessons that a real etcd can host run there and in process, and their
 * headline claims agree. Lessons that wait long in real time (TTLs of tens of seconds) are left to
 * `.ci/real-etcd-checks.sh`, which runs every lesson; this file keeps to the quick ones
 * (support/quickLessons.ts), so the whole directory stays under two minutes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcessProvider } from "../../scenarios/adapters/inProcess.js";
import { LESSONS } from "../../scenarios/lessons.js";
import type { RunTargetFactory } from "../../scenarios/targets.js";
import { compareClaims, compareLessons, parseEndpoints, renderTargetText, type TargetRunReport } from "../../scenarios/target.js";
import type { LessonReport } from "../../scenarios/report.js";
import { disagreements, quickLessons } from "../support/quickLessons.js";
import { etcdAvailable, startCluster, startEtcd, type RealEtcd, type RealEtcdCluster } from "../support/realEtcd.js";

describe("compareClaims", () => {
  const report = (claims: LessonReport["claims"], limitations: string[] = []): LessonReport => ({
    id: 1,
    slug: "x",
    title: "x",
    header: { lesson: "", youWillSee: [], tryChanging: [] },
    blocks: [],
    claims,
    whatJustHappened: [],
    myths: [],
    measures: {},
    limitations,
  });
  const claim = (id: string, v3Value: number, holds = true) => ({ id, claim: id, v2Value: 1, v3Value, holds });

  it("agrees only when both values and the verdict match", () => {
    const verdicts = compareClaims(report([claim("a", 1), claim("b", 2), claim("c", 3)]), report([claim("a", 1), claim("b", 3), claim("c", 3, false)]));
    expect(verdicts.map((v) => [v.id, v.verdict])).toEqual([["a", "agree"], ["b", "disagree"], ["c", "disagree"]]);
  });

  it("excuses a claim the real run could not make only when it recorded a limitation", () => {
    expect(compareClaims(report([claim("a", 1)]), report([], ["no event ring on a real etcd"]))[0]?.verdict).toBe("sim-only");
    expect(compareClaims(report([claim("a", 1)]), report([]))[0]?.verdict).toBe("disagree");
  });
});

describe("parseEndpoints", () => {
  it("takes comma-separated client URLs and refuses anything else", () => {
    expect(parseEndpoints("http://127.0.0.1:2379,http://127.0.0.1:2381/")).toEqual(["http://127.0.0.1:2379", "http://127.0.0.1:2381"]);
    expect(() => parseEndpoints("127.0.0.1:2379")).toThrow(/client URLs/);
  });
});

describe.skipIf(!etcdAvailable())("lessons against a real etcd (--target)", () => {
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

  it("runs every quick lesson on a single member, and every headline claim agrees with etcdsim", async () => {
    const lessons = quickLessons();
    expect(lessons.length).toBeGreaterThan(0);
    const report = await compareLessons({ lessons, seed: 1, endpoints: [etcd.clientUrl], sim });
    expect(disagreements(report), renderTargetText(report)).toEqual([]);
    expect(report.lessons.every((lesson) => lesson.status === "ran")).toBe(true);
    expect(report.claimsCompared).toBeGreaterThan(0);
    expect(report.claimsAgreeing).toBe(report.claimsCompared);
    expect(report.ok).toBe(true);
  }, 120_000);

  it("leaves the real etcd empty afterwards", async () => {
    const root = (await (await fetch(`${etcd.clientUrl}/v2/keys/`)).json()) as { node: { nodes?: unknown[] } };
    expect(root.node.nodes ?? []).toEqual([]);
    const range = await fetch(`${etcd.clientUrl}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: "AA==", range_end: "AA==", count_only: true }) });
    expect(((await range.json()) as { count?: string }).count ?? "0").toBe("0");
  });
});

describe.skipIf(!etcdAvailable())("lessons against a three-member cluster (--target a,b,c)", () => {
  let cluster: RealEtcdCluster;
  let sim: RunTargetFactory;
  beforeAll(async () => {
    cluster = await startCluster(3);
    sim = await inProcessProvider.open("in-process");
  });
  afterAll(async () => {
    await sim?.close?.();
    await cluster?.stop();
  });

  it("gives the same claims on a cluster, whose v2 index starts higher, as on one member", async () => {
    const lessons = LESSONS.filter((lesson) => lesson.slug === "data-model" || lesson.slug === "index-vs-revision");
    const report = await compareLessons({ lessons, seed: 1, endpoints: cluster.clientUrls, sim });
    expect(disagreements(report), renderTargetText(report)).toEqual([]);
    expect(report.claimsCompared).toBeGreaterThan(0);
  }, 120_000);
});

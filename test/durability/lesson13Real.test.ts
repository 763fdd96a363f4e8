/**
 * Lesson 13's headline claims on a real etcd 3.4 and on etcdsim's data dir, side by side: the same
 * workload through the same clients (`RealEtcdTargetFactory`), then the files read on both.
 *
 *   a v3-only workload with --snapshot-count 20 cuts the same number of .snap files, all one size
 *   each v3 put appends to the WAL (real etcd's segment is preallocated: its data ends at the last
 *   non-zero 8-byte word)
 *   kill -9 between two snapshots: every acknowledged v2 and v3 write is there after the restart
 */
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { utf8 } from "../../shared/bytes.js";
import { RealEtcdTargetFactory } from "../../scenarios/adapters/realEtcd.js";
import { DataDirEtcd } from "../../scenarios/dataDirEtcd.js";
import type { Target } from "../../scenarios/workload.js";
import { etcdAvailable, startEtcd, type RealEtcd } from "../support/realEtcd.js";

const SNAPSHOT_COUNT = 20;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function snapSizes(dataDir: string): number[] {
  const dir = join(dataDir, "member", "snap");
  return readdirSync(dir).filter((name) => name.endsWith(".snap")).sort().map((name) => statSync(join(dir, name)).size);
}

/** Where the WAL's data ends: the newest segment's last non-zero byte, rounded up to a record's 8-byte frame. */
function walDataEnd(dataDir: string): number {
  const dir = join(dataDir, "member", "wal");
  const newest = readdirSync(dir).filter((name) => name.endsWith(".wal")).sort().pop() as string;
  const bytes = readFileSync(join(dir, newest));
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return Math.ceil(end / 8) * 8;
}

async function realTarget(etcd: RealEtcd): Promise<Target> {
  const factory = new RealEtcdTargetFactory({ endpoints: [etcd.clientUrl], asIs: true });
  const target = await factory.open(0);
  cleanups.push(() => target.close());
  return target;
}

async function startReal(dataDir?: string): Promise<RealEtcd> {
  const etcd = await startEtcd({ extraArgs: [`--snapshot-count=${SNAPSHOT_COUNT}`], ...(dataDir !== undefined ? { dataDir } : {}) });
  cleanups.push(() => etcd.stop());
  return etcd;
}

async function putAll(target: Target, count: number, prefix: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const put = await target.v3.put({ key: utf8(`${prefix}${i}`), value: utf8("x".repeat(32)) });
    expect(put.ok).toBe(true);
  }
}

describe.skipIf(!etcdAvailable())("lesson 13 on a real etcd 3.4 and on etcdsim", () => {
  it("cuts the same number of .snap files for a v3-only workload on both, each the same size", async () => {
    const real = await startReal();
    cleanups.push(() => rmSync(real.dataDir, { recursive: true, force: true }));
    await putAll(await realTarget(real), 3 * SNAPSHOT_COUNT, "k");
    const sim = await DataDirEtcd.start({ snapshotCount: SNAPSHOT_COUNT });
    await putAll(sim.target, 3 * SNAPSHOT_COUNT, "k");
    const simSizes = snapSizes(sim.dir);
    await sim.close();
    sim.remove();
    const realSizes = snapSizes(real.dataDir);
    expect(simSizes.length).toBe(realSizes.length);
    expect(realSizes.length).toBeGreaterThanOrEqual(2);
    for (const sizes of [realSizes, simSizes]) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThan(64);
  }, 60_000);

  it("appends a few hundred bytes to the WAL per v3 put on both", async () => {
    const real = await startReal();
    cleanups.push(() => rmSync(real.dataDir, { recursive: true, force: true }));
    const target = await realTarget(real);
    await putAll(target, 1, "warm");
    const before = walDataEnd(real.dataDir);
    await putAll(target, 10, "data/k000");
    const realPerPut = (walDataEnd(real.dataDir) - before) / 10;
    const sim = await DataDirEtcd.start({ snapshotCount: 1_000_000 });
    const simBefore = sim.walBytes();
    await putAll(sim.target, 10, "data/k000");
    const simPerPut = (sim.walBytes() - simBefore) / 10;
    await sim.close();
    sim.remove();
    expect(realPerPut).toBeGreaterThan(50);
    expect(simPerPut).toBeGreaterThan(50);
    expect(Math.max(realPerPut, simPerPut) / Math.min(realPerPut, simPerPut)).toBeLessThan(4);
  }, 60_000);

  it("keeps every acknowledged v2 and v3 write across kill -9 between two snapshots, on both", async () => {
    const real = await startReal();
    cleanups.push(() => rmSync(real.dataDir, { recursive: true, force: true }));
    const writes = 15;
    const write = async (target: Target): Promise<void> => {
      for (let i = 0; i < writes; i++) {
        expect((await target.v2.set(`/data/k${i}`, `v${i}`)).ok).toBe(true);
        expect((await target.v3.put({ key: utf8(`data/k${i}`), value: utf8(`v${i}`) })).ok).toBe(true);
      }
    };
    const present = async (target: Target): Promise<number> => {
      let found = 0;
      for (let i = 0; i < writes; i++) {
        const v2 = await target.v2.get(`/data/k${i}`);
        const v3 = await target.v3.range({ key: utf8(`data/k${i}`) });
        if (v2.ok && v2.value.node.value === `v${i}`) found++;
        if (v3.ok && Buffer.from(v3.value.kvs[0]?.value ?? []).toString() === `v${i}`) found++;
      }
      return found;
    };
    await write(await realTarget(real));
    expect(snapSizes(real.dataDir).length).toBe(1);
    await real.kill();
    const again = await startReal(real.dataDir);
    expect(await present(await realTarget(again))).toBe(2 * writes);

    const sim = await DataDirEtcd.start({ snapshotCount: SNAPSHOT_COUNT });
    await write(sim.target);
    expect(sim.snapFiles()).toHaveLength(1);
    await sim.kill();
    const simAgain = await sim.restart();
    expect(await present(simAgain.target)).toBe(2 * writes);
    await simAgain.close();
    simAgain.remove();
  }, 60_000);
});

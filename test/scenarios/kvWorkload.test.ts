/**
 * The common Workload: one script, both APIs, each mapped onto its own requests.
 */
import { describe, expect, it } from "vitest";
import { openInProcessTarget } from "../../scenarios/adapters/inProcess.js";
import { formatV2Error, formatV3Error, prefixEnd, v2Workload, v3Workload } from "../../scenarios/kvWorkload.js";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import type { Workload } from "../../scenarios/workload.js";

async function script(w: Workload): Promise<unknown[]> {
  const out: unknown[] = [];
  const put = await w.put("/svc/a", "1");
  out.push(put.ok);
  const get = await w.get("/svc/a");
  out.push(get.ok ? get.value?.value : get.error.code);
  out.push((await w.compareAndSwap("/svc/a", "1", "2")).ok);
  const failed = await w.compareAndSwap("/svc/a", "1", "3");
  out.push(failed.ok && failed.value);
  await w.put("/svc/b", "x");
  const deleted = await w.delete("/svc/b");
  out.push(deleted.ok ? deleted.value : deleted.error.code);
  return out;
}

describe("the common workload", () => {
  it("runs one script with the same results on v2 and v3", async () => {
    const target = openInProcessTarget();
    const expected = [true, "1", true, false, 1];
    expect(await script(v2Workload(target.v2))).toEqual(expected);
    expect(await script(v3Workload(target.v3))).toEqual(expected);
    await target.close();
  });

  it("keeps the differences the lessons teach: a missing key, and what the counter is called", async () => {
    const target = openInProcessTarget();
    const v2 = v2Workload(target.v2);
    const v3 = v3Workload(target.v3);
    const missing2 = await v2.get("/nope");
    expect(missing2.ok ? "found" : missing2.error.text).toBe("100: Key not found (/nope) [0]");
    expect(await v3.get("/nope")).toEqual({ ok: true, value: undefined });
    expect([v2.counterName, v3.counterName]).toEqual(["index", "revision"]);
    await target.close();
  });
});

describe("helpers", () => {
  it("computes prefix range ends as clientv3 does", () => {
    expect(fromUtf8(prefixEnd(utf8("a")))).toBe("b");
    expect([...prefixEnd(new Uint8Array([0x61, 0xff]))]).toEqual([0x62]);
    expect([...prefixEnd(new Uint8Array([0xff]))]).toEqual([0]);
  });
  it("formats errors the way etcdctl prints them", () => {
    expect(formatV2Error({ errorCode: 101, message: "Compare failed", cause: "[1 != 2]", index: 8 })).toBe("101: Compare failed ([1 != 2]) [8]");
    expect(formatV2Error({ errorCode: 107, message: "Root is read only", index: 0 })).toBe("107: Root is read only [0]");
    expect(formatV3Error({ code: 11, message: "etcdserver: mvcc: required revision has been compacted" })).toBe("etcdserver: mvcc: required revision has been compacted");
  });
});

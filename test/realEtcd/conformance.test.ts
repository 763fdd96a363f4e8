/**
 * The conformance engine itself (`test/conformance/engine.ts`): its normalisation must make two real
 * etcds agree on every case (or a difference it reports would be noise), and it must report a server
 * that answers differently (or agreement would mean nothing).
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_CASES } from "../conformance/all.js";
import { AREAS, v3, type ConformanceCase } from "../conformance/cases.js";
import { instantiateV3, runCase, v2NamesOf, type Side } from "../conformance/engine.js";
import { renderConformance, runConformance } from "../support/conformance.js";
import { etcdAvailable, startEtcd, type RealEtcd } from "../support/realEtcd.js";

describe("conformance cases", () => {
  it("cover every request area, with unique names", () => {
    const areas = new Set(ALL_CASES.map((testCase) => testCase.area));
    expect([...areas].sort()).toEqual(AREAS.filter((area) => area !== "lessons").sort());
    const names = ALL_CASES.map((testCase) => `${testCase.area}/${testCase.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it("turn #N into the server's revision for fresh-store revision N", () => {
    expect(instantiateV3('{"revision":"#2","x":"#10"}', 40)).toBe('{"revision":"41","x":"49"}');
  });
});

describe.skipIf(!etcdAvailable())("the conformance engine against real etcds", () => {
  let first: RealEtcd;
  let second: RealEtcd;
  let other: Server;
  let otherUrl: string;
  beforeAll(async () => {
    [first, second] = await Promise.all([startEtcd(), startEtcd()]);
    // A stand-in for a simulator that gets one thing wrong: every put answers revision 99.
    other = createServer((request, response) => {
      const upstream = `${first.clientUrl}${request.url ?? "/"}`;
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", async () => {
        const init: RequestInit = { method: request.method ?? "GET" };
        if (chunks.length > 0) init.body = Buffer.concat(chunks);
        const answer = await fetch(upstream, init);
        let body = await answer.text();
        if (request.url === "/v3/kv/put") body = body.replace(/"revision":"\d+"/, '"revision":"99"');
        response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" });
        response.end(body);
      });
    });
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const address = other.address();
    otherUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => other?.close(resolve));
    await first?.stop();
    await second?.stop();
  });

  it("finds two real etcds equal on every request case", async () => {
    const report = await runConformance(first.clientUrl, second.clientUrl, AREAS.filter((area) => area !== "lessons"), () => {}, {
      ignoreHeaders: ["x-etcd-cluster-id"], // two real members of different clusters
    });
    expect(report.results.filter((result) => !result.equal), renderConformance(report)).toEqual([]);
    expect(report.areas.reduce((sum, area) => sum + area.cases, 0)).toBe(ALL_CASES.length);
    expect(report.ok).toBe(true);
  }, 90_000);

  it("reports a server that answers one field differently, with the request and both answers", async () => {
    const testCase: ConformanceCase = { area: "v3 range", name: "one put", steps: [v3("kv/put", { key: "foo", value: "bar" })] };
    const side = (name: "real" | "sim", clientUrl: string): Side => ({ name, clientUrl, v2: { etcdIndexBase: 0, clientUrl }, v3Base: 1 });
    const result = await runCase(testCase, side("real", second.clientUrl), side("sim", otherUrl), v2NamesOf([testCase]));
    expect(result.equal).toBe(false);
    expect(result.differences[0]?.step).toBe('POST /v3/kv/put  {"key":"Zm9v","value":"YmFy"}');
    expect(result.differences[0]?.sim).toContain('"revision":"99"');
    expect(result.differences[0]?.detail).toMatch(/^body:/);
  });
});

/**
 * The three-member launcher in `test/support/realEtcd.ts`: a cluster that lessons and `--target`
 * runs can point at, started on free loopback ports and stopped by PID.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdAvailable, startCluster, type RealEtcdCluster } from "../support/realEtcd.js";

describe.skipIf(!etcdAvailable())("startCluster(3)", () => {
  let cluster: RealEtcdCluster;
  beforeAll(async () => {
    cluster = await startCluster(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("starts three members that each report healthy", async () => {
    expect(cluster.members).toHaveLength(3);
    expect(new Set(cluster.clientUrls).size).toBe(3);
    for (const url of cluster.clientUrls) {
      const health = (await (await fetch(`${url}/health`)).json()) as { health: string };
      expect(health.health).toBe("true");
    }
  });

  it("lists all three members in the v2 members API of any member", async () => {
    const url = cluster.clientUrls[2] as string;
    const body = (await (await fetch(`${url}/v2/members`)).json()) as { members: { name: string }[] };
    expect(body.members.map((member) => member.name).sort()).toEqual(["m0", "m1", "m2"]);
  });

  it("makes a v2 write on one member readable on another with a quorum read", async () => {
    const [first, , third] = cluster.clientUrls as [string, string, string];
    const put = await fetch(`${first}/v2/keys/cluster-check`, {
      method: "PUT",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "value=written-on-m0",
    });
    expect(put.status).toBe(201);
    const read = (await (await fetch(`${third}/v2/keys/cluster-check?quorum=true`)).json()) as { node: { value: string } };
    expect(read.node.value).toBe("written-on-m0");
  });

  it("makes a v3 write on one member readable on another through the gRPC gateway's JSON twin", async () => {
    // The gateway is only used here to check replication without a client library; the adapter tests use gRPC.
    const [first, second] = cluster.clientUrls as [string, string];
    const key = Buffer.from("cluster-v3").toString("base64");
    await fetch(`${first}/v3/kv/put`, { method: "POST", body: JSON.stringify({ key, value: Buffer.from("x").toString("base64") }) });
    const range = (await (await fetch(`${second}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key }) })).json()) as {
      kvs?: { value: string }[];
    };
    expect(range.kvs?.map((kv) => Buffer.from(kv.value, "base64").toString())).toEqual(["x"]);
  });

  it("stops every member by PID, leaving no process behind", async () => {
    const pids = cluster.members.map((member) => member.pid);
    await cluster.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

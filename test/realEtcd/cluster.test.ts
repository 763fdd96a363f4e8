/**
 * The three-member launcher in `test/support/realEtcd.ts`: a cluster that lessons and `--target`
 * runs can point at, started on free loopback ports and stopped by PID.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import { RealEtcdV3Client } from "../../scenarios/adapters/realEtcdGrpc.js";
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

  it("makes a v3 write over gRPC on one member readable on another", async () => {
    const [first, second] = cluster.clientUrls as [string, string];
    const writer = new RealEtcdV3Client([first]);
    const reader = new RealEtcdV3Client([second]);
    try {
      const put = await writer.put({ key: utf8("cluster-v3"), value: utf8("x") });
      const range = await reader.range({ key: utf8("cluster-v3") });
      expect(range.kvs.map((kv) => [fromUtf8(kv.value), kv.mod_revision])).toEqual([["x", put.header.revision]]);
      expect(range.header.member_id).not.toBe(put.header.member_id);
      expect(range.header.cluster_id).toBe(put.header.cluster_id);
    } finally {
      writer.close();
      reader.close();
    }
  });

  it("stops every member by PID, leaving no process behind", async () => {
    const pids = cluster.members.map((member) => member.pid);
    await cluster.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

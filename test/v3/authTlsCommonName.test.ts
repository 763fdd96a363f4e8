/**
 * The TLS client certificate's common name as the v3 user (`--client-cert-auth`, auth.md §3.6):
 * etcdctl over gRPC with a `root` and an `alice` certificate and no `--user`, against a real
 * etcd 3.4.23 and against etcdsim, both serving TLS with the same throwaway CA (made with openssl):
 * same output, same exit code. A token, when given, wins over the certificate. And the JSON
 * gateway refuses (400) a request whose client certificate has a CN while auth is on.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../shared/clock.js";
import { runEtcdctl, type CtlResult } from "../support/etcdctl.js";
import { etcdAvailable, etcdctlAvailable, freePort, startEtcd, type RealEtcd } from "../support/realEtcd.js";
import { startSim, type SimServer } from "../support/simServer.js";

const opensslAvailable = spawnSync("openssl", ["version"]).status === 0;

/** A CA, a server certificate for 127.0.0.1, and client certificates with CN root and alice. */
function makePki(dir: string): void {
  const run = (...args: string[]): void => {
    const result = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${result.stderr}`);
  };
  run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=test-ca");
  const sign = (name: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
    run("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`);
  };
  sign("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  sign("root", "extendedKeyUsage=clientAuth\n");
  sign("alice", "extendedKeyUsage=clientAuth\n");
}

function runCtl(endpoint: string, dir: string, cert: string, args: readonly string[]): Promise<CtlResult> {
  const tls = ["--cacert", join(dir, "ca.crt"), "--cert", join(dir, `${cert}.crt`), "--key", join(dir, `${cert}.key`)];
  return runEtcdctl("3", [`--endpoints=${endpoint}`, ...tls, ...args]);
}

/** POST over HTTPS with a client certificate: status and body. */
function postTls(endpoint: string, dir: string, cert: string, path: string, body: string): Promise<{ status: number; body: string }> {
  const [host, port] = endpoint.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host,
        port: Number(port),
        method: "POST",
        path,
        ca: readFileSync(join(dir, "ca.crt")),
        cert: readFileSync(join(dir, `${cert}.crt`)),
        key: readFileSync(join(dir, `${cert}.key`)),
        agent: false,
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe.skipIf(!etcdAvailable() || !etcdctlAvailable() || !opensslAvailable)("the client certificate's CN as the v3 user, compared with a real etcd", () => {
  const dir = mkdtempSync(join(tmpdir(), "etcdsim-pki-"));
  let real: RealEtcd;
  let sim: SimServer;
  let realEndpoint = "";
  let simEndpoint = "";

  beforeAll(async () => {
    makePki(dir);
    const tlsFlags = ["--cert-file", join(dir, "server.crt"), "--key-file", join(dir, "server.key"), "--trusted-ca-file", join(dir, "ca.crt"), "--client-cert-auth"];
    const realPort = await freePort();
    realEndpoint = `127.0.0.1:${realPort}`;
    real = await startEtcd({
      clientPort: realPort,
      waitHealthy: false,
      extraArgs: [`--listen-client-urls=https://${realEndpoint}`, `--advertise-client-urls=https://${realEndpoint}`, ...tlsFlags],
    });
    const simPort = await freePort();
    simEndpoint = `127.0.0.1:${simPort}`;
    sim = await startSim({ port: simPort, extraArgs: ["--listen-client-urls", `https://${simEndpoint}`, "--bcrypt-cost", "4", ...tlsFlags] });
    for (let i = 0; i < 100; i++) {
      if ((await runCtl(realEndpoint, dir, "root", ["endpoint", "health"])).status === 0) break;
      await sleep(100);
    }
  }, 90_000);
  afterAll(async () => {
    await Promise.all([real?.stop(), sim?.stop()]);
  });

  it("lets the certificate name the user when no token is sent, lets a token win over it, and keeps CNs off the gateway", async () => {
    const steps: Array<[string, string[]]> = [
      ["root", ["user", "add", "root:rootpw"]],
      ["root", ["auth", "enable"]],
      ["root", ["user", "list"]],
      ["root", ["put", "/x", "1"]],
      ["alice", ["get", "/x"]],
      ["root", ["user", "add", "alice:a"]],
      ["root", ["role", "add", "r"]],
      ["root", ["role", "grant-permission", "r", "read", "/x"]],
      ["root", ["user", "grant-role", "alice", "r"]],
      ["alice", ["get", "/x"]],
      ["alice", ["put", "/x", "2"]],
      ["alice", ["--user", "root:rootpw", "put", "/x", "3"]],
      ["alice", ["user", "list"]],
      ["alice", ["user", "get", "alice"]],
    ];
    const mismatches: string[] = [];
    const realOutputs: string[] = [];
    for (const [cert, args] of steps) {
      const realResult = await runCtl(realEndpoint, dir, cert, args);
      realOutputs.push(realResult.stdout + realResult.stderr);
      const a = JSON.stringify(realResult).split(realEndpoint).join("<ep>");
      const b = JSON.stringify(await runCtl(simEndpoint, dir, cert, args)).split(simEndpoint).join("<ep>");
      if (a !== b) mismatches.push(`[${cert}] etcdctl ${args.join(" ")}\n  real: ${a}\n  sim:  ${b}`);
    }
    expect(mismatches.join("\n\n")).toBe("");
    // The gateway refuses a request whose client certificate has a CN while auth is on.
    const realGw = await postTls(realEndpoint, dir, "alice", "/v3/kv/range", '{"key":"eA=="}');
    const simGw = await postTls(simEndpoint, dir, "alice", "/v3/kv/range", '{"key":"eA=="}');
    expect(simGw).toEqual(realGw);
    expect(realGw.status).toBe(400);
    // Not vacuous: the root certificate listed the users, alice's was refused a write.
    expect(realOutputs[2]).toBe("root\n");
    expect(realOutputs[10]).toContain("etcdserver: permission denied");
  }, 180_000);
});

/**
 * Literal indexes: a fresh etcdsim member and a fresh real etcd 3.4 answer the same v2 requests with
 * the same raw numbers (X-Etcd-Index, X-Raft-Index, X-Raft-Term, every createdIndex/modifiedIndex, the
 * in-order key names, the 104 cause naming an in-order key), with no normalisation, on a fresh data
 * dir and again after each is restarted on its own data dir. It holds only because both members spend
 * v2 indexes 1-3 on their `/0` membership records and one more on each restart's attributes publish.
 *
 * The real member is started without the `/health` wait: a 3.4 `/health` is a QGET through raft and
 * would spend raft indexes. Its client port serves only once the member has published its attributes;
 * a fresh one is then waited for until its cluster-version PUT (v2 index 3) is applied too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sleep } from "../../shared/clock.js";
import { startEtcd as startSim } from "../../server/etcd.js";
import { runEtcdctl } from "../support/etcdctl.js";
import { etcdAvailable, etcdctlAvailable, freePort, startEtcd as startReal, type RealEtcd } from "../support/realEtcd.js";
import { v3Mount } from "../../server/v3Mount.js";

interface Answer {
  readonly status: number;
  readonly etcdIndex: string | null;
  readonly raftIndex: string | null;
  readonly raftTerm: string | null;
  readonly body: string;
}

interface Step {
  readonly method: string;
  /** May hold `{last}`: the key of the newest in-order node this round created. */
  readonly path: string;
  readonly form?: string;
}

async function send(clientUrl: string, step: Step, last: string): Promise<Answer> {
  const init: RequestInit = { method: step.method };
  if (step.form !== undefined) init.body = new URLSearchParams(step.form);
  const response = await fetch(`${clientUrl}${step.path.replace("{last}", last)}`, init);
  const headers = response.headers;
  return { status: response.status, etcdIndex: headers.get("x-etcd-index"), raftIndex: headers.get("x-raft-index"), raftTerm: headers.get("x-raft-term"), body: await response.text() };
}

/** Runs the steps in order, remembering the newest in-order key; returns every raw answer. */
async function run(clientUrl: string, steps: readonly Step[]): Promise<Answer[]> {
  const answers: Answer[] = [];
  let last = "";
  for (const step of steps) {
    const answer = await send(clientUrl, step, last);
    const key = /"key":"(\/q\/\d{20})"/.exec(answer.body)?.[1];
    if (step.method === "POST" && answer.status === 201 && key !== undefined) last = key;
    answers.push(answer);
  }
  return answers;
}

/** One round: sets, POSTs, each kind of 104, a listing, and a watch from index 1 (which must skip /0). */
const ROUND: readonly Step[] = [
  { method: "GET", path: "/v2/keys/?sorted=true" }, // unsorted: Go map order on the real side
  { method: "PUT", path: "/v2/keys/f", form: "value=1" },
  { method: "POST", path: "/v2/keys/f", form: "value=2" },
  { method: "POST", path: "/v2/keys/q", form: "value=a" },
  { method: "POST", path: "/v2/keys/q", form: "value=b" },
  { method: "POST", path: "/v2/keys{last}", form: "value=c" },
  { method: "PUT", path: "/v2/keys/f/x/y", form: "value=2" },
  { method: "PUT", path: "/v2/keys/d/k", form: "value=1" },
  { method: "PUT", path: "/v2/keys/f", form: "value=3&prevValue=nope" },
  { method: "GET", path: "/v2/keys/q?recursive=true&sorted=true" },
  { method: "GET", path: "/v2/keys/?wait=true&waitIndex=1&recursive=true" },
  { method: "DELETE", path: "/v2/keys/d?recursive=true" },
  { method: "GET", path: "/v2/keys/?sorted=true" }, // unsorted: Go map order on the real side
];

/**
 * Polls a plain v2 GET (no raft entry) until the member answers with at least `minEtcdIndex`. A fresh
 * real member serves once its attributes are published (v2 index 2); the leader proposes the cluster
 * version (index 3) a moment later, so a fresh member is waited for until 3.
 */
async function waitAnswering(clientUrl: string, minEtcdIndex = 0): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const answer = await fetch(`${clientUrl}/v2/keys/`);
      if (answer.status === 200 && Number(answer.headers.get("x-etcd-index")) >= minEtcdIndex) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${clientUrl} never answered`);
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Two fresh data dirs (removed after the file) and the real member's ports; etcdsim takes its peer URL. */
async function pairSetUp(name: string): Promise<{ realDir: string; simDir: string; clientPort: number; peerPort: number; peerUrl: string }> {
  const realDir = mkdtempSync(join(tmpdir(), `etcdsim-${name}-real-`));
  const simDir = mkdtempSync(join(tmpdir(), `etcdsim-${name}-sim-`));
  dirs.push(realDir, simDir);
  const clientPort = await freePort();
  const peerPort = await freePort();
  return { realDir, simDir, clientPort, peerPort, peerUrl: `http://127.0.0.1:${peerPort}` };
}

describe.skipIf(!etcdAvailable() || !etcdctlAvailable())("literal v2 indexes against a real etcd 3.4", () => {
  it("answers a fresh member's and a restarted member's v2 requests with the same raw indexes, keys and causes", async () => {
    const { realDir, simDir, clientPort, peerPort, peerUrl } = await pairSetUp("literal");
    const startRealMember = async (round: number): Promise<RealEtcd> => {
      const real = await startReal({ dataDir: realDir, clientPort, peerPort, waitHealthy: false });
      await waitAnswering(real.clientUrl, round === 0 ? 3 : 0);
      return real;
    };
    const startSimMember = () => startSim({ listenClientUrl: "http://127.0.0.1:0", dataDir: simDir, initialAdvertisePeerUrls: [peerUrl], log: () => {} });

    for (let round = 0; round < 3; round++) {
      const real = await startRealMember(round);
      const sim = await startSimMember();
      try {
        const expected = await run(real.clientUrl, ROUND);
        const actual = await run(sim.clientUrl, ROUND);
        actual.forEach((answer, i) => expect(answer, `round ${round}, step ${i}: ${JSON.stringify(ROUND[i])}`).toEqual(expected[i]));
      } finally {
        await real.stop();
        await sim.close();
      }
    }
  }, 90_000);

  it("spends the same v2 and raft indexes as a real etcd on member add, update, remove and a restart, and keeps the learner", async () => {
    const { realDir, simDir, clientPort, peerPort, peerUrl } = await pairSetUp("members");
    /** X-Etcd-Index and X-Raft-Index after each step, and the member list (URLs, learner flag) at the end. */
    const trace = async (clientUrl: string, restart: () => Promise<string>): Promise<string[]> => {
      const lines: string[] = [];
      const indexes = async (url: string): Promise<void> => {
        const answer = await fetch(`${url}/v2/keys/`);
        lines.push(`${answer.headers.get("x-etcd-index")}/${answer.headers.get("x-raft-index")}`);
      };
      const ctl = async (url: string, ...args: string[]): Promise<string> => {
        const result = await runEtcdctl("3", ["--endpoints", url, ...args]);
        expect(result.status, result.stderr).toBe(0);
        return result.stdout;
      };
      await indexes(clientUrl);
      const added = await ctl(clientUrl, "member", "add", "l1", "--learner", "--peer-urls", "http://10.0.0.9:2380");
      const id = /Member\s+([0-9a-f]+) added/.exec(added)?.[1] ?? "none"; // Go's %16x pads a short ID with spaces
      await indexes(clientUrl);
      await ctl(clientUrl, "member", "update", id, "--peer-urls", "http://10.0.0.19:2380");
      await indexes(clientUrl);
      await ctl(clientUrl, "member", "remove", id);
      await indexes(clientUrl);
      await ctl(clientUrl, "member", "add", "l2", "--learner", "--peer-urls", "http://10.0.0.11:2380");
      await indexes(clientUrl);
      const after = await restart();
      await indexes(after);
      const list = (await ctl(after, "member", "list")).trim().split("\n").map((line) => line.split(", ").slice(1).join(", ").replace(/http:\/\/127\.0\.0\.1:\d+/g, "<local>"));
      return [...lines, ...list.sort()];
    };

    let real = await startReal({ dataDir: realDir, clientPort, peerPort, waitHealthy: false });
    let sim = await startSim({ listenClientUrl: "http://127.0.0.1:0", dataDir: simDir, initialAdvertisePeerUrls: [peerUrl], name: "default", extraHandlers: [v3Mount({ name: "default", initialAdvertisePeerUrls: [peerUrl] })] });
    try {
      await waitAnswering(real.clientUrl, 3);
      const expected = await trace(real.clientUrl, async () => {
        await real.stop();
        real = await startReal({ dataDir: realDir, clientPort, peerPort, waitHealthy: false });
        await waitAnswering(real.clientUrl);
        return real.clientUrl;
      });
      const actual = await trace(sim.clientUrl, async () => {
        await sim.close();
        sim = await startSim({ listenClientUrl: "http://127.0.0.1:0", dataDir: simDir, initialAdvertisePeerUrls: [peerUrl], name: "default", extraHandlers: [v3Mount({ name: "default", initialAdvertisePeerUrls: [peerUrl] })] });
        return sim.clientUrl;
      });
      expect(actual).toEqual(expected);
      expect(expected.slice(0, 6)).toEqual(["3/4", "4/5", "5/6", "7/7", "8/8", "9/10"]); // as observed on etcd 3.4.23
    } finally {
      await real.stop();
      await sim.close();
    }
  }, 90_000);
});

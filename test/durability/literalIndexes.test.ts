/**
 * Literal indexes: a fresh etcdsim member and a fresh real etcd 3.4 answer the same v2 requests with
 * the same raw numbers (X-Etcd-Index, X-Raft-Index, X-Raft-Term, every createdIndex/modifiedIndex, the
 * in-order key names, the 104 cause naming an in-order key), with no normalisation, on a fresh data
 * dir and again after each is restarted on its own data dir. It holds only because both members spend
 * v2 indexes 1-3 on their `/0` membership records and one more on each restart's attributes publish.
 *
 * The real member is started without the `/health` wait: a 3.4 `/health` is a QGET through raft and
 * would spend raft indexes. Its client port serves only once the member has published its attributes,
 * so the first GET that answers already sees the start-up entries.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sleep } from "../../shared/clock.js";
import { startEtcd as startSim } from "../../server/etcd.js";
import { etcdAvailable, freePort, startEtcd as startReal, type RealEtcd } from "../support/realEtcd.js";

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

/** Polls a plain v2 GET (no raft entry) until the member answers. */
async function waitAnswering(clientUrl: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${clientUrl}/v2/keys/`)).status === 200) return;
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

describe.skipIf(!etcdAvailable())("literal v2 indexes against a real etcd 3.4", () => {
  it("answers a fresh member's and a restarted member's v2 requests with the same raw indexes, keys and causes", async () => {
    const realDir = mkdtempSync(join(tmpdir(), "etcdsim-literal-real-"));
    const simDir = mkdtempSync(join(tmpdir(), "etcdsim-literal-sim-"));
    dirs.push(realDir, simDir);
    const clientPort = await freePort();
    const peerPort = await freePort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const startRealMember = async (): Promise<RealEtcd> => {
      const real = await startReal({ dataDir: realDir, clientPort, peerPort, waitHealthy: false });
      await waitAnswering(real.clientUrl);
      return real;
    };
    const startSimMember = () => startSim({ listenClientUrl: "http://127.0.0.1:0", dataDir: simDir, initialAdvertisePeerUrls: [peerUrl], log: () => {} });

    for (let round = 0; round < 3; round++) {
      const real = await startRealMember();
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
});

/**
 * No etcd counterpart: a simulation harness, as `shared/clock.ts` is. It runs several clients
 * "at once" against one server and decides, with a seeded `Random`, whose request the server
 * handles next, so a race becomes a reproducible sequence.
 *
 * Each worker gets its own `TxnClient`. A call on it does not reach the server: it waits in a
 * queue. When every live worker is waiting (or finished), the interleaver picks one waiting call
 * at random, sends it to the real client, and resumes that worker with the answer. The run is a
 * function of the seed: the same seed gives the same order of requests, the same conflicts, the
 * same retries.
 *
 *   const interleaver = new Interleaver(server.client(), new Random(7));
 *   await interleaver.run([
 *     (client) => newSTM(client, transfer("a", "b", 10)),
 *     (client) => newSTM(client, transfer("b", "a", 5)),
 *   ]);
 *   interleaver.trace   // ["w0 txn", "w1 txn", "w1 txn", "w0 txn", …]: the order the server saw
 */
import type { Random } from "../../shared/random.js";
import type { TxnRequest, TxnResponse } from "../rpc.js";
import type { TxnClient } from "./client.js";

interface PendingCall {
  worker: number;
  request: TxnRequest;
  resolve: (response: TxnResponse) => void;
  reject: (error: unknown) => void;
}

/** How many microtask turns a worker may take between two calls before the run is declared stuck. */
const MAX_SETTLE_TURNS = 10_000;

/** Runs clients one step at a time in an order drawn from a seeded Random; the same seed gives the same trace. */
export class Interleaver {
  /** "w<worker> txn" for each request the server handled, in order. */
  readonly trace: string[] = [];
  private readonly pending: PendingCall[] = [];

  constructor(
    private readonly server: TxnClient,
    private readonly random: Random,
  ) {}

  /**
   * Runs the workers to completion and returns their results (or throws the first error). Each
   * worker must only wait on its own client's calls; waiting on anything else stalls the run.
   */
  async run<T>(workers: ReadonlyArray<(client: TxnClient) => Promise<T>>): Promise<T[]> {
    const done = workers.map(() => false);
    const results = workers.map((worker, index) => {
      const client: TxnClient = { txn: (request) => new Promise((resolve, reject) => this.pending.push({ worker: index, request, resolve, reject })) };
      return worker(client).finally(() => {
        done[index] = true;
      });
    });
    // Keep every outcome observed so an early failure does not surface as an unhandled rejection.
    const settled = Promise.allSettled(results);
    for (;;) {
      await this.settle(done);
      if (this.pending.length === 0) break;
      const call = this.pending.splice(this.random.int(0, this.pending.length - 1), 1)[0] as PendingCall;
      this.trace.push(`w${call.worker} txn`);
      try {
        call.resolve(await this.server.txn(call.request));
      } catch (error) {
        call.reject(error);
      }
    }
    const outcomes = await settled;
    return outcomes.map((outcome) => {
      if (outcome.status === "rejected") throw outcome.reason;
      return outcome.value;
    });
  }

  /** Lets microtasks run until every worker is finished or waiting on a call. */
  private async settle(done: boolean[]): Promise<void> {
    for (let turn = 0; turn < MAX_SETTLE_TURNS; turn++) {
      const waiting = new Set(this.pending.map((call) => call.worker));
      if (done.every((finished, worker) => finished || waiting.has(worker))) return;
      await Promise.resolve();
    }
    throw new Error("Interleaver: a worker is waiting on something other than its client");
  }
}

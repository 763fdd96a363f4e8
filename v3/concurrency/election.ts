/**
 * Mirrors etcd release-3.4 `clientv3/concurrency/election.go`: leader election on the same key
 * scheme as Mutex, with a value (the proclamation) on the leader's key.
 *
 * Each candidate creates `pfx/<hex lease>` holding its value. The leader is the candidate whose
 * key was created first; `leader()` reads it and `observe()` follows it. A candidate becomes
 * leader when every key created before its own is deleted.
 *
 *   A.campaign("a") → put election/…a1 = "a" @5  → leader at once
 *   B.campaign("b") → put election/…b2 = "b" @6  → waits for DELETE election/…a1
 *   A.proclaim("a2") → If(create(…a1) = 5) Then(put …a1 "a2" lease)          observers see "a2"
 *   A.resign()       → If(create(…a1) = 5) Then(delete …a1)                    B becomes leader
 *
 * Errors: `election: not leader` (proclaim without leading, or after losing the key),
 * `election: no leader` (leader() with no candidate).
 */
import { fromUtf8, utf8 } from "../../shared/bytes.js";
import type { KeyValue, RangeResponse, ResponseHeader } from "../rpc.js";
import { CompareResult, CompareTarget, EventType } from "../rpc.js";
import { firstCreate, get, prefixEnd, waitDeletes } from "./key.js";
import type { Session } from "./session.js";
import { InvariantViolation } from "../errors.js";

/** etcd's `ErrElectionNotLeader` and `ErrElectionNoLeader`, word for word. */
export const ERR_ELECTION_NOT_LEADER = "election: not leader";
export const ERR_ELECTION_NO_LEADER = "election: no leader";

/** Thrown by proclaim when this candidate is not (or no longer) the leader. */
export class ElectionNotLeaderError extends Error {
  constructor() {
    super(ERR_ELECTION_NOT_LEADER);
    this.name = "ElectionNotLeaderError";
  }
}

/** Thrown by leader() when nobody campaigns. */
export class ElectionNoLeaderError extends Error {
  constructor() {
    super(ERR_ELECTION_NO_LEADER);
    this.name = "ElectionNoLeaderError";
  }
}

/** etcd's `Election`; invariant: the leader is the candidate key with the lowest create revision under the prefix. */
export class Election {
  /** Key prefix, ending in "/". */
  readonly keyPrefix: string;
  /** This candidate's key once it campaigned ("" otherwise). */
  leaderKey = "";
  /** Create revision of `leaderKey`. */
  leaderRev = 0;
  /** Set while this candidate campaigns or leads (etcd: `leaderSession`). */
  private leading = false;
  header: ResponseHeader | undefined;

  constructor(
    readonly session: Session,
    pfx: string,
  ) {
    this.keyPrefix = pfx + "/";
  }

  /** Resolves once this candidate is the leader (etcd: `Campaign`). */
  async campaign(value: string, signal?: AbortSignal): Promise<void> {
    const client = this.session.client;
    const keyText = this.keyPrefix + this.session.lease.toString(16);
    const key = utf8(keyText);
    const response = await client.txn({
      compare: [{ result: CompareResult.EQUAL, target: CompareTarget.CREATE, key, create_revision: 0 }],
      success: [{ request_put: { key, value: utf8(value), lease: this.session.lease } }],
      failure: [{ request_range: { key } }],
    });
    this.leaderKey = keyText;
    this.leaderRev = response.header.revision;
    this.leading = true;
    if (!response.succeeded) {
      const existing = response.responses[0]?.response_range?.kvs[0];
      if (existing === undefined) throw new InvariantViolation("campaign key vanished between compare and read");
      this.leaderRev = existing.create_revision;
      if (fromUtf8(existing.value) !== value) {
        try {
          await this.proclaim(value);
        } catch (error) {
          await this.resign();
          throw error;
        }
      }
    }
    try {
      await waitDeletes(client, this.keyPrefix, this.leaderRev - 1, signal);
    } catch (error) {
      if (signal?.aborted === true) await this.resign();
      else this.leading = false;
      throw error;
    }
    this.header = response.header;
  }

  /**
   * An election already campaigned for, picked up by its key and create revision (etcd:
   * `ResumeElection`); the Election service uses it for Proclaim and Resign.
   */
  static resume(session: Session, pfx: string, leaderKey: string, leaderRev: number): Election {
    const election = new Election(session, pfx);
    election.leaderKey = leaderKey;
    election.leaderRev = leaderRev;
    election.leading = true;
    return election;
  }

  /** Replaces the leader's value without re-electing (etcd: `Proclaim`). */
  async proclaim(value: string): Promise<void> {
    if (!this.leading) throw new ElectionNotLeaderError();
    const key = utf8(this.leaderKey);
    const response = await this.session.client.txn({
      compare: [{ result: CompareResult.EQUAL, target: CompareTarget.CREATE, key, create_revision: this.leaderRev }],
      // etcd puts with the leader session's lease (WithLease), which is the key's own lease unless
      // the Election service resumed the election with a different one.
      success: [{ request_put: { key, value: utf8(value), lease: this.session.lease } }],
    });
    if (!response.succeeded) {
      this.leaderKey = "";
      throw new ElectionNotLeaderError();
    }
    this.header = response.header;
  }

  /** Gives up leadership (or the candidacy) by deleting the key (etcd: `Resign`). */
  async resign(): Promise<void> {
    if (!this.leading) return;
    const key = utf8(this.leaderKey);
    try {
      const response = await this.session.client.txn({
        compare: [{ result: CompareResult.EQUAL, target: CompareTarget.CREATE, key, create_revision: this.leaderRev }],
        success: [{ request_delete_range: { key } }],
      });
      this.header = response.header;
    } finally {
      this.leaderKey = "";
      this.leading = false;
    }
  }

  /** The current leader's key and value (etcd: `Leader`). Throws `ElectionNoLeaderError`. */
  async leader(): Promise<RangeResponse> {
    const response = await get(this.session.client, firstCreate(this.keyPrefix));
    if (response.kvs.length === 0) throw new ElectionNoLeaderError();
    return response;
  }

  /**
   * Each leader value, as it changes (etcd: `Observe`): the current leader first, then every put
   * to its key, then the next leader once that key is deleted, and so on until `signal` aborts.
   */
  async *observe(signal?: AbortSignal): AsyncGenerator<{ header: ResponseHeader; kv: KeyValue }> {
    const client = this.session.client;
    const aborted = (): boolean => signal?.aborted === true;
    while (!aborted()) {
      const response = await get(client, firstCreate(this.keyPrefix));
      let current: { header: ResponseHeader; kv: KeyValue } | undefined;
      const first = response.kvs[0];
      if (first === undefined) {
        // Nobody leads: wait for the first put under the prefix (a delete would make us spin).
        const prefix = utf8(this.keyPrefix);
        const watcher = await client.watch({ key: prefix, range_end: prefixEnd(prefix), start_revision: response.header.revision });
        try {
          while (current === undefined) {
            const watched = await watcher.next();
            if (watched.canceled || aborted()) return;
            const put = watched.events.find((event) => event.type === EventType.PUT);
            if (put !== undefined) current = { header: { ...watched.header, revision: put.kv.mod_revision }, kv: put.kv };
          }
        } finally {
          await watcher.cancel();
        }
      } else {
        current = { header: response.header, kv: first };
      }
      yield current;
      // Follow the leader's key until it is deleted.
      const watcher = await client.watch({ key: current.kv.key, start_revision: current.header.revision + 1 });
      try {
        for (let deleted = false; !deleted; ) {
          const watched = await watcher.next();
          if (watched.canceled || aborted()) return;
          for (const event of watched.events) {
            if (event.type === EventType.DELETE) {
              deleted = true;
              break;
            }
            yield { header: watched.header, kv: event.kv };
          }
        }
      } finally {
        await watcher.cancel();
      }
    }
  }
}

/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3election/election.go` (messages of
 * `v3electionpb/v3election.proto`): the Election service, a thin wrapper that runs the client's
 * Election recipe (concurrency/election.ts) inside the server, through an in-process client.
 * With a data dir that client's writes (lease grants, txns, deletes) go through the log like any
 * client's (`EtcdServer.serviceClient`, server/v3Server.ts), so the keys survive a crash.
 *
 *   Campaign{name, lease, value} → waits until leader; {header of the campaign txn,
 *                                  leader: {name, key name/<hex lease>, rev = its create revision, lease}}
 *   Proclaim{leader, value}      → put under If(create(key) = rev), with leader.lease → "election: not leader"
 *   Leader{name}                 → {header, kv} of the oldest key under name/ → "election: no leader"
 *   Observe{name}                → a stream: the leader's kv now, then each new value, then the next leader
 *   Resign{leader}               → delete under the same compare; resigning twice is a quiet success
 *
 * Quirks kept from etcd: a lease of 0 (Campaign, and Proclaim/Resign given leader.lease 0) grants a
 * fresh 60 s lease that nobody keeps alive; Proclaim re-attaches the key to leader.lease; a missing
 * leader is `"leader" field must be provided`; every failure is code 2 (Unknown) with its text.
 */
import type { KeyValue, LeaseID, ResponseHeader } from "./rpc.js";
import type { EtcdServer } from "./etcdServer.js";
import type { InProcessClient, RoutedClient } from "./concurrency/inProcessClient.js";
import { Election } from "./concurrency/election.js";
import { fromUtf8, utf8 } from "../shared/bytes.js";
import { orphanSession, serviceCall } from "./v3lock.js";

/** etcd's `ErrMissingLeaderKey`. */
export const ERR_MISSING_LEADER_KEY = '"leader" field must be provided';

/** Leader and Observe build their session on this lease: not 0, so nothing is granted (etcd passes -1). */
const NO_GRANT_LEASE: LeaseID = -1n;

/** v3electionpb.CampaignRequest: name=1 (bytes), lease=2, value=3 (bytes). */
export interface CampaignRequest {
  name?: Uint8Array; // 1
  lease?: LeaseID; // 2
  value?: Uint8Array; // 3
}
/** v3electionpb.LeaderKey: name=1, key=2, rev=3 (the key's create revision), lease=4. */
export interface LeaderKey {
  name: Uint8Array; // 1
  key: Uint8Array; // 2
  rev: number; // 3
  lease: LeaseID; // 4
}
/** v3electionpb.CampaignResponse: header=1, leader=2. */
export interface CampaignResponse {
  header: ResponseHeader; // 1
  leader: LeaderKey; // 2
}
/** v3electionpb.ProclaimRequest: leader=1, value=2. */
export interface ProclaimRequest {
  leader?: LeaderKey; // 1
  value?: Uint8Array; // 2
}
/** v3electionpb.ProclaimResponse / ResignResponse: header=1. */
export interface ProclaimResponse {
  header: ResponseHeader; // 1
}
export type ResignResponse = ProclaimResponse;
/** v3electionpb.LeaderRequest (Leader and Observe): name=1. */
export interface LeaderRequest {
  name?: Uint8Array; // 1
}
/** v3electionpb.LeaderResponse: header=1, kv=2. */
export interface LeaderResponse {
  header: ResponseHeader; // 1
  kv: KeyValue; // 2
}
/** v3electionpb.ResignRequest: leader=1. */
export interface ResignRequest {
  leader?: LeaderKey; // 1
}

/** etcd's `electionServer`: one in-process client shared by every call. */
export class ElectionServer {
  private client: InProcessClient | RoutedClient | undefined;

  constructor(private readonly server: EtcdServer) {}

  /** Resolves once this candidate leads; rejects with code 2 on failure or when `signal` aborts. */
  async campaign(request: CampaignRequest, signal?: AbortSignal): Promise<CampaignResponse> {
    return serviceCall(async () => {
      const session = await orphanSession(this.inProcessClient(), request.lease ?? 0n);
      const name = request.name ?? new Uint8Array();
      const election = new Election(session, fromUtf8(name));
      await election.campaign(fromUtf8(request.value ?? new Uint8Array()), signal);
      return {
        header: election.header ?? this.server.header(),
        leader: { name, key: utf8(election.leaderKey), rev: election.leaderRev, lease: session.lease },
      };
    });
  }

  async proclaim(request: ProclaimRequest): Promise<ProclaimResponse> {
    return serviceCall(async () => {
      const election = await this.resume(request.leader);
      await election.proclaim(fromUtf8(request.value ?? new Uint8Array()));
      return { header: election.header ?? this.server.header() };
    });
  }

  async leader(request: LeaderRequest): Promise<LeaderResponse> {
    return serviceCall(async () => {
      const session = await orphanSession(this.inProcessClient(), NO_GRANT_LEASE);
      const response = await new Election(session, fromUtf8(request.name ?? new Uint8Array())).leader();
      return { header: response.header, kv: response.kvs[0] as KeyValue };
    });
  }

  async resign(request: ResignRequest): Promise<ResignResponse> {
    return serviceCall(async () => {
      const election = await this.resume(request.leader);
      await election.resign();
      return { header: election.header ?? this.server.header() };
    });
  }

  /**
   * The Observe stream: calls `send` for each leader value until `signal` aborts (then resolves).
   * Rejects with code 2 if the watch underneath fails.
   */
  async observe(request: LeaderRequest, send: (response: LeaderResponse) => void, signal: AbortSignal): Promise<void> {
    // Its own client, closed when the caller goes: a watch wait inside the recipe does not notice
    // the abort by itself, so the call ends on whichever comes first.
    const client = this.server.serviceClient();
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    try {
      await serviceCall(async () => {
        const session = await orphanSession(client, NO_GRANT_LEASE);
        const election = new Election(session, fromUtf8(request.name ?? new Uint8Array()));
        const follow = async (): Promise<void> => {
          for await (const { header, kv } of election.observe(signal)) {
            if (signal.aborted) return;
            send({ header, kv });
          }
        };
        await Promise.race([follow(), aborted]);
      });
    } finally {
      client.close();
    }
  }

  /** Closes the shared client's watch stream. */
  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  private async resume(leader: LeaderKey | undefined): Promise<Election> {
    if (leader === undefined) throw new Error(ERR_MISSING_LEADER_KEY);
    const session = await orphanSession(this.inProcessClient(), leader.lease);
    return Election.resume(session, fromUtf8(leader.name), fromUtf8(leader.key), leader.rev);
  }

  private inProcessClient(): InProcessClient | RoutedClient {
    return (this.client ??= this.server.serviceClient());
  }
}

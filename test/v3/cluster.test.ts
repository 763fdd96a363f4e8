/** The Cluster service of a single in-process member (grpc.md §6). */
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../shared/clock.js";
import { utf8 } from "../../shared/bytes.js";
import { EtcdServer } from "../../v3/etcdServer.js";
import { GrpcCode } from "../../v3/errors.js";
import { rpcError as rpcErrorOf } from "../support/rpcError.js";
import {
  ERR_DEADLINE_EXCEEDED,
  RPC_LEARNER_NOT_READY,
  RPC_MEMBER_BAD_URLS,
  RPC_MEMBER_EXIST,
  RPC_MEMBER_NOT_ENOUGH_STARTED,
  RPC_MEMBER_NOT_FOUND,
  RPC_MEMBER_NOT_LEARNER,
  RPC_PEER_URL_EXIST,
  RPC_TOO_MANY_LEARNERS,
  RPC_UNHEALTHY,
  memberIdFor,
} from "../../v3/cluster.js";

function rpcError(call: () => unknown): [number, string] {
  const error = rpcErrorOf(call);
  return [error.code, error.message];
}

function setup() {
  const clock = new SimulatedClock();
  const server = new EtcdServer({ clock, memberAttributes: { name: "c", peerURLs: ["http://127.0.0.1:2380"], clientURLs: ["http://127.0.0.1:2379"] } });
  return { clock, server, self: server.member.memberId };
}

describe("EtcdServer.memberList", () => {
  it("lists the one started member with its name and URLs, under a header without a revision", () => {
    const { server, self } = setup();
    const response = server.memberList();
    expect(response.header.revision).toBe(0);
    expect(response.members).toEqual([{ ID: self, name: "c", peerURLs: ["http://127.0.0.1:2380"], clientURLs: ["http://127.0.0.1:2379"], isLearner: false }]);
  });
});

describe("EtcdServer.memberAdd", () => {
  it("adds an unstarted learner whose ID is SHA-1 of its URL and the Unix second", () => {
    const { clock, server } = setup();
    const response = server.memberAdd({ peerURLs: ["http://127.0.0.1:2480"], isLearner: true });
    expect(response.member).toEqual({
      ID: memberIdFor(["http://127.0.0.1:2480"], String(Math.floor(clock.now() / 1000))),
      name: "",
      peerURLs: ["http://127.0.0.1:2480"],
      clientURLs: [],
      isLearner: true,
    });
    expect(response.members).toHaveLength(2);
  });

  it("refuses the same URL again as a duplicate ID within the second and as a used URL later", () => {
    const { clock, server } = setup();
    server.memberAdd({ peerURLs: ["http://127.0.0.1:2480"], isLearner: true });
    expect(rpcError(() => server.memberAdd({ peerURLs: ["http://127.0.0.1:2480"], isLearner: true }))).toEqual([GrpcCode.FailedPrecondition, RPC_MEMBER_EXIST]);
    clock.advance(1000);
    expect(rpcError(() => server.memberAdd({ peerURLs: ["http://127.0.0.1:2480"], isLearner: true }))).toEqual([GrpcCode.FailedPrecondition, RPC_PEER_URL_EXIST]);
  });

  it("allows one learner only", () => {
    const { server } = setup();
    server.memberAdd({ peerURLs: ["http://127.0.0.1:2480"], isLearner: true });
    expect(rpcError(() => server.memberAdd({ peerURLs: ["http://127.0.0.1:2580"], isLearner: true }))).toEqual([GrpcCode.FailedPrecondition, RPC_TOO_MANY_LEARNERS]);
  });

  it.each(["bad", "ftp://127.0.0.1:2480", "http://127.0.0.1", "http://127.0.0.1:2480/path", "http://127.0.0.1:2480/"])("refuses the URL %s as invalid", (url) => {
    const { server } = setup();
    expect(rpcError(() => server.memberAdd({ peerURLs: [url] }))).toEqual([GrpcCode.InvalidArgument, RPC_MEMBER_BAD_URLS]);
  });

  it("accepts a voter and then loses quorum: writes, linearizable reads and more adds fail, serializable reads work", () => {
    const { server } = setup();
    server.put({ key: utf8("k"), value: utf8("v") });
    server.memberAdd({ peerURLs: ["http://127.0.0.1:2480"] });
    expect(rpcError(() => server.put({ key: utf8("k"), value: utf8("w") }))).toEqual([GrpcCode.Unknown, ERR_DEADLINE_EXCEEDED]);
    expect(rpcError(() => server.range({ key: utf8("k") }))).toEqual([GrpcCode.Unknown, ERR_DEADLINE_EXCEEDED]);
    expect(server.range({ key: utf8("k"), serializable: true }).count).toBe(1);
    expect(rpcError(() => server.memberAdd({ peerURLs: ["http://127.0.0.1:2580"], isLearner: true }))).toEqual([GrpcCode.Unavailable, RPC_UNHEALTHY]);
    expect(rpcError(() => server.memberAdd({ peerURLs: ["http://127.0.0.1:2680"] }))).toEqual([GrpcCode.Unknown, RPC_MEMBER_NOT_ENOUGH_STARTED]);
  });
});

describe("EtcdServer.memberRemove", () => {
  it("refuses to remove the only voter (code 2) and an unknown member (code 5)", () => {
    const { server, self } = setup();
    expect(rpcError(() => server.memberRemove({ ID: self }))).toEqual([GrpcCode.Unknown, RPC_MEMBER_NOT_ENOUGH_STARTED]);
    expect(rpcError(() => server.memberRemove({ ID: 0x1234n }))).toEqual([GrpcCode.NotFound, RPC_MEMBER_NOT_FOUND]);
  });

  it("removes an unstarted learner", () => {
    const { server } = setup();
    const { member } = server.memberAdd({ peerURLs: ["http://127.0.0.1:2480"], isLearner: true });
    expect(server.memberRemove({ ID: member.ID }).members).toHaveLength(1);
  });
});

describe("EtcdServer.memberUpdate and memberPromote", () => {
  it("updates a learner's URLs, which (quirk) drops its learner flag", () => {
    const { server } = setup();
    const { member } = server.memberAdd({ peerURLs: ["http://127.0.0.1:2480"], isLearner: true });
    const updated = server.memberUpdate({ ID: member.ID, peerURLs: ["http://127.0.0.1:2490"] }).members.find((m) => m.ID === member.ID);
    expect(updated).toMatchObject({ peerURLs: ["http://127.0.0.1:2490"], isLearner: false });
  });

  it("refuses an update to a URL another member uses, and an unknown member", () => {
    const { server } = setup();
    const { member } = server.memberAdd({ peerURLs: ["http://127.0.0.1:2480"], isLearner: true });
    expect(rpcError(() => server.memberUpdate({ ID: member.ID, peerURLs: ["http://127.0.0.1:2380"] }))).toEqual([GrpcCode.FailedPrecondition, RPC_PEER_URL_EXIST]);
    expect(rpcError(() => server.memberUpdate({ ID: 0x1234n, peerURLs: ["http://127.0.0.1:2999"] }))).toEqual([GrpcCode.NotFound, RPC_MEMBER_NOT_FOUND]);
  });

  it("promotes nobody: a voter is not a learner, an unstarted learner is never in sync, a stranger is not found", () => {
    const { server, self } = setup();
    const { member } = server.memberAdd({ peerURLs: ["http://127.0.0.1:2480"], isLearner: true });
    expect(rpcError(() => server.memberPromote({ ID: self }))).toEqual([GrpcCode.FailedPrecondition, RPC_MEMBER_NOT_LEARNER]);
    expect(rpcError(() => server.memberPromote({ ID: member.ID }))).toEqual([GrpcCode.FailedPrecondition, RPC_LEARNER_NOT_READY]);
    expect(rpcError(() => server.memberPromote({ ID: 0x1234n }))).toEqual([GrpcCode.NotFound, RPC_MEMBER_NOT_FOUND]);
  });
});

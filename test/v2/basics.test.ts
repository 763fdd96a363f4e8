/**
 * Small building blocks: Go's path cleaning, the NodeExtern JSON rules (etcd release-3.4
 * `node_extern.go`), the error table (`etcdserver/api/v2error/error.go`) and the Event wire shape.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Event } from "../../v2/event.js";
import { compareKeysBytewise, formatExpiration, makeNodeExtern, sortNodeExterns, ttlSeconds } from "../../v2/nodeExtern.js";
import { cleanKey, cleanPath, splitPath } from "../../v2/path.js";
import { ERROR_HTTP_STATUS, ERROR_MESSAGES, EcodeEventIndexCleared, EcodeKeyNotFound, EcodeNotFile, V2Error } from "../../v2/v2error.js";

describe("cleanKey", () => {
  it.each([
    ["foo", "/foo"],
    ["/tr/", "/tr"],
    ["//a/./b/../c", "/a/c"],
    ["/..", "/"],
    ["/../a", "/a"],
    ["", "/"],
    ["/", "/"],
    ["/sp ace", "/sp ace"],
    ["/a/b/../../..", "/"],
  ])("cleans %j to %j as Go's path.Clean(path.Join(\"/\", …)) does", (raw, clean) => {
    expect(cleanKey(raw)).toBe(clean);
  });

  it("takes its fast path only for paths that are already clean", () => {
    const part = fc.constantFrom("a", ".", "..", "", "_b", ".x", "..y", "c d");
    fc.assert(
      fc.property(fc.array(part), fc.boolean(), fc.boolean(), (parts, leading, trailing) => {
        const raw = (leading ? "/" : "") + parts.join("/") + (trailing ? "/" : "");
        expect(cleanKey(raw)).toBe(cleanPath("/" + raw));
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps relative paths relative, as path.Clean does", () => {
    expect([cleanPath(""), cleanPath("a/../.."), cleanPath("./a//b/")]).toEqual([".", "..", "a/b"]);
  });

  it("splits a path after its last slash", () => {
    expect([splitPath("/a/b"), splitPath("/a"), splitPath("/")]).toEqual([["/a/", "b"], ["/", "a"], ["/", ""]]);
  });
});

describe("NodeExtern", () => {
  it("puts fields in etcd's order and leaves empty ones out", () => {
    const node = makeNodeExtern({ key: "/t", value: "", dir: false, expiration: "2026-01-01T00:00:05Z", ttl: 5, nodes: [], modifiedIndex: 6, createdIndex: 6 });
    expect(JSON.stringify(node)).toBe('{"key":"/t","value":"","expiration":"2026-01-01T00:00:05Z","ttl":5,"modifiedIndex":6,"createdIndex":6}');
    expect(JSON.stringify(makeNodeExtern({ key: "/", dir: true, nodes: [], modifiedIndex: 0, createdIndex: 0 }))).toBe('{"dir":true}');
    expect(Object.isFrozen(node)).toBe(true);
  });

  it("formats expirations like Go's RFC 3339 with trailing zeros dropped", () => {
    expect(formatExpiration(Date.UTC(2026, 0, 1, 0, 0, 5))).toBe("2026-01-01T00:00:05Z");
    expect(formatExpiration(Date.UTC(2026, 0, 1, 0, 0, 5, 250))).toBe("2026-01-01T00:00:05.25Z");
    expect(formatExpiration(Date.UTC(2026, 0, 1, 0, 0, 5, 7))).toBe("2026-01-01T00:00:05.007Z");
  });

  it("rounds the seconds left up, and toward zero once overdue", () => {
    expect([ttlSeconds(5_000, 0), ttlSeconds(5_000, 3_500), ttlSeconds(5_000, 5_000), ttlSeconds(5_000, 5_500), ttlSeconds(5_000, 6_500)]).toEqual([5, 2, 0, 0, -1]);
    expect(Object.is(ttlSeconds(5_000, 5_500), 0)).toBe(true); // never -0
  });

  it("sorts keys by UTF-8 bytes, not UTF-16 code units", () => {
    expect(compareKeysBytewise("/a", "/b")).toBeLessThan(0);
    expect(compareKeysBytewise("/\u{1F600}", "/\uFFFD")).toBeGreaterThan(0); // JS "<" says the opposite
    expect(compareKeysBytewise("/ab", "/a")).toBeGreaterThan(0);
    const nodes = ["/\u{1F600}", "/\uFFFD", "/Z", "/a"].map((key) => makeNodeExtern({ key, modifiedIndex: 1, createdIndex: 1 }));
    expect(sortNodeExterns(nodes).map((n) => n.key)).toEqual(["/Z", "/a", "/\uFFFD", "/\u{1F600}"]);
    const bytes = ["/\u{1F600}", "/\uFFFD", "/Z", "/a"].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect(bytes).toEqual(["/Z", "/a", "/\uFFFD", "/\u{1F600}"]);
  });
});

describe("V2Error", () => {
  it("prints Go's 'Message (cause)', parentheses included when the cause is empty", () => {
    expect(new V2Error(EcodeKeyNotFound, "/foo", 7).toString()).toBe("Key not found (/foo)");
    expect(new V2Error(EcodeNotFile, "", 3).toString()).toBe("Not a file ()");
  });

  it("serialises as etcd's error body, leaving an empty cause out but always the index", () => {
    expect(JSON.stringify(new V2Error(EcodeKeyNotFound, "/foo", 7))).toBe('{"errorCode":100,"message":"Key not found","cause":"/foo","index":7}');
    expect(JSON.stringify(new V2Error(EcodeNotFile))).toBe('{"errorCode":102,"message":"Not a file","index":0}');
  });

  it("maps codes to etcd's HTTP statuses, 400 by default", () => {
    expect([100, 101, 102, 104, 105, 107, 108, 110, 300, 401].map((code) => new V2Error(code).statusCode)).toEqual([404, 412, 403, 400, 412, 400, 403, 401, 500, 400]);
  });

  // etcdserver/api/v2error/error.go: every code, its fixed message and its HTTP status (spec §4).
  it.each([
    [100, "Key not found", 404],
    [101, "Compare failed", 412],
    [102, "Not a file", 403],
    [103, "Reached the max number of peers in the cluster", 400],
    [104, "Not a directory", 400],
    [105, "Key already exists", 412],
    [106, "The prefix of given key is a keyword in etcd", 400],
    [107, "Root is read only", 400],
    [108, "Directory not empty", 403],
    [109, "Peer address has existed", 400],
    [110, "The request requires user authentication", 401],
    [200, "Value is Required in POST form", 400],
    [201, "PrevValue is Required in POST form", 400],
    [202, "The given TTL in POST form is not a number", 400],
    [203, "The given index in POST form is not a number", 400],
    [204, "Value or TTL is required in POST form", 400],
    [205, "The given timeout in POST form is not a number", 400],
    [206, "Name is required in POST form", 400],
    [207, "Index or value is required", 400],
    [208, "Index and value cannot both be specified", 400],
    [209, "Invalid field", 400],
    [210, "Invalid POST form", 400],
    [211, "Value provided on refresh", 400],
    [212, "A TTL must be provided on refresh", 400],
    [300, "Raft Internal Error", 500],
    [301, "During Leader Election", 500],
    [400, "watcher is cleared due to etcd recovery", 400],
    [401, "The event in requested index is outdated and cleared", 400],
    [402, "Standby Internal Error", 400],
    [403, "Invalid active size", 400],
    [404, "Standby remove delay", 400],
    [500, "Client Internal Error", 400],
  ])("answers code %i with etcd's message %j and HTTP %i", (code, message, status) => {
    const error = new V2Error(code, "/k", 9);
    expect(error.message).toBe(message);
    expect(error.statusCode).toBe(status);
    expect(JSON.stringify(error)).toBe(JSON.stringify({ errorCode: code, message, cause: "/k", index: 9 }));
  });

  it("has etcd's complete code table and refuses unknown codes", () => {
    expect(ERROR_MESSAGES.size).toBe(32);
    expect(ERROR_MESSAGES.get(EcodeEventIndexCleared)).toBe("The event in requested index is outdated and cleared");
    expect([...ERROR_HTTP_STATUS.keys()].every((code) => ERROR_MESSAGES.has(code))).toBe(true);
    expect(() => new V2Error(999)).toThrow(RangeError);
  });
});

describe("Event", () => {
  it("serialises to the wire body without etcdIndex or refresh", () => {
    const node = makeNodeExtern({ key: "/a", value: "1", modifiedIndex: 2, createdIndex: 2 });
    const event = new Event("update", node, node, 2, true);
    expect(JSON.stringify(event)).toBe('{"action":"update","node":{"key":"/a","value":"1","modifiedIndex":2,"createdIndex":2},"prevNode":{"key":"/a","value":"1","modifiedIndex":2,"createdIndex":2}}');
    expect(Object.isFrozen(event)).toBe(true);
    expect(event.withEtcdIndex(9).etcdIndex).toBe(9);
    expect(event.withEtcdIndex(9).node).toBe(node);
  });
});

/**
 * etcdctl's `txn -i` grammar (scenarios/txnScript.ts), behaviour and error texts as etcdctl 3.4
 * prints them (spec v3.md §10.2).
 */
import { describe, expect, it } from "vitest";
import { fromUtf8 } from "../../shared/bytes.js";
import { CompareResult, CompareTarget } from "../../v3/rpc.js";
import { argify, formatTxnSimple, parseCompare, parseOp, parseTxnScript } from "../../scenarios/txnScript.js";

describe("parseCompare", () => {
  it("reads value, mod, create and version compares with their short names", () => {
    expect(parseCompare(`value("k") = "v"`)).toMatchObject({ target: CompareTarget.VALUE, result: CompareResult.EQUAL });
    expect(parseCompare(`m("k") > "5"`)).toMatchObject({ target: CompareTarget.MOD, result: CompareResult.GREATER, mod_revision: 5 });
    expect(parseCompare(`c("k") != "0"`)).toMatchObject({ target: CompareTarget.CREATE, result: CompareResult.NOT_EQUAL, create_revision: 0 });
    expect(parseCompare(`ver("k") < "3"`)).toMatchObject({ target: CompareTarget.VERSION, result: CompareResult.LESS, version: 3 });
  });
  it("gives etcdctl's errors for an unquoted key, an unknown target and a non-numeric revision", () => {
    expect(parseCompare(`value(k) = "v1"`)).toBe(`malformed comparison: value(k) = "v1"; got value("")  ""`);
    expect(parseCompare(`foo("k") = "v1"`)).toBe(`malformed comparison: foo("k") = "v1" (unknown target foo)`);
    expect(parseCompare(`mod("k") = "x"`)).toBe(`invalid txn compare request: mod("k") = "x"`);
  });
});

describe("parseOp and argify", () => {
  it("splits on spaces and unquotes double-quoted words", () => {
    expect(argify(`put "sp key" "sp val"`)).toEqual(["put", "sp key", "sp val"]);
  });
  it("reads put, get --prefix and del, and refuses anything else", () => {
    const put = parseOp("put k v");
    expect(typeof put === "string" ? put : fromUtf8(put.request_put?.value ?? new Uint8Array())).toBe("v");
    expect(parseOp("get a --prefix")).toMatchObject({ request_range: { range_end: new Uint8Array([98]) } });
    expect(parseOp("foo k")).toBe("invalid txn request: foo k");
    expect(parseOp("get k -w json")).toBe("invalid txn request: get k -w json");
  });
});

describe("parseTxnScript", () => {
  it("needs three blank-line-terminated blocks, and says EOF when input ends early", () => {
    const parsed = parseTxnScript(`value("k") = "v"\n\nput k w\n\nget k\n\n`);
    expect(parsed.ok && parsed.request.compare?.length === 1 && parsed.request.success?.length === 1 && parsed.request.failure?.length === 1).toBe(true);
    expect(parseTxnScript(`value("k") = "v"\n\nput k w\n`)).toEqual({ ok: false, error: "EOF" });
  });
  it("prints SUCCESS or FAILURE and each response after an empty line", () => {
    const kv = { key: new TextEncoder().encode("k"), value: new TextEncoder().encode("v"), create_revision: 2, mod_revision: 2, version: 1, lease: 0n };
    const header = { cluster_id: 0n, member_id: 0n, revision: 2, raft_term: 2 };
    expect(
      formatTxnSimple({
        header,
        succeeded: true,
        responses: [{ response_put: { header } }, { response_range: { header, kvs: [kv], more: false, count: 1 } }, { response_delete_range: { header, deleted: 1, prev_kvs: [] } }],
      }),
    ).toEqual(["SUCCESS", "", "OK", "", "k", "v", "", "1"]);
  });
});

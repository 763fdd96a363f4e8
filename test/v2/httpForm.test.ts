/**
 * Tests of `v2/httpForm.ts`, Go's form parsing as etcd's v2 handler meets it. The whole path (body
 * before query, bodies ignored for DELETE, 210 causes) is compared with a real etcd in differential.test.ts.
 */
import { describe, expect, it } from "vitest";
import { parseQuery } from "../../v2/httpForm.js";

describe("parseQuery (Go's url.ParseQuery)", () => {
  it("keeps every value of a repeated parameter in order, decoding + as a space", () => {
    const values = new Map<string, string[]>();
    expect(parseQuery("value=a+b&value=%41&x", values)).toBeUndefined();
    expect(values.get("value")).toEqual(["a b", "A"]);
    expect(values.get("x")).toEqual([""]);
  });

  it("reports the first bad escape but keeps the good pairs", () => {
    const values = new Map<string, string[]>();
    expect(parseQuery("a=1&b=%zz&c=%q", values)).toBe('invalid URL escape "%zz"');
    expect(values.get("a")).toEqual(["1"]);
    expect(values.has("b")).toBe(false);
  });

  it("refuses semicolons as separators, as Go 1.17 and later do", () => {
    expect(parseQuery("x=1;y=2", new Map())).toBe("invalid semicolon separator in query");
  });
});

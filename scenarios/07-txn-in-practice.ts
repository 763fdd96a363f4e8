/**
 * Lesson 7 · `etcdctl txn -i` in practice.
 *
 *   compares:                         ← all must hold (AND); none = true
 *   value("user1") = "alice"
 *   mod("counter") = "4"
 *                                     ← blank line
 *   success requests (get, put, del):
 *   put user1 bob
 *   get counter
 *                                     ← blank line
 *   failure requests (get, put, del):
 *   get user1
 *                                     ← blank line
 *
 * Each script below is parsed with etcdctl's grammar (scenarios/txnScript.ts), sent as one Txn,
 * and printed the way etcdctl prints it. The v2 column shows the nearest thing v2 offers: a
 * compare-and-swap on one key.
 */
import type { Lesson } from "./lesson.js";
import type { Cell } from "./report.js";
import { utf8 } from "../shared/bytes.js";
import { must, v2Cell } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";
import { formatTxnSimple, parseTxnScript } from "./txnScript.js";

export const lesson: Lesson = {
  id: 7,
  slug: "txn-in-practice",
  title: "`txn -i` in practice",
  lesson: "A v3 transaction is \"if these compares all hold, do these ops, else do those\", compared on value, mod_revision, create_revision or version. etcdctl txn -i reads it as three blank-line-terminated blocks; a malformed line is refused before anything is sent.",
  youWillSee: [
    "compares on value, mod, create and version, the success branch and the failure branch, printed as etcdctl prints them",
    "what a missing key compares as (version 0, create 0, and a value compare that is always false)",
    "malformed lines and the exact errors etcdctl gives for them",
  ],
  tryChanging: ["the compares in each script", "a compare operator to `==` (etcdctl panics)"],
  async run(ctx) {
    const { v2, v3 } = await ctx.openTarget();

    ctx.step("Set up two keys", "user1 = alice, then counter is written three times (1, 2, 3).");
    must(await v2.set("/user1", "alice"), "set");
    const user3 = must(await v3.put({ key: utf8("user1"), value: utf8("alice") }), "put");
    for (const n of ["1", "2", "3"]) {
      must(await v2.set("/counter", n), "set");
      must(await v3.put({ key: utf8("counter"), value: utf8(n) }), "put");
    }
    const counterMod = user3.header.revision + 3;
    const userCreate = user3.header.revision;

    const scripts: Array<{ label: string; script: string; v2: () => Promise<Cell> }> = [
      {
        label: "all compares hold",
        script: `value("user1") = "alice"\nmod("counter") = "${counterMod}"\ncreate("user1") = "${userCreate}"\nversion("counter") > "2"\n\nput user1 bob\nget counter\n\nget user1\n\n`,
        v2: async () => v2Cell(await v2.set("/user1", "bob", { prevValue: "alice" }), (e) => `${e.action}: ${e.node.value} (one key only)`),
      },
      {
        label: "a compare fails",
        script: `value("user1") = "alice"\n\nput user1 carol\n\nget user1\ndel counter\n\n`,
        v2: async () => v2Cell(await v2.set("/user1", "carol", { prevValue: "alice" }), (e) => e.action),
      },
      {
        label: "compares on a missing key",
        script: `version("ghost") = "0"\ncreate("ghost") = "0"\n\nput ghost boo\n\n\n`,
        v2: async () => v2Cell(await v2.set("/ghost", "boo", { prevExist: false }), (e) => `${e.action} (prevExist=false)`),
      },
      {
        label: "value compare on a missing key",
        script: `value("nobody") != "x"\n\nput nobody here\n\nget nobody\n\n`,
        v2: async () => v2Cell(await v2.set("/nobody", "here", { prevValue: "x" }), (e) => e.action),
      },
      { label: "unquoted key", script: `value(user1) = "bob"\n\nput user1 dave\n\n\n`, v2: async () => "" },
      { label: "unknown target", script: `foo("user1") = "bob"\n\nput user1 dave\n\n\n`, v2: async () => "" },
      { label: "unknown op", script: `\nfoo user1\n\n\n`, v2: async () => "" },
      { label: "operator ==", script: `value("user1") == "bob"\n\nput user1 dave\n\n\n`, v2: async () => "" },
      { label: "input ends early", script: `value("user1") = "bob"\n\nput user1 dave\n`, v2: async () => "" },
    ];

    ctx.step(
      "Run each script",
      "Each script is shown as etcdctl txn reads it from stdin (a heredoc here; txn -i reads the same lines after its prompts), followed by what etcdctl prints. Below it, v2's nearest request beside v3's verdict. Errors are refused before anything reaches the server.",
    );
    const results: Record<string, { text: string; revisionAfter: number }> = {};
    for (const { label, script, v2: v2Do } of scripts) {
      const parsed = parseTxnScript(script);
      let printed: string[];
      if (!parsed.ok) printed = [`Error: ${parsed.error}`];
      else {
        const answer = await v3.txn(parsed.request);
        printed = answer.ok ? formatTxnSimple(answer.value) : [`Error: ${answer.error.message}`];
      }
      const text = printed.join(" ↵ ");
      const head = must(await v3.range({ key: utf8("\0"), range_end: new Uint8Array([0]), count_only: true }), "range").header.revision;
      results[label] = { text, revisionAfter: head };
      // The script as typed: every line, blank ones included (they end the blocks).
      const typed = script.endsWith("\n") ? script.slice(0, -1).split("\n") : script.split("\n");
      ctx.say(`${label}:`);
      ctx.code("$ etcdctl txn <<'EOF'", ...typed, "EOF", ...printed);
      ctx.table([{ label: "result", v2: await v2Do(), v3: printed[0] ?? "" }], { labelHeader: label });
    }

    const first = results["all compares hold"]?.text ?? "";
    const second = results["a compare fails"]?.text ?? "";
    const missing = results["compares on a missing key"]?.text ?? "";
    const valueMissing = results["value compare on a missing key"]?.text ?? "";
    ctx.claim({
      id: "success-branch",
      claim: "when every compare holds, the success ops run (put OK, then the get sees the counter)",
      v2Value: null,
      v3Value: first,
      holds: first.startsWith("SUCCESS ↵  ↵ OK ↵  ↵ counter ↵ 3"),
    });
    ctx.claim({
      id: "failure-branch",
      claim: "when a compare fails, the failure ops run instead (here a get and a delete)",
      v2Value: null,
      v3Value: second,
      holds: second.startsWith("FAILURE") && second.includes("user1 ↵ bob") && second.endsWith("1"),
    });
    ctx.claim({
      id: "missing-key-compares",
      claim: "a missing key compares as version 0 and create 0, but any value compare on it is false, even !=",
      v2Value: null,
      v3Value: `${missing.split(" ")[0]} / ${valueMissing.split(" ")[0]}`,
      holds: missing.startsWith("SUCCESS") && valueMissing.startsWith("FAILURE"),
    });
    const unquoted = results["unquoted key"]?.text ?? "";
    ctx.claim({
      id: "malformed-refused",
      claim: "a malformed line is refused by etcdctl with its exact error, and nothing is sent",
      v2Value: null,
      v3Value: unquoted,
      holds:
        unquoted === `Error: malformed comparison: value(user1) = "bob"; got value("")  ""` &&
        results["unquoted key"]?.revisionAfter === results["value compare on a missing key"]?.revisionAfter,
    });

    ctx.whatJustHappened(
      "Each script became one TxnRequest: a list of compares (ANDed), a success list and a failure list. The server evaluated the compares against the current revision and ran exactly one branch inside one write transaction, so a put and a get in the same branch see each other, and the whole branch commits under one revision.",
      "v2 can only say \"if this one key has this value or index, set it\": the first script's four compares on two keys, and its get in the same atomic step, have no v2 form. A missing key is not an error in a compare: its version, create and mod revisions are 0, which is how `create(\"k\") = \"0\"` means \"only if absent\".",
    );
    ctx.myth(
      "`value(\"k\") != \"x\"` is true when k does not exist.",
      "A value compare on a missing key is always false, whatever the operator; use version or create = \"0\" to test for absence.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

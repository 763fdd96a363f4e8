/**
 * Lesson 2 · One value vs many versions.
 *
 *   v2 node "/foo"                          v3 keyIndex "foo"
 *   value, createdIndex, modifiedIndex      generations: {put 2, put 3, put 4, del 5} {put 6}
 *   (only the latest state)                 every revision still readable: get foo --rev 3
 *
 * v3 counts three things per key: create_revision (when this life began), mod_revision (the last
 * change) and version (changes since creation, reset by a delete). v2 keeps two indexes and no
 * past values.
 */
import { fromUtf8, utf8 } from "../shared/bytes.js";
import type { Lesson } from "./lesson.js";
import { must, rangeJson, rangeOf, v2Cell, v3Cell } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";

export const lesson: Lesson = {
  id: 2,
  slug: "versions",
  title: "One value vs many versions",
  lesson: "A v2 key holds one value and two indexes; a v3 key keeps every version, each stamped with create_revision, mod_revision and version, readable by revision until compacted.",
  youWillSee: [
    "the same five writes recorded as createdIndex/modifiedIndex (v2) and create/mod/version (v3)",
    "`get foo --rev N` returning an old value in v3, with no v2 equivalent",
    "`etcdctl get -w json`: base64 keys and values, and a header with revision and raft_term",
  ],
  tryChanging: ["the number of puts before the delete", "the revision passed to --rev (try the delete's revision)"],
  async run(ctx) {
    const { v2, v3 } = await ctx.openTarget();

    ctx.step(
      "Put foo three times, delete it, put it again",
      "After each write, read the key back and show what each store remembers about it.",
    );
    const rows = [];
    const v3Revisions: number[] = [];
    const ops: Array<{ label: string; kind: "put" | "del"; value?: string }> = [
      { label: "put foo bar1", kind: "put", value: "bar1" },
      { label: "put foo bar2", kind: "put", value: "bar2" },
      { label: "put foo bar3", kind: "put", value: "bar3" },
      { label: "del foo", kind: "del" },
      { label: "put foo bar4", kind: "put", value: "bar4" },
    ];
    let versionBeforeDelete = 0;
    let versionAfterRecreate = 0;
    for (const op of ops) {
      if (op.kind === "put") {
        must(await v2.set("/foo", op.value ?? ""), "v2 set");
        const put = must(await v3.put({ key: utf8("foo"), value: utf8(op.value ?? "") }), "v3 put");
        v3Revisions.push(put.header.revision);
      } else {
        must(await v2.delete("/foo"), "v2 delete");
        const del = must(await v3.deleteRange({ key: utf8("foo") }), "v3 delete");
        v3Revisions.push(del.header.revision);
      }
      const read2 = await v2.get("/foo");
      const read3 = must(await v3.range(rangeOf("foo")), "v3 get");
      const kv = read3.kvs[0];
      if (op.label === "put foo bar3") versionBeforeDelete = kv?.version ?? 0;
      if (op.label === "put foo bar4") versionAfterRecreate = kv?.version ?? 0;
      rows.push({
        label: op.label,
        v2: v2Cell(read2, (e) => `${e.node.value} created=${e.node.createdIndex} modified=${e.node.modifiedIndex}`),
        v3:
          kv === undefined
            ? `(no key) header.revision=${read3.header.revision}`
            : `${fromUtf8(kv.value)} create=${kv.create_revision} mod=${kv.mod_revision} version=${kv.version}`,
      });
    }
    ctx.table(rows, { labelHeader: "after" });
    ctx.measure("versionBeforeDelete", versionBeforeDelete);
    ctx.measure("versionAfterRecreate", versionAfterRecreate);
    ctx.claim({
      id: "version-resets-after-delete",
      claim: "a v3 delete ends the key's generation: the next put starts again at version 1 with a new create_revision",
      v2Value: null,
      v3Value: `${versionBeforeDelete} → ${versionAfterRecreate}`,
      holds: versionBeforeDelete === 3 && versionAfterRecreate === 1,
    });

    ctx.step(
      "Read the past: `etcdctl get foo --rev N`",
      "Every revision of foo is still in v3's backend. v2 answers only with the current value; its past lives only as events in a 1000-event window (lesson 4), and only a watch can reach them.",
    );
    const pastRows = [];
    let oldValueRead = "";
    for (const revision of v3Revisions) {
      const past = await v3.range(rangeOf("foo", { revision }));
      const cell = v3Cell(past, (r) => (r.kvs[0] === undefined ? "(no key)" : fromUtf8(r.kvs[0].value)));
      if (revision === v3Revisions[1]) oldValueRead = String(cell);
      pastRows.push({ label: `get foo --rev ${revision}`, v2: "(no reads at an index)", v3: cell });
    }
    ctx.table(pastRows, { labelHeader: "etcdctl" });
    ctx.claim({
      id: "read-old-revision",
      claim: "v3 reads an overwritten value at its revision; v2 can only read the latest",
      v2Value: "latest only",
      v3Value: oldValueRead,
      holds: oldValueRead === "bar2",
    });

    ctx.step(
      "What goes over the wire: `-w json`",
      "v2 answers with a JSON event; v3's etcdctl prints the protobuf response as JSON: keys and values in base64, and a header. header.revision is the store's current revision even when an older one was read.",
    );
    const v2Json = must(await v2.get("/foo"), "v2 get");
    const oldRead = must(await v3.range(rangeOf("foo", { revision: v3Revisions[0] ?? 0 })), "v3 get --rev");
    const { etcdIndex, ...body } = v2Json;
    ctx.code(
      `v2  GET /v2/keys/foo      X-Etcd-Index: ${etcdIndex}`,
      `    ${JSON.stringify(body)}`,
      `v3  etcdctl get foo --rev ${v3Revisions[0] ?? 0} -w json`,
      `    ${rangeJson(oldRead)}`,
    );
    ctx.measure("headerRevisionOnOldRead", oldRead.header.revision);
    const current = v3Revisions[v3Revisions.length - 1] ?? 0;
    ctx.claim({
      id: "header-is-current",
      claim: "the header of a read at an old revision still carries the current revision",
      v2Value: etcdIndex,
      v3Value: oldRead.header.revision,
      holds: oldRead.header.revision === current && (oldRead.kvs[0]?.mod_revision ?? 0) < current,
    });
    ctx.say(
      `In that JSON, "Zm9v" is base64 for "foo". raft_term (${oldRead.header.raft_term}) is the Raft election term of the member that answered; cluster_id and member_id name the cluster and that member.`,
    );

    ctx.whatJustHappened(
      `v2 kept one node: a delete removed it and the next set made a new one, so createdIndex moved and the old values were gone. v3 stored each write as a new revision (${v3Revisions.join(", ")}); the key's index lists them in generations, one per life of the key, and \`--rev\` picks a point in that history.`,
      "The three v3 counters answer different questions: create_revision \"since when does this key exist?\", mod_revision \"when did it last change?\" (the one to compare in a transaction), version \"how many times has it changed in this life?\".",
    );
    ctx.myth(
      "A v3 key's version is a global counter, like the revision.",
      `version counts writes to one key since its creation and restarts at 1 after a delete (here ${versionBeforeDelete} → ${versionAfterRecreate}); the revision is store-wide and never goes back.`,
    );
  },
};

await runIfMain(import.meta.url, lesson);

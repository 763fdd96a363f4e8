/**
 * Lesson 1 · Data model: a tree of directories (v2) vs a flat, byte-ordered keyspace (v3).
 *
 *   v2 (a file system)                       v3 (one sorted list of byte strings)
 *   /                                        "dir/_hidden"
 *   ├── dir/            ← a real node        "dir/a"
 *   │   ├── _hidden     ← left out of lists  "key1"
 *   │   └── a                                "key12"   ← "key12" < "key2": '1' (0x31) < '2' (0x32)
 *   ├── key1                                 "key2"
 *   ├── key12                                "key3"
 *   ├── key2
 *   └── key3
 *
 * `etcdctl get key key3` reads the half-open range [key, key3): key1, key12, key2, but not key3.
 */
import type { Lesson } from "./lesson.js";
import { utf8 } from "../shared/bytes.js";
import { keysOf, must, rangeOf, v2Cell, v2KeysOf, v3Cell } from "./lessonKit.js";
import { runIfMain } from "./standalone.js";

const NAMES = ["key1", "key2", "key3", "key12"];

export const lesson: Lesson = {
  id: 1,
  slug: "data-model",
  title: "Data model: a tree vs a flat keyspace",
  lesson: "v2 stores a tree of directories and files, like a file system; v3 stores one flat keyspace of byte strings, sorted byte by byte, and reads ranges of it.",
  youWillSee: [
    "the same four keys listed by both stores, and why \"key12\" sorts before \"key2\"",
    "`get key key3` as a half-open range [key, key3), and `--from-key`",
    "v2 directories as real nodes (104 Not a directory, 102 Not a file) where v3 has just longer keys",
    "v2's hidden \"_\" keys, which v3 does not have",
  ],
  tryChanging: ["the key names in NAMES (add \"key20\" or \"Key1\" and predict the order)", "the range end \"key3\" to \"key4\" or to \"\\0\""],
  async run(ctx) {
    const target = await ctx.openTarget();
    const { v2, v3 } = target;

    ctx.step(
      "Write key1, key2, key3 and key12 in that order",
      "v2 takes paths (/key1), v3 takes byte strings (key1). Both answer with their store-wide counter: v2's etcd index, v3's revision.",
    );
    const rows = [];
    for (const name of NAMES) {
      const a = await v2.set(`/${name}`, `v-${name}`);
      const b = await v3.put({ key: utf8(name), value: utf8(`v-${name}`) });
      rows.push({ label: `put ${name}`, v2: v2Cell(a, (e) => `index ${e.etcdIndex}`), v3: v3Cell(b, (r) => `revision ${r.header.revision}`) });
    }
    ctx.table(rows, { labelHeader: "operation" });

    ctx.step(
      "List everything, sorted",
      "v2 lists a directory (GET /?sorted=true); v3 reads the range from \"\\0\" onwards. Both sort by bytes, so key12 comes before key2.",
    );
    const v2List = must(await v2.get("/", { sorted: true }), "v2 list");
    const v3List = must(await v3.range(rangeOf("\0", { fromKey: true })), "v3 list");
    ctx.table([{ label: "all keys", v2: v2KeysOf(v2List.node), v3: keysOf(v3List) }], { labelHeader: "read" });
    const v3Order = v3List.kvs.map((kv) => new TextDecoder().decode(kv.key));
    const key12First = v3Order.indexOf("key12") < v3Order.indexOf("key2");
    const v2Order = (v2List.node.nodes ?? []).map((n) => n.key ?? "");
    const v2Key12First = v2Order.indexOf("/key12") < v2Order.indexOf("/key2");
    ctx.claim({
      id: "key12-before-key2",
      claim: "\"key12\" sorts before \"key2\": keys are compared byte by byte, not as numbers",
      v2Value: v2Order.join(" "),
      v3Value: v3Order.join(" "),
      holds: key12First && v2Key12First,
    });

    ctx.step(
      "A half-open range: `etcdctl get key key3`",
      "v3 reads [key, key3): every key ≥ \"key\" and < \"key3\". v2 has no ranges; the nearest it offers is one directory's listing.",
    );
    const halfOpen = must(await v3.range(rangeOf("key", { end: "key3" })), "range");
    const fromKey = must(await v3.range(rangeOf("key2", { fromKey: true })), "from-key");
    ctx.measure("rangeKeyKey3Count", halfOpen.count);
    ctx.table(
      [
        { label: "get key key3", v2: "(no range reads)", v3: keysOf(halfOpen) },
        { label: "get --from-key key2", v2: "(no range reads)", v3: keysOf(fromKey) },
      ],
      { labelHeader: "etcdctl" },
    );
    const excludesEnd = !halfOpen.kvs.some((kv) => new TextDecoder().decode(kv.key) === "key3");
    ctx.claim({
      id: "half-open-range",
      claim: "`get key key3` returns key1, key12 and key2, and leaves key3 out: the end of a range is exclusive",
      v2Value: null,
      v3Value: keysOf(halfOpen),
      holds: halfOpen.count === 3 && excludesEnd,
    });

    ctx.step(
      "Directories are nodes in v2 and only a naming habit in v3",
      "Writing dir/a creates the directory /dir in v2. A key below a file fails in v2 (104) and is just another key in v3. Deleting a directory needs dir=true or recursive=true in v2 (102 otherwise); v3 deletes a prefix range.",
    );
    const a2 = await v2.set("/dir/a", "1");
    const a3 = await v3.put({ key: utf8("dir/a"), value: utf8("1") });
    const dir2 = await v2.get("/dir");
    const under2 = await v2.set("/key1/x", "1");
    const under3 = await v3.put({ key: utf8("key1/x"), value: utf8("1") });
    const del2 = await v2.delete("/dir");
    const del3 = await v3.deleteRange(rangeOf("dir/", { prefix: true }));
    await v3.deleteRange({ key: utf8("key1/x") });
    ctx.table(
      [
        { label: "put dir/a", v2: v2Cell(a2, (e) => `created ${e.node.key}; /dir is now a directory`), v3: v3Cell(a3, () => "OK: one more key") },
        { label: "get dir", v2: v2Cell(dir2, (e) => `dir: ${e.node.dir === true}, nodes: ${v2KeysOf(e.node)}`), v3: "(there is no key \"dir\")" },
        { label: "put key1/x (below a key)", v2: v2Cell(under2, (e) => e.node.key ?? ""), v3: v3Cell(under3, (r) => `OK at revision ${r.header.revision}`) },
        { label: "delete dir", v2: v2Cell(del2, (e) => e.action), v3: v3Cell(del3, (r) => `${r.deleted} deleted (prefix dir/)`) },
      ],
      { labelHeader: "operation" },
    );
    ctx.claim({
      id: "v2-key-under-file-fails",
      claim: "a key below an existing key is error 104 in v2 and an ordinary key in v3",
      v2Value: under2.ok ? "accepted" : under2.error.errorCode,
      v3Value: under3.ok ? "accepted" : under3.error.message,
      holds: !under2.ok && under2.error.errorCode === 104 && under3.ok,
    });

    ctx.step(
      "Hidden keys",
      "In v2, a name starting with \"_\" is hidden: listings leave it out, but a direct GET finds it. v3 has no such rule.",
    );
    must(await v2.set("/dir/_hidden", "secret"), "set hidden");
    must(await v3.put({ key: utf8("dir/_hidden"), value: utf8("secret") }), "put hidden");
    const list2 = must(await v2.get("/dir", { recursive: true, sorted: true }), "list dir");
    const list3 = must(await v3.range(rangeOf("dir/", { prefix: true })), "list prefix");
    const direct2 = await v2.get("/dir/_hidden");
    const direct3 = await v3.range(rangeOf("dir/_hidden"));
    ctx.table(
      [
        { label: "list dir/ (holds a and _hidden)", v2: v2KeysOf(list2.node), v3: keysOf(list3) },
        { label: "get dir/_hidden directly", v2: v2Cell(direct2, (e) => e.node.value ?? ""), v3: v3Cell(direct3, (r) => new TextDecoder().decode(r.kvs[0]?.value ?? new Uint8Array())) },
      ],
      { labelHeader: "read" },
    );
    const hiddenListed2 = v2KeysOf(list2.node).includes("_hidden");
    const hiddenListed3 = keysOf(list3).includes("_hidden");
    ctx.claim({
      id: "hidden-keys",
      claim: "v2 leaves \"_\" keys out of listings; v3 lists them like any other key",
      v2Value: hiddenListed2 ? "listed" : "hidden",
      v3Value: hiddenListed3 ? "listed" : "hidden",
      holds: !hiddenListed2 && hiddenListed3,
    });

    ctx.whatJustHappened(
      `Both stores kept the same keys, but in different shapes. v2 built nodes: /dir became a directory the moment /dir/a was written, so "/key1/x" had nowhere to go (104), and deleting /dir needed dir=true (102). v3 kept ${v3List.count} separate byte strings in one sorted index; "directories" are a naming habit, and a prefix is just the range [prefix, prefix+1).`,
      `Because the order is bytewise, "key12" < "key2" in both, and a range [key, key3) stops just before key3. etcdctl's --prefix and --from-key are only two ways of choosing the range end.`,
    );
    ctx.myth(
      "etcd v3 has directories, since keys look like /services/web/1.",
      "v3 has no directories: the slashes are bytes like any other. `get --prefix /services/` is the range [\"/services/\", \"/services0\"), because '0' is the byte after '/'.",
    );
  },
};

await runIfMain(import.meta.url, lesson);

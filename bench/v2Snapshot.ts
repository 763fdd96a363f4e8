/**
 * v2 snapshot save and recovery of a 100k-node tree, against JSON.stringify / JSON.parse of the
 * same tree as plain data.
 *
 * The store holds 100 directories of 1,000 keys (100,101 nodes with the root and "/key"). The
 * baseline tree is the store's own snapshot text parsed back into plain objects, so both sides
 * write and read exactly the same JSON; the store's extra cost is the deterministic key order of
 * fast-json-stable-stringify on save, and rebuilding nodes, parents and the TTL heap on recovery.
 *
 *   save      store.save()            vs  JSON.stringify(plain)
 *   recovery  fresh.recovery(text)    vs  JSON.parse(text)
 */
import stableStringify from "fast-json-stable-stringify";
import { V2Store } from "../v2/store.js";
import { pairedTrials } from "./harness.js";
import type { BenchContext } from "./main.js";
import { duration, slowdownRow, type Row } from "./table.js";
import { v2Paths } from "./v2Set.js";
import { BENCH_VALUE_TEXT } from "./workload.js";

const KEYS = 100_000;
const NOW_MS = 0;

export async function run(context: BenchContext): Promise<Row[]> {
  const store = new V2Store();
  for (const path of v2Paths(KEYS, context.seed)) store.set(path, false, BENCH_VALUE_TEXT, {}, NOW_MS);
  const text = store.save();
  const plain: unknown = JSON.parse(text);
  context.log(`snapshot text ${(text.length / 1e6).toFixed(1)} MB`);
  // What is timed must be the snapshot the format promises: sorted-key JSON that recovers exactly.
  if (stableStringify(plain) !== text) throw new Error("v2 save() is not sorted-key JSON");
  const check = new V2Store();
  check.recovery(text);
  if (check.save() !== text) throw new Error("v2 recovery(save()) does not save the same text");
  let sink = 0;

  const save = pairedTrials(
    { trials: 5 },
    () => () => {
      sink += JSON.stringify(plain).length;
    },
    () => () => {
      sink += store.save().length;
    },
  );
  const recovery = pairedTrials(
    { trials: 5 },
    () => () => {
      sink += JSON.parse(text) === null ? 0 : 1;
    },
    () => {
      const fresh = new V2Store();
      return () => {
        fresh.recovery(text);
      };
    },
  );
  if (sink === 0) throw new Error("nothing was saved");
  context.log(`save ${duration(save.subjectMs)} vs ${duration(save.baselineMs)}; recovery ${duration(recovery.subjectMs)} vs ${duration(recovery.baselineMs)}`);
  return [
    slowdownRow({
      bench: "v2-snapshot",
      measure: "v2 snapshot save, 100k nodes",
      subjectMsPerOp: save.subjectMs,
      baselineMsPerOp: save.baselineMs,
      slowdown: save.slowdown,
      baselineLabel: "JSON.stringify",
      atMost: 5,
      per: "",
    }),
    slowdownRow({
      bench: "v2-snapshot",
      measure: "v2 snapshot recovery, 100k nodes",
      subjectMsPerOp: recovery.subjectMs,
      baselineMsPerOp: recovery.baselineMs,
      slowdown: recovery.slowdown,
      baselineLabel: "JSON.parse",
      atMost: 5,
      per: "",
    }),
  ];
}

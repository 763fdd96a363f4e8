/**
 * How a frame travels to the page over Server-Sent Events: the same `Frame` (viewModel.ts), with its
 * long row lists sent as arrays in a fixed column order instead of objects that repeat every field
 * name. etcd has no counterpart (this is the classroom's own feed).
 *
 * A busy frame carries one timeline row per request, one log row per revision and one key row per
 * key written: with 16 clients writing, hundreds of each, four times a second. As objects, the field
 * names were about half of those bytes, and every byte is received, decoded and parsed by a browser
 * that shares the teacher's laptop with the server. Small lists (leases, watchers, connections) and
 * the frame's own fields stay as they are, so `"reset":true` and `"behind":true` read plainly.
 *
 *   { main: 5, sub: 0, key: "foo", value: "bar", tombstone: false, lease: "" }  ⇄  [5, 0, "foo", "bar", false, ""]
 *
 * Invariant: decodeFrame(encodeFrame(frame)) deep-equals frame (test/classroom/frameWire.test.ts, which
 * also fails if a row type gains a field its column list does not name).
 */
import type { Frame, RingEvent, TimelineRow, V2NodeRow, V3KeyRow, V3LogRow } from "./viewModel.js";

type Columns<T> = readonly (keyof T & string)[];

/** Each packed row type's fields, in wire order. */
export const COLUMNS: {
  readonly v2Node: Columns<V2NodeRow>;
  readonly ringEvent: Columns<RingEvent>;
  readonly v3Key: Columns<V3KeyRow>;
  readonly v3Log: Columns<V3LogRow>;
  readonly timeline: Columns<TimelineRow>;
} = {
  v2Node: ["path", "dir", "value", "createdIndex", "modifiedIndex", "expireTimeMs", "hidden"],
  ringEvent: ["index", "action", "key"],
  v3Key: ["sortKey", "key", "generations"],
  v3Log: ["main", "sub", "key", "value", "tombstone", "lease"],
  timeline: ["n", "transport", "seq", "atMs", "conn", "api", "method", "target", "status", "v2Index", "v3Rev", "durationMs"],
};

/** The parts of a frame (sent or received) that hold long row lists; everything else passes through. */
interface RowLists {
  readonly v2?: { readonly upsert: readonly unknown[]; readonly ring?: { readonly append: readonly unknown[] } };
  readonly v3?: { readonly upsert: readonly unknown[]; readonly logAppend: readonly unknown[]; readonly logReset?: readonly unknown[] };
  readonly timelineAppend?: readonly unknown[];
}

type RowMap = (rows: readonly unknown[], columns: readonly string[]) => unknown[];

/** An object row → its values in column order. */
const pack: RowMap = (rows, columns) => rows.map((row) => columns.map((column) => (row as Record<string, unknown>)[column]));

/** Values in column order → the object row. */
const unpack: RowMap = (rows, columns) =>
  rows.map((values) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i] as string] = (values as unknown[])[i];
    return row;
  });

/** The frame with each long row list passed through `map` with its columns. */
function mapRowLists(frame: RowLists, map: RowMap): RowLists {
  const { v2, v3, timelineAppend } = frame;
  return {
    ...frame,
    ...(v2 === undefined
      ? {}
      : { v2: { ...v2, upsert: map(v2.upsert, COLUMNS.v2Node), ...(v2.ring === undefined ? {} : { ring: { ...v2.ring, append: map(v2.ring.append, COLUMNS.ringEvent) } }) } }),
    ...(v3 === undefined
      ? {}
      : {
          v3: {
            ...v3,
            upsert: map(v3.upsert, COLUMNS.v3Key),
            logAppend: map(v3.logAppend, COLUMNS.v3Log),
            ...(v3.logReset === undefined ? {} : { logReset: map(v3.logReset, COLUMNS.v3Log) }),
          },
        }),
    ...(timelineAppend === undefined ? {} : { timelineAppend: map(timelineAppend, COLUMNS.timeline) }),
  };
}

/** The frame as the JSON text of one SSE `data:` line. */
export function encodeFrame(frame: Frame): string {
  return JSON.stringify(mapRowLists(frame, pack));
}

/** The frame `encodeFrame` wrote. */
export function decodeFrame(text: string): Frame {
  return mapRowLists(JSON.parse(text) as RowLists, unpack) as Frame;
}

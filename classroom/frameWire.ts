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

type Packed = unknown[][];

function pack<T>(rows: readonly T[], columns: Columns<T>): Packed {
  return rows.map((row) => columns.map((column) => row[column]));
}

function unpack<T>(rows: Packed, columns: Columns<T>): T[] {
  return rows.map((values) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i] as string] = values[i];
    return row as T;
  });
}

/** The frame as the JSON text of one SSE `data:` line. */
export function encodeFrame(frame: Frame): string {
  const { v2, v3, timelineAppend } = frame;
  return JSON.stringify({
    ...frame,
    ...(v2 === undefined
      ? {}
      : { v2: { ...v2, upsert: pack(v2.upsert, COLUMNS.v2Node), ...(v2.ring === undefined ? {} : { ring: { ...v2.ring, append: pack(v2.ring.append, COLUMNS.ringEvent) } }) } }),
    ...(v3 === undefined
      ? {}
      : {
          v3: {
            ...v3,
            upsert: pack(v3.upsert, COLUMNS.v3Key),
            logAppend: pack(v3.logAppend, COLUMNS.v3Log),
            ...(v3.logReset === undefined ? {} : { logReset: pack(v3.logReset, COLUMNS.v3Log) }),
          },
        }),
    ...(timelineAppend === undefined ? {} : { timelineAppend: pack(timelineAppend, COLUMNS.timeline) }),
  });
}

/** The frame `encodeFrame` wrote. */
export function decodeFrame(text: string): Frame {
  // The wire shape is encodeFrame's output; it is read back field by field below.
  const wire = JSON.parse(text) as Record<string, unknown> & {
    v2?: Record<string, unknown> & { upsert: Packed; ring?: Record<string, unknown> & { append: Packed } };
    v3?: Record<string, unknown> & { upsert: Packed; logAppend: Packed; logReset?: Packed };
    timelineAppend?: Packed;
  };
  const { v2, v3, timelineAppend } = wire;
  return {
    ...wire,
    ...(v2 === undefined
      ? {}
      : { v2: { ...v2, upsert: unpack(v2.upsert, COLUMNS.v2Node), ...(v2.ring === undefined ? {} : { ring: { ...v2.ring, append: unpack(v2.ring.append, COLUMNS.ringEvent) } }) } }),
    ...(v3 === undefined
      ? {}
      : {
          v3: {
            ...v3,
            upsert: unpack(v3.upsert, COLUMNS.v3Key),
            logAppend: unpack(v3.logAppend, COLUMNS.v3Log),
            ...(v3.logReset === undefined ? {} : { logReset: unpack(v3.logReset, COLUMNS.v3Log) }),
          },
        }),
    ...(timelineAppend === undefined ? {} : { timelineAppend: unpack(timelineAppend, COLUMNS.timeline) }),
  } as unknown as Frame;
}

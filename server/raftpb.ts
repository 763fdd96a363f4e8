/**
 * Mirrors etcd release-3.4 `raft/raftpb/raft.proto`: the raft messages a member writes to its WAL and
 * `.snap` files. gogo-protobuf marks them non-nullable, so every scalar field is written even when zero;
 * byte fields are written only when set.
 *
 *   Entry        {1 Type, 2 Term, 3 Index, 4 Data}            Type 0 normal, 1 ConfChange
 *   HardState    {1 term, 2 vote, 3 commit}
 *   ConfChange   {1 ID, 2 Type, 3 NodeID, 4 Context}          Type 0 AddNode, 1 RemoveNode, 2 UpdateNode,
 *                                                             3 AddLearnerNode; Context = the member JSON
 *   Snapshot     {1 data, 2 metadata {1 conf_state {1 nodes…}, 2 index, 3 term}}
 *
 *   the no-op a new leader appends at term 2, index 2  →  08 00 10 02 18 02   (no Data)
 */
import { bytesOf, PbWriter, readFields, varintOf } from "../shared/pb.js";

export const EntryType = { normal: 0, confChange: 1 } as const;
/** raftpb.ConfChangeType. */
export const ConfChangeType = { addNode: 0, removeNode: 1, updateNode: 2, addLearnerNode: 3 } as const;

export interface Entry {
  readonly type: number;
  readonly term: number;
  readonly index: number;
  /** Empty for the new leader's no-op. */
  readonly data: Uint8Array;
}

export interface HardState {
  readonly term: number;
  /** The member voted for, 16 hex digits or "0". */
  readonly vote: bigint;
  readonly commit: number;
}

export interface ConfChange {
  readonly id: bigint;
  readonly type: number;
  readonly nodeId: bigint;
  readonly context: Uint8Array;
}

export interface RaftSnapshot {
  readonly data: Uint8Array;
  readonly voters: readonly bigint[];
  readonly index: number;
  readonly term: number;
}

export function encodeEntry(entry: Entry): Uint8Array {
  const writer = new PbWriter().uint(1, entry.type).uint(2, entry.term).uint(3, entry.index);
  if (entry.data.length > 0) writer.bytes(4, entry.data);
  return writer.finish();
}

export function decodeEntry(buf: Uint8Array): Entry {
  const fields = readFields(buf);
  return {
    type: Number(varintOf(fields, 1)),
    term: Number(varintOf(fields, 2)),
    index: Number(varintOf(fields, 3)),
    data: bytesOf(fields, 4) ?? new Uint8Array(0),
  };
}

export function encodeHardState(state: HardState): Uint8Array {
  return new PbWriter().uint(1, state.term).uint(2, state.vote).uint(3, state.commit).finish();
}

export function decodeHardState(buf: Uint8Array): HardState {
  const fields = readFields(buf);
  return { term: Number(varintOf(fields, 1)), vote: varintOf(fields, 2), commit: Number(varintOf(fields, 3)) };
}

export function encodeConfChange(change: ConfChange): Uint8Array {
  return new PbWriter().uint(1, change.id).uint(2, change.type).uint(3, change.nodeId).bytes(4, change.context).finish();
}

export function decodeConfChange(buf: Uint8Array): ConfChange {
  const fields = readFields(buf);
  return { id: varintOf(fields, 1), type: Number(varintOf(fields, 2)), nodeId: varintOf(fields, 3), context: bytesOf(fields, 4) ?? new Uint8Array(0) };
}

export function encodeRaftSnapshot(snapshot: RaftSnapshot): Uint8Array {
  const confState = new PbWriter();
  for (const voter of snapshot.voters) confState.uint(1, voter);
  const metadata = new PbWriter().bytes(1, confState.finish()).uint(2, snapshot.index).uint(3, snapshot.term).finish();
  return new PbWriter().bytes(1, snapshot.data).bytes(2, metadata).finish();
}

export function decodeRaftSnapshot(buf: Uint8Array): RaftSnapshot {
  const fields = readFields(buf);
  const metadata = readFields(bytesOf(fields, 2) ?? new Uint8Array(0));
  const confState = readFields(bytesOf(metadata, 1) ?? new Uint8Array(0));
  return {
    data: bytesOf(fields, 1) ?? new Uint8Array(0),
    voters: confState.filter((f) => f.field === 1 && f.varint !== undefined).map((f) => f.varint as bigint),
    index: Number(varintOf(metadata, 2)),
    term: Number(varintOf(metadata, 3)),
  };
}

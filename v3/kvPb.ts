/**
 * Mirrors the `Marshal` methods of etcd release-3.4 `mvcc/mvccpb/kv.pb.go`, `lease/leasepb/lease.pb.go`
 * and `etcdserver/etcdserverpb/rpc.pb.go` (AlarmMember): the protobuf bytes etcd stores as bbolt values.
 *
 * These bytes are what Hash and HashKV feed to CRC-32C (hash.ts), so they must match etcd's to the
 * bit. gogoproto writes the fields in number order and leaves out every zero value:
 *
 *   KeyValue{key "foo", create 2, mod 2, version 1, value "bar"}
 *     → 0a 03 66 6f 6f  10 02  18 02  20 01  2a 03 62 61 72            (no lease: field 6 left out)
 *   a tombstone stores KeyValue{key "foo"} only → 0a 03 66 6f 6f
 *
 * int64 fields are varints of their two's-complement uint64 (a negative number takes 10 bytes).
 */
import type { AlarmMember, KeyValue } from "./rpc.js";
import type { LeaseRecord } from "./backend.js";

/** Wire type 0 (varint) and 2 (length-delimited) tags of field n. */
const varintTag = (field: number): number => (field << 3) | 0;
const bytesTag = (field: number): number => (field << 3) | 2;

/** A growable byte buffer for one message. */
class ProtoWriter {
  private bytes: number[] = [];

  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
  }
  /** A varint field, left out when zero. */
  int(field: number, value: number | bigint): void {
    if (value === 0 || value === 0n) return;
    this.bytes.push(varintTag(field));
    this.varint(value);
  }
  /** A bytes field, left out when empty. */
  raw(field: number, value: Uint8Array): void {
    if (value.length === 0) return;
    this.bytes.push(bytesTag(field));
    this.varint(value.length);
    for (const b of value) this.bytes.push(b);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** mvccpb.KeyValue.Marshal: key=1, create_revision=2, mod_revision=3, version=4, value=5, lease=6. */
export function marshalKeyValue(kv: KeyValue): Uint8Array {
  const w = new ProtoWriter();
  w.raw(1, kv.key);
  w.int(2, kv.create_revision);
  w.int(3, kv.mod_revision);
  w.int(4, kv.version);
  w.raw(5, kv.value);
  w.int(6, kv.lease);
  return w.finish();
}

/** leasepb.Lease.Marshal: ID=1, TTL=2, RemainingTTL=3 (0 unless checkpointing is on). */
export function marshalLease(lease: LeaseRecord): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, lease.ID);
  w.int(2, lease.TTL);
  w.int(3, lease.remainingTTL);
  return w.finish();
}

/** etcdserverpb.AlarmMember.Marshal: MemberID=1, Alarm=2 (the alarm bucket's key; its value is empty). */
export function marshalAlarmMember(alarm: AlarmMember): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, alarm.memberID);
  w.int(2, alarm.alarm);
  return w.finish();
}

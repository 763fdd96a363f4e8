/**
 * Mirrors etcd release-3.4 `etcdserver/api/v3alarm/alarms.go`: the alarms a member has raised,
 * kept by type and member and written to the backend's `alarm` bucket so they survive a restart.
 *
 * An alarm changes what the applier accepts until someone disarms it; it never clears itself:
 *
 *   NOSPACE   raised when a write would push the file past --quota-backend-bytes (quota.ts):
 *             Put, a Txn with a put in either branch, and LeaseGrant fail with
 *             "etcdserver: mvcc: database space exceeded"; reads, deletes, compaction still work.
 *   CORRUPT   raised by the corruption checker or by hand: Put, DeleteRange, a writing Txn,
 *             Compaction, LeaseGrant and LeaseRevoke fail with "etcdserver: corrupt cluster".
 *
 * The bucket's row key is the marshalled AlarmMember (MemberID=1, Alarm=2) and its value is empty.
 *
 *   activate(m, NOSPACE) → {m, NOSPACE}     activate(m, NOSPACE) again → the same alarm, nothing new
 *   get(NONE) → every alarm;  deactivate(m, NOSPACE) → the removed alarm (undefined if none)
 */
import type { AlarmMember } from "./rpc.js";
import { AlarmType } from "./rpc.js";
import { toBinaryString } from "../shared/bytes.js";
import { marshalAlarmMember } from "./kvPb.js";

/** The `alarm` bucket as the store writes it (Backend.bucket("alarm") satisfies this). */
export type AlarmBucket = Map<string, Uint8Array>;

/** etcd's `AlarmStore`: alarms by type, then by member. */
export class AlarmStore {
  private readonly types = new Map<AlarmType, Map<bigint, AlarmMember>>();

  /** Loads the alarms already in the bucket (etcd's `restore`). */
  constructor(private readonly bucket: AlarmBucket) {
    for (const key of bucket.keys()) {
      const alarm = unmarshalAlarmMember(key);
      this.setOf(alarm.alarm).set(alarm.memberID, alarm);
    }
  }

  /** Raises `alarm` for `memberID`; returns the alarm now held (the existing one if it was already raised). */
  activate(memberID: bigint, alarm: AlarmType): AlarmMember {
    const set = this.setOf(alarm);
    const existing = set.get(memberID);
    if (existing !== undefined) return existing;
    const member: AlarmMember = { memberID, alarm };
    set.set(memberID, member);
    this.bucket.set(toBinaryString(marshalAlarmMember(member)), new Uint8Array());
    return member;
  }

  /** Disarms `alarm` for `memberID`; returns the removed alarm, or undefined if it was not raised. */
  deactivate(memberID: bigint, alarm: AlarmType): AlarmMember | undefined {
    const set = this.setOf(alarm);
    const existing = set.get(memberID);
    if (existing === undefined) return undefined;
    set.delete(memberID);
    this.bucket.delete(toBinaryString(marshalAlarmMember(existing)));
    return existing;
  }

  /** The alarms of one type, or of every type for NONE (by type, then in the order raised). */
  get(alarm: AlarmType): AlarmMember[] {
    if (alarm !== AlarmType.NONE) return [...(this.types.get(alarm)?.values() ?? [])];
    const types = [...this.types.keys()].sort((a, b) => a - b);
    return types.flatMap((type) => [...(this.types.get(type)?.values() ?? [])]);
  }

  /** True while at least one alarm of this type is raised. */
  has(alarm: AlarmType): boolean {
    return (this.types.get(alarm)?.size ?? 0) > 0;
  }

  private setOf(alarm: AlarmType): Map<bigint, AlarmMember> {
    let set = this.types.get(alarm);
    if (set === undefined) {
      set = new Map();
      this.types.set(alarm, set);
    }
    return set;
  }
}

/**
 * How etcd prints an alarm in Status errors and `etcdctl alarm list`: the proto's text form
 * `memberID:<decimal> alarm:<NAME> ` (note the trailing space).
 */
export function formatAlarm(alarm: AlarmMember): string {
  return `memberID:${alarm.memberID} alarm:${alarmName(alarm.alarm)} `;
}

/** The enum name of an alarm type (a value with no name prints as its number, as Go does). */
export function alarmName(alarm: AlarmType): string {
  const entry = Object.entries(AlarmType).find(([, value]) => value === alarm);
  return entry === undefined ? String(alarm) : entry[0];
}

/** Reads back a bucket key written by `activate` (two varint fields). */
function unmarshalAlarmMember(key: string): AlarmMember {
  let memberID = 0n;
  let alarm = 0;
  let i = 0;
  const varint = (): bigint => {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      const byte = key.charCodeAt(i++);
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return value;
      shift += 7n;
    }
  };
  while (i < key.length) {
    const tag = Number(varint());
    const value = varint();
    if (tag === 0x08) memberID = value;
    else if (tag === 0x10) alarm = Number(value);
  }
  return { memberID, alarm: alarm as AlarmType };
}

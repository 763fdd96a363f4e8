/**
 * Mirrors etcd release-3.4 `etcdserver/api/v2store/stats.go`.
 *
 * The store counts, per operation, how many calls succeeded and how many failed, plus how many
 * nodes expired and how many watchers are registered now. `GET /v2/stats/store` prints them as a
 * flat JSON object in the order below.
 *
 *   set /a (ok), get /missing (100), create /a (105)
 *     →  {"getsSuccess":0,"getsFail":1,"setsSuccess":1,"setsFail":0,…,"createFail":1,…,"watchers":0}
 *
 * etcdsim counts user operations only. A real member also counts its own internal lookups (a fresh
 * etcd shows setsSuccess 2, createSuccess 1 and thousands of getsFail), so compare differences.
 *
 * Counting quirks copied from etcd (an error path that skips the bookkeeping counts as a success):
 * update rejected with 107 or 102 → updateSuccess; compareAndSwap rejected with 107 →
 * compareAndSwapSuccess; delete rejected with 107 → deleteSuccess; compareAndDelete failing with 101
 * or 102 → compareAndDeleteSuccess; create/POST failing with 104 also counts setsFail. `store.ts`
 * marks each place.
 */

/** The counters, in the order etcd prints them. */
export const STATS_FIELDS = [
  "getsSuccess",
  "getsFail",
  "setsSuccess",
  "setsFail",
  "deleteSuccess",
  "deleteFail",
  "updateSuccess",
  "updateFail",
  "createSuccess",
  "createFail",
  "compareAndSwapSuccess",
  "compareAndSwapFail",
  "compareAndDeleteSuccess",
  "compareAndDeleteFail",
  "expireCount",
  "watchers",
] as const;

/** One counter's name; `STATS_FIELDS` lists them all in etcd's print order. */
export type StatsField = (typeof STATS_FIELDS)[number];

/** A plain copy of every counter (the `/v2/stats/store` body). */
export type StatsJSON = { readonly [F in StatsField]: number };

/** The store's counters. `watchers` is filled in from the hub when the stats are read. */
export class Stats {
  private readonly counters = new Map<StatsField, number>(STATS_FIELDS.map((field) => [field, 0]));

  /** Adds one to a counter (etcd's `Stats.Inc`). */
  inc(field: StatsField): void {
    this.counters.set(field, (this.counters.get(field) ?? 0) + 1);
  }

  /** One counter's value. */
  get(field: StatsField): number {
    return this.counters.get(field) ?? 0;
  }

  /** Sets a counter (used for `watchers`, and by recovery). */
  setValue(field: StatsField, value: number): void {
    this.counters.set(field, value);
  }

  /** Every get, successful or not (etcd's `TotalReads`). */
  totalReads(): number {
    return this.get("getsSuccess") + this.get("getsFail");
  }

  /** Every successful or failed write, as etcd's `TotalTranscations` (sic). */
  totalTransactions(): number {
    return (
      this.get("setsSuccess") + this.get("setsFail") +
      this.get("deleteSuccess") + this.get("deleteFail") +
      this.get("compareAndSwapSuccess") + this.get("compareAndSwapFail") +
      this.get("compareAndDeleteSuccess") + this.get("compareAndDeleteFail") +
      this.get("updateSuccess") + this.get("updateFail")
    );
  }

  /** A plain object with the fields in etcd's order, so `JSON.stringify` matches the wire. */
  toJSON(): StatsJSON {
    const result: Record<string, number> = {};
    for (const field of STATS_FIELDS) result[field] = this.get(field);
    return result as StatsJSON;
  }

  /** An independent copy. */
  clone(): Stats {
    const copy = new Stats();
    for (const field of STATS_FIELDS) copy.setValue(field, this.get(field));
    return copy;
  }
}

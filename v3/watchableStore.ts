/**
 * Mirrors etcd release-3.4 `mvcc/watchable_store.go`: the KV store
 * plus the watchers, split into two groups by how far they have read.
 *
 *   synced    caught up with the store: the next event they want is the next write. A write's
 *             events go to them directly when its transaction ends (`notify`).
 *   unsynced  behind: they started at an old revision, or fell behind. `syncWatchers()` replays
 *             their missed history from the backend, ≤ 1000 revisions per response, ≤ 512
 *             watchers per pass, and moves each caught-up watcher to synced.
 *   victims   a response could not be posted because the stream's channel (128) was full. The
 *             batch is kept aside and retried by `syncVictims()`.
 *
 * A watcher created with startRev S joins synced when S is 0 or in the future (minRev =
 * max(current+1, S)), otherwise unsynced (minRev = S):
 *
 *   current rev 10: watch(start 0)  → synced, minRev 11      watch(start 15) → synced, minRev 15
 *                   watch(start 4)  → unsynced, minRev 4; syncWatchers() sends revs 4..10, then synced
 *                   compact(6), then watch(start 4) → syncWatchers() sends {compactRevision: 6}, drops it
 *
 * etcd runs `syncWatchers` every 100 ms and `syncVictims` every 10 ms on goroutines. Here they are
 * steps a driver calls (the server on its RealClock ticks, a scenario explicitly), so a lesson can
 * stop between a write and the catch-up and show the groups.
 */
import { toBinaryString } from "../shared/bytes.js";
import type { Event, KeyValue, LeaseID } from "./rpc.js";
import { EventType } from "./rpc.js";
import { WatchableStoreTxnWrite, deletedKeyValue } from "./watchableStoreTxn.js";
import type { KV, RangeOptions, RangeResult, TxnRead, TxnWrite } from "./kv.js";
import type { FilterFunc, WatchChannel, WatchID, WatchResponse, Watchable } from "./watcher.js";
import { CHAN_BUF_LEN, WatchStream } from "./watcher.js";
import { WATCH_BATCH_MAX_REVS, WatcherGroup, newWatcherBatch, type WatcherBatch } from "./watcherGroup.js";
import { InvariantViolation } from "./errors.js";

/** Unsynced watchers handled per `syncWatchers()` pass (etcd: `maxWatchersPerSync`). */
export const MAX_WATCHERS_PER_SYNC = 512;

/**
 * The part of the backend the catch-up reads: the key bucket walked in revision order over
 * [fromMain, toMain) (etcd: `tx.UnsafeRange(keyBucketName, minBytes, maxBytes)`). Compacted
 * revisions are gone from it, which is why watchers are replayed from here and not from the index.
 * `Backend` (backend.ts) satisfies it.
 */
export interface KeyBucketReader {
  range(fromMain: number, toMain: number, visitor: (main: number, sub: number, kv: KeyValue) => void): void;
}

/** What a WatchableStore is built from; the tunables default to etcd's constants. */
export interface WatchableStoreOptions {
  /** Per-response cap on distinct revisions for catch-up (default 1000). */
  watchBatchMaxRevs?: number;
  /** Unsynced watchers per sync pass (default 512). */
  maxWatchersPerSync?: number;
  /** Channel capacity of new watch streams (default 128). */
  chanBufLen?: number;
}

/** One watcher (etcd: `watcher`, defined in watchable_store.go). */
export class Watcher {
  /** The key as a binary string (for maps and the interval tree). */
  readonly keyString: string;
  /** undefined: one key; "": every key ≥ key; else the exclusive end, as a binary string. */
  readonly endString: string | undefined;
  /** Set while a response of this watcher waits in the victims list. */
  victim = false;
  /** Set once the watcher was dropped for falling behind a compaction. */
  compacted = false;
  /** Set once cancelled; a cancelled watcher is in no group. */
  canceled = false;

  constructor(
    readonly key: Uint8Array,
    readonly end: Uint8Array | undefined,
    /** The smallest revision this watcher still wants. */
    public minRev: number,
    readonly id: WatchID,
    readonly filters: readonly FilterFunc[],
    readonly ch: WatchChannel,
  ) {
    this.keyString = toBinaryString(key);
    this.endString = end === undefined ? undefined : toBinaryString(end);
  }

  /**
   * Posts a response after applying the filters; false when the channel is full. A response
   * whose events were all filtered away is not posted but counts as sent; a progress response
   * (no events to begin with) is always posted.
   */
  send(response: WatchResponse): boolean {
    if (this.filters.length > 0 && response.events.length > 0) {
      const events = response.events.filter((event) => !this.filters.some((filter) => filter(event)));
      if (events.length === 0) return true;
      response = { ...response, events };
    }
    return this.ch.trySend(response);
  }
}

/** The watchable KV store (etcd: `watchableStore`). It is itself a `KV`: writes go through it. */
export class WatchableStore implements KV, Watchable {
  readonly synced = new WatcherGroup();
  readonly unsynced = new WatcherGroup();
  /** Batches that could not be posted, oldest first. */
  victims: WatcherBatch[] = [];
  private readonly watchBatchMaxRevs: number;
  private readonly maxWatchersPerSync: number;
  private readonly chanBufLen: number;

  constructor(
    /** The MVCC store underneath (etcd: the embedded `*store`). */
    readonly store: KV,
    /** The store's backend, read by `syncWatchers`. */
    private readonly backend: KeyBucketReader,
    options: WatchableStoreOptions = {},
  ) {
    this.watchBatchMaxRevs = options.watchBatchMaxRevs ?? WATCH_BATCH_MAX_REVS;
    this.maxWatchersPerSync = options.maxWatchersPerSync ?? MAX_WATCHERS_PER_SYNC;
    this.chanBufLen = options.chanBufLen ?? CHAN_BUF_LEN;
  }

  // ── KV: reads and compaction pass through; writes are wrapped so their end notifies ──────────

  firstRev(): number {
    return this.store.firstRev();
  }
  rev(): number {
    return this.store.rev();
  }
  range(key: Uint8Array, end: Uint8Array | undefined, options?: RangeOptions): RangeResult {
    return this.store.range(key, end, options);
  }
  read(): TxnRead {
    return this.store.read();
  }
  write(): TxnWrite {
    return new WatchableStoreTxnWrite(this.store.write(), this);
  }
  put(key: Uint8Array, value: Uint8Array, lease: LeaseID): number {
    const txn = this.write();
    const rev = txn.put(key, value, lease);
    txn.end();
    return rev;
  }
  deleteRange(key: Uint8Array, end: Uint8Array | undefined): { deleted: number; rev: number } {
    const txn = this.write();
    const result = txn.deleteRange(key, end);
    txn.end();
    return result;
  }
  compact(rev: number): void {
    this.store.compact(rev);
  }

  // ── Watchers ──────────────────────────────────────────────────────────────────────────────

  /** A new stream for many watchers (etcd: `NewWatchStream`). */
  newWatchStream(capacity: number = this.chanBufLen): WatchStream {
    return new WatchStream(this, capacity);
  }

  /** Registers a watcher in synced or unsynced by the start revision rule above. */
  watch(key: Uint8Array, end: Uint8Array | undefined, startRev: number, id: WatchID, ch: WatchChannel, filters: FilterFunc[]): { watcher: Watcher; cancel: () => void } {
    const currentRev = this.store.rev();
    const synced = startRev > currentRev || startRev === 0;
    const watcher = new Watcher(key, end, synced ? Math.max(currentRev + 1, startRev) : startRev, id, filters, ch);
    (synced ? this.synced : this.unsynced).add(watcher);
    return { watcher, cancel: () => this.cancelWatcher(watcher) };
  }

  /** Removes a watcher from whichever group or victim batch holds it. */
  private cancelWatcher(watcher: Watcher): void {
    if (watcher.canceled) return;
    watcher.canceled = true;
    if (this.unsynced.delete(watcher) || this.synced.delete(watcher) || watcher.compacted) return;
    if (!watcher.victim) throw new InvariantViolation("watchableStore.cancelWatcher: watcher not victim but not in watch groups");
    for (const batch of this.victims) if (batch.delete(watcher)) return;
  }

  /** A progress response for a synced watcher; nothing for others (etcd: `progress`). */
  progress(watcher: Watcher): void {
    if (this.synced.watchers.has(watcher)) watcher.send({ watchID: watcher.id, events: [], revision: this.store.rev(), compactRevision: 0 });
  }

  /**
   * Sends a committed transaction's events to the synced watchers: one response per watcher,
   * holding its events of this revision in sub order. A watcher whose channel is full becomes a
   * victim with minRev = rev + 1: it leaves synced, and its batch waits in `victims` for
   * `syncVictims`. Cost: O(events × (log ranges + matches)).
   *
   *   synced {w1 on "foo"}, w1's channel full; put foo@7 → victims [{w1: [foo@7]}], w1.minRev 8
   */
  notify(rev: number, events: Event[]): void {
    let victim: WatcherBatch | undefined;
    for (const [watcher, eventBatch] of newWatcherBatch(this.synced, events, this.watchBatchMaxRevs)) {
      if (eventBatch.revs !== 1) throw new InvariantViolation(`watchableStore.notify: ${eventBatch.revs} revisions in one notification`);
      if (watcher.send({ watchID: watcher.id, events: eventBatch.evs, revision: rev, compactRevision: 0 })) continue;
      // Move the slow watcher to the victims.
      watcher.minRev = rev + 1;
      watcher.victim = true;
      (victim ??= new Map()).set(watcher, eventBatch);
      this.synced.delete(watcher);
    }
    if (victim !== undefined) this.victims.push(victim);
  }

  /**
   * One catch-up pass (etcd: `syncWatchers`). Returns how many watchers are still unsynced.
   *   1. Choose up to 512 unsynced watchers; cancel those behind the compacted revision with
   *      {compactRevision} (a full channel: try again next pass).
   *   2. Read the backend from the smallest chosen minRev to the current revision, keeping the
   *      revisions of keys some chosen watcher watches.
   *   3. Give each watcher its events ≥ its minRev, ≤ 1000 distinct revisions, in one response
   *      with revision = the current revision.
   *   4. A watcher with more to read stays unsynced (minRev = the first revision left out); one
   *      that got everything, or had nothing to get, moves to synced. A full channel: victim.
   */
  syncWatchers(): number {
    if (this.unsynced.size === 0) return 0;
    const curRev = this.store.rev();
    const compactRev = this.store.firstRev();
    const { chosen, compacted, minRev } = this.unsynced.choose(this.maxWatchersPerSync, curRev, compactRev);

    for (const watcher of compacted) {
      if (watcher.ch.trySend({ watchID: watcher.id, events: [], revision: 0, compactRevision: compactRev })) {
        watcher.compacted = true;
        this.unsynced.delete(watcher);
      }
    }
    if (chosen.length === 0) return this.unsynced.size;

    const chosenGroup = new WatcherGroup();
    for (const watcher of chosen) chosenGroup.add(watcher);
    const events = this.eventsFromHistory(chosenGroup, minRev, curRev);

    let victims: WatcherBatch | undefined;
    const batch = newWatcherBatch(chosenGroup, events, this.watchBatchMaxRevs);
    for (const watcher of chosen) {
      watcher.minRev = curRev + 1;
      const eventBatch = batch.get(watcher);
      if (eventBatch === undefined) {
        // Nothing it wants happened: it is caught up.
        this.unsynced.delete(watcher);
        this.synced.add(watcher);
        continue;
      }
      if (eventBatch.moreRev !== 0) watcher.minRev = eventBatch.moreRev;
      if (!watcher.send({ watchID: watcher.id, events: eventBatch.evs, revision: curRev, compactRevision: 0 })) {
        watcher.victim = true;
        (victims ??= new Map()).set(watcher, eventBatch);
      } else if (eventBatch.moreRev !== 0) {
        continue; // more to read: stays unsynced
      } else {
        this.synced.add(watcher);
      }
      this.unsynced.delete(watcher);
    }
    if (victims !== undefined) this.victims.push(victims);
    return this.unsynced.size;
  }

  /**
   * Retries the victims until a pass moves none (etcd: `syncVictimsLoop` over `moveVictims`).
   * A delivered victim goes to unsynced if it is behind the current revision, else to synced.
   * Returns how many victim responses were delivered.
   */
  syncVictims(): number {
    let total = 0;
    for (let moved = this.moveVictims(); moved !== 0; moved = this.moveVictims()) total += moved;
    return total;
  }

  private moveVictims(): number {
    const victims = this.victims;
    this.victims = [];
    let moved = 0;
    let stillVictim: WatcherBatch | undefined;
    for (const batch of victims) {
      for (const [watcher, eventBatch] of batch) {
        // The watcher has seen the store up to, not including, minRev.
        if (watcher.send({ watchID: watcher.id, events: eventBatch.evs, revision: watcher.minRev - 1, compactRevision: 0 })) {
          moved++;
        } else {
          (stillVictim ??= new Map()).set(watcher, eventBatch);
        }
      }
      const curRev = this.store.rev();
      for (const [watcher, eventBatch] of batch) {
        if (stillVictim?.has(watcher) === true) continue;
        watcher.victim = false;
        if (eventBatch.moreRev !== 0) watcher.minRev = eventBatch.moreRev;
        (watcher.minRev <= curRev ? this.unsynced : this.synced).add(watcher);
      }
    }
    if (stillVictim !== undefined) this.victims.push(stillVictim);
    return moved;
  }

  /** Backend versions in [minRev, maxRev] as events, only for keys `group` watches (etcd: `kvsToEvents`). */
  private eventsFromHistory(group: WatcherGroup, minRev: number, maxRev: number): Event[] {
    const events: Event[] = [];
    this.backend.range(minRev, maxRev + 1, (main, _sub, kv) => {
      if (!group.contains(toBinaryString(kv.key))) return;
      if (kv.create_revision === 0) {
        // A tombstone's stored kv holds only the key: patch in the revision so watchers don't skip it.
        events.push({ type: EventType.DELETE, kv: deletedKeyValue(kv.key, main) });
      } else {
        events.push({ type: EventType.PUT, kv });
      }
    });
    return events;
  }

  // ── Counts for lessons and invariant checks ───────────────────────────────────────────────

  /** Watchers waiting in victim batches. */
  get victimCount(): number {
    let count = 0;
    for (const batch of this.victims) count += batch.size;
    return count;
  }

  /** {synced, unsynced, victims}: the three places a live watcher can be. */
  watcherGroups(): { synced: number; unsynced: number; victims: number } {
    return { synced: this.synced.size, unsynced: this.unsynced.size, victims: this.victimCount };
  }

  /**
   * Asserts every watcher is in at most one place and no unsynced watcher wants a revision that
   * does not exist yet. (A synced watcher's minRev is left as it was when it synced: live
   * notification filters by it but never advances it, as in etcd.)
   */
  checkInvariants(): void {
    const seen = new Set<Watcher>();
    const place = (watcher: Watcher, where: string): void => {
      if (seen.has(watcher)) throw new InvariantViolation(`watcher ${watcher.id} is in two places (second: ${where})`);
      if (watcher.canceled) throw new InvariantViolation(`cancelled watcher ${watcher.id} still in ${where}`);
      seen.add(watcher);
    };
    const curRev = this.store.rev();
    for (const watcher of this.synced.watchers) place(watcher, "synced");
    for (const watcher of this.unsynced.watchers) {
      place(watcher, "unsynced");
      if (watcher.minRev > curRev) throw new InvariantViolation(`unsynced watcher ${watcher.id} has minRev ${watcher.minRev} > current ${curRev}`);
    }
    for (const batch of this.victims) for (const watcher of batch.keys()) {
      place(watcher, "victims");
      if (!watcher.victim) throw new InvariantViolation(`watcher ${watcher.id} in victims without the victim flag`);
    }
  }
}

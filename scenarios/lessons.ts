/**
 * The lessons, in chapter order. `npm start` runs them all; `npm start -- 4` picks one.
 */
import type { Lesson } from "./lesson.js";
import { lesson as dataModel } from "./01-data-model.js";
import { lesson as versions } from "./02-versions.js";
import { lesson as howAGetWorks } from "./03-how-a-get-works.js";
import { lesson as historyWindow } from "./04-history-window.js";
import { lesson as compaction } from "./05-compaction.js";
import { lesson as casVsTxn } from "./06-cas-vs-txn.js";
import { lesson as txnInPractice } from "./07-txn-in-practice.js";
import { lesson as optimisticVsPessimistic } from "./08-optimistic-vs-pessimistic.js";
import { lesson as ttlVsLeases } from "./09-ttl-vs-leases.js";
import { lesson as watchConnections } from "./10-watch-connections.js";
import { lesson as prefixWatches } from "./11-prefix-watches.js";
import { lesson as watcherMachinery } from "./12-watcher-machinery.js";
import { lesson as persistence } from "./13-persistence.js";
import { lesson as readsUnderWrites } from "./14-reads-under-writes.js";
import { lesson as serviceRegistration } from "./15-service-registration.js";
import { lesson as indexVsRevision } from "./16-index-vs-revision.js";
import { lesson as locksAreLeases } from "./17-locks-are-leases.js";
import { lesson as whoMayReadWhat } from "./18-who-may-read-what.js";

export const LESSONS: readonly Lesson[] = [
  dataModel,
  versions,
  howAGetWorks,
  historyWindow,
  compaction,
  casVsTxn,
  txnInPractice,
  optimisticVsPessimistic,
  ttlVsLeases,
  watchConnections,
  prefixWatches,
  watcherMachinery,
  persistence,
  readsUnderWrites,
  serviceRegistration,
  indexVsRevision,
  locksAreLeases,
  whoMayReadWhat,
];

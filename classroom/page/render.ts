/**
 * The classroom page's drawing: pure functions from the view model (../viewModel.ts) to HTML text.
 * No DOM, no clock: the page calls them with the model and the server time it estimates, and the
 * tests call them with fixed models (test/classroom/render.test.ts), as Learn Git Branching tests
 * its engine without a browser.
 *
 * Colours are the Okabe–Ito palette (safe for the common colour-vision deficiencies): v2 is
 * orange, v3 blue, errors vermillion, "synced" bluish green. Every colour has a word or a shape
 * beside it, so nothing is told by colour alone.
 */
import type { LeaseRow, Model, RingEvent, TimelineRow, V2NodeRow, V2WatcherRow, V3KeyRow, V3LogRow, V3WatcherRow } from "../viewModel.js";

/** Escapes text for HTML. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Whole seconds left, as etcd's v2 `ttl` field counts them (rounded up); 0 once past. */
export function secondsLeft(deadlineMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil((deadlineMs - nowMs) / 1000));
}

/** One row of the v2 tree. A TTL key past its deadline says it waits for the next SYNC sweep. */
export function v2NodeRow(row: V2NodeRow, nowMs: number): string {
  const depth = row.path.split("/").length - 2;
  const name = row.path.slice(row.path.lastIndexOf("/") + 1);
  let ttl = "";
  if (row.expireTimeMs > 0) {
    const left = secondsLeft(row.expireTimeMs, nowMs);
    ttl =
      row.expireTimeMs <= nowMs
        ? `<span class="ttl due" title="its deadline passed: etcd removes it at the next 500 ms SYNC">ttl 0 · waiting for SYNC</span>`
        : `<span class="ttl" data-ttl="${left}">ttl ${left}s</span>`;
  }
  const hidden = row.hidden ? `<span class="tag hidden" title="names starting with _ are hidden from listings">hidden</span>` : "";
  const value = row.dir ? `<span class="dir">/</span>` : `<span class="eq">=</span> <span class="value">${esc(row.value)}</span>`;
  return (
    `<div class="row v2node${row.hidden ? " is-hidden" : ""}" data-path="${esc(row.path)}" style="padding-left:${0.4 + depth * 1.2}em">` +
    `<span class="name">${esc(name)}</span>${value} ${hidden}${ttl}` +
    `<span class="idx" title="createdIndex / modifiedIndex">c${row.createdIndex} m${row.modifiedIndex}</span></div>`
  );
}

/**
 * The 1000-slot event history as a bar: its left edge is the oldest kept index, its right edge
 * the newest. Each waiting watcher is a pin at its waitIndex; a pin left of the oldest kept index
 * is red, because asking for that index now answers 401 (EcodeEventIndexCleared).
 */
export function v2Ring(model: Model): string {
  const ring = model.v2.ring;
  const used = ring.lastIndex === 0 ? 0 : ring.lastIndex - ring.startIndex + 1;
  const span = Math.max(ring.capacity, 1);
  const pins = model.v2.watchers.map((watcher) => ringPin(watcher, model)).join("");
  const fill = (100 * used) / span;
  const recent = ring.events.slice(-8).reverse().map(ringEventChip).join("");
  return (
    `<div class="ring" data-start="${ring.startIndex}" data-last="${ring.lastIndex}">` +
    `<div class="ring-legend"><span>oldest kept <b>${ring.startIndex}</b></span>` +
    `<span>${used} / ${ring.capacity} slots used</span><span>newest <b>${ring.lastIndex}</b></span></div>` +
    `<div class="ring-bar"><div class="ring-fill" style="width:${fill.toFixed(2)}%"></div>${pins}</div>` +
    `<div class="ring-recent">${recent || `<span class="muted">no events yet</span>`}</div></div>`
  );
}

function ringPin(watcher: V2WatcherRow, model: Model): string {
  const ring = model.v2.ring;
  const cleared = ring.startIndex > 0 && watcher.waitIndex < ring.startIndex;
  const offset = cleared ? 0 : Math.min(100, Math.max(0, (100 * (watcher.waitIndex - ring.startIndex)) / Math.max(ring.capacity, 1)));
  const title = cleared
    ? `waitIndex ${watcher.waitIndex} fell out of the history: a watch from it now gets 401 "The event in requested index is outdated and cleared" (the requested history has been cleared [${ring.startIndex}/${watcher.waitIndex}])`
    : `conn ${watcher.conn} waits on ${watcher.key} from index ${watcher.waitIndex}`;
  return `<div class="pin${cleared ? " red" : ""}" data-wait="${watcher.waitIndex}" data-conn="${watcher.conn}" style="left:${offset.toFixed(2)}%" title="${esc(title)}"><span>${cleared ? "401 " : ""}${watcher.waitIndex}</span></div>`;
}

function ringEventChip(event: RingEvent): string {
  return `<span class="chip action-${esc(event.action)}">${event.index} ${esc(event.action)} ${esc(event.key)}</span>`;
}

/** The waiting v2 watches: one long poll each, so one TCP connection each. */
export function v2Watchers(model: Model): string {
  const watchers = model.v2.watchers;
  if (watchers.length === 0) return `<p class="muted">no v2 watch is waiting (try <code>ETCDCTL_API=2 etcdctl watch /foo</code>)</p>`;
  const connections = new Set(watchers.map((watcher) => watcher.conn)).size;
  const rows = watchers
    .slice(0, 200)
    .map((watcher) => {
      const cleared = model.v2.ring.startIndex > 0 && watcher.waitIndex < model.v2.ring.startIndex;
      return (
        `<div class="row v2watcher${cleared ? " red" : ""}" data-conn="${watcher.conn}">conn ${watcher.conn} · ${esc(watcher.key)}` +
        `${watcher.recursive ? " (recursive)" : ""}${watcher.stream ? " (stream)" : ""} · waitIndex ${watcher.waitIndex}` +
        `${cleared ? ` · <b>401 if it reconnects</b>` : ""}</div>`
      );
    })
    .join("");
  return `<p class="count">${watchers.length} watch${watchers.length === 1 ? "" : "es"} on ${connections} TCP connection${connections === 1 ? "" : "s"}</p>${rows}`;
}

/** One v3 key with its keyIndex generations, oldest first, as etcd draws them newest first. */
export function v3KeyRow(row: V3KeyRow): string {
  const generations = row.generations
    .map((generation) =>
      generation.length === 0
        ? `<span class="gen empty">{empty}</span>`
        : `<span class="gen">{${generation.map((rev) => `<span class="rev${rev.endsWith("(t)") ? " tomb" : ""}">${esc(rev)}</span>`).join(" ")}}</span>`,
    )
    .join("");
  return `<div class="row v3key" data-key="${esc(row.key)}"><span class="name">${esc(row.key)}</span>${generations}</div>`;
}

/**
 * One key-bucket entry of the revision log. Entries at or below the compaction revision are
 * the ones compaction kept (the newest version of each live key); they are drawn faded.
 */
export function v3LogRow(row: V3LogRow, compactRev: number): string {
  const kept = compactRev > 0 && row.main <= compactRev;
  const body = row.tombstone
    ? `<span class="tombstone">${esc(row.key)} (tombstone)</span>`
    : `${esc(row.key)} <span class="eq">=</span> <span class="value">${esc(row.value)}</span>${row.lease === "" ? "" : ` <span class="tag">lease ${esc(row.lease)}</span>`}`;
  return `<div class="row v3log${kept ? " kept" : ""}" data-rev="${row.main}.${row.sub}"><span class="revkey">${row.main}.${row.sub}</span>${body}</div>`;
}

/** The compaction line drawn in the log after the last entry ≤ compactRev. */
export function compactionLine(compactRev: number): string {
  return `<div class="row compaction-line" data-compact-rev="${compactRev}" title="reads below it fail: mvcc: required revision has been compacted">── compacted at revision ${compactRev} ── older revisions are gone</div>`;
}

/** Leases with their countdown and attached keys. */
export function v3Leases(leases: readonly LeaseRow[], nowMs: number): string {
  if (leases.length === 0) return `<p class="muted">no leases (try <code>etcdctl lease grant 10</code>)</p>`;
  return leases
    .map((lease) => {
      const left = lease.expiryMs === null ? "∞" : `${secondsLeft(lease.expiryMs, nowMs)}s`;
      const keys = lease.keys.length === 0 ? `<span class="muted">no keys</span>` : lease.keys.map((key) => `<span class="chip">${esc(key)}</span>`).join("");
      return `<div class="lease" data-lease="${esc(lease.id)}"><b>${esc(lease.id)}</b> TTL ${lease.ttlSeconds}s · <span class="countdown">${left} left</span> · ${keys}</div>`;
    })
    .join("");
}

/** v3 watchers grouped by stream, each with its group badge. */
export function v3Watchers(watchers: readonly V3WatcherRow[]): string {
  if (watchers.length === 0) return `<p class="muted">no v3 watchers</p>`;
  const byStream = new Map<number, V3WatcherRow[]>();
  for (const watcher of watchers) {
    const list = byStream.get(watcher.stream) ?? [];
    list.push(watcher);
    byStream.set(watcher.stream, list);
  }
  const counts = { synced: 0, unsynced: 0, victim: 0 };
  for (const watcher of watchers) counts[watcher.group]++;
  const streams = [...byStream].slice(0, 50).map(([stream, list]) => {
    const items = list
      .slice(0, 20)
      .map((watcher) => {
        const range = watcher.end === "" ? esc(watcher.key) : watcher.end === "\u0000" ? `${esc(watcher.key)}… (all)` : `[${esc(watcher.key)}, ${esc(watcher.end)})`;
        return `<span class="watcher badge-${watcher.group}" data-watch-id="${watcher.id}">#${watcher.id} ${range} · rev ≥ ${watcher.minRev} · ${watcher.group}</span>`;
      })
      .join("");
    return `<div class="stream">stream ${stream} · ${list.length} watcher${list.length === 1 ? "" : "s"}${list.length > 20 ? " (first 20)" : ""}: ${items}</div>`;
  });
  return `<p class="count">${watchers.length} watchers on ${byStream.size} stream${byStream.size === 1 ? "" : "s"} · synced ${counts.synced} · unsynced ${counts.unsynced} · victim ${counts.victim}</p>${streams.join("")}`;
}

/** Client connections with the watches each one carries. */
export function connections(model: Model): string {
  if (model.connections.length === 0) return `<p class="muted">no client is connected</p>`;
  const rows = model.connections
    .slice(0, 60)
    .map(
      (connection) =>
        `<tr data-conn="${connection.conn}"><td>${connection.conn}</td><td>${esc(connection.remote)}</td><td>${esc(connection.userAgent)}</td>` +
        `<td>${connection.requests}</td><td>${connection.v2Watches}</td><td>${connection.v3Streams}</td></tr>`,
    )
    .join("");
  return `<table class="conns"><thead><tr><th>conn</th><th>from</th><th>client</th><th>requests</th><th>v2 watches</th><th>v3 streams</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** One request on the timeline. */
export function timelineRow(row: TimelineRow, selectedSeq: number | undefined): string {
  const failed = row.transport === "grpc" ? row.status !== 0 : row.status >= 400;
  return (
    `<div class="row tl api-${row.api}${failed ? " failed" : ""}${selectedSeq === row.seq ? " selected" : ""}" data-seq="${row.seq}" data-n="${row.n}">` +
    `<span class="api">${row.api}</span><span class="conn">conn ${row.conn}</span><span class="op">${esc(row.method)} ${esc(row.target)}</span>` +
    `<span class="status">${row.transport === "grpc" ? `code ${row.status}` : row.status}</span><span class="at">index ${row.v2Index} · rev ${row.v3Rev}</span></div>`
  );
}

/** The top bar: where the stores are, and whether the page shows now or the past. */
export function header(
  model: Model,
  liveSeq: number,
  scrubbing: boolean,
  notice: string,
  lesson?: { title: string; step: number; steps: number; elapsedMs: number; frozen: boolean },
  sandbox?: { frozen: boolean; clockMs: number },
): string {
  const lessonClock = lesson === undefined ? "" : `simulated clock ${lesson.frozen ? "<b>FROZEN</b>" : "running"} at step +${(lesson.elapsedMs / 1000).toFixed(1)} s`;
  const mode =
    sandbox !== undefined
      ? `<span class="past sandbox" data-sandbox="${sandbox.frozen ? "frozen" : "running"}">sandbox: in-process stores · simulated clock ${(sandbox.clockMs / 1000).toFixed(1)} s · ${sandbox.frozen ? "<b>FROZEN</b>" : "running"}</span> <button id="live" title="L">back to live</button>`
      : lesson !== undefined
      ? `<span class="past lesson" data-lesson-step="${lesson.step}">lesson: ${esc(lesson.title)} · step ${lesson.step} of ${lesson.steps} · <span class="clock" data-clock="${lesson.frozen ? "frozen" : "running"}">${lessonClock}</span></span> <button id="live" title="Esc">back to live</button>`
      : scrubbing
        ? `<span class="past" data-viewing="${model.seq}">viewing frame ${model.seq} of ${liveSeq}</span> <button id="live" title="L">back to live</button>`
        : `<span class="live">● LIVE</span>`;
  return (
    `<span class="title">etcdsim classroom</span><span>frame <b id="seq">${model.seq}</b></span>` +
    `<span class="v2c">v2 index <b id="v2index">${model.v2.index}</b></span><span class="v3c">v3 revision <b id="v3rev">${model.v3.rev}</b></span>` +
    `<span>compacted <b>${model.v3.compactRev < 0 ? "never" : model.v3.compactRev}</b></span><span>db ${formatBytes(model.v3.dbSizeBytes)}</span>` +
    `${mode}${notice === "" ? "" : `<span class="notice">${esc(notice)}</span>`}`
  );
}

/** "12.3 KiB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** A lesson step: its title, narration and what its commands printed. */
export function lessonText(title: string, narration: readonly string[], transcript: readonly string[]): string {
  return (
    `<h4>${esc(title)}</h4>${narration.map((line) => `<p>${esc(line)}</p>`).join("")}` +
    `<pre class="console">${transcript.map((line) => (line.startsWith("$ ") ? `<b>${esc(line)}</b>` : esc(line))).join("\n")}</pre>`
  );
}

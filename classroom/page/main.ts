/**
 * The classroom page: applies the server's frames to its model and draws it with render.ts.
 *
 * Updates are batched: frames are applied as they arrive, but the panes are redrawn at most once
 * per animation frame (every 200 ms while frames stream in), and only the panes a frame touched. Long lists (the v2 tree, the v3 keys,
 * the revision log, the timeline) are virtualised: only the rows in view are in the DOM, so 10,000
 * keys cost what 30 do. Countdowns are redrawn four times a second from the server's clock, as the
 * last frame read it plus the time since (never from the laptop's own clock alone).
 *
 * For tests, the root element carries `data-seq` (the frame applied) and `window.__classroom`
 * holds counters and the time the last update took to apply and draw.
 */
import { applyFrame, emptyModel, snapshotFrame, treeOrder, type Frame, type Model, type V2NodeRow, type V3KeyRow } from "../viewModel.js";
import { decodeFrame } from "../frameWire.js";
import * as draw from "./render.js";

interface Stats {
  frames: number;
  snapshots: number;
  behind: number;
  lastApplyMs: number;
  maxApplyMs: number;
  applyMs: number[];
}

declare global {
  interface Window {
    __classroom: Stats;
  }
}

const stats: Stats = { frames: 0, snapshots: 0, behind: 0, lastApplyMs: 0, maxApplyMs: 0, applyMs: [] };
window.__classroom = stats;

const live: Model = emptyModel();
let shown: Model = live;
let scrubbing = false;
/** The lesson shown instead of the live stores, if any. */
let lesson: { name: string; step: number; steps: number; title: string } | undefined;
/**
 * The lesson's simulated clock. While it runs, the page asks the server for the step again with the
 * time it has run (`elapsedMs`, see lessonPlayer.ts) twice a second; freezing stops it, and the
 * countdowns with it. Stepping starts the new step's clock at 0.
 */
const lessonClock = { frozen: false, elapsedMs: 0, pageMs: 0, shownMs: 0, generation: 0, asking: false };
/** Simulated time the lesson's clock has run in this step, now. */
function lessonElapsed(): number {
  return lessonClock.frozen ? lessonClock.elapsedMs : lessonClock.elapsedMs + (performance.now() - lessonClock.pageMs);
}
let notice = "";
/** The console's sandbox shown instead of the live stores, if any (sandbox.ts on the server). */
let sandbox: { frozen: boolean; clockMs: number } | undefined;
let sandboxPolledAt = 0;
let selectedSeq: number | undefined;
/** Server clock estimate: the last reading and when (page time) it arrived. */
let clockAt = { serverMs: 0, pageMs: 0 };
const dirty = new Set<string>(["all"]);
let scheduled = false;

function serverNow(): number {
  return clockAt.serverMs + (performance.now() - clockAt.pageMs);
}

// ── Layout ─────────────────────────────────────────────────────────────────────────────────────

const app = document.getElementById("app") as HTMLElement;
app.innerHTML = `
<header id="top"></header>
<main>
  <section class="pane v2" id="pane-v2">
    <h2><span class="badge v2b">v2</span> store <small>one tree · one index · 1000-event history</small></h2>
    <h3>tree <small id="v2count"></small></h3>
    <div class="vlist" id="v2tree"></div>
    <h3>event history ring <small>watchers pinned at their waitIndex</small></h3>
    <div id="v2ring"></div>
    <h3>waiting watches</h3>
    <div id="v2watchers" class="scroll small"></div>
  </section>
  <section class="pane v3" id="pane-v3">
    <h2><span class="badge v3b">v3</span> store <small>MVCC: tree index → revision-keyed backend</small></h2>
    <div class="cols">
      <div><h3>keyspace (keyIndex generations) <small id="v3count"></small></h3><div class="vlist" id="v3keys"></div></div>
      <div><h3>backend revision log <small id="logcount"></small></h3><div class="vlist" id="v3log"></div></div>
    </div>
    <form id="trace"><label>get <input id="trace-key" placeholder="key" size="10"></label><label>--rev <input id="trace-rev" type="number" value="0" min="0" style="width:5em"></label><button>trace</button></form>
    <pre id="trace-out" class="trace"></pre>
    <div class="cols">
      <div><h3>leases</h3><div id="v3leases" class="scroll small"></div></div>
      <div><h3>watchers: stream → id</h3><div id="v3watchers" class="scroll small"></div></div>
    </div>
  </section>
</main>
<section class="bottom">
  <div class="pane" id="pane-timeline">
    <h3>timeline <small>every request on the client port; click one to see that moment</small></h3>
    <input id="scrub" type="range" min="0" max="0" value="0" aria-label="scrub through recorded frames">
    <div class="vlist short" id="timeline"></div>
  </div>
  <div class="pane" id="pane-conns"><h3>connections <small>v2: a TCP connection per watch · v3: streams share one</small></h3><div id="conns" class="scroll"></div></div>
  <div class="pane" id="pane-lesson">
    <h3>lesson player <small>replayed on in-process stores: stepping back is exact</small></h3>
    <div class="lesson-bar"><select id="lesson-pick"><option value="">choose a lesson…</option></select>
    <button id="lesson-back" title="←">◀ back</button><span id="lesson-step" data-step="">—</span><button id="lesson-next" title="→">step ▶</button><button id="lesson-freeze" title="Z: freeze or run the simulated clock" data-frozen="false">❚❚ freeze</button><button id="lesson-exit" title="Esc">live</button></div>
    <div id="lesson-text" class="lesson-text"></div>
  </div>
  <div class="pane" id="pane-console">
    <h3>console <small id="console-where">etcdctl, answered by this server</small></h3>
    <div class="lesson-bar"><button id="console-mode" title="S">sandbox (undo works)</button><button id="freeze" title="Z" hidden>freeze clock</button><button id="sandbox-reset" hidden>empty sandbox</button></div>
    <pre id="console-out" class="console"></pre>
    <form id="console"><input id="console-in" autocomplete="off" spellcheck="false" placeholder="etcdctl put foo bar · ETCDCTL_API=2 etcdctl set /foo bar"></form>
  </div>
</section>
<footer>keys: ←/→ step through frames (in a lesson: its steps; space steps forward) · L live · S sandbox · Z freeze the clock (the lesson's or the sandbox's) · Esc leave the lesson · P projector · F stop following the newest</footer>`;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/**
 * A list that keeps only the rows in view in the DOM. It never reads layout while drawing (the
 * view's height is read once, and again on resize), so four lists redrawn in one animation frame
 * cost one layout, not four; `contain: strict` on `.vlist` keeps that layout inside the list.
 *
 * Each row in view is its own absolutely placed element, kept while it stays in view and rewritten
 * only when its HTML changed. So a redraw writes the rows that changed and the rows that came into
 * view, not the whole list: 1,000 updated keys out of 10,000 rewrite the few of them in view, and the
 * rest keep their elements (chromium's renderer under a 16-client storm: 23-25% of a core, 28% when
 * every list was rewritten whole on each draw).
 *
 *   view rows 40…69, then 3 rows appended while following  →  rows 40…42 removed, 70…72 added
 */
class VirtualList {
  private count = 0;
  private rowHtml: (index: number) => string = () => "";
  private readonly inner: HTMLElement;
  private viewHeight: number;
  private scrollTop = 0;
  /** The row elements in the DOM by row index, each with the HTML it shows. */
  private readonly rowsInView = new Map<number, { element: HTMLElement; html: string }>();
  /** The row height those elements were placed with (the projector toggle changes it). */
  private placedHeight = 0;
  follow = false;

  constructor(readonly element: HTMLElement) {
    this.inner = document.createElement("div");
    this.inner.className = "vinner";
    element.appendChild(this.inner);
    this.viewHeight = element.clientHeight;
    element.addEventListener("scroll", () => {
      // Following the newest row sets scrollTop itself and has drawn already: only a reader's scroll redraws.
      if (element.scrollTop === this.scrollTop) return;
      this.scrollTop = element.scrollTop;
      this.draw();
    });
    window.addEventListener("resize", () => this.measure());
  }

  /** Re-reads the view's height (after a resize or the projector toggle). */
  measure(): void {
    this.viewHeight = this.element.clientHeight;
    this.draw();
  }

  set(count: number, rowHtml: (index: number) => string): void {
    this.count = count;
    this.rowHtml = rowHtml;
    if (this.follow) {
      const bottom = Math.max(0, count * rowHeight() - this.viewHeight);
      if (bottom !== this.scrollTop) {
        this.scrollTop = bottom;
        this.inner.style.height = `${count * rowHeight()}px`;
        this.element.scrollTop = bottom;
      }
    }
    this.draw();
  }

  draw(): void {
    const height = rowHeight();
    const total = `${this.count * height}px`;
    if (this.inner.style.height !== total) this.inner.style.height = total;
    if (height !== this.placedHeight) {
      // The projector toggle changed the row height: every kept row is misplaced.
      for (const { element } of this.rowsInView.values()) element.remove();
      this.rowsInView.clear();
      this.placedHeight = height;
    }
    const first = Math.max(0, Math.floor(this.scrollTop / height) - 5);
    const last = Math.min(this.count, first + Math.ceil(this.viewHeight / height) + 10);
    for (const [index, row] of this.rowsInView) {
      if (index >= first && index < last) continue;
      row.element.remove();
      this.rowsInView.delete(index);
    }
    for (let index = first; index < last; index++) {
      const html = this.rowHtml(index);
      const row = this.rowsInView.get(index);
      if (row === undefined) {
        const element = document.createElement("div");
        element.className = "vrow";
        element.style.top = `${index * height}px`;
        element.innerHTML = html;
        this.inner.appendChild(element);
        this.rowsInView.set(index, { element, html });
      } else if (row.html !== html) {
        row.element.innerHTML = html;
        row.html = html;
      }
    }
  }
}

/**
 * Sets an element's HTML unless it already has exactly that HTML. A redraw that changes nothing
 * (a countdown that has not reached the next second, rows a frame did not touch) then costs a
 * string comparison instead of a parse, a style pass and a repaint.
 */
const lastHtml = new WeakMap<Element, string>();
function setHtml(element: Element, html: string): void {
  if (lastHtml.get(element) === html) return;
  lastHtml.set(element, html);
  element.innerHTML = html;
}

function rowHeight(): number {
  return document.body.classList.contains("projector") ? 34 : 24;
}

const lists = {
  v2tree: new VirtualList($("v2tree")),
  v3keys: new VirtualList($("v3keys")),
  v3log: new VirtualList($("v3log")),
  timeline: new VirtualList($("timeline")),
};
lists.v3log.follow = true;
lists.timeline.follow = true;

// Sorted views, rebuilt only when the set of rows changed.
// A sorted view holds row keys, not rows: an upsert of a key already listed changes no order, so
// only a new or removed key re-sorts (10,000 keys: a few ms, once, instead of on every frame).
let v2Sorted: string[] = [];
let v3Sorted: string[] = [];
function resortV2(model: Model): void {
  v2Sorted = [...model.v2.nodes.keys()].map((path) => ({ path, order: path.replaceAll("/", "\u0000") })).sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0)).map((item) => item.path);
}
function resortV3(model: Model): void {
  v3Sorted = [...model.v3.keys.keys()].sort();
}
void treeOrder; // resortV2 gives viewModel.treeOrder's order, with each path's sort key computed once

// ── Drawing ────────────────────────────────────────────────────────────────────────────────────

/**
 * Live frames are drawn at most every LIVE_DRAW_INTERVAL_MS: frames arrive at most every 250 ms
 * (observer.ts), and a burst that brings two together (a reconnect's resume) is applied in full but
 * laid out and painted once, CPU the page would otherwise take from the server on a teacher's laptop.
 * A reader's action (scrub, step, console) draws at once.
 */
const LIVE_DRAW_INTERVAL_MS = 200;
let lastDrawAt = -Infinity;
let waitForInterval = false;
function schedule(...panes: string[]): void {
  for (const pane of panes) dirty.add(pane);
  const streamed = !dirty.has("all") && !scrubbing;
  if (!streamed) waitForInterval = false; // a reader's action does not wait
  if (scheduled) return;
  scheduled = true;
  const drawWhenDue = (time: number): void => {
    if (waitForInterval && time - lastDrawAt < LIVE_DRAW_INTERVAL_MS) {
      requestAnimationFrame(drawWhenDue);
      return;
    }
    scheduled = false;
    lastDrawAt = time;
    drawDirty();
  };
  waitForInterval = streamed;
  requestAnimationFrame(drawWhenDue);
}

function drawDirty(): void {
  const started = performance.now();
  const model = shown;
  const all = dirty.has("all");
  // In a lesson the countdowns run from the step's frame by the clock's time since it was asked for.
  const now = lesson !== undefined ? model.nowMs + Math.max(0, lessonElapsed() - lessonClock.shownMs) : scrubbing ? model.nowMs : serverNow();
  const lessonHeader = lesson === undefined ? undefined : { ...lesson, elapsedMs: lessonElapsed(), frozen: lessonClock.frozen };
  setHtml($("top"), draw.header(model, live.seq, scrubbing, notice, lessonHeader, sandbox));
  if (app.dataset["seq"] !== String(live.seq)) app.dataset["seq"] = String(live.seq);
  if (app.dataset["shown"] !== String(model.seq)) app.dataset["shown"] = String(model.seq);
  if (all || dirty.has("sort-v2")) resortV2(model);
  if (all || dirty.has("sort-v3")) resortV3(model);
  if (all || dirty.has("v2") || (dirty.has("clock") && hasTtl(model))) {
    $("v2count").textContent = `${model.v2.nodes.size} nodes · index ${model.v2.index}`;
    lists.v2tree.set(v2Sorted.length, (i) => draw.v2NodeRow(model.v2.nodes.get(v2Sorted[i] as string) as V2NodeRow, now));
  }
  if (all || dirty.has("v2") || dirty.has("watchers")) {
    setHtml($("v2ring"), draw.v2Ring(model));
    setHtml($("v2watchers"), draw.v2Watchers(model));
  }
  if (all || dirty.has("v3")) {
    $("v3count").textContent = `${model.v3.keys.size} keys`;
    lists.v3keys.set(v3Sorted.length, (i) => draw.v3KeyRow(model.v3.keys.get(v3Sorted[i] as string) as V3KeyRow));
    drawLog(model);
  }
  if (all || dirty.has("v3watchers")) setHtml($("v3watchers"), draw.v3Watchers(model.v3.watchers));
  if (all || dirty.has("leases") || (dirty.has("clock") && model.v3.leases.length > 0)) setHtml($("v3leases"), draw.v3Leases(model.v3.leases, now));
  if (all || dirty.has("conns")) setHtml($("conns"), draw.connections(model));
  if (all || dirty.has("timeline")) {
    lists.timeline.set(live.timeline.length, (i) => draw.timelineRow(live.timeline[i] as (typeof live.timeline)[number], scrubbing ? shown.seq : selectedSeq));
    const scrub = $<HTMLInputElement>("scrub");
    scrub.min = String(Math.max(0, live.seq - 2999));
    scrub.max = String(live.seq);
    if (!scrubbing) scrub.value = String(live.seq);
  }
  dirty.clear();
  startCountdown();
  const took = performance.now() - started;
  stats.lastApplyMs += took;
  stats.maxApplyMs = Math.max(stats.maxApplyMs, stats.lastApplyMs);
  stats.applyMs.push(stats.lastApplyMs);
  if (stats.applyMs.length > 1000) stats.applyMs.shift();
  stats.lastApplyMs = 0;
}

/** True when some v2 node has a TTL, so its countdown needs redrawing. O(nodes), cached per model size and index. */
let ttlCache = { model: undefined as Model | undefined, index: -1, has: false };
function hasTtl(model: Model): boolean {
  if (ttlCache.model !== model || ttlCache.index !== model.v2.index) {
    let has = false;
    for (const row of model.v2.nodes.values()) if (row.expireTimeMs > 0) { has = true; break; }
    ttlCache = { model, index: model.v2.index, has };
  }
  return ttlCache.has;
}

/** The log with the compaction line after the last entry at or below the compaction revision. */
function drawLog(model: Model): void {
  const log = model.v3.log;
  const compactRev = model.v3.compactRev;
  let lineAt = -1;
  if (compactRev > 0) {
    lineAt = 0;
    while (lineAt < log.length && (log[lineAt] as (typeof log)[number]).main <= compactRev) lineAt++;
  }
  const count = log.length + (lineAt >= 0 ? 1 : 0);
  $("logcount").textContent = `${log.length + model.v3.logHidden} entries${model.v3.logHidden > 0 ? ` (newest ${log.length} shown)` : ""}`;
  lists.v3log.set(count, (i) => {
    if (i === lineAt) return draw.compactionLine(compactRev);
    const entry = log[lineAt >= 0 && i > lineAt ? i - 1 : i];
    return entry === undefined ? "" : draw.v3LogRow(entry, compactRev);
  });
}

// ── The feed ───────────────────────────────────────────────────────────────────────────────────

function apply(frame: Frame, started: number): void {
  if (frame.reset !== true && frame.seq !== live.seq + 1) return; // a gap: the reconnect will bring a snapshot
  if (frame.reset === true) {
    stats.snapshots++;
    if (frame.behind === true) {
      stats.behind++;
      notice = `this page fell behind and got a full snapshot at frame ${frame.seq}`;
    }
  }
  // New or removed keys change the sorted views; updates of listed keys do not.
  const v2Reorder = frame.reset === true || (frame.v2?.remove.length ?? 0) > 0 || (frame.v2?.upsert.some((row) => !live.v2.nodes.has(row.path)) ?? false);
  const v3Reorder = frame.reset === true || (frame.v3?.remove.length ?? 0) > 0 || (frame.v3?.upsert.some((row) => !live.v3.keys.has(row.sortKey)) ?? false);
  // A frame carries v2 whenever the waiting v2 watches may have moved (any request can); the tree and
  // ring are redrawn only when they changed, the watches pane when those did.
  const v2Changed =
    frame.v2 !== undefined && (frame.v2.upsert.length > 0 || frame.v2.remove.length > 0 || frame.v2.ring !== undefined || frame.v2.index !== live.v2.index);
  applyFrame(live, frame);
  stats.frames++;
  clockAt = { serverMs: frame.nowMs, pageMs: performance.now() };
  const panes: string[] = [];
  if (frame.reset === true) panes.push("all");
  if (frame.reset === true || v2Changed) panes.push("v2");
  if (frame.v2?.watchers !== undefined) panes.push("watchers");
  if (frame.v3 !== undefined) panes.push("v3");
  if (frame.connections !== undefined) panes.push("conns");
  if (frame.timelineAppend !== undefined) panes.push("timeline");
  if (frame.v3?.watchers !== undefined) panes.push("v3watchers");
  if (frame.v3?.leases !== undefined) panes.push("leases");
  if (v2Reorder) panes.push("sort-v2");
  if (v3Reorder) panes.push("sort-v3");
  stats.lastApplyMs += performance.now() - started;
  if (!scrubbing) schedule(...panes);
  else schedule("timeline");
}

const events = new EventSource("/events");
events.onmessage = (message: MessageEvent<string>) => {
  const started = performance.now(); // the parse counts as part of applying the update
  apply(decodeFrame(message.data), started);
};
events.addEventListener("clock", (message) => {
  const data = JSON.parse((message as MessageEvent<string>).data) as { nowMs: number };
  clockAt = { serverMs: data.nowMs, pageMs: performance.now() };
  live.nowMs = data.nowMs;
});

// Countdowns: redraw the panes that show them four times a second, and (in the sandbox) fetch its
// stores as often. The loop runs only while something counts down: an idle animation-frame loop
// would wake the browser 60 times a second for nothing, CPU a projector laptop shares with the class.
let lastCountdown = 0;
let countdownRunning = false;
function countingDown(): boolean {
  if (sandbox !== undefined) return !sandbox.frozen;
  if (lesson !== undefined) return !lessonClock.frozen;
  return !scrubbing && (hasTtl(live) || live.v3.leases.some((lease) => lease.expiryMs !== null));
}
function countdownLoop(time: number): void {
  if (!countingDown()) {
    countdownRunning = false;
    return;
  }
  if (time - lastCountdown >= 250) {
    lastCountdown = time;
    if (sandbox !== undefined) void pollSandbox(time);
    else schedule("clock");
  }
  // A running lesson clock: fetch the step as it is now, twice a second (the v2 SYNC sweep's pace).
  if (lesson !== undefined && !lessonClock.frozen && !lessonClock.asking && lessonElapsed() - lessonClock.shownMs >= 500) {
    void showLessonStep(lesson.name, lesson.step, lessonElapsed());
  }
  requestAnimationFrame(countdownLoop);
}
function startCountdown(): void {
  if (countdownRunning || !countingDown()) return;
  countdownRunning = true;
  requestAnimationFrame(countdownLoop);
}

// ── Scrubbing: recorded states, read-only ──────────────────────────────────────────────────────

async function showFrame(seq: number): Promise<void> {
  if (sandbox !== undefined) return;
  if (seq >= live.seq) return backToLive();
  const response = await fetch(`/state?seq=${seq}`);
  if (response.status !== 200) {
    notice = ((await response.json()) as { error: string }).error;
    schedule("all");
    return;
  }
  const past = applyFrame(emptyModel(), (await response.json()) as Frame);
  lesson = undefined;
  scrubbing = true;
  shown = past;
  $<HTMLInputElement>("scrub").value = String(seq);
  schedule("all");
}

function backToLive(): void {
  if (lesson !== undefined) return leaveLesson();
  if (sandbox !== undefined) return leaveSandbox();
  scrubbing = false;
  shown = live;
  notice = "";
  schedule("all");
}

$<HTMLInputElement>("scrub").addEventListener("input", (event) => {
  void showFrame(Number((event.target as HTMLInputElement).value));
});
$("timeline").addEventListener("click", (event) => {
  const row = (event.target as HTMLElement).closest<HTMLElement>("[data-seq]");
  if (row === null) return;
  selectedSeq = Number(row.dataset["seq"]);
  void showFrame(selectedSeq);
});
$("top").addEventListener("click", (event) => {
  if ((event.target as HTMLElement).id === "live") backToLive();
});

// ── Lessons: each step is the stores replayed from empty on the server (lessonPlayer.ts) ──────

interface LessonView {
  lesson: string;
  step: number;
  elapsedMs: number;
  steps: number;
  title: string;
  narration: string[];
  transcript: string[];
  frame: Frame;
}

void fetch("/lessons")
  .then((response) => response.json() as Promise<Array<{ name: string; title: string; steps: number }>>)
  .then((list) => {
    const pick = $<HTMLSelectElement>("lesson-pick");
    for (const item of list) pick.add(new Option(`${item.title} (${item.steps} steps)`, item.name));
  });

async function showLessonStep(name: string, step: number, elapsedMs?: number): Promise<void> {
  if (sandbox !== undefined) leaveSandbox();
  const sameStep = elapsedMs !== undefined;
  if (!sameStep) {
    lessonClock.generation++; // a running clock's answer for the old step is dropped
    lessonClock.elapsedMs = 0;
    lessonClock.pageMs = performance.now();
  }
  const generation = lessonClock.generation;
  lessonClock.asking = true;
  let view: LessonView;
  try {
    const response = await fetch("/lesson", { method: "POST", body: JSON.stringify({ name, step, elapsedMs: elapsedMs ?? 0 }) });
    view = (await response.json()) as LessonView;
  } finally {
    lessonClock.asking = false;
  }
  if (generation !== lessonClock.generation || (sameStep && view.elapsedMs < lessonClock.shownMs)) return; // stale
  lessonClock.shownMs = view.elapsedMs;
  lesson = { name, step: view.step, steps: view.steps, title: view.lesson };
  scrubbing = true; // read-only, like a recorded frame: live frames keep arriving but are not drawn
  shown = applyFrame(emptyModel(), view.frame);
  const stepLabel = $("lesson-step");
  stepLabel.textContent = `step ${view.step} of ${view.steps}`;
  stepLabel.dataset["step"] = String(view.step);
  if (!sameStep) $("lesson-text").innerHTML = draw.lessonText(view.title, view.narration, view.transcript);
  schedule("all");
}

/** Freezes the lesson's clock, or lets it run again from where it stopped. */
function toggleFreeze(): void {
  lessonClock.elapsedMs = lessonElapsed();
  lessonClock.pageMs = performance.now();
  lessonClock.frozen = !lessonClock.frozen;
  // Frozen: show the stores exactly at the moment the clock stopped.
  if (lessonClock.frozen && lesson !== undefined) void showLessonStep(lesson.name, lesson.step, lessonClock.elapsedMs);
  const button = $("lesson-freeze");
  button.textContent = lessonClock.frozen ? "▶ run clock" : "❚❚ freeze";
  button.dataset["frozen"] = String(lessonClock.frozen);
  schedule("clock");
}

function leaveLesson(): void {
  lesson = undefined;
  lessonClock.generation++;
  $("lesson-step").textContent = "—";
  $("lesson-step").dataset["step"] = "";
  $("lesson-text").innerHTML = "";
  backToLive();
}

$<HTMLSelectElement>("lesson-pick").addEventListener("change", (event) => {
  const name = (event.target as HTMLSelectElement).value;
  if (name === "") leaveLesson();
  else void showLessonStep(name, 1);
});
$("lesson-next").addEventListener("click", () => {
  if (lesson !== undefined) void showLessonStep(lesson.name, Math.min(lesson.steps, lesson.step + 1));
});
$("lesson-back").addEventListener("click", () => {
  if (lesson !== undefined) void showLessonStep(lesson.name, Math.max(0, lesson.step - 1));
});
$("lesson-exit").addEventListener("click", leaveLesson);
$("lesson-freeze").addEventListener("click", toggleFreeze);

// ── Trace and console ──────────────────────────────────────────────────────────────────────────

$("trace").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $<HTMLInputElement>("trace-key").value;
  const rev = Number($<HTMLInputElement>("trace-rev").value);
  void fetch("/trace", { method: "POST", body: JSON.stringify({ key, rev }) })
    .then((response) => response.json() as Promise<{ lines?: string[]; error?: string }>)
    .then((answer) => {
      $("trace-out").textContent = answer.lines?.join("\n") ?? answer.error ?? "";
    });
});

$v3KeyClicks();
function $v3KeyClicks(): void {
  $("v3keys").addEventListener("click", (event) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>("[data-key]");
    if (row === null) return;
    $<HTMLInputElement>("trace-key").value = row.dataset["key"] ?? "";
    $("trace").dispatchEvent(new Event("submit", { cancelable: true }));
  });
}

const history: string[] = [];
let historyAt = 0;
$("console").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $<HTMLInputElement>("console-in");
  const line = input.value.trim();
  if (line === "") return;
  history.push(line);
  historyAt = history.length;
  input.value = "";
  const out = $("console-out");
  out.textContent += `$ ${line}\n`;
  const inSandbox = sandbox !== undefined;
  void fetch("/command", { method: "POST", body: JSON.stringify({ line, sandbox: inSandbox }) })
    .then((response) => response.json() as Promise<{ ok: boolean; output: string }>)
    .then((answer) => {
      out.textContent += answer.output === "" ? "" : `${answer.output}\n`;
      out.scrollTop = out.scrollHeight;
      if (inSandbox && sandbox !== undefined) void pollSandbox(performance.now());
    });
});

// ── The sandbox: the console on in-process stores, where undo works and the clock can freeze ──

interface SandboxView {
  frozen: boolean;
  clockMs: number;
  lines: number;
  frame: Frame;
}

function showSandbox(view: SandboxView): void {
  if (sandbox === undefined) return; // left while the answer was on its way
  sandbox = { frozen: view.frozen, clockMs: view.clockMs };
  shown = applyFrame(emptyModel(), view.frame);
  $("freeze").textContent = view.frozen ? "run clock" : "freeze clock";
  $("freeze").dataset["frozen"] = String(view.frozen);
  schedule("all");
}

async function pollSandbox(time: number): Promise<void> {
  sandboxPolledAt = time;
  const response = await fetch("/sandbox");
  if (sandboxPolledAt === time) showSandbox((await response.json()) as SandboxView);
}

async function sandboxAction(action: "freeze" | "run" | "reset"): Promise<void> {
  const response = await fetch("/sandbox", { method: "POST", body: JSON.stringify({ action }) });
  sandboxPolledAt = performance.now();
  showSandbox((await response.json()) as SandboxView);
}

function enterSandbox(): void {
  if (lesson !== undefined) leaveLesson();
  sandbox = { frozen: false, clockMs: 0 };
  scrubbing = true; // the live stores are not shown (their frames keep arriving)
  $("console-mode").textContent = "back to the live server";
  $("console-where").textContent = "sandbox: in-process stores, undo works; nothing reaches the server";
  $("freeze").hidden = false;
  $("sandbox-reset").hidden = false;
  $("console-out").textContent += "# sandbox: in-process stores on a simulated clock; undo works here\n";
  void pollSandbox(performance.now());
}

function leaveSandbox(): void {
  sandbox = undefined;
  $("console-mode").textContent = "sandbox (undo works)";
  $("console-where").textContent = "etcdctl, answered by this server";
  $("freeze").hidden = true;
  $("sandbox-reset").hidden = true;
  $("console-out").textContent += "# live server\n";
  scrubbing = false;
  shown = live;
  notice = "";
  schedule("all");
}

$("console-mode").addEventListener("click", () => (sandbox === undefined ? enterSandbox() : leaveSandbox()));
$("freeze").addEventListener("click", () => void sandboxAction(sandbox?.frozen === true ? "run" : "freeze"));
$("sandbox-reset").addEventListener("click", () => void sandboxAction("reset"));
$("console-in").addEventListener("keydown", (event) => {
  const input = event.target as HTMLInputElement;
  if (event.key === "ArrowUp" && historyAt > 0) input.value = history[--historyAt] ?? "";
  if (event.key === "ArrowDown" && historyAt < history.length) input.value = history[++historyAt] ?? "";
});

// ── Keyboard ───────────────────────────────────────────────────────────────────────────────────

document.addEventListener("keydown", (event) => {
  const target = event.target as HTMLElement;
  if (target.tagName === "INPUT" && target.id !== "scrub") return;
  if (lesson !== undefined && (event.key === "ArrowLeft" || event.key === "ArrowRight" || event.key === " ")) {
    const step = event.key === "ArrowLeft" ? Math.max(0, lesson.step - 1) : Math.min(lesson.steps, lesson.step + 1);
    void showLessonStep(lesson.name, step);
  } else if (event.key === "Escape" && lesson !== undefined) leaveLesson();
  else if (event.key === "ArrowLeft") void showFrame((scrubbing ? shown.seq : live.seq) - 1);
  else if (event.key === "ArrowRight") void showFrame((scrubbing ? shown.seq : live.seq) + 1);
  else if (event.key === "l" || event.key === "L") backToLive();
  else if (event.key === "s" || event.key === "S") sandbox === undefined ? enterSandbox() : leaveSandbox();
  else if ((event.key === "z" || event.key === "Z") && sandbox !== undefined) void sandboxAction(sandbox.frozen ? "run" : "freeze");
  else if ((event.key === "z" || event.key === "Z") && lesson !== undefined) toggleFreeze();
  else if (event.key === "p" || event.key === "P") {
    document.body.classList.toggle("projector");
    for (const list of Object.values(lists)) list.measure();
    schedule("all");
  } else if (event.key === "f" || event.key === "F") {
    lists.v3log.follow = !lists.v3log.follow;
    lists.timeline.follow = lists.v3log.follow;
  } else return;
  event.preventDefault();
});
if (new URLSearchParams(location.search).has("projector")) document.body.classList.add("projector");

// For tests and the bench: the snapshot text of what the page holds.
(window as unknown as { __classroomSnapshot: () => Frame }).__classroomSnapshot = () => snapshotFrame(live);

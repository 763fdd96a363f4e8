/**
 * The classroom's recorded states: the last frames, numbered, with a full copy of the model every
 * KEYFRAME_EVERY frames. etcd has no counterpart, but the contract is etcd's own: a page resuming
 * from a frame still kept gets the frames after it (a watch from a revision still in history); a
 * page resuming from older than that gets a full snapshot and is told it fell behind (ErrCompacted,
 * or v2's 401, but with a way forward).
 *
 *   kept frames 301…3300, keyframes at 300, 400, …, 3300
 *   resume(3290)   →  frames 3291…3300
 *   resume(12)     →  one reset frame at 3300 with behind: true
 *   stateAt(1234)  →  copy of keyframe 1200, then frames 1201…1234 applied (RaftScope's seek)
 *
 * Scrubbing reads these records and never re-runs a request: live mode talks to real clients, so
 * the past can be shown but not replayed.
 */
import { encodeFrame } from "./frameWire.js";
import { applyFrame, copyModel, emptyModel, snapshotFrame, type Frame, type Model } from "./viewModel.js";

/** Frames kept for resuming and scrubbing (at 4 frames/s, twelve minutes of a busy class). */
export const FRAMES_KEPT = 3_000;
/** A full model copy every this many frames; a scrub applies at most this many frames to one. */
export const KEYFRAME_EVERY = 100;

/** One recorded frame and its SSE text (serialised once, sent to every page). */
export interface RecordedFrame {
  readonly frame: Frame;
  readonly text: string;
}

/** Frames and keyframes; see the file header. */
export class FrameLog {
  private readonly frames: RecordedFrame[] = [];
  /** Model copies by seq, oldest first; the first one is at or before the oldest kept frame. */
  private readonly keyframes: Model[] = [];

  constructor(
    private readonly framesKept: number = FRAMES_KEPT,
    private readonly keyframeEvery: number = KEYFRAME_EVERY,
  ) {}

  /** Records `frame`, which the caller has already applied to `model` (so model.seq === frame.seq). */
  record(frame: Frame, model: Model): RecordedFrame {
    // The first frame is a difference from an empty model: that is the records' base.
    if (this.keyframes.length === 0) this.keyframes.push({ ...emptyModel(), seq: frame.seq - 1 });
    const recorded = { frame, text: sseText(frame) };
    this.frames.push(recorded);
    if (frame.seq % this.keyframeEvery === 0) this.keyframes.push(copyModel(model));
    if (this.frames.length > this.framesKept) {
      this.frames.splice(0, this.frames.length - this.framesKept);
      const oldest = this.oldestSeq();
      // Keep the newest keyframe at or before the oldest kept frame's predecessor; drop older ones.
      while (this.keyframes.length > 1 && (this.keyframes[1] as Model).seq <= oldest - 1) this.keyframes.shift();
    }
    return recorded;
  }

  /** The oldest frame a page can resume after or scrub to (seq of the first kept frame − 1). */
  oldestSeq(): number {
    return (this.frames[0]?.frame.seq ?? 1) - 1;
  }

  /** The newest recorded seq (0 before any frame). */
  newestSeq(): number {
    return this.frames[this.frames.length - 1]?.frame.seq ?? 0;
  }

  /**
   * What a page that last applied `lastSeq` needs: the frames after it, or (too old, or from the
   * future, e.g. a server restart) a snapshot of `model`. `lastSeq` undefined: a new page.
   */
  resume(lastSeq: number | undefined, model: Model): string[] {
    if (lastSeq === undefined) return [sseText(snapshotFrame(model))];
    const oldest = this.oldestSeq();
    if (lastSeq < oldest || lastSeq > model.seq) return [sseText(snapshotFrame(model, true))];
    return this.frames.filter((recorded) => recorded.frame.seq > lastSeq).map((recorded) => recorded.text);
  }

  /** The model as it was right after frame `seq`, or undefined if that is no longer kept. */
  stateAt(seq: number): Model | undefined {
    if (seq < this.oldestSeq() || seq > this.newestSeq()) return undefined;
    let base: Model | undefined;
    for (const keyframe of this.keyframes) if (keyframe.seq <= seq) base = keyframe;
    if (base === undefined) return undefined;
    const model = copyModel(base);
    for (const recorded of this.frames) {
      if (recorded.frame.seq <= model.seq) continue;
      if (recorded.frame.seq > seq) break;
      applyFrame(model, recorded.frame);
    }
    return model;
  }
}

/**
 * One frame as Server-Sent Events text: its seq is the event id, so a reconnect says where it was;
 * the data is the frame in its wire form (frameWire.ts).
 */
export function sseText(frame: Frame): string {
  return `id: ${frame.seq}\ndata: ${encodeFrame(frame)}\n\n`;
}

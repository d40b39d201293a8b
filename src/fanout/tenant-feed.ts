import type { RecordedEvent } from '../events/envelope.js';
import type { Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';
import { CommitSignal } from '../store/commit-signal.js';
import type { FeedProjection } from '../projections/fold-feed.js';
import { StateHistory } from './state-history.js';

/** An event rendered once for every subscriber (an SSE frame, say). */
export interface Frame {
  readonly position: number;
  readonly bytes: Uint8Array;
}

export interface TenantFeedDeps<S> {
  readonly store: EventStore;
  readonly projection: FeedProjection<S>;
  readonly render: (event: RecordedEvent) => Uint8Array;
  /** `STREAM_EVENT_KEEP`: frames held in memory for live and recently dropped subscribers. */
  readonly keep: number;
  /** A snapshot checkpoint every this many events of the tenant. */
  readonly checkpointEvery: number;
  readonly hubPosition: () => number;
}

/** Rendered frames a tenant keeps in memory at most, whatever `keep` says. */
const MAX_FRAME_BYTES = 32 * 1024 * 1024;

/**
 * One tenant's live state in the fan-out: its folded snapshot (and its history) and its latest
 * rendered frames. Subscribers at or after `coveredAfter` are served from memory; older ones from the
 * store. Either way they read what the log holds, so a subscriber never sees a gap.
 */
export class TenantFeed<S> {
  /** Position of the latest event of this tenant seen by the hub. */
  lastPosition: number;
  subscribers = 0;
  idleSince = Date.now();
  private frames: Frame[] = [];
  private bytes = 0;
  private coveredAfter: number;
  private readonly history: StateHistory<S>;
  private readonly signal = new CommitSignal();

  constructor(
    readonly tenant: Tenant,
    private readonly deps: TenantFeedDeps<S>,
  ) {
    this.coveredAfter = deps.hubPosition();
    this.lastPosition = this.coveredAfter;
    this.history = new StateHistory({ ...deps, tenant });
  }

  /** Called by the hub, in position order, for each new event of this tenant. */
  push(event: RecordedEvent): void {
    this.lastPosition = event.position;
    const frame = { position: event.position, bytes: this.deps.render(event) };
    this.frames.push(frame);
    this.bytes += frame.bytes.length;
    if (this.frames.length > this.deps.keep + this.deps.keep / 4 || this.bytes > MAX_FRAME_BYTES) this.trim();
    this.history.apply(event);
  }

  /** Back to `keep` frames and within MAX_FRAME_BYTES, dropping the oldest. */
  private trim(): void {
    let drop = Math.max(0, this.frames.length - this.deps.keep);
    let bytes = this.bytes;
    for (let i = 0; i < drop; i++) bytes -= this.frames[i]!.bytes.length;
    while (bytes > MAX_FRAME_BYTES * 0.75 && drop < this.frames.length - 1) bytes -= this.frames[drop++]!.bytes.length;
    if (drop === 0) return;
    this.coveredAfter = this.frames[drop - 1]!.position;
    this.frames = this.frames.slice(drop);
    this.bytes = bytes;
  }

  /** Wakes subscribers; the hub calls it once per batch. */
  notify(): void {
    this.signal.fire();
  }

  /** The current state and the hub position it is consistent with. */
  current(): Promise<{ state: S; position: number }> {
    return this.history.current();
  }

  /** The state exactly as it stood after `position`. */
  stateAt(position: number): Promise<S> {
    return this.history.at(position);
  }

  /**
   * Frames after `after`, oldest first, at most `limit`, and `through`: the position up to
   * which the reader has now seen every event of this tenant (past the last frame when the
   * page is not full), so it can wait from there.
   */
  async read(after: number, limit: number): Promise<{ frames: Frame[]; through: number }> {
    const seen = this.deps.hubPosition();
    let frames: Frame[];
    if (after >= this.coveredAfter) {
      const start = this.indexAfter(after);
      frames = this.frames.slice(start, start + limit);
    } else {
      const events = await this.deps.store.readFeed({ tenant: this.tenant, after, limit });
      frames = events.map((event) => ({ position: event.position, bytes: this.deps.render(event) }));
    }
    const last = frames.length > 0 ? frames[frames.length - 1]!.position : after;
    return { frames, through: frames.length === limit ? last : Math.max(last, seen) };
  }

  /** Resolves when an event after `after` exists, or when `signal` aborts. */
  async waitAfter(after: number, signal: AbortSignal): Promise<void> {
    if (this.lastPosition > after) return;
    await this.signal.next(signal);
  }

  /** Ends every wait: the hub is shutting down. */
  close(): void {
    this.signal.fire();
  }

  private indexAfter(position: number): number {
    let low = 0;
    let high = this.frames.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.frames[mid]!.position <= position) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

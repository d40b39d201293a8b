import type { RecordedEvent } from '../events/envelope.js';
import type { Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';
import type { FeedProjection } from '../projections/fold-feed.js';
import { indexAfter } from '../store/positions.js';
import { StateHistory } from './state-history.js';
import { spendProjection, type SpendState } from '../projections/finops.js';

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

export interface Page {
  readonly frames: Frame[];
  readonly through: number;
}

function page(frames: Frame[], after: number, limit: number, seen: number): Page {
  const last = frames.length > 0 ? frames[frames.length - 1]!.position : after;
  return { frames, through: frames.length === limit ? last : Math.max(last, seen) };
}

/** Rendered frames a tenant keeps in memory at most, whatever `keep` says. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

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
  private readonly spending: StateHistory<SpendState>;
  private waiting = new Set<() => void>();

  constructor(
    readonly tenant: Tenant,
    private readonly deps: TenantFeedDeps<S>,
  ) {
    this.coveredAfter = deps.hubPosition();
    this.lastPosition = this.coveredAfter;
    this.history = new StateHistory({ ...deps, tenant });
    // No time travel for spend: no checkpoints.
    this.spending = new StateHistory({
      ...deps,
      tenant,
      projection: spendProjection,
      checkpointEvery: Number.POSITIVE_INFINITY,
    });
  }

  /** Called by the hub, in position order, for each new event of this tenant. */
  push(event: RecordedEvent): void {
    this.lastPosition = event.position;
    const frame = { position: event.position, bytes: this.deps.render(event) };
    this.frames.push(frame);
    this.bytes += frame.bytes.length;
    if (this.frames.length > this.deps.keep + this.deps.keep / 4 || this.bytes > MAX_FRAME_BYTES) this.trim();
    this.history.apply(event);
    this.spending.apply(event);
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

  /** Wakes the readers waiting for new events; the hub calls it once per batch. */
  notify(): void {
    if (this.waiting.size === 0) return;
    const waiting = this.waiting;
    this.waiting = new Set();
    for (const wake of waiting) wake();
  }

  /** The current state and the hub position it is consistent with. */
  current(): Promise<{ state: S; position: number }> {
    return this.history.current();
  }

  /** The tenant's LLM spend so far (its calls are read from the log once, then followed). */
  async spend(): Promise<SpendState> {
    return (await this.spending.current()).state;
  }

  /** The state exactly as it stood after `position`, which the hub has reached. */
  stateAt(position: number): Promise<S> {
    return this.history.at(position, () => this.lastPosition);
  }

  /**
   * Frames after `after`, oldest first, at most `limit`, and `through`: the position up to
   * which the reader has now seen every event of this tenant (past the last frame when the
   * page is not full), so it can wait from there. Synchronous while memory covers `after`;
   * `undefined` when the page must come from the store (`readStored`).
   */
  readRecent(after: number, limit: number): Page | undefined {
    if (after < this.coveredAfter) return undefined;
    const start = indexAfter(this.frames, after);
    return page(this.frames.slice(start, start + limit), after, limit, this.deps.hubPosition());
  }

  /** Like `readRecent`, from the store: for readers too far behind for memory. */
  async readStored(after: number, limit: number): Promise<Page> {
    const seen = this.deps.hubPosition();
    // Never past the hub: a reader must not hold an id the hub (and so a resume) does not know.
    const events = await this.deps.store.readFeed({ tenant: this.tenant, after, upTo: seen, limit });
    const frames = events.map((event) => ({ position: event.position, bytes: this.deps.render(event) }));
    // The store cuts pages by bytes too: only an empty page says nothing is left up to `seen`.
    return { frames, through: frames.length > 0 ? frames[frames.length - 1]!.position : Math.max(after, seen) };
  }

  /** Calls `wake` once, at the next new events of this tenant. Returns a cancel function. */
  onNextEvents(wake: () => void): () => void {
    this.waiting.add(wake);
    return () => this.waiting.delete(wake);
  }

  /** Wakes every waiting reader one last time: the hub is shutting down. */
  close(): void {
    this.notify();
  }
}

import type { RecordedEvent } from '../events/envelope.js';
import type { Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';
import { FOLD_PAGE, feedQueryOf, foldAtMost, foldFeed, type FeedProjection } from '../projections/fold-feed.js';
import { feedPages } from '../store/feed-pages.js';
import { indexAfter } from '../store/positions.js';

export interface StateHistoryDeps<S> {
  readonly store: EventStore;
  readonly tenant: Tenant;
  readonly projection: FeedProjection<S>;
  /** A checkpoint is kept every this many events of the tenant. */
  readonly checkpointEvery: number;
  readonly hubPosition: () => number;
}

const MAX_CHECKPOINTS = 1024;

interface Checkpoint<S> {
  readonly position: number;
  readonly state: S;
}

/**
 * A tenant's folded state, kept current by the hub, with a checkpoint every so many events.
 * States are immutable, so a checkpoint is a reference, not a copy. The state as of a past
 * position is then the nearest checkpoint before it plus at most `checkpointEvery` events.
 */
export class StateHistory<S> {
  private state: S | undefined;
  private loading: Promise<S> | undefined;
  private pendingLive: RecordedEvent[] = [];
  private checkpoints: Checkpoint<S>[] = [];
  private sinceCheckpoint = 0;

  constructor(private readonly deps: StateHistoryDeps<S>) {}

  /** A new event of the tenant, in position order. */
  apply(event: RecordedEvent): void {
    if (this.state !== undefined) this.state = this.fold(this.state, event);
    else if (this.loading) this.pendingLive.push(event);
  }

  /** The current state and the hub position it is consistent with. */
  async current(): Promise<{ state: S; position: number }> {
    if (this.state === undefined) await this.load();
    // Read both in one synchronous step: the hub folds new events and advances its position
    // together, so the state holds every event up to the position, and none after it.
    return { state: this.state!, position: this.deps.hubPosition() };
  }

  /**
   * The state exactly as it stood after position `position` (at most the hub's position).
   * `lastEvent` tells where the tenant's latest event is: at or before `position`, the current
   * state is that state. The first call folds the tenant's history once, keeping checkpoints.
   */
  async at(position: number, lastEvent: () => number): Promise<S> {
    if (this.state === undefined) {
      // Near the tenant's start, a fold from nothing is cheaper than the whole history.
      const { store, tenant, projection, checkpointEvery } = this.deps;
      const early = await foldAtMost(
        store,
        tenant,
        projection,
        position,
        { state: projection.initialState(), position: 0 },
        checkpointEvery,
      );
      if (early !== undefined) return early;
      await this.load();
    }
    // Checked once loaded, in the same synchronous step as the state is read.
    if (position >= lastEvent()) return this.state!;
    const { store, tenant, projection } = this.deps;
    const from = this.checkpoints[indexAfter(this.checkpoints, position) - 1];
    return foldFeed(store, tenant, projection, position, from);
  }

  private fold(state: S, event: RecordedEvent): S {
    const next = this.deps.projection.evolve(state, event);
    if (next === state) return state;
    if (++this.sinceCheckpoint >= this.deps.checkpointEvery) {
      this.checkpoints.push({ position: event.position, state: next });
      this.sinceCheckpoint = 0;
      // A long history keeps every other old checkpoint: memory stays bounded, and time travel
      // into the distant past folds a little more.
      if (this.checkpoints.length > MAX_CHECKPOINTS) this.checkpoints = this.checkpoints.filter((_, i) => i % 2 === 1);
    }
    return next;
  }

  private load(): Promise<S> {
    this.loading ??= (async (): Promise<S> => {
      const { store, tenant, projection } = this.deps;
      const upTo = this.deps.hubPosition();
      let state = projection.initialState();
      for await (const page of feedPages(store, feedQueryOf(projection, { tenant, upTo }), FOLD_PAGE)) {
        for (const event of page) state = this.fold(state, event);
      }
      for (const event of this.pendingLive) state = this.fold(state, event);
      this.pendingLive = [];
      this.state = state;
      return state;
    })().catch((error: unknown) => {
      this.loading = undefined;
      this.pendingLive = [];
      this.checkpoints = [];
      this.sinceCheckpoint = 0;
      throw error;
    });
    return this.loading;
  }
}

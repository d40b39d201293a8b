import type { Tenant } from '../events/tenant.js';
import type { FeedHub } from '../fanout/feed-hub.js';
import type { LiveExecutors, Snapshot, SnapshotProjection, SnapshotState } from '../projections/snapshot.js';

export interface SnapshotViewDeps {
  readonly hub: FeedHub<SnapshotState>;
  readonly projection: SnapshotProjection;
  /** The worker processes as the supervisor knows them now (distributed mode). */
  readonly liveExecutors?: () => LiveExecutors;
  readonly now: () => Date;
}

/**
 * A tenant's snapshot as served: the folded state at `position`, with today's worker processes
 * when it is the current one (`current`: a stream about to go live). Snapshots of the past show
 * the executors as the log had them.
 */
export function snapshotView(
  deps: SnapshotViewDeps,
  state: SnapshotState,
  at: { tenant: Tenant; position: number; current?: boolean },
): Snapshot {
  const live = at.current === true || at.position >= deps.hub.position ? deps.liveExecutors?.() : undefined;
  return deps.projection.view(state, { ...at, timestamp: deps.now().toISOString() }, live);
}

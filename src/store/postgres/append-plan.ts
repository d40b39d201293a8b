import { checkAppend, type Conflict } from '../append-checks.js';
import { chainLink, GENESIS } from '../chain.js';
import type { EventToAppend, ExpectedRevision } from '../event-store.js';

/** An event as stored: the tenant as its key, data and metadata as their JSON text. */
export interface StoredEvent {
  readonly position: number;
  readonly tenant: string;
  readonly stream: string;
  readonly revision: number;
  readonly event_id: string;
  readonly type: string;
  readonly version: number;
  readonly data: string;
  readonly metadata: string;
}

/** An event to append with its data and metadata already turned into JSON text. */
export type SerializedEvent = Pick<StoredEvent, 'event_id' | 'type' | 'version' | 'data' | 'metadata'>;

export interface AppendRequest {
  /** The tenant's key. */
  readonly tenant: string;
  readonly stream: string;
  readonly events: readonly SerializedEvent[];
  readonly expected: ExpectedRevision;
}

/** Throws what JSON.stringify throws (a BigInt, a cycle). */
export const serialize = ({ event_id, type, version, data, metadata }: EventToAppend): SerializedEvent => ({
  event_id,
  type,
  version,
  data: JSON.stringify(data) ?? 'null',
  metadata: JSON.stringify(metadata),
});

/** What the log holds for the streams, tenants and event ids of a batch, read under the append lock. */
export interface LogState {
  /** The last position of the log. */
  head: number;
  /** The last revision of each existing stream, by `streamKey`. */
  readonly revisions: Map<string, number>;
  /** The last chain link of each tenant that has one. */
  readonly links: Map<string, string>;
  /** The events already stored under one of the batch's ids. */
  readonly known: Map<string, StoredEvent>;
}

export type AppendOutcome =
  | { readonly kind: 'appended'; readonly revision: number; readonly rows: readonly StoredEvent[] }
  | { readonly kind: 'duplicate'; readonly revision: number; readonly rows: readonly StoredEvent[] }
  | Conflict;

export interface BatchPlan {
  /** One per append, in the batch's order. */
  readonly outcomes: AppendOutcome[];
  /** What to insert, in position order. */
  readonly rows: Array<StoredEvent & { chain: string }>;
  /** The new last link of each tenant written to. */
  readonly heads: Map<string, { position: number; chain: string }>;
}

export const streamKey = (tenant: string, stream: string): string => `${tenant}\u0000${stream}`;

/**
 * Decides every append of a batch against `state`, in order, as if each were committed before
 * the next: positions follow the head with no hole, a refused append writes nothing and fails
 * alone. `state` is advanced as the batch is planned.
 */
export function planBatch(appends: readonly AppendRequest[], state: LogState): BatchPlan {
  const plan: BatchPlan = { outcomes: [], rows: [], heads: new Map() };
  for (const append of appends) plan.outcomes.push(planAppend(append, state, plan));
  return plan;
}

function planAppend(append: AppendRequest, state: LogState, plan: BatchPlan): AppendOutcome {
  const { tenant, stream, events } = append;
  const actual = state.revisions.get(streamKey(tenant, stream)) ?? -1;
  const refused = checkAppend(append, actual, (id) => state.known.get(id));
  if (refused) return refused;
  let link = state.links.get(tenant) ?? GENESIS;
  const rows = events.map((event, i): StoredEvent => {
    const { event_id, type, version, data, metadata } = event;
    const row: StoredEvent = {
      position: state.head + 1 + i,
      tenant,
      stream,
      revision: actual + 1 + i,
      event_id,
      type,
      version,
      data,
      metadata,
    };
    link = chainLink(link, row);
    plan.rows.push({ chain: link, ...row });
    state.known.set(row.event_id, row);
    return row;
  });
  if (rows.length > 0) {
    state.head += rows.length;
    state.revisions.set(streamKey(tenant, stream), actual + rows.length);
    state.links.set(tenant, link);
    plan.heads.set(tenant, { position: state.head, chain: link });
  }
  return { kind: 'appended', revision: actual + events.length, rows };
}

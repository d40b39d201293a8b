import type { DomainEvent } from '../events/envelope.js';
import { currentVersion, validateEvent } from '../events/registry.js';
import type { Tenant } from '../events/tenant.js';
import type { AppendResult, EventStore, EventToAppend, ExpectedRevision } from '../store/event-store.js';
import type { CommandMetadata } from './decider.js';

export interface StreamTarget {
  readonly tenant: Tenant;
  readonly stream: string;
}

/** Events and the metadata of what caused them: who, why, and the caller's time. */
export interface Decided {
  readonly events: readonly DomainEvent[];
  readonly metadata: CommandMetadata;
}

/**
 * The one write path: every event NEXUS records reaches the store through here, checked
 * against its schema, at its type's current version, stamped with the time the caller gives.
 *
 * @example
 *   await appendEvents(store, { tenant, stream }, [{ events: [joined], metadata }], 'no_stream', newId);
 */
export function appendEvents(
  store: EventStore,
  target: StreamTarget,
  decided: readonly Decided[],
  expected: ExpectedRevision,
  newEventId: () => string,
): Promise<AppendResult> {
  const envelopes = decided.flatMap(({ events, metadata }) =>
    events.map((event) => envelope(event, metadata, newEventId())),
  );
  return store.append(target.tenant, target.stream, envelopes, expected);
}

function envelope(event: DomainEvent, metadata: CommandMetadata, eventId: string): EventToAppend {
  const { correlation_id, now, actor, causation_id } = metadata;
  return {
    event_id: eventId,
    type: event.type,
    version: currentVersion(event.type),
    data: definedFields(validateEvent(event)),
    metadata: definedFields({ correlation_id, occurred_at: now.toISOString(), actor, causation_id }),
  };
}

/**
 * Optional fields given as `undefined` are left out, as JSON leaves them out: every engine,
 * the in-memory one too, holds the same data, and writers may pass an optional field as it is.
 */
function definedFields<T>(data: T): T {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).filter(([, value]) => value !== undefined)) as T;
}

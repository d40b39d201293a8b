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
export function appendEvents(store: EventStore, target: StreamTarget, decided: readonly Decided[], expected: ExpectedRevision, newEventId: () => string): Promise<AppendResult> {
  const envelopes = decided.flatMap(({ events, metadata }) => events.map((event) => envelope(event, metadata, newEventId())));
  return store.append(target.tenant, target.stream, envelopes, expected);
}

function envelope(event: DomainEvent, metadata: CommandMetadata, eventId: string): EventToAppend {
  return {
    event_id: eventId,
    type: event.type,
    version: currentVersion(event.type),
    data: validateEvent(event),
    metadata: {
      correlation_id: metadata.correlation_id,
      occurred_at: metadata.now.toISOString(),
      actor: metadata.actor,
      ...(metadata.causation_id === undefined ? {} : { causation_id: metadata.causation_id }),
    },
  };
}

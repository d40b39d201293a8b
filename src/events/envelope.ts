import type { NexusEvent } from './registry.js';
import type { Tenant } from './tenant.js';

/** What a decider emits: a fact with a type and its data. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  readonly type: Type;
  readonly data: Data;
}

/** Facts about the recording, not about the domain: who, why and when. */
export interface EventMetadata {
  readonly correlation_id: string;
  /** The id of the command or event that caused this one. */
  readonly causation_id?: string;
  /** ISO-8601 time at which the deciding command was handled. */
  readonly occurred_at: string;
  /** The principal on whose behalf the event was recorded. */
  readonly actor?: string;
}

/** The envelope every stored event carries once it has a place in the log. */
export interface EventEnvelope {
  /** Global, strictly increasing position in the whole log: the SSE `id:`. */
  readonly position: number;
  readonly tenant: Tenant;
  readonly stream: string;
  /** 0-based index of the event in its stream. */
  readonly revision: number;
  readonly event_id: string;
  readonly version: number;
  readonly metadata: EventMetadata;
}

/**
 * An event as read back from the log: upcast to its current version, so typed by `type` (which
 * narrows, as the type distributes over the union).
 */
export type RecordedEvent<E extends DomainEvent = NexusEvent> = E & EventEnvelope;

/**
 * An event as an adapter read or wrote it, typed by its `type`: the one place where an engine's
 * rows become `RecordedEvent`s. Sound because events reach the store through the write path
 * (`commands/append-events.ts`), which validates them, and reads upcast them to their current version.
 */
export const typedEvent = (event: EventEnvelope & { readonly type: string; readonly data: unknown }): RecordedEvent =>
  event as RecordedEvent;

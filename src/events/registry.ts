import type { EventDefinition } from './define-event.js';
import type { DomainEvent } from './envelope.js';
import { commandLifeEvents, type CommandLifeEvent } from './command-events.js';
import { tenantEvents, type TenantEvent } from './tenant-events.js';
import { executorEvents, type ExecutorEvent } from './executor-events.js';
import { progressEvents, type TaskProgressed } from './progress-events.js';
import { llmEvents, type LlmEvent } from './llm-events.js';

/** Every event NEXUS writes. */
export type NexusEvent = CommandLifeEvent | TenantEvent | ExecutorEvent | TaskProgressed | LlmEvent;

const definitions = new Map<string, EventDefinition>(
  [...commandLifeEvents, ...tenantEvents, ...executorEvents, ...progressEvents, ...llmEvents].map((definition) => [
    definition.type,
    definition,
  ]),
);

export class UnknownEventTypeError extends Error {
  constructor(readonly eventType: string) {
    super(`unknown event type "${eventType}"`);
    this.name = 'UnknownEventTypeError';
  }
}

export class InvalidEventError extends Error {
  constructor(
    readonly eventType: string,
    readonly issues: string,
  ) {
    super(`event ${eventType} does not match its schema: ${issues}`);
    this.name = 'InvalidEventError';
  }
}

function definitionOf(type: string): EventDefinition {
  const definition = definitions.get(type);
  if (!definition) throw new UnknownEventTypeError(type);
  return definition;
}

/** The current version of an event type: what gets written with it. */
export const currentVersion = (type: string): number => definitionOf(type).version;

/** Checks an event against its schema before it is appended; returns the parsed data. */
export function validateEvent(event: DomainEvent): unknown {
  const result = definitionOf(event.type).schema.safeParse(event.data);
  if (!result.success) {
    throw new InvalidEventError(
      event.type,
      result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  }
  return result.data;
}

/** Lifts stored data of an older version to the current shape. Unknown types pass through. */
export function upcast(type: string, version: number, data: unknown): unknown {
  const definition = definitions.get(type);
  if (!definition) return data;
  let lifted = data;
  for (let v = version; v < definition.version; v++) {
    const lift = definition.upcasters[v];
    if (!lift) throw new Error(`no upcaster for ${type} v${v} -> v${v + 1}`);
    lifted = lift(lifted);
  }
  return lifted;
}

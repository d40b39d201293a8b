import type { z } from 'zod';
import type { DomainEvent } from './envelope.js';

/**
 * A versioned event type: its name, the current version of its data and the zod schema of
 * that version. A breaking change bumps `version` and adds an upcaster from the old one;
 * events on disk are never rewritten.
 *
 * @example
 *   const taskQueued = defineEvent('TaskQueued', 1, z.object({ task_id: z.string() }));
 *   type TaskQueued = EventOf<typeof taskQueued>;
 */
export interface EventDefinition<Type extends string = string, Schema extends z.ZodType = z.ZodType> {
  readonly type: Type;
  readonly version: number;
  readonly schema: Schema;
  /** Keyed by the version an upcaster lifts *from*; each returns data of the next version. */
  readonly upcasters: Readonly<Record<number, (data: unknown) => unknown>>;
}

export function defineEvent<Type extends string, Schema extends z.ZodType>(
  type: Type,
  version: number,
  schema: Schema,
  upcasters: Readonly<Record<number, (data: unknown) => unknown>> = {},
): EventDefinition<Type, Schema> {
  return { type, version, schema, upcasters };
}

export type EventOf<D extends EventDefinition> = DomainEvent<D['type'], z.infer<D['schema']>>;

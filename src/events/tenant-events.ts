import { z } from 'zod';
import { defineEvent, type EventOf } from './define-event.js';

// Facts about a tenant as a whole, each in a stream of its own: `autopilot` and `memory`.

const by = { by: z.string(), reason: z.string().optional() };

/** Operators stopped dispatching: commands are still accepted and recorded. */
export const autopilotPaused = defineEvent('AutopilotPaused', 1, z.object(by));
export const autopilotResumed = defineEvent('AutopilotResumed', 1, z.object(by));

/** A key of the tenant's memory, which agents read and write. */
export const memorySet = defineEvent('MemorySet', 1, z.object({ key: z.string(), value: z.unknown(), by: z.string() }));
export const memoryDeleted = defineEvent('MemoryDeleted', 1, z.object({ key: z.string(), by: z.string() }));

export type AutopilotPaused = EventOf<typeof autopilotPaused>;
export type AutopilotResumed = EventOf<typeof autopilotResumed>;
export type MemorySet = EventOf<typeof memorySet>;
export type MemoryDeleted = EventOf<typeof memoryDeleted>;
export type AutopilotEvent = AutopilotPaused | AutopilotResumed;
export type MemoryEvent = MemorySet | MemoryDeleted;
export type TenantEvent = AutopilotEvent | MemoryEvent;

export const tenantEvents = [autopilotPaused, autopilotResumed, memorySet, memoryDeleted] as const;

export const AUTOPILOT_STREAM = 'autopilot';
export const MEMORY_STREAM = 'memory';

import { z } from 'zod';
import { defineEvent, type EventOf } from './define-event.js';
import type { Tenant } from './tenant.js';

// Worker processes joining and leaving, in a tenant of NEXUS's own that no client can address
// (tenant ids start with a letter or digit), one stream per worker.

export const EXECUTORS_TENANT: Tenant = { org_id: '_nexus', project_id: '_executors' };
export const workerStream = (workerId: string): string => `worker-${workerId}`;

export const workerJoined = defineEvent(
  'WorkerJoined',
  1,
  z.object({ worker_id: z.string(), capabilities: z.array(z.string()), host: z.string(), pid: z.number().int() }),
);

/** `shutdown`: it said goodbye; `lost`: its heartbeats stopped. */
export const workerLeft = defineEvent(
  'WorkerLeft',
  1,
  z.object({ worker_id: z.string(), reason: z.enum(['shutdown', 'lost']) }),
);

export type WorkerJoined = EventOf<typeof workerJoined>;
export type WorkerLeft = EventOf<typeof workerLeft>;
export type ExecutorEvent = WorkerJoined | WorkerLeft;

export const executorEvents = [workerJoined, workerLeft] as const;

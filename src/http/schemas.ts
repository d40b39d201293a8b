import { z } from 'zod';

/** An event position in a query or header: a non-negative integer. */
export const position = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const reportSchema = z.object({
  report_id: z.string(),
  report_type: z.string(),
  position: z.number().int(),
  correlation_id: z.string(),
  command_id: z.string().nullable(),
  task_id: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
  timestamp: z.string(),
});

export const snapshotSchema = z.object({
  autopilot: z.object({
    status: z.enum(['idle', 'running', 'paused']),
    queued: z.number(),
    running: z.number(),
    awaiting_approval: z.number(),
    dead_lettered: z.number(),
  }),
  worklog: z.array(z.record(z.string(), z.unknown())),
  asks: z.array(z.record(z.string(), z.unknown())),
  memory: z.record(z.string(), z.unknown()),
  sidecar: z.record(z.string(), z.unknown()),
  dead_letters: z
    .array(z.record(z.string(), z.unknown()))
    .meta({ description: 'Dead-lettered tasks not yet requeued or discarded' }),
  org_id: z.string(),
  project_id: z.string(),
  position: z.number().int(),
  timestamp: z.string(),
});

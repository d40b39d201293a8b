import { z } from 'zod';

export const riskLevelSchema = z.enum(['GREEN', 'YELLOW', 'RED']);
export type RiskLevel = z.infer<typeof riskLevelSchema>;

export const failureSchema = z.object({
  /** A stable code that drives retries and triage, e.g. `TASK_TIMEOUT`, `WORKER_LOST`. */
  code: z.string(),
  message: z.string(),
});
export type Failure = z.infer<typeof failureSchema>;

/** Every event of a command's life names it, so reports and views need no lookup. */
export const ids = { command_id: z.string(), task_id: z.string(), command_type: z.string() };
export const paramsSchema = z.record(z.string(), z.unknown());

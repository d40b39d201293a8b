import { z } from 'zod';
import { tenantSchema, type Tenant } from '../events/tenant.js';

/**
 * What goes through the task queue: which command's task, which attempt. Never the state:
 * the worker reads that from the log, which decides.
 */
export const taskMessageSchema = z.object({
  tenant: tenantSchema,
  command_id: z.string(),
  correlation_id: z.string(),
  attempt: z.number().int().nonnegative(),
});
export type TaskMessage = z.infer<typeof taskMessageSchema> & { readonly tenant: Tenant };

export const encodeTaskMessage = (message: TaskMessage): Buffer => Buffer.from(JSON.stringify(message));

/** The message, or undefined for one that is not ours (it is then dropped, and logged). */
export function decodeTaskMessage(content: Buffer): TaskMessage | undefined {
  try {
    const parsed = taskMessageSchema.safeParse(JSON.parse(content.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Thrown by a message's handler: the message goes back to the queue (nacked), for this worker or another to try later. */
export class NotNowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotNowError';
  }
}

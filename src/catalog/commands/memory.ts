import { z } from 'zod';
import { defineCommand } from '../define-command.js';

const key = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7E]+$/, 'must be visible ASCII');

/** GREEN: writes a key of the tenant's memory (snapshot.memory), which agents read. */
export const memorySetCommand = defineCommand({
  type: 'memory.set',
  risk: 'GREEN',
  description: "Set a key of the project's memory",
  params: z.object({ key, value: z.unknown().refine((value) => value !== undefined, 'is required') }),
  handler: async ({ key: name, value }, { memory }) => {
    await memory.set(name, value);
    return { key: name };
  },
});

/** GREEN: removes a key of the tenant's memory. */
export const memoryDeleteCommand = defineCommand({
  type: 'memory.delete',
  risk: 'GREEN',
  description: "Delete a key of the project's memory",
  params: z.object({ key }),
  handler: async ({ key: name }, { memory }) => {
    await memory.delete(name);
    return { key: name, deleted: true };
  },
});

import { z } from 'zod';
import { defineCommand } from '../define-command.js';

/** GREEN: answers its params. The smallest end-to-end check of a NEXUS. */
export const echoTest = defineCommand({
  type: 'echo.test',
  risk: 'GREEN',
  description: 'Answer the params unchanged',
  params: z.record(z.string(), z.unknown()),
  handler: (params) => ({ echo: params }),
});

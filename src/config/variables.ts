import { accessVariables } from './access-variables.js';
import { contentVariables } from './content-variables.js';
import { distributedVariables } from './distributed-variables.js';
import { integrationsVariables } from './integrations-variables.js';
import { limitsVariables } from './limits-variables.js';
import { llmVariables } from './llm-variables.js';
import { serverVariables } from './server-variables.js';

/**
 * Every setting NEXUS reads, by name, in the order of `.env.example` (which
 * `scripts/env-example.ts` writes from this object; a test keeps the README in step).
 */
export const variables = {
  ...accessVariables,
  ...serverVariables,
  ...limitsVariables,
  ...distributedVariables,
  ...integrationsVariables,
  ...llmVariables,
  ...contentVariables,
};

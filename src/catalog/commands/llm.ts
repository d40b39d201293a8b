import { z } from 'zod';
import { schemaLimitProblem } from '../../llm/json-schema-validator.js';
import { defineCommand } from '../define-command.js';

const common = {
  prompt: z.string().min(1).max(200_000),
  system: z.string().max(50_000).optional(),
  /** Keys of the tenant's memory to give the model as context. */
  memory_keys: z.array(z.string().min(1)).max(50).optional(),
  /** The longest answer (and what the budget reserves for). */
  max_tokens: z.number().int().positive().max(64_000).default(1024),
};

/** `llm.complete`: prompt → text, through the handler context's LLMs (router, budget, record). */
export const llmComplete = defineCommand({
  type: 'llm.complete',
  risk: 'GREEN',
  description: 'Ask the configured LLM for a text answer',
  params: z.object({
    ...common,
    /** Stream the answer, reporting its growth as task_progress. */ stream: z.boolean().default(false),
  }),
  handler: (params, { llm }) => llm.complete(params),
});

/** `llm.extract`: prompt + JSON Schema → an object valid against it. */
export const llmExtract = defineCommand({
  type: 'llm.extract',
  risk: 'GREEN',
  description: 'Ask the configured LLM for an object that matches a JSON Schema',
  params: z.object({
    ...common,
    /** Refused at the door past SCHEMA_MAX_DEPTH or SCHEMA_MAX_BYTES; compiled (or refused: INVALID_SCHEMA) when the task runs. */
    schema: z.record(z.string(), z.unknown()).superRefine((schema, context) => {
      const problem = schemaLimitProblem(schema);
      if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
    }),
  }),
  handler: (params, { llm }) => llm.extract(params),
});

import { z } from 'zod';
import { defineEvent, type EventOf } from './define-event.js';
import { ids } from './shared-schemas.js';

// LLM spend. A tenant's day of spend is one stream, `llm-budget-<YYYY-MM-DD>`: a call reserves
// its most expensive outcome before it is made (so concurrent calls cannot overshoot the daily
// budget), then settles at what it cost, with the call's record (`LLM_AUDIT_ENABLED`).

const money = z.number().nonnegative();

export const llmBudgetReserved = defineEvent(
  'LlmBudgetReserved',
  1,
  z.object({ ...ids, reservation_id: z.string(), amount_usd: money, budget_usd: money }),
);

export const llmCallRecorded = defineEvent(
  'LlmCallRecorded',
  1,
  z.object({
    ...ids,
    reservation_id: z.string(),
    reserved_usd: money,
    /** Absent when every provider failed before answering. */
    provider: z.string().optional(),
    model: z.string().optional(),
    input_tokens: z.number().int().nonnegative(),
    output_tokens: z.number().int().nonnegative(),
    cost_usd: money,
    latency_ms: z.number().nonnegative(),
    /** `ok`, or the failure code. */
    outcome: z.string(),
    /** Whether the model had a price in the table (unpriced models cost 0). */
    priced: z.boolean(),
  }),
);

/** A provider's circuit breaker opened or closed; in NEXUS's own log (`LLM_TENANT`), one stream per provider. */
export const llmBreakerChanged = defineEvent(
  'LlmBreakerChanged',
  1,
  z.object({ provider: z.string(), change: z.enum(['opened', 'closed']) }),
);

export const LLM_TENANT = { org_id: '_nexus', project_id: '_llm' } as const;
export const breakerStream = (provider: string): string => `breaker-${provider}`;

export type LlmBudgetReserved = EventOf<typeof llmBudgetReserved>;
export type LlmBreakerChanged = EventOf<typeof llmBreakerChanged>;
export type LlmCallRecorded = EventOf<typeof llmCallRecorded>;
export type LlmEvent = LlmBudgetReserved | LlmCallRecorded | LlmBreakerChanged;
export const llmEvents = [llmBudgetReserved, llmCallRecorded, llmBreakerChanged] as const;

export const llmBudgetStream = (day: string): string => `llm-budget-${day}`;

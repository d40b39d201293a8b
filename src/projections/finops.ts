import type { RecordedEvent } from '../events/envelope.js';

export interface Spend {
  readonly calls: number;
  readonly failed: number;
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cost_usd: number;
}

export interface FinopsSummary {
  readonly total: Spend;
  readonly by_day: Record<string, Spend>;
  readonly by_provider: Record<string, Spend>;
  readonly by_model: Record<string, Spend>;
  readonly by_command_type: Record<string, Spend>;
}

/** One day of a tenant's spend, by provider, model and command type. */
interface DaySpend {
  readonly total: Spend;
  readonly by_provider: Readonly<Record<string, Spend>>;
  readonly by_model: Readonly<Record<string, Spend>>;
  readonly by_command_type: Readonly<Record<string, Spend>>;
}

/** A tenant's spend so far, by day: what `GET /finops` sums from. */
export interface SpendState {
  readonly position: number;
  readonly days: Readonly<Record<string, DaySpend>>;
}

const NONE: Spend = { calls: 0, failed: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };

const plus = (a: Spend, b: Spend): Spend => ({
  calls: a.calls + b.calls,
  failed: a.failed + b.failed,
  input_tokens: a.input_tokens + b.input_tokens,
  output_tokens: a.output_tokens + b.output_tokens,
  cost_usd: a.cost_usd + b.cost_usd,
});

const addTo = (into: Readonly<Record<string, Spend>>, key: string, spend: Spend): Record<string, Spend> =>
  Object.assign({}, into, { [key]: plus(into[key] ?? NONE, spend) });

/**
 * The spend projection: LLM calls (`LlmCallRecorded`) summed per day, kept as the tenant's
 * events arrive, so `GET /finops` never scans the log. Only its `types` are ever read for it.
 */
export const spendProjection = {
  types: ['LlmCallRecorded'] as const,
  initialState: (): SpendState => ({ position: 0, days: {} }),
  evolve(state: SpendState, recorded: RecordedEvent): SpendState {
    if (recorded.type !== 'LlmCallRecorded' || recorded.position <= state.position) return state;
    const call = recorded.data;
    const spend: Spend = {
      calls: 1,
      failed: call.outcome === 'ok' ? 0 : 1,
      input_tokens: call.input_tokens,
      output_tokens: call.output_tokens,
      cost_usd: call.cost_usd,
    };
    const day = recorded.metadata.occurred_at.slice(0, 10);
    const before = state.days[day] ?? { total: NONE, by_provider: {}, by_model: {}, by_command_type: {} };
    const after: DaySpend = {
      total: plus(before.total, spend),
      by_provider: addTo(before.by_provider, call.provider ?? 'none', spend),
      by_model: addTo(before.by_model, call.model ?? 'none', spend),
      by_command_type: addTo(before.by_command_type, call.command_type, spend),
    };
    return { position: recorded.position, days: Object.assign({}, state.days, { [day]: after }) };
  },
};

/** The spend of the days on or after `since` (YYYY-MM-DD; every day when absent), summed. */
export function summarizeSpend(state: SpendState, since?: string): FinopsSummary {
  const summary = {
    total: NONE,
    by_day: {} as Record<string, Spend>,
    by_provider: {} as Record<string, Spend>,
    by_model: {} as Record<string, Spend>,
    by_command_type: {} as Record<string, Spend>,
  };
  const merge = (into: Record<string, Spend>, from: Readonly<Record<string, Spend>>) => {
    for (const [key, spend] of Object.entries(from)) into[key] = plus(into[key] ?? NONE, spend);
  };
  for (const [day, spend] of Object.entries(state.days).sort(([a], [b]) => a.localeCompare(b))) {
    if (since !== undefined && day < since) continue;
    summary.total = plus(summary.total, spend.total);
    summary.by_day[day] = spend.total;
    merge(summary.by_provider, spend.by_provider);
    merge(summary.by_model, spend.by_model);
    merge(summary.by_command_type, spend.by_command_type);
  }
  return summary;
}

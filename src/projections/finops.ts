import type { RecordedEvent } from '../events/envelope.js';
import type { LlmCallRecorded } from '../events/llm-events.js';

export interface Spend {
  calls: number;
  failed: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export interface FinopsSummary {
  readonly total: Spend;
  readonly by_day: Record<string, Spend>;
  readonly by_provider: Record<string, Spend>;
  readonly by_model: Record<string, Spend>;
  readonly by_command_type: Record<string, Spend>;
}

const empty = (): Spend => ({ calls: 0, failed: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 });

function add(into: Record<string, Spend>, key: string, call: LlmCallRecorded['data']): void {
  const spend = (into[key] ??= empty());
  spend.calls++;
  if (call.outcome !== 'ok') spend.failed++;
  spend.input_tokens += call.input_tokens;
  spend.output_tokens += call.output_tokens;
  spend.cost_usd += call.cost_usd;
}

/** LLM spend summed by day, provider, model and command type, from the `LlmCallRecorded` events. */
export function summarizeSpend(events: Iterable<RecordedEvent>): FinopsSummary {
  const summary: FinopsSummary = { total: empty(), by_day: {}, by_provider: {}, by_model: {}, by_command_type: {} };
  const total: Record<string, Spend> = { all: summary.total };
  for (const event of events) {
    if (event.type !== 'LlmCallRecorded') continue;
    const call = event.data as LlmCallRecorded['data'];
    add(total, 'all', call);
    add(summary.by_day, event.metadata.occurred_at.slice(0, 10), call);
    add(summary.by_provider, call.provider ?? 'none', call);
    add(summary.by_model, call.model ?? 'none', call);
    add(summary.by_command_type, call.command_type, call);
  }
  return summary;
}

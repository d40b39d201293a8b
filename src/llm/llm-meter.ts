import { TaskFailure } from '../catalog/define-command.js';
import { BudgetExceededError, llmBudgetDecider, type LlmBudgetCommand } from '../commands/llm-budget.js';
import { handleCommand } from '../commands/handle-command.js';
import { llmBudgetStream } from '../events/llm-events.js';
import type { Tenant } from '../events/tenant.js';
import type { EventStore } from '../store/event-store.js';
import type { LlmProvider } from './providers.js';
import type { Routed } from './router.js';

/** US dollars per million tokens. */
export interface ModelPrice {
  readonly input_per_mtok: number;
  readonly output_per_mtok: number;
}
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** List prices of the default models; `LLM_PRICES` adds to and overrides them. */
export const DEFAULT_PRICES: PriceTable = {
  'claude-sonnet-4-5-20250929': { input_per_mtok: 3, output_per_mtok: 15 },
  'gpt-4': { input_per_mtok: 30, output_per_mtok: 60 },
  'gemini-3-flash-preview': { input_per_mtok: 0.5, output_per_mtok: 3 },
  'glm-4.6': { input_per_mtok: 0.6, output_per_mtok: 2.2 },
};

export interface MeterOptions {
  readonly store: EventStore;
  /** Per tenant and day; absent: no budget. */
  readonly budgetUsd?: number;
  /** Record every call (`LlmCallRecorded`) even without a budget. */
  readonly audit: boolean;
  readonly prices: PriceTable;
  readonly now: () => Date;
  readonly newEventId: () => string;
}

export interface MeteredCall {
  readonly tenant: Tenant;
  readonly correlation_id: string;
  readonly actor: string;
  readonly ids: { command_id: string; task_id: string; command_type: string };
  /** What the call may send and receive at most, for the reservation. */
  readonly prompt_chars: number;
  readonly max_output_tokens: number;
  /** The providers the call may end up on: the reservation covers the dearest. */
  readonly providers: readonly LlmProvider[];
}

type Usage = { usage: { inputTokens: number | undefined; outputTokens: number | undefined } };

/** Conservative: most text is 3-4 characters a token, so this over-reserves rather than under. */
const tokensIn = (chars: number) => Math.ceil(chars / 2) + 16;

/**
 * Meters LLM calls: reserves the most a call can cost before it is made, against the tenant's
 * daily budget (concurrent calls cannot overshoot: reservations are appended at the day's
 * stream revision), then records what it cost. Over budget, the call is not made and the task
 * fails with BUDGET_EXCEEDED (not retried; triage holds it).
 */
export class LlmMeter {
  constructor(private readonly options: MeterOptions) {}

  costOf(model: string, input: number, output: number): { cost_usd: number; priced: boolean } {
    const price = this.options.prices[model];
    if (!price) return { cost_usd: 0, priced: false };
    return { cost_usd: (input * price.input_per_mtok + output * price.output_per_mtok) / 1e6, priced: true };
  }

  async metered<T extends Usage>(call: MeteredCall, run: () => Promise<Routed<T>>): Promise<Routed<T>> {
    const { budgetUsd, audit } = this.options;
    if (budgetUsd === undefined && !audit) return run();
    const day = this.options.now().toISOString().slice(0, 10);
    const reservation_id = this.options.newEventId();
    const amount_usd = Math.max(
      0,
      ...call.providers.map((p) => this.costOf(p.model, tokensIn(call.prompt_chars), call.max_output_tokens).cost_usd),
    );
    await this.record(call, day, {
      type: 'ReserveBudget',
      data: { ...call.ids, reservation_id, amount_usd, budget_usd: budgetUsd ?? Number.MAX_SAFE_INTEGER },
      metadata: this.metadata(call),
    }).catch((error: unknown) => {
      if (error instanceof BudgetExceededError) throw new TaskFailure('BUDGET_EXCEEDED', error.message);
      throw error;
    });
    const started = performance.now();
    const settle = (outcome: string, routed?: Routed<T>) => {
      const input = routed?.value.usage.inputTokens ?? 0;
      const output = routed?.value.usage.outputTokens ?? 0;
      const { cost_usd, priced } = routed ? this.costOf(routed.model, input, output) : { cost_usd: 0, priced: false };
      return this.record(call, day, {
        type: 'SettleCall',
        data: {
          ...call.ids,
          reservation_id,
          ...(routed ? { provider: routed.provider, model: routed.model } : {}),
          input_tokens: input,
          output_tokens: output,
          cost_usd,
          latency_ms: Math.round(performance.now() - started),
          outcome,
          priced,
        },
        metadata: this.metadata(call),
      });
    };
    let routed: Routed<T>;
    try {
      routed = await run();
    } catch (error) {
      await settle(error instanceof TaskFailure ? error.code : 'ERROR');
      throw error;
    }
    await settle('ok', routed);
    return routed;
  }

  private metadata(call: MeteredCall) {
    return { now: this.options.now(), correlation_id: call.correlation_id, actor: call.actor };
  }

  private record(call: MeteredCall, day: string, command: LlmBudgetCommand) {
    // Many calls of one tenant share the day's stream: conflicts are expected and retried.
    return handleCommand(
      this.options.store,
      llmBudgetDecider,
      { tenant: call.tenant, stream: llmBudgetStream(day) },
      command,
      {
        newEventId: this.options.newEventId,
        maxTries: 200,
      },
    );
  }
}

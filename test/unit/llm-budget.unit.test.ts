import { describe, it } from 'vitest';
import {
  BudgetExceededError,
  llmBudgetDecider,
  type LlmBudgetCommand,
  type SettleCall,
} from '../../src/commands/llm-budget.js';
import type { LlmEvent } from '../../src/events/llm-events.js';
import { deciderSpec } from '../support/decider-spec.js';
import { metadata } from '../support/fixtures.js';

// A tenant's day of LLM spend: a call reserves its most expensive outcome before it is made, so
// concurrent calls cannot overshoot the daily budget, then settles at what it cost.

const spec = deciderSpec(llmBudgetDecider);
const ids = { command_id: 'cmd-1', task_id: 'task-1', command_type: 'llm.ask' };
const BUDGET = 1;

const reserve = (reservation_id: string, amount_usd: number): LlmBudgetCommand => ({
  type: 'ReserveBudget',
  data: { ...ids, reservation_id, amount_usd, budget_usd: BUDGET },
  metadata: metadata(),
});
const reserved = (reservation_id: string, amount_usd: number): LlmEvent => ({
  type: 'LlmBudgetReserved',
  data: { ...ids, reservation_id, amount_usd, budget_usd: BUDGET },
});
const call = (reservation_id: string, cost_usd: number): SettleCall['data'] => ({
  ...ids,
  reservation_id,
  provider: 'openai',
  model: 'gpt-test',
  input_tokens: 100,
  output_tokens: 20,
  cost_usd,
  latency_ms: 300,
  outcome: 'ok',
  priced: true,
});
const settle = (reservation_id: string, cost_usd: number): LlmBudgetCommand => ({
  type: 'SettleCall',
  data: call(reservation_id, cost_usd),
  metadata: metadata(),
});
const recorded = (reservation_id: string, cost_usd: number, reserved_usd: number): LlmEvent => ({
  type: 'LlmCallRecorded',
  data: { ...call(reservation_id, cost_usd), reserved_usd },
});

describe('ReserveBudget', () => {
  it('reserves while what is spent plus what is reserved stays within the budget, up to exactly the budget', () => {
    spec
      .given([])
      .when(reserve('r-1', 0.4))
      .then([reserved('r-1', 0.4)]);
    spec
      .given([reserved('r-1', 0.4), recorded('r-1', 0.25, 0.4), reserved('r-2', 0.5)])
      .when(reserve('r-3', 0.25))
      .then([reserved('r-3', 0.25)]);
  });

  it('refuses a reservation that would take the day past its budget, counting calls under way at their reservation', () => {
    spec.given([]).when(reserve('r-1', 1.01)).thenThrows(BudgetExceededError);
    spec
      .given([reserved('r-1', 0.6)])
      .when(reserve('r-2', 0.5))
      .thenThrows(BudgetExceededError);
    spec
      .given([reserved('r-1', 0.6), recorded('r-1', 0.6, 0.6)])
      .when(reserve('r-2', 0.5))
      .thenThrows(BudgetExceededError);
  });

  it('frees what a settled call reserved beyond its cost', () => {
    spec
      .given([reserved('r-1', 0.6), recorded('r-1', 0.1, 0.6)])
      .when(reserve('r-2', 0.9))
      .then([reserved('r-2', 0.9)]);
  });

  it('changes nothing when the same reservation comes again (a retried append)', () => {
    spec
      .given([reserved('r-1', 0.4)])
      .when(reserve('r-1', 0.4))
      .thenNothingHappened();
    spec
      .given([reserved('r-1', 0.9)])
      .when(reserve('r-1', 0.9))
      .thenNothingHappened();
  });
});

describe('SettleCall', () => {
  it('records the call at what it cost, with what it had reserved', () => {
    spec
      .given([reserved('r-1', 0.4)])
      .when(settle('r-1', 0.05))
      .then([recorded('r-1', 0.05, 0.4)]);
  });

  it('records a call that cost more than it reserved: the budget is checked on reserving only', () => {
    spec
      .given([reserved('r-1', 0.9)])
      .when(settle('r-1', 1.5))
      .then([recorded('r-1', 1.5, 0.9)]);
  });

  it('changes nothing for a call already settled, or one that never reserved', () => {
    spec
      .given([reserved('r-1', 0.4), recorded('r-1', 0.05, 0.4)])
      .when(settle('r-1', 0.05))
      .thenNothingHappened();
    spec.given([]).when(settle('r-1', 0.05)).thenNothingHappened();
    spec
      .given([reserved('r-2', 0.4)])
      .when(settle('r-1', 0.05))
      .thenNothingHappened();
  });
});
